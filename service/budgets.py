"""What one article may cost: limits on its size, checked on the decoded JSON before anything
else is built from it, so the routes, the command line and storage refuse the same articles.

Each field already has its own limit (SPEC §1); these bound the whole. They are generous for a
long read (about 25,000 words, hundreds of notes, a dozen tables) and keep the costliest format,
e-mail, within about two seconds and a few hundred megabytes on the reference machine. The walk
is iterative and stops at the first limit it passes, so a hostile body costs no more than a
legitimate one to refuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import FieldError, OverBudget
from .images import MAX_IMAGE_PIXELS, embedded_pixels


@dataclass(frozen=True, slots=True)
class Limit:
    key: str
    maximum: int
    words: str  # what is counted, as the client reads it

    def describe(self) -> str:
        return f"{self.maximum:,} {self.words}"


VALUES = Limit("values", 40_000, "JSON values (objects, arrays, strings, numbers)")
CHARACTERS = Limit("characters", 150_000, "characters of text and markup (image sources apart)")
ELEMENTS = Limit("elements", 3_000, "inline elements (<em>, <a>, <br> and the rest)")
NOTE_REFERENCES = Limit("note_references", 500, "note references")
LIST_ITEMS = Limit("list_items", 1_000, "list items")
TABLE_CELLS = Limit("table_cells", 2_500, "table cells, header cells included")
IMAGES = Limit("images", 50, "images")
# Decoded together in one printer process; each embedded image's own cap is in images.py.
PIXELS = Limit("pixels", 40_000_000, "pixels over all embedded images")
LIMITS = (VALUES, CHARACTERS, ELEMENTS, NOTE_REFERENCES, LIST_ITEMS, TABLE_CELLS, IMAGES, PIXELS)

_ELEMENT = re.compile(r"<[A-Za-z]")


def check_budget(data: Any) -> None:
    """Raise OverBudget, naming each limit passed and where, if `data` costs too much."""
    errors = _block_errors(data)
    if _passes_a_walk_limit(data):
        errors += _walk_errors(data)
    if errors:
        names = ", ".join(limit.describe() for limit, _ in errors)
        raise OverBudget(
            [
                FieldError(pointer, f"passes the article's limit of {limit.describe()} here")
                for limit, pointer in errors
            ],
            f"The article is larger than one article may be: at most {names}.",
        )


class _Tally:
    """Running totals; remembers where each one first passed its limit."""

    def __init__(self) -> None:
        self.totals = dict.fromkeys((limit.key for limit in LIMITS), 0)
        self.passed: dict[str, tuple[Limit, str]] = {}

    def add(self, limit: Limit, amount: int, path: tuple) -> None:
        """Count `amount` of `limit` found at `path`."""
        before = self.totals[limit.key]
        self.totals[limit.key] = before + amount
        if before + amount > limit.maximum and limit.key not in self.passed:
            self.passed[limit.key] = (limit, pointer(path))

    def add_each(self, limit: Limit, count: int, path: tuple) -> None:
        """Count the `count` members of the array at `path`, pointing at the one that passes."""
        before = self.totals[limit.key]
        if before + count > limit.maximum:
            path = (*path, max(0, limit.maximum - before))
        self.add(limit, count, path)


def _passes_a_walk_limit(data: Any) -> bool:
    """Whether `_walk_errors` finds anything: the same totals, without the paths it keeps to
    point at where a limit is passed, which cost more than the counting."""
    if not isinstance(data, (dict, list)):
        return bool(_walk_errors(data))
    values, characters, elements, references = 1, 0, 0, 0
    stack: list[dict | list] = [data]
    while stack:
        container = stack.pop()
        values += len(container)
        pairs = container.items() if isinstance(container, dict) else enumerate(container)
        for key, item in pairs:
            if isinstance(item, str):
                if key == "src":
                    continue  # image bytes have their own cap (service/images.py)
                characters += len(item)
                if "<" in item:
                    elements += len(_ELEMENT.findall(item))
                if "[^" in item:
                    references += item.count("[^")
            elif isinstance(item, (dict, list)):
                stack.append(item)
        if (
            values > VALUES.maximum
            or characters > CHARACTERS.maximum
            or elements > ELEMENTS.maximum
            or references > NOTE_REFERENCES.maximum
        ):
            return True
    return False


def _walk_errors(data: Any) -> list[tuple[Limit, str]]:
    """Values, characters, elements and note references, over every value of the article."""
    tally = _Tally()
    stack: list[tuple[Any, tuple]] = [(data, ())]
    while stack and not tally.passed:
        value, path = stack.pop()
        tally.add(VALUES, 1, path)
        if isinstance(value, str):
            if path and path[-1] == "src":
                continue  # image bytes have their own cap (service/images.py)
            tally.add(CHARACTERS, len(value), path)
            if "<" in value:
                tally.add(ELEMENTS, len(_ELEMENT.findall(value)), path)
            if "[^" in value:
                tally.add(NOTE_REFERENCES, value.count("[^"), path)
        elif isinstance(value, dict):
            stack.extend((item, (*path, key)) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((item, (*path, i)) for i, item in reversed(list(enumerate(value))))
    return list(tally.passed.values())


def _block_errors(data: Any) -> list[tuple[Limit, str]]:
    """List items, table cells and images, over the body's blocks."""
    body = data.get("body") if isinstance(data, dict) else None
    if not isinstance(body, list):
        return []
    tally = _Tally()
    sources: set[str] = set()
    for index, block in enumerate(body):
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "list" and isinstance(block.get("items"), list):
            tally.add_each(LIST_ITEMS, len(block["items"]), ("body", index, "items"))
        elif kind == "table":
            header, rows = block.get("header"), block.get("rows")
            if isinstance(header, list):
                tally.add_each(TABLE_CELLS, len(header), ("body", index, "header"))
            for row_index, row in enumerate(rows if isinstance(rows, list) else []):
                if isinstance(row, list):
                    tally.add_each(TABLE_CELLS, len(row), ("body", index, "rows", row_index))
        elif kind == "image":
            tally.add(IMAGES, 1, ("body", index))
            src = block.get("src")
            if isinstance(src, str) and src.startswith("data:") and src not in sources:
                sources.add(src)  # the same image twice is decoded once
                # One image past its own cap is refused by validation, which says so.
                pixels = min(embedded_pixels(src), MAX_IMAGE_PIXELS)
                tally.add(PIXELS, pixels, ("body", index, "src"))
    return list(tally.passed.values())


def pointer(path: tuple) -> str:
    """A JSON Pointer (RFC 6901) for a path of keys and indexes."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)
