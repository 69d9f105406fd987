"""One walk over an article: its parts, inline fields and notes in the order a reader meets them.

Every renderer (page, print, e-mail, text, and the digest that sets several articles) follows
this model instead of walking the article itself, so note numbers, reference anchors and
backlinks are decided once. Each field's note references are resolved here into `Reference`
pieces; a renderer serialises pieces and never counts.

Ids carry an optional per-article prefix (`Anchors`), so several articles can share one
document without two elements having the same id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

from .article import Article, Divider, Heading, Image, ListBlock, Note, Paragraph, Quote, Table
from .inline import Element, Inline, Node, NoteRef, Text
from .notes import note_label

# "" (an article alone on its page keeps the ids links already point at) or one lowercase
# token and one hyphen, such as "a2-". Every prefixed id's first hyphen ends its prefix, so
# two articles with different prefixes never share an id, whatever their note ids.
PREFIX = re.compile(r"(?:[a-z][a-z0-9]*-)?")


@dataclass(frozen=True, slots=True)
class Anchors:
    """The ids one article's markup uses, each carrying the article's prefix."""

    prefix: str = ""

    def __post_init__(self) -> None:
        if not PREFIX.fullmatch(self.prefix):
            raise ValueError(f"an anchor prefix looks like 'a2-', not {self.prefix!r}")

    @property
    def headline(self) -> str:
        return f"{self.prefix}headline"

    @property
    def notes_heading(self) -> str:
        return f"{self.prefix}notes-heading"

    def table(self, position: int) -> str:
        """The id of a table's caption, `position` counting the body's blocks from 1."""
        return f"{self.prefix}table-{position}"

    def note(self, note_id: str) -> str:
        return f"{self.prefix}note-{note_id}"

    def reference(self, note_id: str, occurrence: int) -> str:
        """The id of the `occurrence`-th (1-based) reference to a note."""
        return f"{self.prefix}ref-{note_id}-{occurrence}"


# The ids an article has on its own web page; e-mail links there, wherever it is set.
PAGE_ANCHORS = Anchors()


def prefix_for(position: int) -> str:
    """The anchor prefix of the `position`-th (1-based) article set in a shared document."""
    return f"a{position}-"


@dataclass(slots=True)
class Reference:
    """One note reference, where the reader meets it."""

    note_id: str
    number: int
    label: str  # the number as the article's numbering style shows it: "2", "ii", "b"
    occurrence: int  # 1-based among the references to the same note
    anchor: str  # this reference's id; the note's backlink points here
    note_anchor: str  # the note's id in this document


@dataclass(slots=True)
class Span:
    """An allowlisted inline element whose note references are resolved."""

    name: str
    attrs: tuple[tuple[str, str], ...]
    children: tuple[Piece, ...]

    def attr(self, name: str) -> str | None:
        return next((value for key, value in self.attrs if key == name), None)


# What a field is made of. An `Element` is an untouched subtree of the parsed inline text that
# holds no note reference; only the path to a reference is rebuilt, as `Span`s.
Piece = Text | Span | Element | Reference


def children(piece: Span | Element) -> tuple[Piece, ...]:
    """The pieces inside an element, resolved or (holding no reference) as parsed."""
    return cast("tuple[Piece, ...]", piece.children)


@dataclass(slots=True)
class Field:
    """One inline field as read: where it sits in the article and its resolved pieces."""

    pointer: str  # JSON Pointer into the article, e.g. /body/3/items/0
    pieces: tuple[Piece, ...]
    source: Inline
    language: str  # the article's, or a quote's own

    @property
    def text(self) -> str:
        """The words as a reader sees them, without markup or note references."""
        return self.source.text

    @property
    def plain(self) -> str:
        """The words as plain text shows them in their language (`Inline.plain_in`)."""
        return self.source.plain_in(self.language)

    @property
    def references(self) -> tuple[Reference, ...]:
        return tuple(_references(self.pieces))


def _references(pieces: tuple[Piece, ...]) -> Iterator[Reference]:
    for piece in pieces:
        if isinstance(piece, Reference):
            yield piece
        elif isinstance(piece, Span):
            yield from _references(piece.children)
        # An Element holds no reference.


# The body's parts, one class per block type. Like everything `read` returns they are built
# by the hundred for every render and are not frozen (a frozen dataclass costs four times as
# much to build); nothing changes them after `read`. `source` keeps the block for what is not
# inline text (a heading's level, an image's src and alt); `fields()` lists the inline
# fields in reading order, the order in which they were numbered.


@dataclass(slots=True)
class ParagraphPart:
    source: Paragraph
    text: Field
    type = "paragraph"

    def fields(self) -> Iterator[Field]:
        yield self.text


@dataclass(slots=True)
class HeadingPart:
    source: Heading
    text: Field
    type = "heading"

    def fields(self) -> Iterator[Field]:
        yield self.text


@dataclass(slots=True)
class QuotePart:
    source: Quote
    text: Field
    attribution: Field | None
    type = "quote"

    def fields(self) -> Iterator[Field]:
        yield self.text
        if self.attribution:
            yield self.attribution


@dataclass(slots=True)
class ListPart:
    source: ListBlock
    items: tuple[Field, ...]
    type = "list"

    def fields(self) -> Iterator[Field]:
        yield from self.items


@dataclass(slots=True)
class ImagePart:
    source: Image
    caption: Field | None
    credit: Field | None
    type = "image"

    def fields(self) -> Iterator[Field]:
        if self.caption:
            yield self.caption
        if self.credit:
            yield self.credit


@dataclass(slots=True)
class TablePart:
    source: Table
    caption: Field
    header: tuple[Field, ...]
    rows: tuple[tuple[Field, ...], ...]
    type = "table"

    def fields(self) -> Iterator[Field]:
        yield self.caption
        yield from self.header
        for row in self.rows:
            yield from row


@dataclass(slots=True)
class DividerPart:
    source: Divider
    type = "divider"

    def fields(self) -> Iterator[Field]:
        yield from ()


Part = ParagraphPart | HeadingPart | QuotePart | ListPart | ImagePart | TablePart | DividerPart


@dataclass(slots=True)
class Backlink:
    """A link from a note back to one of its references."""

    anchor: str  # the reference's id
    letter: str  # "a", "b", … when the note is referenced more than once, else ""


@dataclass(slots=True)
class NumberedNote:
    """A note with its number: order of first reference, then unreferenced notes."""

    source: Note
    number: int
    label: str
    anchor: str
    text: Field
    references: tuple[Reference, ...]

    @property
    def backlinks(self) -> tuple[Backlink, ...]:
        several = len(self.references) > 1
        return tuple(
            Backlink(ref.anchor, backlink_letter(ref.occurrence) if several else "")
            for ref in self.references
        )


def backlink_letter(occurrence: int) -> str:
    """a, b, … z, then aa, ab, …: never digits, which would read as another note's number
    ("1" and "27" as "127")."""
    return note_label(occurrence, "lower-alpha")


@dataclass(slots=True)
class Reading:
    """An article as its reader meets it: headline, standfirst, parts, numbered notes."""

    article: Article
    anchors: Anchors
    headline: Field
    standfirst: Field | None
    body: tuple[Part, ...]
    notes: tuple[NumberedNote, ...]
    note_style: str
    references: tuple[Reference, ...]  # every note reference, in reading order
    _by_id: dict[str, NumberedNote] = field(repr=False, compare=False)

    def note(self, note_id: str) -> NumberedNote:
        return self._by_id[note_id]

    def fields(self) -> Iterator[Field]:
        """Every inline field, in reading order, the notes' texts last."""
        yield self.headline
        if self.standfirst:
            yield self.standfirst
        for part in self.body:
            yield from part.fields()
        for note in self.notes:
            yield note.text


