"""An edition planned before anything is printed: its articles checked against the limits,
its title, date and language settled, and, once page counts are known, its contents.

Pure: articles in, an `Edition` or a clear refusal out. Nothing here prints or reads files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, tzinfo
from typing import Any

from babel.dates import format_date

from .article import Article
from .days import in_zone
from .errors import EditionTooLarge, EmptyEdition, InvalidEdition
from .language import direction_of, locale_for, words_language
from .page import headline_words
from .pdf_renderer import MAX_CHARS_PER_PAGE
from .reading import headline_of, read

_WORDS: dict[str, dict[str, str]] = {
    "en": {"edition": "Edition", "contents": "Contents"},
    "es": {"edition": "Edición", "contents": "Índice"},
    "fr": {"edition": "Édition", "contents": "Sommaire"},
    "de": {"edition": "Ausgabe", "contents": "Inhalt"},
    "pt": {"edition": "Edição", "contents": "Sumário"},
    "ar": {"edition": "العدد", "contents": "المحتويات"},
    "he": {"edition": "גיליון", "contents": "תוכן העניינים"},
}


@dataclass(frozen=True, slots=True)
class EditionLimits:
    """What one edition may hold; past either bound it is refused before any printing."""

    max_articles: int = 300
    max_pages_per_article: int = 60


@dataclass(frozen=True, slots=True)
class Edition:
    title: str
    date: date
    articles: tuple[Article, ...]
    publication: str
    language: str = "en"
    paper: str = "a4"
    for_press: bool = False

    @property
    def layout(self) -> str:
        """The printer layout its pages are set in (see service/printing.py)."""
        return "press" if self.for_press else "edition"


@dataclass(frozen=True, slots=True)
class ContentsEntry:
    """One article in the contents: where it starts, and the link name that reaches it."""

    article: Article
    position: int  # 1-based
    first_page: int
    page_count: int

    @property
    def anchor(self) -> str:
        return article_anchor(self.position)

    @property
    def direction(self) -> str:
        return direction_of(self.article.language)


def article_anchor(position: int) -> str:
    """The link name the contents use for the first page of the article at `position`."""
    return f"article-{position}"


def text_length(article: Article) -> int:
    """Characters of text the article prints, for the up-front page bound."""
    return sum(len(field.text) for field in read(article).fields())


def plan_edition(
    articles: Sequence[Article],
    *,
    publication: str,
    limits: EditionLimits,
    title: str | None = None,
    on: date | None = None,
    zone: tzinfo = UTC,
    language: str | None = None,
    paper: str = "a4",
    for_press: bool = False,
) -> Edition:
    """Check the articles against the limits and settle what the cover says: without `on`,
    the day of the latest article in `zone` (TIMEZONE), the day whose edition holds it."""
    if not articles:
        raise EmptyEdition("An edition needs at least one article.")
    if len(articles) > limits.max_articles:
        raise EditionTooLarge(
            f"The edition has {len(articles)} articles; the limit is {limits.max_articles}."
        )
    seen: dict[str, int] = {}
    for position, article in enumerate(articles, start=1):
        if article.id in seen:
            raise InvalidEdition(
                f"Article {article.id!r} appears twice (positions {seen[article.id]} "
                f"and {position})."
            )
        seen[article.id] = position
        capacity = limits.max_pages_per_article * MAX_CHARS_PER_PAGE
        if text_length(article) > capacity:
            raise EditionTooLarge(
                f"Article {position} ({article.id}) has {text_length(article)} characters of "
                f"text, more than {limits.max_pages_per_article} pages can hold; the limit is "
                f"{limits.max_pages_per_article} pages per article.",
                position=position,
            )
    language = language or _most_common_language(articles)
    words, _ = words_for(language)
    return Edition(
        title=title.strip() if title and title.strip() else words["edition"],
        date=on or in_zone(max(a.published_at for a in articles), zone).date(),
        articles=tuple(articles),
        publication=publication,
        language=language,
        paper=paper,
        for_press=for_press,
    )


def _most_common_language(articles: Sequence[Article]) -> str:
    counts = Counter(a.language for a in articles)
    best = max(counts.values())
    return next(a.language for a in articles if counts[a.language] == best)


def words_for(language: str) -> tuple[dict[str, str], str]:
    """The cover's words and their language: `language`'s, or those of the macrolanguage
    its readers read (Egyptian Arabic: Arabic's), in the script the tag names (ar-Latn reads
    no Arabic script), else English; as a page's labels are chosen (labels.labels_for)."""
    code = words_language(language, _WORDS) or "en"
    return _WORDS[code], code


def contents(edition: Edition, page_counts: Sequence[int]) -> list[ContentsEntry]:
    """Each article's first page, numbering the articles' pages 1, 2, 3… after the front."""
    entries = []
    next_page = 1
    for position, (article, count) in enumerate(
        zip(edition.articles, page_counts, strict=True), start=1
    ):
        entries.append(ContentsEntry(article, position, next_page, count))
        next_page += count
    return entries


def front_matter_context(edition: Edition, entries: Sequence[ContentsEntry]) -> dict[str, Any]:
    """What templates/editions/front.html needs: the cover and the contents."""
    locale = locale_for(edition.language)
    words, words_language = words_for(edition.language)
    # Words in another language than the edition's (English where this module has none for
    # it, Arabic's for Egyptian Arabic) are marked so (PDF/UA declares every change of
    # language), as the labels of a page are (labels.py).
    primary = edition.language.split("-")[0].lower()
    borrowed = words_language if words_language != primary else ""
    return {
        "edition": edition,
        "entries": entries,
        "lang": edition.language,
        "dir": direction_of(edition.language),
        "words": words,
        "borrowed": borrowed,
        "title_borrowed": borrowed if edition.title == words["edition"] else "",
        "borrowed_dir": direction_of(borrowed) if borrowed else "",
        "date_shown": format_date(edition.date, "long", locale=locale),
        # In the locale's language, marked when it is not the edition's (English for tlh).
        "date_lang": "" if locale.language == primary else locale.language,
        "date_iso": f"{edition.date.isoformat()}T00:00:00+00:00",
        "headline": lambda article: headline_words(headline_of(article)),
    }


def front_link_labels(entries: Sequence[ContentsEntry]) -> dict[str, str]:
    """What each contents link does, in words, for the tagged PDF's /Alt."""
    return {
        e.anchor: f"{e.article.headline.plain_in(e.article.language)}, {e.first_page}"
        for e in entries
    }
