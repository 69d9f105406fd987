"""Refusals remembered for a while: work that ran out of time is not tried again at once.

A print edition the request's deadline stopped costs both printers the whole deadline; the
same edition asked for again (the day's paper is a public URL) is refused at once for a
while instead, then printed again, since load alone may have caused the first refusal.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from .errors import BroadsheetError


@dataclass(frozen=True, slots=True)
class _Refusal:
    error: BroadsheetError
    until: float  # time.monotonic()


class RecentRefusals:
    """Refusals by key, each kept for `lasting` seconds; at most `max_items`, oldest out."""

    def __init__(self, lasting: float, max_items: int = 256):
        self.lasting = lasting
        self.max_items = max_items
        self._items: OrderedDict[str, _Refusal] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Raise the refusal remembered for `key`, if it still stands."""
        with self._lock:
            refusal = self._items.get(key)
            if refusal is not None and refusal.until <= time.monotonic():
                del self._items[key]
                refusal = None
        if refusal is not None:
            left = max(1, round(refusal.until - time.monotonic()))
            error = copy.copy(refusal.error)
            error.detail = f"{error.detail} (Refused a moment ago; tried again in {left} s.)"
            error.args = (error.detail,)
            raise error

    def remember(self, key: str, error: BroadsheetError) -> None:
        # A copy without its traceback: the frames it holds would keep the whole job (every
        # article's HTML) alive for as long as the refusal is remembered.
        kept = copy.copy(error)
        kept.__traceback__ = kept.__context__ = kept.__cause__ = None
        now = time.monotonic()
        with self._lock:
            for old in [k for k, refusal in self._items.items() if refusal.until <= now]:
                del self._items[old]
            self._items[key] = _Refusal(kept, now + self.lasting)
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
