"""Stored PDFs: printed once per version in the background, waited for, never stale."""

from __future__ import annotations

import hashlib
import io
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, update

from service import create_app
from service.pdf_renderer import PrintJob
from service.runtime import shared_printer
from service.settings import Settings
from service.storage.models import ArticlePdf
from service.validation import validate_article

from .conftest import CountingPrinter
from .corpus import examples, long_article, minimal


def _pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _expected_pdf(app, article: dict) -> bytes:
    runtime = app.extensions["broadsheet"]
    job = PrintJob(validate_article(article), runtime.env, runtime.settings, "a4")
    return job.print_with(CountingPrinter()).data


class TestWithTheRealPrinter:
    @pytest.fixture
    def printer(self):
        return CountingPrinter(inner=shared_printer(Settings.load({}, {"ENV": "test"})))

    def test_a_stored_article_is_printed_once_and_served_from_storage(self, api, printer):
        article = examples()["bike-lanes"]
        assert api.put(article).status_code == 201
        first = api.get(f"/articles/{article['id']}.pdf")
        assert first.status_code == 200
        assert first.mimetype == "application/pdf"
        assert "Riverside Drive" in _pdf_text(first.data)
        etag = first.headers["ETag"]
        again = api.get(f"/articles/{article['id']}.pdf")
        assert again.data == first.data
        assert again.headers["ETag"] == etag
        not_modified = api.get(f"/articles/{article['id']}.pdf", headers={"If-None-Match": etag})
        assert not_modified.status_code == 304
        assert len(printer.jobs) == 1
        assert printer.threads == ["broadsheet-press"]

        replaced = dict(article, headline="Council Delays the Riverside Bike Lanes")
        assert api.put(replaced).status_code == 200
        after = api.get(f"/articles/{article['id']}.pdf", headers={"If-None-Match": etag})
        assert after.status_code == 200
        assert after.headers["ETag"] != etag
        assert "Council Delays" in _pdf_text(after.data)
        assert "Council Approves" not in _pdf_text(after.data)
        assert len(printer.jobs) == 2

    def test_a_stored_pdf_says_what_it_left_out_as_the_render_route_does(self, api, printer):
        """The image was left out (its host is not allowed) and only the log said so: a
        client fetching /articles/{id}.pdf could not know."""
        image = {"type": "image", "src": "https://images.example.org/a.png", "alt": "A map"}
        article = minimal(id="hotlinked", body=[{"type": "paragraph", "text": "Hi."}, image])
        assert api.put(article).status_code == 201
        answers = [api.get("/articles/hotlinked.pdf") for _ in range(2)]  # printed, then stored
        assert len(printer.jobs) == 1
        for answer in answers:
            assert answer.status_code == 200
            warning = answer.headers["Broadsheet-Warnings"]
            assert warning.startswith('"/body/1/src: image left out, its alt text stands in')
        assert api.put(minimal(id="whole")).status_code == 201
        assert "Broadsheet-Warnings" not in api.get("/articles/whole.pdf").headers


def test_readers_arriving_during_the_print_wait_for_that_same_print(stored_app, api, printer):
    printer.delay = 0.5
    assert api.put(minimal()).status_code == 201
    responses: list = []

    def read() -> None:
        responses.append(stored_app.test_client().get("/articles/minimal.pdf"))

    readers = [threading.Thread(target=read) for _ in range(6)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout=30)
    assert [r.status_code for r in responses] == [200] * 6
    assert len({r.headers["ETag"] for r in responses}) == 1
    assert len(printer.jobs) == 1
    assert set(printer.threads) == {"broadsheet-press"}


