"""Metrics: /metrics hidden unless configured, bounded labels, and one sum over many processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import metrics
from service.errors import PrinterUnavailable
from service.metrics import UNMATCHED_ROUTE
from service.pdf_renderer import PdfCache
from service.print_pool import IsolatedPrinter
from service.printing import Printed

from .conftest import challenge
from .corpus import minimal

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "metrics-token-0123456789abcdef"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition, by name and labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def local(name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


# Who may read /metrics ------------------------------------------------------------------


def test_metrics_is_not_there_unless_configured(make_app):
    client = make_app().test_client()
    response = client.get("/metrics", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["status"] == 404
    # Whatever is asked, as a path no rule matches answers: nothing says it exists.
    for method in ("GET", "HEAD", "POST", "DELETE", "OPTIONS"):
        for accept in ("application/json", "text/html"):
            hidden = client.open("/metrics", method=method, headers={"Accept": accept})
            absent = client.open("/metricz", method=method, headers={"Accept": accept})
            assert hidden.status_code == absent.status_code == 404, method
            assert "Allow" not in hidden.headers
            assert hidden.data == absent.data.replace(b"/metricz", b"/metrics"), method


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token-0123456789", f"Basic {TOKEN}", f"Bearer {TOKEN}x"],
)
def test_with_a_token_only_the_token_opens_it(make_app, authorization):
    client = make_app(METRICS_TOKEN=TOKEN, METRICS_PUBLIC="true").test_client()
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == challenge(authorization)
    assert TOKEN not in response.get_data(as_text=True)


def test_the_token_opens_it_in_the_text_format(make_app):
    client = make_app(METRICS_TOKEN=TOKEN).test_client()
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "broadsheet_http_requests",
        "broadsheet_render_seconds",
        "broadsheet_pdf_cache",
        "broadsheet_printer_queue_depth",
        "broadsheet_digest_messages",
    } <= names


def test_public_opens_it_without_a_token(make_app):
    response = make_app(METRICS_PUBLIC="true").test_client().get("/metrics")
    assert response.status_code == 200


@pytest.mark.parametrize("token", ["short", "has a space in it 0123456789"])
def test_a_weak_metrics_token_is_refused(make_app, token):
    from service import SettingsError

    with pytest.raises(SettingsError, match="BROADSHEET_METRICS_TOKEN is not valid") as caught:
        make_app(METRICS_TOKEN=token)
    assert token not in str(caught.value)


# What is counted ------------------------------------------------------------------------


def test_requests_are_counted_by_rule_not_by_path(make_app):
    client = make_app(METRICS_PUBLIC="true").test_client()
    rule = "/digests/<day>"
    before = client.get("/metrics").text
    for n in range(5):
        client.get(f"/digests/no-such-day-{n}")
        client.get(f"/random/path/{n}")
    client.open("/healthz", method="BREW")
    after = client.get("/metrics").text
    key = "broadsheet_http_requests_total"
    assert value(after, key, method="GET", route=rule, status="404") - value(
        before, key, method="GET", route=rule, status="404"
    ) == pytest.approx(5)
    assert value(after, key, method="GET", route=UNMATCHED_ROUTE, status="404") - value(
        before, key, method="GET", route=UNMATCHED_ROUTE, status="404"
    ) == pytest.approx(5)
    assert value(after, key, method="other", route=UNMATCHED_ROUTE, status="405") >= 1
    routes = {dict(labels)["route"] for name, labels in samples(after) if name == key}
    assert not any("no-such-day" in route or "random" in route for route in routes)


def test_each_render_is_timed_by_format(post_json):
    before = {fmt: local("broadsheet_render_seconds_count", format=fmt) for fmt in ("html", "text")}
    assert post_json("/v1/render/html", minimal()).status_code == 200
    assert post_json("/v1/render/text", minimal()).status_code == 200
    assert post_json("/v1/render/text", minimal()).status_code == 200
    after = {fmt: local("broadsheet_render_seconds_count", format=fmt) for fmt in ("html", "text")}
    assert (after["html"] - before["html"], after["text"] - before["text"]) == (1, 2)
    assert local("broadsheet_render_seconds_sum", format="html") > 0


def test_the_pdf_cache_counts_hits_and_misses():
    cache = PdfCache(max_items=4)
    job = SimpleNamespace(etag="e1", print_with=lambda printer: Printed(b"%PDF-1.7 fake"))
    hits, misses = (
        local("broadsheet_pdf_cache_total", result="hit"),
        local("broadsheet_pdf_cache_total", result="miss"),
    )
    for _ in range(3):
        cache.render(job, printer=None)  # type: ignore[arg-type]
    assert local("broadsheet_pdf_cache_total", result="miss") - misses == 1
    assert local("broadsheet_pdf_cache_total", result="hit") - hits == 2


def test_a_pdf_render_is_timed_only_when_printed():
    """A cache hit is a look-up (counted above), and a refused print made nothing."""
    cache = PdfCache(max_items=4)
    renders = local("broadsheet_render_seconds_count", format="pdf")
    job = SimpleNamespace(etag="timed", print_with=lambda printer: Printed(b"%PDF-1.7 fake"))
    for _ in range(3):
        cache.render(job, printer=None)  # type: ignore[arg-type]
    assert local("broadsheet_render_seconds_count", format="pdf") - renders == 1

    def refuse(printer):
        raise PrinterUnavailable("busy")

    refused = SimpleNamespace(etag="refused", print_with=refuse)
    with pytest.raises(PrinterUnavailable):
        cache.render(refused, printer=None)  # type: ignore[arg-type]
    assert local("broadsheet_render_seconds_count", format="pdf") - renders == 1


def test_a_job_waiting_for_a_printer_is_in_the_queue_depth():
    # A pool whose only worker is taken: the next job waits for it, then gives up.
    printer = IsolatedPrinter(max_pages=1, time_limit=1.0, workers=1)
    printer._started = printer.size
    assert local("broadsheet_printer_queue_depth") == 0
    failures = []

    def wait() -> None:
        try:
            printer.print("<p>x</p>")
        except PrinterUnavailable as error:
            failures.append(error)

    waiting = [threading.Thread(target=wait) for _ in range(2)]
    for thread in waiting:
        thread.start()
    deadline = time.monotonic() + 0.8
    while local("broadsheet_printer_queue_depth") < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert local("broadsheet_printer_queue_depth") == 2
    for thread in waiting:
        thread.join()
    assert len(failures) == 2
    assert local("broadsheet_printer_queue_depth") == 0
    printer.close()


def test_mark_process_dead_does_nothing_in_one_process():
    metrics.mark_process_dead(os.getpid())


# Many processes, one answer -------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from service import create_app, metrics
    from service.storage.schema import upgrade
    from tests.corpus import minimal

    requests, waiting = int(sys.argv[1]), int(sys.argv[2])
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "METRICS_PUBLIC": True})
    upgrade(app.extensions["broadsheet"].engine)
    client = app.test_client()
    for _ in range(requests):
        assert client.get("/healthz").status_code == 200
    assert client.post("/v1/render/text", json=minimal()).status_code == 200
    for _ in range(waiting):
        metrics.PRINTER_QUEUE_DEPTH.inc()
    sys.stdin.read()  # hold on (a live process) until told to stop
    """
)
READER = textwrap.dedent(
    """
    from service import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "METRICS_PUBLIC": True})
    response = app.test_client().get("/metrics")
    assert response.status_code == 200, response.status_code
    print(response.text)
    """
)


