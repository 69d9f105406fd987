"""PDF renders in worker processes, so one that runs too long is killed instead of waited on.

A thread cannot be stopped in Python, and WeasyPrint's layout has no deadline; a worker
process can be. Each worker builds its `Printer` once (stylesheets, fonts) and then serves
renders over a pipe. A render past the time limit kills its worker and a fresh one takes
its place; the client gets a clear problem answer, and the server is never wedged.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import queue
import threading
from multiprocessing.connection import Connection
from typing import Any

from .errors import PrinterUnavailable, RenderRefused

logger = logging.getLogger(__name__)


def _serve(connection: Connection, image_hosts: tuple[str, ...], max_pages: int) -> None:
    """Worker process: build the printer once, then print whatever arrives."""
    from .printing import Printer

    printer = Printer(image_hosts, max_pages=max_pages)
    connection.send(("ready", None))
    while True:
        try:
            html, paper, labels = connection.recv()
        except (EOFError, KeyboardInterrupt):
            return
        try:
            connection.send(("ok", printer.print(html, paper, labels)))
        except RenderRefused as refusal:
            connection.send(("refused", refusal.detail))
        except Exception as error:
            connection.send(("error", f"{type(error).__name__}: {error}"))


class _Worker:
    def __init__(self, context: Any, image_hosts: tuple[str, ...], max_pages: int):
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_serve,
            args=(child, image_hosts, max_pages),
            daemon=True,
            name="broadsheet-printer",
        )
        self.process.start()
        child.close()
        self.ready = False

    def wait_ready(self, timeout: float) -> bool:
        if not self.ready and self.connection.poll(timeout):
            self.ready = self.connection.recv()[0] == "ready"
        return self.ready

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.connection.close()


class IsolatedPrinter:
    """A small pool of printer processes with a per-render time limit."""

    def __init__(
        self,
        image_hosts: tuple[str, ...] = (),
        *,
        max_pages: int,
        time_limit: float,
        workers: int,
        start_timeout: float = 60.0,
    ):
        self.image_hosts = image_hosts
        self.max_pages = max_pages
        self.time_limit = time_limit
        self.start_timeout = start_timeout
        self.size = workers
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._started = 0
        self._closed = False
        atexit.register(self.close)

    def _new_worker(self) -> _Worker:
        return _Worker(self._context, self.image_hosts, self.max_pages)

    def _take(self) -> _Worker:
        with self._lock:
            if self._idle.empty() and self._started < self.size:
                self._started += 1
                return self._new_worker()
        try:
            return self._idle.get(timeout=self.time_limit)
        except queue.Empty:
            raise PrinterUnavailable("Every PDF printer is busy; try again shortly.") from None

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        if not self._closed:
            self._idle.put(self._new_worker())

    def warm_up(self) -> None:
        """Start every worker now rather than on the first request."""
        workers = [self._take() for _ in range(self.size - self._started + self._idle.qsize())]
        for worker in workers:
            worker.wait_ready(self.start_timeout)
            self._idle.put(worker)

    def print(
        self, html: str, paper: str = "a4", link_labels: dict[str, str] | None = None
    ) -> bytes:
        worker = self._take()
        if not worker.wait_ready(self.start_timeout):
            self._replace(worker)
            raise PrinterUnavailable("The PDF printer did not start.")
        try:
            worker.connection.send((html, paper, link_labels or {}))
            if not worker.connection.poll(self.time_limit):
                logger.warning(
                    "A PDF render passed the %.0f s limit; its worker was stopped", self.time_limit
                )
                self._replace(worker)
                raise RenderRefused(
                    f"The article took longer than {self.time_limit:g} s to lay out."
                )
            status, payload = worker.connection.recv()
        except (EOFError, OSError, BrokenPipeError):
            logger.error("A PDF worker died during a render; starting another")
            self._replace(worker)
            raise PrinterUnavailable("The PDF printer stopped during the render.") from None
        self._idle.put(worker)
        if status == "ok":
            return payload
        if status == "refused":
            raise RenderRefused(payload)
        logger.error("PDF render failed: %s", payload)
        raise PrinterUnavailable("The PDF could not be produced.")

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                return