def test_a_reader_s_print_goes_before_those_no_one_asked_for(stored_app, api, printer):
    """After a bulk import, a reader of the last article stored waited behind every print
    before it, and was told 503 when that took longer than the wait."""
    press = stored_app.extensions["broadsheet"].press
    printer.delay = 0.2
    count = 12
    for n in range(count):
        article = minimal(id=f"bulk-{n:02d}", headline=f"Bulk article number {n:02d}")
        assert api.put(article).status_code == 201
    started = time.monotonic()
    last = api.get(f"/articles/bulk-{count - 1:02d}.pdf")
    waited = time.monotonic() - started
    assert last.status_code == 200

    def order() -> list[int]:
        return [next(n for n in range(count) if f"number {n:02d}" in job) for job in printer.jobs]

    # Printed once the prints already begun were done: at most one round of the threads.
    assert order().index(count - 1) <= 2 * press.workers, order()
    assert waited < (count - 2 * press.workers) * printer.delay
    for n in range(count):  # every other print is still made, once
        assert api.get(f"/articles/bulk-{n:02d}.pdf").status_code == 200
    assert sorted(order()) == list(range(count))


def test_the_press_prints_behind_readers_until_a_reader_waits(stored_app, api, printer):
    """The printers are shared with requests: a print no one waits for takes one only when
    no reader's print is waiting (an edition asked for after a bulk import waited behind
    all of it, past its deadline, and was refused for ten minutes)."""
    printer.delay = 0.2
    count = 6
    for n in range(count):
        assert api.put(minimal(id=f"bulk-{n}", headline=f"Bulk number {n}")).status_code == 201
    assert api.get(f"/articles/bulk-{count - 1}.pdf").status_code == 200
    for n in range(count):
        assert api.get(f"/articles/bulk-{n}.pdf").status_code == 200
    behind = {
        next(n for n in range(count) if f"number {n}" in job): flag
        for job, flag in zip(printer.jobs, printer.behind, strict=True)
    }
    assert len(behind) == count
    assert behind[0] is True  # begun before any reader asked
    assert behind[count - 1] is False  # a reader waited for it


def test_a_pdf_the_store_could_not_queue_is_printed_once_when_asked(
    stored_app, api, printer, monkeypatch
):
    with monkeypatch.context() as patch:
        patch.setattr(stored_app.extensions["broadsheet"].press, "submit", lambda *args: None)
        assert api.put(minimal()).status_code == 201
    assert printer.jobs == []
    assert api.get("/articles/minimal.pdf").status_code == 200
    assert api.get("/articles/minimal.pdf").status_code == 200
    assert len(printer.jobs) == 1


def test_two_processes_share_one_print_through_the_database(stored_app, api, database_url):
    """A second app on the same database stands for a second server process."""
    stored_app.extensions["broadsheet"].press.get_printer().delay = 1.0
    other = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": database_url,
            "BASE_URL": "https://news.example.org",
            "PUBLISHER_NAME": "Test Publisher",
        }
    )
    other_printer = CountingPrinter()
    other.extensions["broadsheet"].press.get_printer = lambda: other_printer
    try:
        assert api.put(minimal()).status_code == 201
        # While this app's press prints (a second), the other process's reader asks.
        theirs = other.test_client().get("/articles/minimal.pdf")
        mine = api.get("/articles/minimal.pdf")
        assert mine.status_code == theirs.status_code == 200
        assert theirs.data == mine.data
        prints = len(stored_app.extensions["broadsheet"].press.get_printer().jobs)
        assert prints + len(other_printer.jobs) == 1
    finally:
        other.extensions["broadsheet"].press.close()
        other.extensions["broadsheet"].engine.dispose()


def test_a_replaced_article_never_gets_the_old_pdf(stored_app, api, printer):
    printer.delay = 0.3
    first, second = minimal(headline="First version"), minimal(headline="Second version")
    assert api.put(first).status_code == 201
    assert api.put(second).status_code == 200  # while the first is still printing
    served = api.get("/articles/minimal.pdf")
    assert served.status_code == 200
    assert served.data == _expected_pdf(stored_app, second)
    assert served.headers["ETag"] == f'"{hashlib.sha256(served.data).hexdigest()}"'
    stored_app.extensions["broadsheet"].press.close(timeout=30)
    again = api.get("/articles/minimal.pdf")
    assert again.headers["ETag"] == served.headers["ETag"]


