"""The printer within its limits: nothing printed is lost, costly input is refused before
layout, workers stay small and are never handed a job dead, left-out images are named."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time

import psutil
import pytest
from lxml import etree

from service import create_app
from service.print_budget import LIMIT
from service.runtime import EXTENSION

from . import hostile
from .conftest import require_tool
from .corpus import minimal

CONFIG = {"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://", "PDF_WORKERS": 1}


def make_client(**config):
    app = create_app({**CONFIG, **config})
    return app.test_client(), app.extensions[EXTENSION].printer


@pytest.fixture(scope="module")
def pdf_client():
    client, _ = make_client()
    return client


# Nothing printed is lost ------------------------------------------------------------------

BODY_TOP, BODY_BOTTOM = 60, 66  # points: the running header and footer sit in the margins


def page_text(pdf: bytes) -> str:
    """The words a reader sees on the pages' bodies, in order, with no space between them.

    pdftotext gives each word's box; a word even partly off its page does not count, and
    the running header and footer are left out, so a word split over two pages is whole.
    """
    require_tool(shutil.which("pdftotext") is not None, "pdftotext (Debian poppler-utils)")
    xhtml = subprocess.run(
        ["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout
    tree = etree.fromstring(xhtml, etree.XMLParser(recover=True, huge_tree=True))
    words = []
    for page in tree.iter("{*}page"):
        width, height = float(page.get("width")), float(page.get("height"))
        for word in page.iter("{*}word"):
            x0, y0 = float(word.get("xMin")), float(word.get("yMin"))
            x1, y1 = float(word.get("xMax")), float(word.get("yMax"))
            if x0 >= 0 and x1 <= width + 0.5 and y0 >= BODY_TOP and y1 <= height - BODY_BOTTOM:
                words.append(word.text or "")
    return re.sub(r"[\s\u200b]+", "", "".join(words))


def unhyphenated(text: str) -> str:
    return text.replace("\u2010", "")


def long_word(length: int) -> str:
    return "".join(chr(ord("a") + (i * 7) % 26) for i in range(length))


def test_a_14_column_table_prints_every_cell(pdf_client):
    """Eleven-digit numbers cannot be hyphenated: the last columns ran off the page."""
    columns = 14
    header = [f"Column{c}" for c in range(columns)]
    rows = [[f"{r:03d}{c:03d}{r * c:05d}" for c in range(columns)] for r in range(12)]
    table = {"type": "table", "caption": "Results", "header": header, "rows": rows}
    response = pdf_client.post("/v1/render/pdf", json=minimal(id="wide-table", body=[table]))
    assert response.status_code == 200
    text = unhyphenated(page_text(response.data))
    missing = [cell for cell in header + [c for row in rows for c in row] if cell not in text]
    assert missing == []


def test_a_20000_character_word_prints_whole(pdf_client):
    """It printed as about 91 characters, after holding a worker past its time limit."""
    word = long_word(19_980)
    article = minimal(id="long-word", body=[{"type": "paragraph", "text": f"Start {word} end."}])
    started = time.monotonic()
    response = pdf_client.post("/v1/render/pdf", json=article)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert time.monotonic() - started < 10
    assert f"Start{word}end." in page_text(response.data)


def test_long_urls_print_whole(pdf_client):
    url = "https://example.org/" + long_word(1_950)  # links may be 2,000 long
    article = minimal(
        id="long-urls",
        body=[{"type": "paragraph", "text": f'A <a href="{url}">link</a>. [^n]'}],
        notes=[{"id": "n", "text": "A source.", "url": url}],
    )
    response = pdf_client.post("/v1/render/pdf", json=article)
    assert response.status_code == 200
    text = page_text(response.data)
    assert text.count(url) == 2, "once after the link, once in the note"


def test_code_is_never_hyphenated(pdf_client):
    """Justified lines of long identifiers: the body's hyphenation split them at line ends."""
    words = ["internationalization", "responsibilities", "characterization", "administration"]
    text = " ".join(f"<code>{word}</code>" for word in words * 12)
    article = minimal(id="code", body=[{"type": "paragraph", "text": text}])
    response = pdf_client.post("/v1/render/pdf", json=article)
    assert response.status_code == 200
    text = page_text(response.data)
    assert "\u2010" not in text
    assert "-" not in text
    assert all(text.count(word) == 12 for word in words)


# Costly input is refused before layout ----------------------------------------------------


@pytest.mark.parametrize(
    ("build", "pointer"),
    [
        (lambda: hostile.table_cells(2_500), "/body/0"),
        (lambda: hostile.list_items(1_000), "/body/1"),
        (hostile.everything, "/body/1"),
    ],
    ids=["2500-cells", "1000-items", "everything"],
)
def test_an_article_too_dense_to_print_is_refused_before_layout(pdf_client, build, pointer):
    """Valid for every other format, but more layout than one PDF may take."""
    started = time.monotonic()
    response = pdf_client.post("/v1/render/pdf", json=build())
    assert time.monotonic() - started < 3
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["type"].endswith("/render-limit")
    assert [e["pointer"] for e in problem["errors"]] == [pointer]
    assert f"{LIMIT:,}" in problem["detail"]


