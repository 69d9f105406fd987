"""Endnote numbering: order of first reference, then unreferenced notes, shown in a style."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .article import Article, Heading, Image, ListBlock, Note, Paragraph, Quote, Table
from .inline import Inline

_ROMAN = (
    (1000, "m"),
    (900, "cm"),
    (500, "d"),
    (400, "cd"),
    (100, "c"),
    (90, "xc"),
    (50, "l"),
    (40, "xl"),
    (10, "x"),
    (9, "ix"),
    (5, "v"),
    (4, "iv"),
    (1, "i"),
)


def note_label(number: int, style: str) -> str:
    """`number` as CSS list-style-type `style` would show it (decimal, lower-roman, lower-alpha)."""
    if style == "lower-roman" and 0 < number < 4000:
        parts = []
        for value, letters in _ROMAN:
            count, number = divmod(number, value)
            parts.append(letters * count)
        return "".join(parts)
    if style == "lower-alpha":
        letters = ""
        while number > 0:
            number, remainder = divmod(number - 1, 26)
            letters = chr(ord("a") + remainder) + letters
        return letters
    return str(number)


@dataclass(frozen=True, slots=True)
class NumberedNote:
    note: Note
    number: int
    label: str
    reference_count: int

    @property
    def anchor(self) -> str:
        return f"note-{self.note.id}"

    def reference_anchor(self, occurrence: int) -> str:
        """The id of the `occurrence`-th (1-based) reference to this note."""
        return f"ref-{self.note.id}-{occurrence}"

    @property
    def reference_anchors(self) -> tuple[str, ...]:
        return tuple(self.reference_anchor(k) for k in range(1, self.reference_count + 1))


@dataclass(frozen=True, slots=True)
class Endnotes:
    notes: tuple[NumberedNote, ...]
    style: str
    by_id: dict[str, NumberedNote]

    def __bool__(self) -> bool:
        return bool(self.notes)

    def get(self, note_id: str) -> NumberedNote:
        return self.by_id[note_id]


def reading_order(article: Article) -> Iterator[Inline]:
    """Every inline field that may hold note references, in the order a reader meets them."""
    for block in article.body:
        if isinstance(block, Paragraph | Heading):
            yield block.text
        elif isinstance(block, Quote):
            yield block.text
            if block.attribution:
                yield block.attribution
        elif isinstance(block, ListBlock):
            yield from block.items
        elif isinstance(block, Image):
            if block.caption:
                yield block.caption
            if block.credit:
                yield block.credit
        elif isinstance(block, Table):
            yield block.caption
            yield from block.header
            for row in block.rows:
                yield from row


def number_notes(article: Article) -> Endnotes:
    counts: dict[str, int] = {}
    for inline in reading_order(article):
        for note_id in inline.note_refs:
            counts[note_id] = counts.get(note_id, 0) + 1
    order = list(counts) + [note.id for note in article.notes if note.id not in counts]
    by_id = {note.id: note for note in article.notes}
    style = article.note_numbering
    numbered = tuple(
        NumberedNote(by_id[note_id], number, note_label(number, style), counts.get(note_id, 0))
        for number, note_id in enumerate(order, start=1)
    )
    return Endnotes(numbered, style, {item.note.id: item for item in numbered})


class ReferenceCounter:
    """Hands out the anchor of each reference as a renderer meets them, in reading order."""

    def __init__(self, endnotes: Endnotes):
        self.endnotes = endnotes
        self.seen: dict[str, int] = {}

    def next(self, note_id: str) -> tuple[NumberedNote, str]:
        occurrence = self.seen.get(note_id, 0) + 1
        self.seen[note_id] = occurrence
        numbered = self.endnotes.get(note_id)
        return numbered, numbered.reference_anchor(occurrence)