def test_a_deleted_article_loses_its_pdf(stored_app, api):
    assert api.put(minimal()).status_code == 201
    assert api.get("/articles/minimal.pdf").status_code == 200
    assert api.delete("minimal").status_code == 204
    assert api.get("/articles/minimal.pdf").status_code == 404
    with stored_app.extensions["broadsheet"].database.reading() as session:
        assert session.scalar(select(func.count()).select_from(ArticlePdf)) == 0


def test_an_article_too_long_to_print_is_refused_once_and_remembered(api, printer):
    printer.max_pages = 1
    article = long_article()
    assert api.put(article).status_code == 201
    for _ in range(2):
        response = api.get(f"/articles/{article['id']}.pdf")
        assert response.status_code == 422
        assert response.get_json()["type"].endswith("/render-limit")
    assert printer.jobs == []
    # The reading page does not depend on the PDF.
    assert api.get(f"/articles/{article['id']}").status_code == 200


def test_a_print_past_the_time_limit_is_refused_for_a_while_then_printed_again(
    stored_app, api, printer
):
    """Load alone can push a print past the time limit: that refusal must not last for good."""
    from service.errors import PrintTimedOut

    printer.fail_with = PrintTimedOut("The article took longer than 20 s to lay out.")
    assert api.put(minimal()).status_code == 201
    before = datetime.now(UTC)
    for _ in range(2):
        response = api.get("/articles/minimal.pdf")
        assert response.status_code == 422
        assert "longer than 20 s" in response.get_json()["detail"]
    assert len(printer.jobs) == 1  # the second reader was refused without a print
    database = stored_app.extensions["broadsheet"].database
    with database.reading() as session:
        until = session.scalar(select(ArticlePdf.retry_after))
    assert before + timedelta(minutes=9) < until < datetime.now(UTC) + timedelta(minutes=11)

    printer.fail_with = None  # the machine is quiet again, and the ten minutes are over
    with database.writing() as session:
        session.execute(update(ArticlePdf).values(retry_after=before - timedelta(seconds=1)))
    printed = api.get("/articles/minimal.pdf")
    assert printed.status_code == 200
    assert printed.data.startswith(b"%PDF")
    assert len(printer.jobs) == 2
    with database.reading() as session:
        assert session.execute(select(ArticlePdf.failure, ArticlePdf.retry_after)).one() == (
            None,
            None,
        )


def test_a_pdf_without_an_image_whose_server_failed_is_printed_again_later(
    stored_app, api, printer
):
    """Kept for good, the PDF would lack the photo until the article changed."""
    from service.printing import Printed
    from service.url_fetcher import LeftOut

    class ImageServerDown(CountingPrinter):
        def print(self, html, paper="a4", link_labels=None):
            printed = super().print(html, paper, link_labels)
            return Printed(printed.data, (LeftOut("digest", "could not fetch: timed out", True),))

    press = stored_app.extensions["broadsheet"].press
    down = ImageServerDown()
    press.get_printer = lambda: down
    assert api.put(minimal()).status_code == 201
    first = api.get("/articles/minimal.pdf")
    assert first.status_code == 200
    assert api.get("/articles/minimal.pdf").data == first.data
    assert len(down.jobs) == 1  # within the ten minutes, not printed again
    database = stored_app.extensions["broadsheet"].database
    with database.writing() as session:
        session.execute(update(ArticlePdf).values(retry_after=datetime.now(UTC)))
    press.get_printer = lambda: printer  # the image's server is back
    assert api.get("/articles/minimal.pdf").data == first.data  # served while it reprints
    press.close(timeout=30)
    assert len(printer.jobs) == 1
    with database.reading() as session:
        assert session.scalar(select(ArticlePdf.retry_after)) is None  # complete: it stands
    assert api.get("/articles/minimal.pdf").status_code == 200
    assert len(printer.jobs) == 1