@pytest.mark.parametrize(
    "kind", ["list-items", "table-cells", "note-references", "elements", "characters"]
)
def test_the_densest_article_the_budget_allows_prints_in_time(kind):
    """The estimate is honest: at the budget's edge a PDF takes well under the time limit."""
    client, _ = make_client(PDF_TIME_LIMIT=20)
    article = hostile.densest(kind)
    started = time.monotonic()
    response = client.post("/v1/render/pdf", json=article)
    seconds = time.monotonic() - started
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert seconds < 15, seconds


# Workers: never handed a job dead, recycled, flat in memory ---------------------------------


def printer_processes() -> list[psutil.Process]:
    """This test process's printer workers, found as the system sees them."""
    children = psutil.Process().children(recursive=True)
    return [child for child in children if "spawn_main" in " ".join(child.cmdline())]


def test_a_killed_worker_is_never_handed_a_job():
    """The two requests after a worker was killed were answered 503; here both are killed."""
    others = {worker.pid for worker in printer_processes()}
    client, printer = make_client(PDF_WORKERS=2)
    printer.warm_up()
    ours = [worker for worker in printer_processes() if worker.pid not in others]
    assert len(ours) == 2
    for worker in ours:
        os.kill(worker.pid, signal.SIGKILL)
    for n in range(2):
        response = client.post("/v1/render/pdf", json=minimal(headline=f"After the kill {n}"))
        assert response.status_code == 200, response.get_data(as_text=True)[:300]


def test_a_worker_is_retired_after_its_jobs():
    client, printer = make_client(PDF_WORKER_MAX_JOBS=2)
    seen = []
    for n in range(3):
        assert client.post("/v1/render/pdf", json=minimal(headline=f"Job {n}")).status_code == 200
        seen.append(printer.pids())
    assert seen[0] != seen[1], "retired after its second job"
    assert seen[1] == seen[2]


def test_a_worker_is_retired_when_it_grows_past_its_memory():
    client, printer = make_client(PDF_WORKER_MAX_RSS_MB=1)
    before = None
    for n in range(2):
        assert (
            client.post("/v1/render/pdf", json=minimal(headline=f"Memory {n}")).status_code == 200
        )
        assert printer.pids() != before
        before = printer.pids()


def test_a_worker_stays_flat_over_many_distinct_images():
    """Decoded images were cached for ever: 200 distinct 1 MB images took 150 to 480 MB."""
    client, _ = make_client(PDF_WORKER_MAX_JOBS=10_000, PDF_WORKER_MAX_RSS_MB=10_000)

    def render(n: int) -> None:
        image = {"type": "image", "src": hostile.noise_png(600, 600, n), "alt": f"Noise {n}"}
        response = client.post("/v1/render/pdf", json=minimal(id=f"image-{n}", body=[image]))
        assert response.status_code == 200

    others = {worker.pid for worker in printer_processes()}
    for n in range(5):
        render(n)
    (worker,) = [w for w in printer_processes() if w.pid not in others]
    settled = worker.memory_info().rss
    for n in range(5, 35):
        render(n)
    assert worker.is_running()
    growth = worker.memory_info().rss - settled
    assert growth < 40 * 1024 * 1024, f"grew {growth >> 20} MB over 30 renders"


# Left-out images are named ------------------------------------------------------------------


def test_a_remote_image_from_a_host_not_allowed_is_named(pdf_client, caplog):
    """It was dropped silently; its alt text still stands in, and the answer says so."""
    image = {"type": "image", "src": "https://images.example.org/a.png", "alt": "A map"}
    article = minimal(id="hotlinked", body=[{"type": "paragraph", "text": "Hi."}, image])
    for _ in range(2):  # the second answer comes from the cache, and warns the same
        response = pdf_client.post("/v1/render/pdf", json=article)
        assert response.status_code == 200
        warnings = re.findall(r'"((?:[^"\\]|\\.)*)"', response.headers["Broadsheet-Warnings"])
        assert len(warnings) == 1
        assert warnings[0].startswith("/body/1/src: image left out, its alt text stands in")
        assert "IMAGE_HOSTS" in warnings[0]
    logged = [r.getMessage() for r in caplog.records if r.name == "service.views.rendering"]
    assert len(logged) == 2
    assert all("/body/1/src" in line for line in logged)


def test_a_pdf_with_every_image_has_no_warnings(pdf_client):
    image = {"type": "image", "src": hostile.png(20, 10), "alt": "A swatch"}
    response = pdf_client.post("/v1/render/pdf", json=minimal(id="all-in", body=[image]))
    assert response.status_code == 200
    assert "Broadsheet-Warnings" not in response.headers


def test_the_command_line_warns_of_a_left_out_image(runner, tmp_path):
    image = {"type": "image", "src": "https://images.example.org/a.png", "alt": "A map"}
    path = tmp_path / "hotlinked.json"
    path.write_text(json.dumps(minimal(body=[image])), "utf-8")
    result = runner.invoke(args=["render", str(path), "--to", "pdf", "-o", str(tmp_path / "a.pdf")])
    assert result.exit_code == 0, result.output
    assert f"{path}: warning: /body/0/src: image left out" in result.output
