"""A bounded cache of the most recently used values: what the PDF cache and the list page keep."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Kept(Generic[K, V]):
    """Values by key, the least recently used first out, bounded in count and in weight
    (bytes, characters: `weigh` says); a value heavier than the whole is not kept, and a
    key already kept keeps its value. Safe across threads."""

    def __init__(self, max_items: int, max_weight: int, weigh: Callable[[V], int]):
        self.max_items = max_items
        self.max_weight = max_weight
        self._weigh = weigh
        self._items: OrderedDict[K, V] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        weight = self._weigh(value)
        if self.max_items <= 0 or weight > self.max_weight:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self._weight += weight
            while len(self._items) > self.max_items or self._weight > self.max_weight:
                _, dropped = self._items.popitem(last=False)
                self._weight -= self._weigh(dropped)

    def __len__(self) -> int:
        return len(self._items)
