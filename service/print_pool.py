"""PDF renders in worker processes, so one that runs too long is killed instead of waited on.

A thread cannot be stopped in Python, and WeasyPrint's layout has no deadline; a worker
process can be. Each worker builds its `Printer` once (stylesheets, fonts) and then serves
renders over a pipe. A render past the time limit kills its worker and a fresh one takes
its place; the client gets a clear problem answer, and the server is never wedged.

Workers are also retired the way gunicorn's `max_requests` retires its own: after `max_jobs`
renders, or as soon as one reports more than `max_rss_mb` resident, since memory a render
took is rarely given back to the system. A worker found dead (killed from outside, or by
the system for memory) is replaced, and the render is tried once more on another.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import functools
import gc
import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from .errors import PrinterUnavailable, PrintRefused, PrintTimedOut, RenderRefused
from .metrics import mark_process_dead, waiting_for_printer

if TYPE_CHECKING:
    from .printing import Printed

logger = logging.getLogger(__name__)


def resident_bytes() -> int:
    """This process's resident memory now (Linux), or its peak where /proc is missing."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


CLEAN_UP_ABOVE = 32 * 1024 * 1024
WARM_UP_HTML = (
    '<html lang="en"><body><main><article><h1>Ready</h1><div class="article-body">'
    "<p>A paragraph of hyphenated, justified text to lay out once.</p>"
    "</div></article></main></body></html>"
)


def heap_trimmer() -> Callable[[], object] | None:
    """glibc's malloc_trim: it hands freed heap pages back to the system, which glibc
    otherwise keeps, so a worker's memory would creep up render after render."""
    name = ctypes.util.find_library("c")
    try:
        return functools.partial(ctypes.CDLL(name).malloc_trim, 0) if name else None
    except (OSError, AttributeError):
        return None  # not glibc: nothing to trim


# The most log records one job (or the start) sends back; the rest are counted in one line.
RECORDS_PER_JOB = 50


class _Kept(logging.Handler):
    """A printer's log records, kept to go back with its answer: a spawned process has no
    logging of its own (its lines would reach stderr bare, outside the JSON format, without
    the request's id), so the parent logs them, on the thread whose job it was."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[dict[str, Any]] = []
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "weasyprint" and "FetchRefused:" in record.getMessage():
            return  # an image left out: the fetcher has said so, as a warning, not an error
        if len(self.records) >= RECORDS_PER_JOB:
            self.dropped += 1
            return
        self.records.append(
            {
                "name": record.name,
                "levelno": record.levelno,
                "levelname": record.levelname,
                "msg": record.getMessage(),
                "created": record.created,
                "exc_text": self._traceback(record),
            }
        )

    @staticmethod
    def _traceback(record: logging.LogRecord) -> str | None:
        return logging.Formatter().formatException(record.exc_info) if record.exc_info else None

    def take(self) -> list[dict[str, Any]]:
        records, self.records = self.records, []
        if self.dropped:
            records.append(
                {
                    "name": __name__,
                    "levelno": logging.WARNING,
                    "levelname": "WARNING",
                    "msg": f"and {self.dropped} more lines from the printer, not logged",
                }
            )
            self.dropped = 0
        return records


def log_from_printer(records: list[dict[str, Any]]) -> None:
    """Log what a printer process logged, as if this thread had (its request id and all)."""
    for fields in records:
        logger = logging.getLogger(fields["name"])
        if logger.isEnabledFor(fields["levelno"]):  # this process's levels (pikepdf's INFO)
            logger.handle(logging.makeLogRecord(fields))


def _keep_logs() -> _Kept:
    kept = _Kept()
    root = logging.getLogger()
    root.handlers[:] = [kept]
    root.setLevel(logging.INFO)
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # every layout step
    return kept


def _serve(connection: Connection, image_hosts: tuple[str, ...], max_pages: int) -> None:
    """Worker process: build the printer once, then print whatever arrives.

    It started with SIGINT blocked (see _Worker): a Ctrl-C reaches every process of the
    terminal's group, and a printer's traceback (a layout interrupted, an import) said
    nothing the parent's one line does not. Its parent stops it; ignored from here on."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        _print_what_arrives(connection, image_hosts, max_pages)
    except (BrokenPipeError, ConnectionResetError):
        return  # the parent is gone (killed, or stopped mid-print): no one to answer