def test_a_printer_failure_is_503_and_the_next_reader_prints_again(stored_app, api, printer):
    from service.errors import PrinterUnavailable

    failing = CountingPrinter(fail_with=PrinterUnavailable("A PDF worker died."))
    stored_app.extensions["broadsheet"].press.get_printer = lambda: failing
    assert api.put(minimal()).status_code == 201
    response = api.get("/articles/minimal.pdf")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    stored_app.extensions["broadsheet"].press.get_printer = lambda: printer
    assert api.get("/articles/minimal.pdf").status_code == 200
    assert len(printer.jobs) == 1


def test_a_pdf_printed_by_other_code_is_served_and_reprinted_in_the_background(
    stored_app, api, printer
):
    assert api.put(minimal()).status_code == 201
    old = api.get("/articles/minimal.pdf")
    press = stored_app.extensions["broadsheet"].press
    press.layout = "a different version of Broadsheet"
    printer.delay = 0.3
    served = api.get("/articles/minimal.pdf")
    assert served.data == old.data  # at once, without waiting for the new print
    press.close(timeout=30)
    assert len(printer.jobs) == 2
    assert api.get("/articles/minimal.pdf").status_code == 200
    assert len(printer.jobs) == 2


def test_a_reprint_with_other_bytes_gets_another_etag(stored_app, api):
    """A strong tag names bytes: a client holding the old PDF must not get a range of the new
    one spliced onto it, nor a 304."""
    from service.printing import Printed

    class Reworded(CountingPrinter):
        def print(self, html: str, paper: str = "a4", link_labels=None) -> Printed:
            return Printed(b"%PDF-1.7 the same article, laid out by a newer release")

    assert api.put(minimal()).status_code == 201
    old = api.get("/articles/minimal.pdf")
    old_tag = old.headers["ETag"]
    press = stored_app.extensions["broadsheet"].press
    press.layout = "a newer release of Broadsheet"
    press.get_printer = Reworded
    assert api.get("/articles/minimal.pdf").data == old.data  # served, and reprinted after
    press.close(timeout=30)
    new = api.get("/articles/minimal.pdf", headers={"If-None-Match": old_tag})
    assert new.status_code == 200
    assert new.data == b"%PDF-1.7 the same article, laid out by a newer release"
    assert new.headers["ETag"] != old_tag
    spliced = api.get("/articles/minimal.pdf", headers={"Range": "bytes=9-", "If-Range": old_tag})
    assert spliced.status_code == 200
    assert spliced.data == new.data


def test_the_pdf_answers_range_requests(api):
    assert api.put(minimal()).status_code == 201
    whole = api.get("/articles/minimal.pdf").data
    part = api.get("/articles/minimal.pdf", headers={"Range": "bytes=0-4"})
    assert part.status_code == 206
    assert part.data == whole[:5]
    assert part.headers["Accept-Ranges"] == "bytes"


def test_a_head_with_a_range_learns_the_whole_length(api):
    """Range is for GET alone (RFC 9110 §14.2): HEAD answered 206 with the part's length
    (or 416), so a client asking the size by HEAD learned the size of its range."""
    assert api.put(minimal()).status_code == 201
    length = len(api.get("/articles/minimal.pdf").data)
    for asked in ("bytes=0-9", f"bytes={length + 10}-"):
        head = api.client.head("/articles/minimal.pdf", headers={"Range": asked})
        assert head.status_code == 200, asked
        assert head.headers["Content-Length"] == str(length)
        assert "Content-Range" not in head.headers


def test_answers_carry_no_date_of_their_own_and_errors_are_not_stored(api):
    """werkzeug's make_conditional added a Date beside the server's own (the development
    server sent two); a 404 had no Cache-Control, and a shared cache may keep a 404."""
    assert api.put(minimal()).status_code == 201
    for path in ("/articles/minimal", "/articles/minimal.pdf", "/feed.atom"):
        assert "Date" not in api.client.get(path).headers, path
    for accept in ("application/json", "text/html"):
        missing = api.client.get("/articles/nowhere", headers={"Accept": accept})
        assert missing.status_code == 404
        assert missing.headers["Cache-Control"] == "no-store", accept
    assert api.client.get("/v1/articles/nowhere").headers["Cache-Control"] == "no-store"


