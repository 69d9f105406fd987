"""Printer processes: a render past the time limit is stopped and the pool recovers; a dead
worker is never handed a job; workers are retired after their jobs or memory; memory stays flat."""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import signal
import threading
import time

import psutil
import pytest

from service import create_app
from service.errors import PrintTimedOut
from service.logs import configure_logging
from service.pdf_renderer import PrintJob
from service.print_pool import RECORDS_PER_JOB, IsolatedPrinter, _Kept, unawaited
from service.validation import validate_article

from . import hostile
from .conftest import runtime_of
from .corpus import long_article, minimal

CONFIG = {"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://", "PDF_WORKERS": 1}


def make_client(**config):
    app = create_app({**CONFIG, **config})
    return app.test_client(), runtime_of(app).printer


def test_time_limit_stops_a_render_and_the_printer_recovers():
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": "sqlite://",
            "PDF_WORKERS": 1,
            "PDF_TIME_LIMIT": 0.3,
            "PDF_MAX_PAGES": 500,
        }
    )
    client = app.test_client()
    pool = runtime_of(app).printer
    pool.warm_up()  # the worker starts outside the limit
    response = client.post("/v1/render/pdf", json=long_article(300))
    assert response.status_code == 422
    assert "longer than 0.3 s" in response.get_json()["detail"]
    runtime = runtime_of(app)
    job = PrintJob(validate_article(long_article(300)), runtime.env, runtime.settings, "a4")
    with pytest.raises(PrintTimedOut):  # the kind of refusal the press remembers only a while
        job.print_with(pool)
    # A loaded machine may take more than 0.3 s for any render: what counts here is that
    # the pool, its stopped worker replaced, answers again.
    pool.time_limit = 60
    recovered = client.post("/v1/render/pdf", json=minimal(id="after-timeout"))
    assert recovered.status_code == 200


def test_a_killed_worker_is_never_handed_a_job():
    """The two requests after a worker was killed were answered 503; here both are killed."""
    client, printer = make_client(PDF_WORKERS=2)
    printer.warm_up()
    pids = printer.pids()
    assert len(pids) == 2
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    for n in range(2):
        response = client.post("/v1/render/pdf", json=minimal(headline=f"After the kill {n}"))
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert not set(printer.pids()) & set(pids)


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
    client, printer = make_client(PDF_WORKER_MAX_JOBS=10_000, PDF_WORKER_MAX_RSS_MB=10_000)

    def render(n: int) -> None:
        image = {"type": "image", "src": hostile.noise_png(600, 600, n), "alt": f"Noise {n}"}
        response = client.post("/v1/render/pdf", json=minimal(id=f"image-{n}", body=[image]))
        assert response.status_code == 200

    for n in range(5):
        render(n)
    (pid,) = printer.pids()
    worker = psutil.Process(pid)
    settled = worker.memory_info().rss
    for n in range(5, 35):
        render(n)
    assert printer.pids() == [pid]
    growth = worker.memory_info().rss - settled
    assert growth < 40 * 1024 * 1024, f"grew {growth >> 20} MB over 30 renders"