def _print_what_arrives(connection: Connection, image_hosts: tuple[str, ...], max_pages: int):
    kept = _keep_logs()
    from PIL import Image

    from .images import MAX_IMAGE_PIXELS
    from .printing import Printer

    # A backstop for what the header checks cannot see: Pillow itself refuses to decode
    # more than the cap in this process (it only warns up to twice the cap; here that
    # warning is an error too).
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    printer = Printer(image_hosts, max_pages=max_pages)
    # The first render in a process loads fonts and hyphenation patterns; doing it before
    # saying ready keeps that out of a client's time limit, even after a worker is replaced.
    printer.print(WARM_UP_HTML)
    trim = heap_trimmer()
    settled = resident_bytes()
    connection.send(("ready", None, settled, kept.take()))
    while True:
        try:
            html, paper, labels, layout, max_pages = connection.recv()
        except (EOFError, KeyboardInterrupt):
            return
        try:
            reply: tuple[str, Any] = ("ok", printer.print(html, paper, labels, layout, max_pages))
        except RenderRefused as refusal:
            reply = ("refused", refusal.detail)
        except Exception as error:
            reply = ("error", f"{type(error).__name__}: {error}")
        if resident_bytes() > settled + CLEAN_UP_ABOVE:
            # A document is a web of reference cycles that holds its decoded images until
            # the cyclic collector's rare full pass; after a large one, run it and give the
            # freed pages back. A small one is left alone: a full pass costs 30 ms or more.
            gc.collect()
            if trim is not None:
                trim()
        connection.send((*reply, resident_bytes(), kept.take()))


class WorkerDied(Exception):
    """The worker was gone before it could answer; the render may be tried on another."""


class _Worker:
    def __init__(self, context: Any, image_hosts: tuple[str, ...], max_pages: int):
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_serve,
            args=(child, image_hosts, max_pages),
            daemon=True,
            name="broadsheet-printer",
        )
        # Started with SIGINT blocked (a mask survives the spawn's exec): see _serve.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self.process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        child.close()
        self.ready = False
        self.jobs = 0
        self.rss = 0
        self.for_a_reader = False  # held for a print a reader waits for

    def wait_ready(self, timeout: float) -> bool:
        """True once the worker has built its printer; WorkerDied if it is gone."""
        if self.ready:
            return True
        try:
            if self.connection.poll(timeout):
                status, _, self.rss, records = self.connection.recv()
                log_from_printer(records)
                self.ready = status == "ready"
        except (EOFError, OSError):
            raise WorkerDied() from None
        return self.ready

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.connection.close()
        # Importing the metrics gave the printer a live-gauge file in the multiprocess
        # directory; without this each replaced printer would leave one for every scrape.
        if self.process.pid is not None:
            mark_process_dead(self.process.pid)


# How often a print behind readers' prints asks again whether a reader now waits for it.
_LOOK_AGAIN = 0.1
# Set by a thread printing what no one is waiting for (the press, after a write): it says,
# when asked, whether that is still so. Such a print takes a printer only while no print a
# reader waits for (a request's PDF, an edition's part) is waiting for one.
_unawaited: ContextVar[Callable[[], bool] | None] = ContextVar("unawaited", default=None)


@contextmanager
def unawaited(still_so: Callable[[], bool]) -> Iterator[None]:
    """Print, within this block, behind every print a reader waits for, while `still_so()`."""
    token = _unawaited.set(still_so)
    try:
        yield
    finally:
        _unawaited.reset(token)


def behind_readers() -> bool:
    """Whether the print this thread is about to make stands behind readers' prints."""
    still_so = _unawaited.get()
    return still_so is not None and still_so()