def test_a_range_of_another_unit_or_several_ranges_get_the_whole_pdf(api):
    assert api.put(minimal()).status_code == 201
    whole = api.get("/articles/minimal.pdf").data
    for asked in ("items=0-1", "bytes=0-1,5-6", "bytes=abc"):
        full = api.get("/articles/minimal.pdf", headers={"Range": asked})
        assert (full.status_code, full.data) == (200, whole), asked


def test_a_byte_range_past_the_end_is_416_with_the_length(api):
    assert api.put(minimal()).status_code == 201
    length = len(api.get("/articles/minimal.pdf").data)
    refused = api.get("/articles/minimal.pdf", headers={"Range": f"bytes={length + 10}-"})
    assert refused.status_code == 416
    assert refused.mimetype == "application/problem+json"
    assert refused.headers["Content-Range"] == f"bytes */{length}"


def test_a_suffix_longer_than_the_pdf_is_the_whole_pdf(api):
    """RFC 9110 §14.1.2: a reader asking for the last 64 KB of a 30 KB PDF (its trailer)
    gets all of it; werkzeug alone answered 416."""
    assert api.put(minimal()).status_code == 201
    whole = api.get("/articles/minimal.pdf").data
    length = len(whole)
    tail = api.get("/articles/minimal.pdf", headers={"Range": "bytes=-10"})
    assert (tail.status_code, tail.data) == (206, whole[-10:])
    for suffix in (length, length + 1, 10 * length):
        part = api.get("/articles/minimal.pdf", headers={"Range": f"bytes=-{suffix}"})
        assert (part.status_code, part.data) == (206, whole), suffix
        assert part.headers["Content-Range"] == f"bytes 0-{length - 1}/{length}"


def test_if_range_takes_only_the_strong_etag_of_this_pdf(api):
    assert api.put(minimal()).status_code == 201
    whole = api.get("/articles/minimal.pdf")
    etag = whole.headers["ETag"]
    strong = api.get("/articles/minimal.pdf", headers={"Range": "bytes=0-4", "If-Range": etag})
    assert (strong.status_code, strong.data) == (206, whole.data[:5])
    for validator in (f"W/{etag}", '"another"'):
        full = api.get(
            "/articles/minimal.pdf", headers={"Range": "bytes=0-4", "If-Range": validator}
        )
        assert (full.status_code, full.data) == (200, whole.data)


def test_if_none_match_is_judged_before_a_range(api):
    assert api.put(minimal()).status_code == 201
    etag = api.get("/articles/minimal.pdf").headers["ETag"]
    fresh = api.get("/articles/minimal.pdf", headers={"Range": "bytes=0-4", "If-None-Match": etag})
    assert (fresh.status_code, fresh.data) == (304, b"")


def test_machines_that_differ_only_in_how_they_run_share_their_pdfs():
    from service.press import layout_fingerprint

    base = {"ENV": "test", "BASE_URL": "https://news.example.org"}
    one = layout_fingerprint(Settings.load({}, base), 60)
    assert one == layout_fingerprint(Settings.load({}, {**base, "PDF_WORKERS": 7}), 60)
    assert one == layout_fingerprint(Settings.load({}, {**base, "RATELIMIT_ENABLED": False}), 60)
    for shaping in (
        {"BASE_URL": "https://other.example.org"},
        {"PUBLISHER_NAME": "Another Paper"},
        {"IMAGE_HOSTS": "images.example.org"},
    ):
        assert one != layout_fingerprint(Settings.load({}, {**base, **shaping}), 60), shaping
    assert one != layout_fingerprint(Settings.load({}, base), 61)
