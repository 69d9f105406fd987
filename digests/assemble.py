"""Which quick reads make the digest for a date, in what order, with what teaser (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.article import Article
from service.characters import cut_at_word, squeezed
from service.language import direction_of
from service.reading import Field, ParagraphPart, Reading, read
from service.settings import Settings
from service.teasers import marked_teaser

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
    """The latest date whose digest is due at `moment` (its send time has come).

    Not always the local date or the day before: a send time in a skipped hour that runs up
    to midnight (America/Nuuk's 23:00 to 24:00, 28 March 2026) comes after the next local
    midnight, so for a while after it the day before has not come due either; and a
    clock set back across midnight (St. John's, 4 November 2007, 00:01 to 23:01) reads
    the day before after the next day's send time has come."""
    day = moment.astimezone(zone).date() + timedelta(days=1)
    while moment.astimezone(UTC) < local_moment(day, at, zone):
        day -= timedelta(days=1)
    return day


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


def _item(article: Article, reading: Reading, settings: Settings) -> DigestItem:
    teaser = teaser_for(reading)
    source = _teaser_source(reading)
    teaser_field, tail = marked_teaser(source, teaser)
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
