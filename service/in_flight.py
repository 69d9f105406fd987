"""Work asked for again while it runs is not started twice: the later askers share its end.

The day's paper is a public URL. Readers asking for an edition at the same moment, before
it is in the PDF cache, each printed the whole of it, holding every printer for up to the
deadline. In one process the first request now prints and the others wait for its answer,
the PDF or the refusal; each worker process prints a given edition at most once at a time.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from .errors import BroadsheetError, PrinterUnavailable

T = TypeVar("T")


class InFlight:
    """Runs of `work` by key; a run asked for while one with its key runs waits for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, Future] = {}
        self.started = 0  # runs begun, ever: a run that sees it move was not alone

    def alone_since(self, started: int) -> bool:
        """True when one run is under way and none began since `started` was read: the
        caller's run (which read it as it began) had the work to itself."""
        with self._lock:
            return len(self._running) == 1 and self.started == started

    def run(self, key: str, work: Callable[[], T], *, wait: float) -> T:
        """`work()`'s result, or the one a run already under way for `key` ends with.

        A waiter gives up after `wait` seconds with a 503 (try again shortly); an error the
        run ended with reaches each waiter as a copy of its own.
        """
        with self._lock:
            running = self._running.get(key)
            if running is None:
                mine: Future = Future()
                self._running[key] = mine
                self.started += 1
        if running is not None:
            return _shared(running, wait)
        try:
            result = work()
        except BaseException as error:
            mine.set_exception(error)
            raise
        else:
            mine.set_result(result)
            return result
        finally:
            with self._lock:
                del self._running[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._running)


def _shared(running: Future, wait: float):
    try:
        error = running.exception(timeout=wait)
    except TimeoutError:
        raise PrinterUnavailable(
            "The same edition is being printed for another request; try again shortly."
        ) from None
    if error is None:
        return running.result()
    if isinstance(error, BroadsheetError):
        own = copy.copy(error)
        own.__traceback__ = None
        raise own from None
    raise PrinterUnavailable("The same edition failed to print for another request.") from None
