"""A teaser with its markup: a field cut where the words of its plain teaser end.

The digest's items and the list of quick reads show the standfirst, or else the first
paragraph, cut at a word boundary. The cut is made on the plain words; these functions cut
the field's pieces at the same place, so that what is kept keeps its markup (the language of
a phrase, an abbreviation's title, <sub>), each element closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

from markupsafe import Markup

from .article import Article
from .characters import ELLIPSIS, squeezed
from .inline import ISOLATE_END, MAX_DEPTH, STRUCK, Element, Text, plain_of, sets_apart
from .kept import Kept
from .page import headline_words, teaser_words
from .reading import Field, ParagraphPart, Piece, Span, children, read

# A list's headline and summary: markup, or the summary's plain words where no cut of the
# paragraph reads as they do.
ListWords = tuple[Markup, Markup | str]


def list_words(article: Article, summary: str) -> ListWords:
    """An article's headline and summary as a list of articles shows them, their markup
    kept (the language of a phrase, struck words): the whole standfirst, or else the words
    of `summary` (the first paragraph cut at a word) cut from the paragraph's pieces."""
    reading = read(article)
    headline = headline_words(reading.headline)
    if reading.standfirst is not None:
        return headline, teaser_words(reading.standfirst)
    paragraph = next((p for p in reading.body if isinstance(p, ParagraphPart)), None)
    field, tail = marked_teaser(None if paragraph is None else paragraph.text, summary)
    return headline, summary if field is None else teaser_words(field) + tail


class KeptWords(Kept[str, ListWords]):
    """`list_words` of the most recent versions, by version (a hash of the article's JSON):
    reading an article back validates it (a third of a millisecond for bike-lanes), and a
    list page shows twenty, the same ones to every reader until one changes. Bounded in
    count and in characters (a standfirst may hold 20,000 of markup)."""

    def __init__(self, size: int = 2048, characters: int = 4_000_000):
        super().__init__(size, characters, lambda words: len(words[0]) + len(words[1]))


def marked_teaser(source: Field | None, teaser: str) -> tuple[Field | None, str]:
    """The field that reads as `teaser` (cut from `source`'s plain words), and the words the
    cut adds after it; (None, "") where no cut of the field reads the same."""
    if source is None:
        return None, ""
    if teaser == squeezed(source.plain):
        return source, ""
    return cut_field(source, teaser) or (None, "")


def cut_field(field: Field, teaser: str) -> tuple[Field, str] | None:
    """`field` cut where the words of `teaser` (cut by `teaser_for`) end, its markup kept,
    and what the cut adds after it; None where no cut of the field reads as the teaser (a
    cut inside a <q>, whose plain words close the quotation, or inside a <sup> written
    10^(-6.5), whose cut words take another form: the teaser stays plain).

    A cut inside <s> or an isolate (<bdi>, <span dir>) is closed: its plain words
    (~~struck~~, ⁨words⁩) end in a mark that the teaser, cut from the whole field's plain
    words, lacks."""
    end = teaser.rfind(ELLIPSIS)
    if end < 0:
        return None
    head, tail = teaser[:end], teaser[end:]
    # The fewest characters of text whose words are as long as the head's, by bisection.
    low, high = 0, _length(field.pieces)
    while low < high:
        middle = (low + high) // 2
        if len(squeezed(plain_of(_cut(field.pieces, [middle]), field.language))) >= len(head):
            high = middle
        else:
            low = middle + 1
    # Within <s> or an isolate, the marks closing them count too: the words reach the head
    # as many characters on (two for each <s>, one for each isolate it ends inside).
    for budget in range(low, low + len(STRUCK_MARK) * (MAX_DEPTH + 1) + 1):
        pieces = _cut(field.pieces, [budget])
        closing = _closing_marks(pieces)
        if squeezed(plain_of(pieces, field.language)) == head + closing:
            # The teaser closes the isolates its cut left open, after its ellipsis; the
            # markup closes those of its elements itself.
            rest = tail.replace(ISOLATE_END, "", closing.count(ISOLATE_END))
            if closing and rest != ELLIPSIS:
                # A control written in the text, left open inside an element the cut ends
                # in: closed after the element, it would cross it. The teaser stays plain.
                return None
            return Field(field.pointer, pieces, field.source, field.language), rest
    return None


STRUCK_MARK = "~~"


def _closing_marks(pieces: Sequence[Piece]) -> str:
    """What the plain words of a cut add after its last character, for the elements the cut
    ends inside (the last piece, and the last within it): the "~~" closing an <s>, the PDI
    closing an isolate, innermost first."""
    marks = ""
    while pieces and isinstance(last := pieces[-1], (Span, Element)) and last.name != "br":
        if last.name in STRUCK:
            marks = STRUCK_MARK + marks
        elif sets_apart(last):
            marks = ISOLATE_END + marks
        pieces = children(last)
    return marks


def _length(pieces: Sequence[Piece]) -> int:
    return sum(
        len(piece.value)
        if isinstance(piece, Text)
        else (1 if piece.name == "br" else _length(children(piece)))
        if isinstance(piece, (Span, Element))
        else 0
        for piece in pieces
    )


def _cut(pieces: Sequence[Piece], budget: list[int]) -> tuple[Piece, ...]:
    """The pieces holding the first `budget[0]` characters of text (a <br> counts one)."""
    kept: list[Piece] = []
    for piece in pieces:
        if budget[0] <= 0:
            break
        if isinstance(piece, Text):
            words = piece.value[: budget[0]]
            budget[0] -= len(words)
            kept.append(piece if len(words) == len(piece.value) else Text(words))
        elif isinstance(piece, (Span, Element)) and piece.name != "br":
            # An Element's children are parsed nodes, a Span's pieces as read: cut alike.
            kept.append(replace(cast("Any", piece), children=_cut(children(piece), budget)))
        else:
            budget[0] -= 1 if isinstance(piece, Element) else 0  # a <br>; a reference: none
            kept.append(piece)
    return tuple(kept)
