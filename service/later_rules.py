"""Rules that came after articles were stored judge what is sent, not what is read back.

An article stored under an earlier release is read back (`validate_article(stored=True)`)
inside `reading_stored()`: the checks added since (visible text in a field and a link,
nesting of bidirectional controls, private-use language tags, hosts no URL parser accepts)
ask `apply()` and let it pass, so an upgrade never turns a stored article into a 500.
Storing it again meets today's rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_reading_stored: ContextVar[bool] = ContextVar("reading_stored", default=False)


def apply() -> bool:
    """Whether the rules that came later judge the text at hand (not a stored article's)."""
    return not _reading_stored.get()


@contextmanager
def reading_stored() -> Iterator[None]:
    token = _reading_stored.set(True)
    try:
        yield
    finally:
        _reading_stored.reset(token)