def test_metrics_of_several_processes_are_summed_in_one_read(tmp_path, monkeypatch):
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    env.pop("BROADSHEET_METRICS_TOKEN", None)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(requests), str(waiting)],
            env=env,
            stdin=subprocess.PIPE,
            text=True,
        )
        for requests, waiting in ((3, 2), (4, 1))
    ]

    def read() -> str:
        done = subprocess.run(
            [sys.executable, "-c", READER],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout

    try:
        counter = "broadsheet_http_requests_total"
        labels = {"method": "GET", "route": "/healthz", "status": "200"}
        deadline = time.monotonic() + 120
        while True:
            text = read()
            both = value(text, counter, **labels) == 7
            if (both and value(text, "broadsheet_printer_queue_depth") == 3) or (
                time.monotonic() > deadline
            ):
                break
            time.sleep(0.5)
        assert value(text, counter, **labels) == 7, text
        assert value(text, "broadsheet_printer_queue_depth") == 3, text
        assert value(text, "broadsheet_render_seconds_count", format="text") == 2, text
        assert value(text, "broadsheet_render_seconds_bucket", format="text", le="+Inf") == 2
        # gunicorn's child_exit hook: a dead worker's gauge leaves the sum, its counts stay.
        first = writers[0]
        first.communicate("", timeout=60)
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
        metrics.mark_process_dead(first.pid)
        text = read()
        assert value(text, "broadsheet_printer_queue_depth") == 1, text
        assert value(text, counter, **labels) == 7, text
        # A new run of the server starts from nothing.
        writers[1].communicate("", timeout=60)
        metrics.clear_multiprocess_dir()
        assert not list(shared.glob("*.db"))
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.communicate("", timeout=60)


def test_a_metrics_folder_not_yet_there_is_made_by_any_command(tmp_path):
    """Set in a shared env file to the web unit's runtime folder, absent while that unit is
    stopped: `broadsheet db upgrade` and the scheduler ended in a FileNotFoundError."""
    folder = tmp_path / "not" / "there"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
        "BROADSHEET_ENV": "test",
        "BROADSHEET_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "service", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert folder.is_dir()
