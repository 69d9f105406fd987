"""Prints stored articles in the background and keeps each PDF with the version it shows.

Storing an article queues its print; a few press threads feed the printer pool, so no
request thread ever lays out a page. A request that finds the print unfinished waits for
that same print: one print per (article, version), shared by the threads of this process
through a future, and by other processes through a claim in the database. A print a reader
waits for goes before those no one has asked for yet (after a bulk import, the last article
stored would otherwise wait for every one before it).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jinja2 import Environment

from .errors import NotFound, PrinterUnavailable, PrintTimedOut, RenderRefused
from .metrics import timed_render
from .pdf_renderer import PrinterLike, PrintJob
from .print_pool import unawaited
from .printing import source_digest
from .settings import Settings
from .storage.articles import article_of, get_article
from .storage.db import Database
from .storage.pdfs import (
    PdfState,
    claim_print,
    pdf_state,
    release_claim,
    save_failure,
    save_print,
)

logger = logging.getLogger(__name__)

PAPER = "a4"
_POLL_SECONDS = 0.05
# A print that may come out better later (past the time limit, perhaps on a busy machine;
# without an image whose server failed) stands for this long, then the first reader's visit
# prints it again: load cannot refuse an article for good, nor a slow one hold the printers.
RETRY_AFTER = timedelta(minutes=10)
_STOP = object()
# The press queue's order: prints readers wait for, then those stored, then the stop.
_FOR_A_READER, _FOR_A_WRITER, _LAST = 0, 1, 2


def layout_fingerprint(settings: Settings, max_pages: int) -> str:
    """Names what printed a PDF; a PDF printed by anything else is reprinted in the background.

    Only the settings a printed article shows or depends on count (its links, the publisher
    named, the hosts its images may come from, the page cap): machines that differ in the
    rest, such as PDF_WORKERS, share the stored PDFs instead of reprinting them in turn.
    """
    shaping = (settings.base_url, settings.publisher_name, sorted(settings.image_hosts))
    return hashlib.sha256(f"{source_digest()}\0{shaping!r}\0{max_pages}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredPdf:
    etag: str
    data: bytes
    printed_at: datetime
    left_out: tuple[str, ...] = ()  # what it left out, in Broadsheet-Warnings' words


def _printed(state: PdfState) -> StoredPdf | None:
    if state.data is None or state.etag is None or state.printed_at is None:
        return None
    left_out = tuple(state.warnings.split("\n")) if state.warnings else ()
    return StoredPdf(state.etag, state.data, state.printed_at, left_out)


class _Superseded(Exception):
    """The version being printed was replaced or deleted: look again."""


class Press:
    """Background printing of stored articles, one print per version, waited on by readers."""

    def __init__(
        self,
        database: Database,
        env: Environment,
        settings: Settings,
        get_printer: Callable[[], PrinterLike],
        *,
        workers: int = 2,
        time_limit: float = 20.0,
        max_pages: int = 60,
        queue_size: int = 1000,
    ):
        self.database = database
        self.env = env
        self.settings = settings
        self.get_printer = get_printer
        self.workers = max(1, workers)
        # Waiting for a printer (up to the time limit) then printing (up to it again).
        self.wait_limit = 3 * time_limit
        self.claim_lifetime = timedelta(seconds=3 * time_limit + 10)
        self.layout = layout_fingerprint(settings, max_pages)
        self.retry_after = RETRY_AFTER
        # (order, arrival, item): arrival keeps each order first come, first served.
        self._queue: queue.PriorityQueue = queue.PriorityQueue(maxsize=queue_size)
        self._arrivals = itertools.count()
        self._inflight: dict[tuple[str, str], Future[StoredPdf]] = {}
        self._started: set[tuple[str, str]] = set()
        self._hurried: set[tuple[str, str]] = set()  # queued again, ahead, for a reader
        self._awaited: set[tuple[str, str]] = set()  # a reader waits for it
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    # Asked by writers ------------------------------------------------------------------

    def submit(
        self, article_id: str, version: str, *, reader: bool = False
    ) -> Future[StoredPdf] | None:
        """Queue the print of this version (once); None when the queue is full. A `reader`
        waiting for it moves it ahead of every print no reader waits for."""
        key = (article_id, version)
        order = _FOR_A_READER if reader else _FOR_A_WRITER
        with self._lock:
            if reader:
                self._awaited.add(key)
            known = self._inflight.get(key)
            if known is not None:
                if reader and key not in self._started and key not in self._hurried:
                    # Queued again ahead; whichever entry comes out first prints it.
                    try:
                        self._queue.put_nowait((order, next(self._arrivals), (key, known)))
                        self._hurried.add(key)
                    except queue.Full:
                        pass  # it prints in its turn
                return known
            future: Future[StoredPdf] = Future()
            try:
                self._queue.put_nowait((order, next(self._arrivals), (key, future)))
            except queue.Full:
                logger.warning("The press queue is full; %s will print when first asked", key)
                self._awaited.discard(key)
                return None
            self._inflight[key] = future
            if len(self._threads) < self.workers:
                self._start_thread()
        return future

    # Asked by readers ------------------------------------------------------------------

    def pdf(self, article_id: str) -> StoredPdf:
        """The stored PDF of the article's present version, waiting for its print if need be."""
        for _ in range(3):
            with self.database.reading() as session:
                state = pdf_state(session, article_id)
            if state is None:
                raise NotFound(f"There is no article {article_id!r}.")
            printed = _printed(state) if state.current else None
            if printed is not None:
                if state.layout != self.layout or state.due_again(datetime.now(UTC)):
                    self.submit(article_id, state.article_version)  # served meanwhile
                return printed
            refusal = state.refusal(self.layout, datetime.now(UTC)) if state.current else None
            if refusal is not None:
                raise RenderRefused(refusal)
            future = self.submit(article_id, state.article_version, reader=True)
            if future is None:
                raise PrinterUnavailable("The PDF printer is busy; try again shortly.")
            try:
                return future.result(timeout=self.wait_limit)
            except _Superseded:
                continue
            except FutureTimeout:
                raise PrinterUnavailable("The PDF is still being printed; try again.") from None
        raise PrinterUnavailable("The article kept changing while it was printed; try again.")

    # The press threads -----------------------------------------------------------------

    def _start_thread(self) -> None:
        thread = threading.Thread(target=self._work, name="broadsheet-press", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        while True:
            _, _, item = self._queue.get()
            if item is _STOP:
                return
            key, future = item
            with self._lock:
                if key in self._started or future.done():
                    continue  # the other entry of a print a reader hurried
                self._started.add(key)
            try:
                future.set_result(self._print(*key))
            except (_Superseded, RenderRefused) as error:
                future.set_exception(error)  # expected, and RenderRefused is logged already
            except PrinterUnavailable as error:
                logger.warning("Could not print %r now (%s): a reader will retry", key, error)
                future.set_exception(error)
            except Exception as error:
                logger.error("Printing %r failed", key, exc_info=error)
                future.set_exception(error)
            finally:
                with self._lock:
                    self._inflight.pop(key, None)
                    self._started.discard(key)
                    self._hurried.discard(key)
                    self._awaited.discard(key)

    def _print(self, article_id: str, version: str) -> StoredPdf:
        """Print this version if no one else is; otherwise wait for whoever is."""
        deadline = time.monotonic() + self.wait_limit
        while True:
            now = datetime.now(UTC)
            with self.database.writing() as session:
                claimed = claim_print(
                    session, article_id, version, self.layout, now, now - self.claim_lifetime
                )
            if claimed:
                return self._print_claimed(article_id, version)
            with self.database.reading() as session:
                state = pdf_state(session, article_id)
            if state is None or state.article_version != version:
                raise _Superseded()
            printed = _printed(state)
            if printed is not None and state.layout == self.layout:
                return printed
            refusal = state.refusal(self.layout, datetime.now(UTC))
            if refusal is not None:
                raise RenderRefused(refusal)
            if time.monotonic() > deadline:
                raise PrinterUnavailable("Another process is still printing this article.")
            time.sleep(_POLL_SECONDS)

    def _print_claimed(self, article_id: str, version: str) -> StoredPdf:
        with self.database.reading() as session:
            row = get_article(session, article_id)
            article = article_of(row) if row is not None and row.version == version else None
        try:
            if article is None:
                raise _Superseded()
            job = PrintJob(article, self.env, self.settings, PAPER)
            key = (article_id, version)
            # Behind every print a reader waits for, until a reader waits for this one.
            with timed_render("pdf"), unawaited(lambda: key not in self._awaited):
                printed = job.print_with(self.get_printer())
            data = printed.data
            warnings = job.warnings(printed)
            for warning in warnings:
                logger.warning("The stored PDF of %r left out: %s", article_id, warning)
        except RenderRefused as refusal:
            passing = isinstance(refusal, PrintTimedOut)
            again = datetime.now(UTC) + self.retry_after if passing else None
            with self.database.writing() as session:
                save_failure(session, article_id, version, self.layout, refusal.detail, again)
            logger.warning("Article %r cannot be printed: %s", article_id, refusal.detail)
            raise
        except BaseException:
            with self.database.writing() as session:
                release_claim(session, article_id, version)
            raise
        printed_at = datetime.now(UTC)
        passing = any(item.transient for item in printed.left_out)
        again = printed_at + self.retry_after if passing else None
        # Tagged by its bytes, not by what went in: a reprint by other code may differ, and a
        # strong tag must change with any byte (a client's If-Range splices ranges by it).
        etag = hashlib.sha256(data).hexdigest()
        with self.database.writing() as session:
            kept = save_print(
                session, article_id, version, self.layout, etag, data, printed_at, again, warnings
            )
        if not kept:
            raise _Superseded()
        logger.info("Printed article %r (%d bytes)", article_id, len(data))
        return StoredPdf(etag, data, printed_at, tuple(warnings))

    def close(self, timeout: float | None = None) -> None:
        """Stop the press threads once the prints already queued are done."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put((_LAST, next(self._arrivals), _STOP))
        for thread in threads:
            thread.join(timeout)