def test_a_retired_printer_leaves_no_live_gauge_in_the_metrics_directory(tmp_path, monkeypatch):
    """A printer imports the metrics, so under gunicorn it writes a live-gauge file of its
    own; each printer retired used to leave one behind for every scrape to read."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))  # the printers inherit it
    client, printer = make_client(PDF_WORKER_MAX_JOBS=1)
    printer.warm_up()
    (first,) = printer.pids()
    assert (shared / f"gauge_livesum_{first}.db").exists()  # what the test watches for
    seen = {first}
    for n in range(3):
        assert client.post("/v1/render/pdf", json=minimal(headline=f"Job {n}")).status_code == 200
        seen.update(printer.pids())
    assert len(seen) >= 3  # retired after each job
    printer.close()
    left = sorted(path.name for path in shared.glob("gauge_live*.db"))
    assert not [name for name in left if int(name.rsplit("_", 1)[1][:-3]) in seen], left


def test_a_printers_log_lines_are_the_requests_in_the_servers_format():
    """A printer process is spawned with no logging of its own: its lines reached stderr
    bare (no JSON, no time, no request id). They go back with its answer and are logged by
    the thread whose job it was."""
    stream = io.StringIO()
    handler = configure_logging(stream=stream, log_format="json")
    try:
        # A pool of its own (no other test asks for this many jobs): its printer starts in
        # this request, so the start's lines (pikepdf's INFO) are this test's to judge.
        client, _ = make_client(PDF_WORKER_MAX_JOBS=9_973)
        article = minimal(id="broken-image")
        undecodable = hostile.png_header(100, 100)  # a header and no pixels
        article["body"].append({"type": "image", "src": undecodable, "alt": "A picture"})
        response = client.post(
            "/v1/render/pdf", json=article, headers={"X-Request-Id": "printer-logs-1"}
        )
        assert response.status_code == 200
    finally:
        logging.getLogger().removeHandler(handler)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]  # all JSON
    from_printer = [r for r in records if r["logger"] == "service.url_fetcher"]
    assert len(from_printer) == 1
    assert from_printer[0]["message"].startswith("Not loading data:image/png")
    assert from_printer[0]["level"] == "WARNING"
    assert from_printer[0]["request_id"] == "printer-logs-1"
    # WeasyPrint's own ERROR for the same image says nothing more; pikepdf's INFO on start
    # is below the level this process gives it.
    assert not [r for r in records if r["logger"] == "weasyprint"]
    assert not [r for r in records if r["logger"].startswith("pikepdf")]


def test_a_printer_sends_back_a_bounded_number_of_lines():
    kept = _Kept()
    logger = logging.getLogger("tests.printer")
    for n in range(RECORDS_PER_JOB + 7):
        kept.handle(logger.makeRecord(logger.name, logging.WARNING, "", 0, "line %d", (n,), None))
    records = kept.take()
    assert len(records) == RECORDS_PER_JOB + 1
    assert records[-1]["msg"] == "and 7 more lines from the printer, not logged"
    assert kept.take() == []


def test_a_readers_print_takes_the_next_printer_before_prints_no_one_waits_for():
    """The press prints in the background on the same printers as requests: a reader's
    print (a request's PDF, an edition's part) waiting for one goes first."""
    _, pool = make_client()
    pool.warm_up()
    held = pool._take()  # the only printer, busy
    finished: list[str] = []

    def print_one(name: str, background: bool) -> None:
        html = f"<html lang='en'><body><p>{name}</p></body></html>"
        if background:
            with unawaited(lambda: True):
                pool.print(html)
        else:
            pool.print(html)
        finished.append(name)

    threads = [threading.Thread(target=print_one, args=(f"press-{n}", True)) for n in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)  # the press's prints wait first
    reader = threading.Thread(target=print_one, args=("reader", False))
    reader.start()
    deadline = time.monotonic() + 10
    while pool._readers_waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    pool._make_idle(held)
    for thread in [*threads, reader]:
        thread.join(30)
    assert finished[0] == "reader", finished
    assert sorted(finished[1:]) == ["press-0", "press-1", "press-2"]


class Unpicklable:
    def __reduce__(self):
        raise pickle.PicklingError("not this one")


def test_a_job_that_cannot_be_sent_leaves_no_printer_held():
    """Only a dead pipe was handled: any other error while sending left its worker out of
    the pool for good, counted as held for a reader (background prints waited on it)."""
    _, pool = make_client()
    with pytest.raises(pickle.PicklingError):
        pool.print("<p>x</p>", link_labels={"a": Unpicklable()})
    assert pool._readers_printing == 0
    assert pool.print("<html lang='en'><body><p>After</p></body></html>").data.startswith(b"%PDF")


def test_a_background_print_a_reader_comes_to_wait_for_takes_the_spare_printer():
    """Behind a reader's print under way it waits for two free printers; once a reader
    waits for it, it is a reader's print, though no printer's return says so."""
    _, pool = make_client(PDF_WORKERS=2)
    pool.warm_up()
    held = pool._take()  # a reader's print under way; the other printer is idle
    awaited = threading.Event()
    printed = threading.Event()

    def press() -> None:
        with unawaited(lambda: not awaited.is_set()):
            pool.print("<html lang='en'><body><p>Stored</p></body></html>")
        printed.set()

    thread = threading.Thread(target=press)
    thread.start()
    try:
        assert not printed.wait(0.5)  # behind the reader, the spare kept for it
        awaited.set()
        assert printed.wait(10)  # while the reader still holds its printer
    finally:
        awaited.set()
        pool._make_idle(held)  # the shared pool's printer back, whatever happened
        thread.join(10)


def test_a_printer_that_cannot_start_leaves_the_counts_as_they_were(monkeypatch):
    pool = IsolatedPrinter(workers=2, max_pages=60, time_limit=5)  # none started yet

    def no_process():
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(pool, "_new_worker", no_process)
    with pytest.raises(OSError, match="Too many open files"):
        pool.print("<p>x</p>")
    assert (pool._started, pool._readers_printing, pool._readers_waiting) == (0, 0, 0)


def test_a_printer_takes_no_ctrl_c_of_its_own(capfd):
    """A Ctrl-C reaches every process of the terminal's group: a printer died of it with a
    traceback (KeyboardInterrupt in a layout, or in an import while it started), before the
    command's own one line. Its parent stops it; the print in hand is finished."""
    client, printer = make_client(PDF_TIME_LIMIT=120, PDF_MAX_PAGES=500)
    printer.warm_up()
    (pid,) = printer.pids()
    answers = []
    thread = threading.Thread(
        target=lambda: answers.append(client.post("/v1/render/pdf", json=long_article(300)))
    )
    thread.start()
    time.sleep(1.0)  # on the printer: a layout of some seconds
    os.kill(pid, signal.SIGINT)
    thread.join(180)
    assert answers[0].status_code == 200
    assert printer.pids() == [pid]  # the same printer: it did not die of it
    assert "Traceback" not in capfd.readouterr().err