class IsolatedPrinter:
    """A small pool of printer processes with a per-render time limit. A print a reader
    waits for is handed the next free printer before any print no one waits for (after a
    bulk import the press holds every printer, and an edition asked for meanwhile waited
    behind all of it, past its deadline)."""

    def __init__(
        self,
        image_hosts: tuple[str, ...] = (),
        *,
        max_pages: int,
        time_limit: float,
        workers: int,
        max_jobs: int = 0,
        max_rss_mb: int = 0,
        start_timeout: float = 60.0,
    ):
        self.image_hosts = image_hosts
        self.max_pages = max_pages
        self.time_limit = time_limit
        self.max_jobs = max_jobs
        self.max_rss = max_rss_mb * 1024 * 1024
        self.start_timeout = start_timeout
        self.size = workers
        self._context = multiprocessing.get_context("spawn")
        self._idle: deque[_Worker] = deque()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a printer freed, a reader served
        self._readers_waiting = 0
        self._readers_printing = 0  # printers held for prints a reader waits for
        self._started = 0
        self._live: set[_Worker] = set()
        self._closed = False
        atexit.register(self.close)

    def _new_worker(self) -> _Worker:
        worker = _Worker(self._context, self.image_hosts, self.max_pages)
        with self._lock:
            self._live.add(worker)
        return worker

    def _take(self) -> _Worker:
        """An idle worker, or a new one while the pool is not full; waits up to the time
        limit. A print no reader waits for waits while a reader's print does, and while a
        reader's print is under way takes no printer but a spare one: the printer a reader's
        print has just given back is for that reader's next print (an edition's next part),
        not for the background print woken first."""
        deadline = time.monotonic() + self.time_limit
        counted = False
        with self._changed:
            try:
                while True:
                    behind = behind_readers()
                    if not behind and not counted:
                        self._readers_waiting += 1
                        counted = True
                    free = len(self._idle) + self.size - self._started
                    if not behind or not (
                        self._readers_waiting or (self._readers_printing and free < 2)
                    ):
                        if not behind:
                            self._readers_printing += 1
                        if self._idle:
                            worker = self._idle.popleft()
                            worker.for_a_reader = not behind
                            return worker
                        if self._started < self.size:
                            self._started += 1
                            break
                        if not behind:
                            self._readers_printing -= 1
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise PrinterUnavailable("Every PDF printer is busy; try again shortly.")
                    # A print behind readers looks again now and then: a reader may come to
                    # wait for it, which no printer's return announces.
                    self._changed.wait(min(remaining, _LOOK_AGAIN) if behind else remaining)
            finally:
                if counted:
                    self._readers_waiting -= 1
                    self._changed.notify_all()
        try:
            worker = self._new_worker()
        except BaseException:
            with self._changed:
                self._started -= 1
                if not behind:
                    self._readers_printing -= 1
                self._changed.notify_all()
            raise
        worker.for_a_reader = not behind
        return worker

    def _done_with(self, worker: _Worker) -> None:
        """The worker is no longer held for a print (called with the lock held)."""
        if worker.for_a_reader:
            worker.for_a_reader = False
            self._readers_printing -= 1

    def _make_idle(self, worker: _Worker) -> None:
        with self._changed:
            self._done_with(worker)
            self._idle.append(worker)
            self._changed.notify_all()

    def _take_live(self) -> _Worker:
        """An idle worker whose process is running; dead ones met on the way are replaced."""
        for _ in range(self.size):
            worker = self._take()
            if worker.process.is_alive():
                return worker
            logger.warning("A PDF worker had stopped while idle; starting another")
            self._replace(worker)
        return self._take()

    def _waiting_take(self) -> _Worker:
        """A live worker, the job counted as waiting (the queue depth) until it has one."""
        with waiting_for_printer():
            return self._take_live()

    def _replace(self, worker: _Worker) -> None:
        with self._changed:
            self._live.discard(worker)
            self._done_with(worker)
        worker.kill()
        if not self._closed:
            self._make_idle(self._new_worker())

    def _give_back(self, worker: _Worker) -> None:
        """Idle again, unless it has printed enough or grown too large: then a fresh one."""
        worker.jobs += 1
        if self.max_jobs and worker.jobs >= self.max_jobs:
            logger.info("A PDF worker printed %d jobs; starting a fresh one", worker.jobs)
            self._replace(worker)
        elif self.max_rss and worker.rss > self.max_rss:
            logger.info("A PDF worker holds %d MB; starting a fresh one", worker.rss >> 20)
            self._replace(worker)
        else:
            self._make_idle(worker)

    def pids(self) -> list[int]:
        """The process ids of the workers started so far (for measurements and tests)."""
        with self._lock:
            return [w.process.pid for w in self._live if w.process.pid is not None]

    def warm_up(self) -> None:
        """Start every worker now rather than on the first request."""
        with self._lock:
            count = self.size - self._started + len(self._idle)
        workers = [self._take() for _ in range(count)]
        for worker in workers:
            try:
                worker.wait_ready(self.start_timeout)
            except WorkerDied:
                self._replace(worker)
                continue
            self._make_idle(worker)

    def print(
        self,
        html: str,
        paper: str = "a4",
        link_labels: dict[str, str] | None = None,
        layout: str = "article",
        max_pages: int | None = None,
    ) -> Printed:
        """Print on an idle worker; a worker found dead is replaced and another tried once."""
        job = (html, paper, link_labels or {}, layout, max_pages)
        try:
            return self._print_on(self._waiting_take(), job)
        except WorkerDied:
            logger.warning("A PDF worker stopped before it answered; printing on another")
        try:
            return self._print_on(self._waiting_take(), job)
        except WorkerDied:
            logger.error("Two PDF workers stopped in turn during one render")
            raise PrinterUnavailable("The PDF printer stopped during the render.") from None

    def _print_on(self, worker: _Worker, job: tuple) -> Printed:
        try:
            started = worker.wait_ready(self.start_timeout)
        except WorkerDied:
            self._replace(worker)
            raise
        if not started:
            self._replace(worker)
            raise PrinterUnavailable("The PDF printer did not start.")
        if not worker.process.is_alive():
            self._replace(worker)
            raise WorkerDied()
        try:
            worker.connection.send(job)
            if not worker.connection.poll(self.time_limit):
                logger.warning(
                    "A PDF render passed the %g s limit; its worker was stopped", self.time_limit
                )
                self._replace(worker)
                raise PrintTimedOut(
                    f"The article took longer than {self.time_limit:g} s to lay out."
                )
            status, payload, worker.rss, records = worker.connection.recv()
        except (EOFError, OSError):
            self._replace(worker)
            raise WorkerDied() from None
        except PrintTimedOut:
            raise
        except BaseException:
            # Anything else (a job that would not pickle, an answer that would not load):
            # the worker's state is unknown, and it must not stay held for ever.
            self._replace(worker)
            raise
        self._give_back(worker)
        log_from_printer(records)
        if status == "ok":
            return payload
        if status == "refused":
            raise PrintRefused(payload)
        logger.error("PDF render failed: %s", payload)
        raise PrinterUnavailable("The PDF could not be produced.")

    def close(self) -> None:
        self._closed = True
        while True:
            with self._lock:
                if not self._idle:
                    return
                worker = self._idle.popleft()
            worker.kill()
