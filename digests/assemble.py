"""Which quick reads make the digest for a date, in what order, with what teaser (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from service.article import Article
from service.characters import ELLIPSIS, cut_at_word, squeezed
from service.inline import STRUCK, Element, Text, plain_of
from service.language import direction_of
from service.reading import Field, ParagraphPart, Piece, Reading, Span, children, read
from service.settings import Settings

TEASER_LENGTH = 240
# A digest names at most this many quick reads, oldest first, and then says how many more
# there were, linking to the list (500 quick reads made 21 MB copies, near many relays' size
# limit); render.py names fewer when the HTML part would pass its HTML_BUDGET.
MAX_ITEMS = 100


@dataclass(frozen=True, slots=True)
class Window:
    """[start, end) in UTC: from D-1 at the digest time to D at the digest time, local."""

    start: datetime
    end: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment.astimezone(UTC) < self.end


@dataclass(frozen=True, slots=True)
class DigestItem:
    article_id: str
    headline: Field
    teaser: str
    url: str
    published_at: datetime
    language: str
    section: str | None = None
    # The field the teaser is (all of it, or cut where the teaser's words end): its markup
    # says the language of its parts, which the HTML part and the page keep (WCAG 3.1.2);
    # `teaser_tail` is what a cut adds after it (the ellipsis).
    teaser_field: Field | None = None
    teaser_tail: str = ""

    @property
    def direction(self) -> str:
        return direction_of(self.language)


@dataclass(frozen=True, slots=True)
class Digest:
    """The quick reads of one date, oldest first; empty means nothing is sent."""

    date: date
    window: Window
    items: tuple[DigestItem, ...]
    more: int = 0  # quick reads of the window past MAX_ITEMS, not in the digest

    def __bool__(self) -> bool:
        return bool(self.items)


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day` in `zone`, in UTC.

    A wall time that a spring-forward skips is read with the offset before the change
    (PEP 495, fold=0), and one that a fall-back repeats means its first occurrence; both
    days' windows are built the same way, so consecutive windows always meet exactly.
    """
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def digest_window(day: date, at: time, zone: ZoneInfo) -> Window:
    return Window(local_moment(day - timedelta(days=1), at, zone), local_moment(day, at, zone))


def digest_date_at(moment: datetime, at: time, zone: ZoneInfo) -> date:
    """The latest date whose digest is due at `moment` (its send time has come)."""
    local_day = moment.astimezone(zone).date()
    if moment.astimezone(UTC) >= local_moment(local_day, at, zone):
        return local_day
    return local_day - timedelta(days=1)


def teaser_for(reading: Reading, length: int = TEASER_LENGTH) -> str:
    """The standfirst, or else the first paragraph, cut at a word boundary."""
    field = _teaser_source(reading)
    return "" if field is None else cut_at_word(squeezed(field.plain), length)


def _teaser_source(reading: Reading) -> Field | None:
    if reading.standfirst is not None:
        return reading.standfirst
    paragraph = next((p for p in reading.body if isinstance(p, ParagraphPart)), None)
    return None if paragraph is None else paragraph.text


def assemble(
    articles: Iterable[Article],
    day: date,
    at: time,
    zone: ZoneInfo,
    settings: Settings,
    more: int = 0,
) -> Digest:
    """The digest for `day`: the quick reads published in its window, oldest first, at most
    MAX_ITEMS of them; `more` counts those the caller did not even pass in."""
    window = digest_window(day, at, zone)
    chosen = sorted(
        (a for a in articles if a.is_quick_read and a.published_at in window),
        key=lambda a: (a.published_at.astimezone(UTC), a.id),
    )
    items = tuple(_item(article, read(article), settings) for article in chosen[:MAX_ITEMS])
    return Digest(day, window, items, more + len(chosen[MAX_ITEMS:]))


def as_mailed(
    articles: Sequence[Article], day: date, at: time, zone: ZoneInfo, settings: Settings, more: int
) -> Digest:
    """The digest a run mailed: these articles (stored now; a deleted one is gone), in the
    mail's order, and the `more` it counted."""
    items = tuple(_item(article, read(article), settings) for article in articles)
    return Digest(day, digest_window(day, at, zone), items, more)


def cut_field(field: Field, teaser: str) -> tuple[Field, str] | None:
    """`field` cut where the words of `teaser` (cut by `teaser_for`) end, its markup kept,
    and what the cut adds after it; None where no cut of the field reads as the teaser (a
    cut inside a <q>, whose plain words close the quotation, or inside a <sup> written
    10^(-6.5), whose cut words take another form: the teaser stays plain).

    A cut inside <s> is closed: its plain words (~~struck~~) end in a "~~" that the teaser,
    cut from the whole field's plain words, lacks."""
    end = teaser.rfind(ELLIPSIS)
    if end < 0:
        return None
    head, tail = teaser[:end], teaser[end:]
    # The fewest characters of text whose words are as long as the head's, by bisection.
    low, high = 0, _length(field.pieces)
    while low < high:
        middle = (low + high) // 2
        if len(squeezed(plain_of(_cut(field.pieces, [middle])))) >= len(head):
            high = middle
        else:
            low = middle + 1
    # Within <s>, the closing "~~" counts too: the words reach the head two characters on.
    for budget in range(low, low + len(STRUCK_MARK) + 1):
        pieces = _cut(field.pieces, [budget])
        said = squeezed(plain_of(pieces))
        if said == head or (said == head + STRUCK_MARK and _ends_inside(pieces, STRUCK)):
            return Field(field.pointer, pieces, field.source), tail
    return None


STRUCK_MARK = "~~"


def _ends_inside(pieces: Sequence[Piece], names: frozenset[str]) -> bool:
    """The cut ends inside one of the elements `names` (the last piece, or one within it)."""
    while pieces and isinstance(last := pieces[-1], (Span, Element)) and last.name != "br":
        if last.name in names:
            return True
        pieces = children(last)
    return False


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


def _item(article: Article, reading: Reading, settings: Settings) -> DigestItem:
    teaser = teaser_for(reading)
    source = _teaser_source(reading)
    teaser_field, tail = None, ""
    if source is not None:
        if teaser == squeezed(source.plain):
            teaser_field = source
        elif (cut := cut_field(source, teaser)) is not None:
            teaser_field, tail = cut
    return DigestItem(
        article_id=article.id,
        headline=reading.headline,
        teaser=teaser,
        teaser_field=teaser_field,
        teaser_tail=tail,
        url=article.canonical_url or settings.article_url(article.id),
        published_at=article.published_at,
        language=article.language,
        section=article.section,
    )
