"""The edition routes: the day's paper, named articles in order, ETags, and every refusal."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from datetime import date

import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from service.logs import configure_logging

from . import hostile
from .corpus import minimal


def _store(api, *articles):
    for article in articles:
        response = api.put(article)
        assert response.status_code in (200, 201), response.get_data(as_text=True)


MORNING = minimal(id="morning", headline="Morning news", published_at="2026-03-12T06:00:00Z")
EVENING = minimal(id="evening", headline="Evening news", published_at="2026-03-12T21:00:00Z")
NEXT_DAY = minimal(id="next-day", headline="Tomorrow", published_at="2026-03-13T01:00:00Z")
MORNING_DAY = date(2026, 3, 12)


def _headlines(data: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(data))
    return [item.title for item in reader.outline if not isinstance(item, list)]


def test_the_day_edition_holds_that_day_oldest_first_with_etag_and_304(api):
    _store(api, EVENING, NEXT_DAY, MORNING)
    response = api.client.get("/editions/2026-03-12.pdf")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    assert _headlines(response.data) == ["Morning news", "Evening news"]
    etag = response.headers["ETag"]
    again = api.client.get("/editions/2026-03-12.pdf", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    press = api.client.get("/editions/2026-03-12.pdf?for=press")
    assert press.status_code == 200
    assert press.headers["ETag"] != etag
    with pikepdf.open(io.BytesIO(press.data)) as pdf:
        assert pdf.Root.OutputIntents[0].S == "/GTS_PDFX"


def test_named_articles_print_in_the_order_given(api):
    _store(api, MORNING, EVENING)
    response = api.client.post(
        "/v1/editions",
        json={"title": "Late edition", "date": "2026-03-14", "article_ids": ["evening", "morning"]},
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert _headlines(response.data) == ["Evening news", "Morning news"]
    reader = PdfReader(io.BytesIO(response.data))
    assert reader.metadata.title == "Late edition"
    assert response.headers["Content-Disposition"] == 'inline; filename="edition-2026-03-14.pdf"'


def test_an_unknown_id_is_404_naming_it(api):
    _store(api, MORNING)
    response = api.client.post("/v1/editions", json={"article_ids": ["morning", "nowhere"]})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"] == "There is no stored article 'nowhere'."


def test_a_date_without_articles_is_422(api):
    _store(api, MORNING)
    response = api.client.get("/editions/2026-03-11.pdf")
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["type"].endswith("/empty-edition")
    assert problem["detail"] == "No article was published on 2026-03-11 (UTC)."


def test_too_many_articles_are_refused_before_any_lookup(api):
    ids = [f"piece-{n}" for n in range(201)]  # none stored: the limit answers first
    response = api.client.post("/v1/editions", json={"article_ids": ids})
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["type"].endswith("/edition-limit")
    assert problem["detail"] == "The edition has 201 articles; the limit is 200."
    assert problem["errors"] == [
        {"pointer": "/article_ids", "message": "has 201 articles; the limit is 200"}
    ]
    # Before each id is read, too: 400,000 bad ids once cost 37 s and a 28 MB answer.
    for many in (["A"] * 400_000, ["a"] * 400_000):
        started = time.perf_counter()
        response = api.client.post("/v1/editions", json={"article_ids": many})
        assert time.perf_counter() - started < 5
        assert response.status_code == 422
        assert response.get_json()["type"].endswith("/edition-limit")
        assert len(response.data) < 1000


def test_too_many_articles_and_another_fault_are_refused_at_once(api):
    """The count was refused alone, so a client that mended it met the title next."""
    ids = [f"piece-{n}" for n in range(201)]
    body = {"article_ids": ids, "title": "\u0007", "extra": 1}
    response = api.client.post("/v1/editions", json=body)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["type"].endswith("/invalid-edition")
    pointers = [error["pointer"] for error in problem["errors"]]
    assert pointers == ["/article_ids", "/extra", "/title"]


def test_if_match_naming_another_edition_is_412_before_printing(api):
    _store(api, MORNING, EVENING)
    day = api.client.get("/editions/2026-03-12.pdf")
    tag = day.headers["ETag"]
    assert api.client.get("/editions/2026-03-12.pdf", headers={"If-Match": tag}).status_code == 200
    refused = api.client.get("/editions/2026-03-12.pdf", headers={"If-Match": '"another"'})
    assert refused.status_code == 412
    assert refused.mimetype == "application/problem+json"
    named = {"article_ids": ["morning"]}
    refused = api.client.post("/v1/editions", json=named, headers={"If-Match": '"another"'})
    assert refused.status_code == 412
    # "*" on a GET: the edition exists, so 304; on a POST that false condition is a 412.
    star = {"If-None-Match": "*"}
    assert api.client.get("/editions/2026-03-12.pdf", headers=star).status_code == 304
    refused = api.client.post("/v1/editions", json=named, headers=star)
    assert refused.status_code == 412
    assert refused.mimetype == "application/problem+json"


def test_a_malformed_request_points_at_each_field(api):
    response = api.client.post(
        "/v1/editions",
        json={"title": "Two\nlines", "date": "12/03/2026", "article_ids": ["ok", "Not An Id", "ok"],
              "colour": "red"},
    )  # fmt: skip
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["type"].endswith("/invalid-edition")
    assert {e["pointer"] for e in problem["errors"]} == {
        "/colour",
        "/title",
        "/date",
        "/article_ids/1",
        "/article_ids/2",
    }
    empty = api.client.post("/v1/editions", json={"article_ids": []})
    assert empty.status_code == 422
    assert empty.get_json()["type"].endswith("/empty-edition")


def test_names_and_parameters_outside_the_contract(api):
    assert api.client.get("/editions/12-03-2026.pdf").status_code == 404
    assert api.client.get("/editions/2026-02-30.pdf").status_code == 404
    wrong = api.client.get("/editions/2026-03-12.pdf?for=lawyers")
    assert wrong.status_code == 400
    assert wrong.get_json()["parameter"] == "for"
    assert api.client.get("/editions/2026-03-12.pdf?paper=a3").status_code == 400


edition_requests = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=12,
) | st.fixed_dictionaries(
    {},
    optional={
        "title": st.one_of(st.text(max_size=20), st.integers(), st.none()),
        "date": st.one_of(st.text(max_size=12), st.just("2026-03-12"), st.integers()),
        "article_ids": st.lists(
            st.one_of(st.sampled_from(["morning", "nowhere", "Bad Id", ""]), st.integers()),
            max_size=4,
        ),
    },
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=edition_requests, audience=st.sampled_from(["", "?for=press", "?for=x", "?x=1"]))
def test_no_edition_request_is_a_500(api, body, audience):
    # Nothing is stored, so no request gets as far as printing: every answer is a refusal.
    response = api.client.post(
        f"/v1/editions{audience}", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code in (400, 404, 422), response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"


def test_extreme_days_are_404_not_an_overflow(api):
    for day in ("0001-01-01", "9999-12-31"):
        response = api.client.get(f"/editions/{day}.pdf")
        assert response.status_code == 404, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"


def test_a_day_with_more_articles_than_the_limit_is_refused_reading_one_past_it(api):
    from service.errors import EditionTooLarge
    from service.storage.editions import published_on

    _store(api, EVENING, MORNING)
    runtime = api.client.application.extensions["broadsheet"]
    zone = runtime.settings.timezone
    with runtime.database.reading() as session:
        assert len(published_on(session, MORNING_DAY, zone, at_most=2)) == 2
        with pytest.raises(EditionTooLarge) as refused:
            published_on(session, MORNING_DAY, zone, at_most=1)
    assert refused.value.detail == (
        "More than 1 articles were published on 2026-03-12; the limit is 1."
    )


def test_an_edition_missing_an_image_for_now_says_so_and_is_not_kept(stored_app, api, monkeypatch):
    """Cached, it would lack the image for as long as the cache kept it, and say nothing."""
    from service.printing import Printed
    from service.url_fetcher import LeftOut

    runtime = stored_app.extensions["broadsheet"]
    real = runtime.printer

    class ImageServerDown:
        size, max_pages = real.size, real.max_pages
        prints = 0

        def print(self, html, paper="a4", link_labels=None, layout="reader", max_pages=None):
            printed = real.print(html, paper, link_labels, layout, max_pages)
            if "<article" not in html:
                return printed  # the cover and the folios have no images
            self.prints += 1
            return Printed(printed.data, (LeftOut("d", "could not fetch: timed out", True),))

    down = ImageServerDown()
    monkeypatch.setattr(type(runtime), "printer", property(lambda _: down))
    _store(api, MORNING)
    for attempt in (1, 2):
        response = api.client.get("/editions/2026-03-12.pdf")
        assert response.status_code == 200
        assert response.headers["Broadsheet-Warnings"] == (
            '"/body: image left out, its alt text stands in (could not fetch: timed out)"'
        )
        assert down.prints == attempt  # printed again: the incomplete one was not kept
    assert len(runtime.pdf_cache) == 0


def test_an_edition_stopped_by_its_deadline_is_refused_at_once_for_a_while(
    stored_app, api, monkeypatch
):
    """A day's paper is a public URL: each request for an edition that cannot be printed in
    time held both printers for the whole deadline, again and again."""
    from service.edition_printer import EditionJob
    from service.errors import EditionTooSlow

    runtime = stored_app.extensions["broadsheet"]
    tries: list[float | None] = []

    def too_slow(self, printer, progress=None, time_limit=None):
        tries.append(time_limit)
        raise EditionTooSlow("The edition took longer than 40 s to print (1 of 2 printed).")

    monkeypatch.setattr(EditionJob, "print_with", too_slow)
    _store(api, MORNING, EVENING)
    first = api.client.get("/editions/2026-03-12.pdf")
    again = api.client.get("/editions/2026-03-12.pdf")
    for response in (first, again):
        assert response.status_code == 422
        assert response.get_json()["type"].endswith("/edition-limit")
    assert tries == [2 * runtime.settings.pdf_time_limit]  # printed once, not twice
    assert "tried again in" in again.get_json()["detail"]
    assert again.get_json()["detail"].startswith("The edition took longer than 40 s")

    # Another edition (one article changed) is tried; and the refusal lapses.
    _store(api, minimal(**{**EVENING, "headline": "Evening news, updated"}))
    assert api.client.get("/editions/2026-03-12.pdf").status_code == 422
    assert len(tries) == 2
    _store(api, EVENING)  # the first edition again: still refused at once
    assert api.client.get("/editions/2026-03-12.pdf").status_code == 422
    assert len(tries) == 2
    later = time.monotonic() + runtime.edition_refusals.lasting + 1
    monkeypatch.setattr("service.refusals.time.monotonic", lambda: later)
    assert api.client.get("/editions/2026-03-12.pdf").status_code == 422
    assert len(tries) == 3


def test_a_deadline_missed_while_another_edition_printed_is_not_remembered(
    stored_app, api, monkeypatch
):
    """Other editions on the printers may be why the deadline passed: remembered, three
    anonymous requests for variants of one large edition kept the day's paper refused to
    every reader for ten minutes. Missed alone, it is remembered."""
    import threading

    from service.edition_printer import EditionJob
    from service.errors import EditionTooSlow

    runtime = stored_app.extensions["broadsheet"]
    tries: list[float | None] = []
    other_started, release = threading.Event(), threading.Event()

    def another_edition() -> None:
        runtime.edition_prints.run(
            "another-edition", lambda: other_started.set() or release.wait(10), wait=10
        )

    other = threading.Thread(target=another_edition)

    def too_slow(self, printer, progress=None, time_limit=None):
        tries.append(time_limit)
        if len(tries) == 1:  # another edition begins while this one prints
            other.start()
            assert other_started.wait(10)
        raise EditionTooSlow("The edition took longer than 40 s to print (1 of 2 printed).")

    monkeypatch.setattr(EditionJob, "print_with", too_slow)
    _store(api, MORNING, EVENING)
    assert api.client.get("/editions/2026-03-12.pdf").status_code == 422
    release.set()
    other.join(10)
    again = api.client.get("/editions/2026-03-12.pdf")
    assert again.status_code == 422
    assert "tried again in" not in again.get_json()["detail"]
    assert len(tries) == 2  # printed again: the first miss was not its own
    assert api.client.get("/editions/2026-03-12.pdf").status_code == 422
    assert len(tries) == 2  # missed alone: remembered


def test_simultaneous_requests_for_one_edition_share_one_print(stored_app, api, monkeypatch):
    """The day's paper is public: four readers at once each printed the whole edition
    (four times its parts, cover and folios), holding every printer for up to the deadline."""
    import threading

    runtime = stored_app.extensions["broadsheet"]
    real = runtime.printer

    class Slow:
        size, max_pages = real.size, real.max_pages
        jobs = 0
        lock = threading.Lock()

        def print(self, html, paper="a4", link_labels=None, layout="reader", max_pages=None):
            with self.lock:
                self.jobs += "<article" in html  # a part, not the cover or the folios
            time.sleep(0.3)  # long enough for every request to arrive while it prints
            return real.print(html, paper, link_labels, layout, max_pages)

    slow = Slow()
    monkeypatch.setattr(type(runtime), "printer", property(lambda _: slow))
    _store(api, MORNING, EVENING)
    answers: list = []

    def ask():
        answers.append(stored_app.test_client().get("/editions/2026-03-12.pdf"))

    readers = [threading.Thread(target=ask) for _ in range(4)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(60)
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.headers["ETag"] for a in answers}) == 1
    assert len({a.data for a in answers}) == 1
    assert slow.jobs == 2  # each of the two articles printed once
    assert len(runtime.edition_prints) == 0


@pytest.mark.parametrize("title", ["\u200b", "\u00ad\u200b", "\u3164"])
def test_a_title_of_invisible_characters_is_refused(api, title):
    """It was the cover's heading and the PDF's displayed title: a blank one."""
    _store(api, MORNING)
    response = api.client.post("/v1/editions", json={"article_ids": ["morning"], "title": title})
    assert response.status_code == 422
    (error,) = response.get_json()["errors"]
    assert error["pointer"] == "/title"
    assert "visible text" in error["message"]


def test_a_long_title_s_running_head_stays_on_the_sheet(api):
    """80 letters W ran the running head past the sheet's edge, over the article's own."""
    from .test_printing import word_boxes

    article = minimal(
        id="long-one",
        headline="A headline long enough to need a running head of its own on every page",
        body=[{"type": "paragraph", "text": "Words of the article. " * 400}],
    )
    _store(api, article)
    response = api.client.post(
        "/v1/editions", json={"article_ids": ["long-one"], "title": "W" * 80}
    )
    assert response.status_code == 200
    with pikepdf.open(io.BytesIO(response.data)) as pdf:
        width = float(pdf.pages[2].mediabox[2])
    boxes, words = word_boxes(response.data, 3)
    assert words
    assert all(float(x_max) <= width - 28 for _, _, x_max in words)  # inside the margin
    assert all(float(y_min) >= 14 for _, y_min, _ in words)
    assert "W" * 20 in boxes  # the title, cut with an ellipsis
    assert "…" in boxes


def test_an_article_over_a_limit_is_pointed_at_in_the_request(database_url):
    """The refusal named the article in words only; a request that names its articles is
    pointed at the one at fault."""
    from service import create_app
    from service.pdf_renderer import MAX_CHARS_PER_PAGE
    from service.storage.schema import upgrade

    from .conftest import API_TOKEN, ApiClient

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": database_url,
            "API_TOKEN": API_TOKEN,
            "PDF_MAX_PAGES": 2,
        }
    )
    try:
        upgrade(app.extensions["broadsheet"].engine)
        api = ApiClient(app.test_client())
        words = "Words of a long article. " * (2 * MAX_CHARS_PER_PAGE // 25 + 50)
        long = minimal(id="too-long", body=[{"type": "paragraph", "text": words}])
        _store(api, MORNING, long)
        response = api.client.post("/v1/editions", json={"article_ids": ["morning", "too-long"]})
        assert response.status_code == 422
        problem = response.get_json()
        assert problem["type"].endswith("/edition-limit")
        assert [error["pointer"] for error in problem["errors"]] == ["/article_ids/1"]
    finally:
        app.extensions["broadsheet"].press.close()
        app.extensions["broadsheet"].engine.dispose()


def test_the_lines_of_an_editions_prints_carry_its_request_id(api):
    """Its articles print on threads of a pool, which start with no request id: their lines
    (here a printer's, for an image left out) said "-"."""
    broken = minimal(id="broken-image", headline="A picture that cannot be shown")
    undecodable = hostile.png_header(100, 100)  # a header and no pixels
    broken["body"].append({"type": "image", "src": undecodable, "alt": "A picture"})
    _store(api, MORNING, broken)
    stream = io.StringIO()
    handler = configure_logging(stream=stream, log_format="json")
    try:
        response = api.client.post(
            "/v1/editions",
            json={"article_ids": ["morning", "broken-image"]},
            headers={"X-Request-Id": "edition-logs-1"},
        )
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    finally:
        logging.getLogger().removeHandler(handler)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    left_out = [r for r in records if r["message"].startswith("Not loading data:image/png")]
    assert left_out
    assert {r["request_id"] for r in left_out} == {"edition-logs-1"}
    printed = [r for r in records if r["logger"] == "service.edition_printer"]
    assert [r["request_id"] for r in printed] == ["edition-logs-1"]


def test_an_edition_names_each_image_it_left_out_by_article_and_pointer(api):
    """Three images from a host not allowed, in two articles, were one line with neither
    article nor pointer: a client could not tell which images to mend."""

    def with_images(article_id, count, at):
        body = [
            {
                "type": "image",
                "src": f"https://cdn.example.net/{article_id}-{n}.png",
                "alt": "A map",
            }
            for n in range(count)
        ]
        return minimal(id=article_id, body=body, published_at=at)

    _store(api, with_images("one", 2, "2026-03-12T06:00:00Z"))
    _store(api, with_images("two", 1, "2026-03-12T07:00:00Z"))
    for response in (
        api.client.get("/editions/2026-03-12.pdf"),
        api.client.post("/v1/editions", json={"article_ids": ["two", "one"]}),
    ):
        assert response.status_code == 200
        said = re.findall(r'"((?:[^"\\]|\\.)*)"', response.headers["Broadsheet-Warnings"])
        where = sorted(line.split(": image left out")[0] for line in said)
        assert where == ["article one at /body/0/src", "article one at /body/1/src",
                         "article two at /body/0/src"]  # fmt: skip
        assert all("host 'cdn.example.net' is not in BROADSHEET_IMAGE_HOSTS" in s for s in said)


def test_the_cover_reads_as_written_after_a_headline_with_a_soft_hyphen(api):
    """The cover and contents are printed apart from the articles: a ligature drawn across
    a headline's soft hyphen mapped to no text there, and every later "fi" with it."""
    import shutil
    import subprocess

    from .conftest import require_tool

    require_tool(shutil.which("pdftotext") is not None, "pdftotext (Debian poppler-utils)")
    first = minimal(id="profile", headline="A f\u00adine profile")
    second = minimal(id="figures", headline="Final figures filed")
    _store(api, first, second)
    named = {"article_ids": ["profile", "figures"], "title": "Of\u00adfice edition"}
    response = api.client.post("/v1/editions", json=named)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    cover = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-", "-"],
        input=response.data,
        capture_output=True,
        check=True,
    ).stdout.decode()
    words = " ".join(cover.split())
    for written in ("Office edition", "A fine profile", "Final figures filed"):
        assert written in words, words