def headline_of(article: Article) -> Field:
    """The article's headline as read, without walking the rest (a headline holds no note
    reference)."""
    return _Walk(article, Anchors("")).field("/headline", article.headline)


def read(article: Article, prefix: str = "") -> Reading:
    """Walk `article` once: resolve and number every note reference in reading order."""
    walk = _Walk(article, Anchors(prefix))
    headline = walk.field("/headline", article.headline)
    standfirst = walk.field("/standfirst", article.standfirst) if article.standfirst else None
    body = tuple(walk.part(f"/body/{i}", block) for i, block in enumerate(article.body))
    notes = walk.notes()
    return Reading(
        article=article,
        anchors=walk.anchors,
        headline=headline,
        standfirst=standfirst,
        body=body,
        notes=notes,
        note_style=article.note_numbering,
        references=tuple(walk.references),
        _by_id={note.source.id: note for note in notes},
    )


class _Walk:
    """The state of one walk: numbers handed out so far and every reference met."""

    def __init__(self, article: Article, anchors: Anchors):
        self.article = article
        self.anchors = anchors
        self.style = article.note_numbering
        self.numbers: dict[str, int] = {}
        self.seen: dict[str, int] = {}
        self.references: list[Reference] = []

    def part(self, pointer: str, block) -> Part:
        if isinstance(block, Paragraph):
            return ParagraphPart(block, self.field(f"{pointer}/text", block.text))
        if isinstance(block, Heading):
            return HeadingPart(block, self.field(f"{pointer}/text", block.text))
        if isinstance(block, Quote):
            text = self.field(f"{pointer}/text", block.text, block.lang)
            attribution = self.optional(f"{pointer}/attribution", block.attribution)
            return QuotePart(block, text, attribution)
        if isinstance(block, ListBlock):
            items = self.fields(f"{pointer}/items", block.items)
            return ListPart(block, items)
        if isinstance(block, Image):
            caption = self.optional(f"{pointer}/caption", block.caption)
            credit = self.optional(f"{pointer}/credit", block.credit)
            return ImagePart(block, caption, credit)
        if isinstance(block, Table):
            caption = self.field(f"{pointer}/caption", block.caption)
            header = self.fields(f"{pointer}/header", block.header)
            rows = tuple(
                self.fields(f"{pointer}/rows/{r}", row) for r, row in enumerate(block.rows)
            )
            return TablePart(block, caption, header, rows)
        return DividerPart(block)

    def fields(self, pointer: str, inlines: list[Inline]) -> tuple[Field, ...]:
        field = self.field
        return tuple([field(f"{pointer}/{i}", inline) for i, inline in enumerate(inlines)])

    def optional(self, pointer: str, inline: Inline | None) -> Field | None:
        return self.field(pointer, inline) if inline is not None else None

    def field(self, pointer: str, inline: Inline, language: str | None = None) -> Field:
        nodes = inline.nodes
        language = language or self.article.language
        if not _holds_reference(nodes):  # most text: kept as parsed, no copy
            return Field(pointer, cast("tuple[Piece, ...]", nodes), inline, language)
        return Field(pointer, self.pieces(nodes), inline, language)

    def pieces(self, nodes: tuple[Node, ...]) -> tuple[Piece, ...]:
        result: list[Piece] = []
        for node in nodes:
            if isinstance(node, NoteRef):
                result.append(self.reference(node.note_id))
            elif isinstance(node, Element) and _holds_reference(node.children):
                result.append(Span(node.name, node.attrs, self.pieces(node.children)))
            else:
                result.append(node)
        return tuple(result)

    def reference(self, note_id: str) -> Reference:
        number = self.numbers.setdefault(note_id, len(self.numbers) + 1)
        occurrence = self.seen[note_id] = self.seen.get(note_id, 0) + 1
        reference = Reference(
            note_id=note_id,
            number=number,
            label=note_label(number, self.style),
            occurrence=occurrence,
            anchor=self.anchors.reference(note_id, occurrence),
            note_anchor=self.anchors.note(note_id),
        )
        self.references.append(reference)
        return reference

    def notes(self) -> tuple[NumberedNote, ...]:
        numbers = self.numbers
        for note in self.article.notes:
            numbers.setdefault(note.id, len(numbers) + 1)
        by_note: dict[str, list[Reference]] = {}
        for reference in self.references:
            by_note.setdefault(reference.note_id, []).append(reference)
        numbered = []
        for index, note in enumerate(self.article.notes):
            number = numbers[note.id]
            numbered.append(
                NumberedNote(
                    source=note,
                    number=number,
                    label=note_label(number, self.style),
                    anchor=self.anchors.note(note.id),
                    text=self.field(f"/notes/{index}/text", note.text),
                    references=tuple(by_note.get(note.id, ())),
                )
            )
        numbered.sort(key=_by_number)
        return tuple(numbered)


def _by_number(note: NumberedNote) -> int:
    return note.number


def _holds_reference(nodes: tuple[Node, ...]) -> bool:
    for node in nodes:
        kind = type(node)
        if kind is Text:
            continue
        if kind is NoteRef:
            return True
        if node.children and _holds_reference(node.children):  # type: ignore[union-attr]
            return True
    return False
