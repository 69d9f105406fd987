"""What every rendering of an article shows, prepared once: the context the templates read.

HTML, PDF and e-mail templates differ in layout only; the words, dates, note numbers and
metadata come from here so the three always agree.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from babel.dates import format_date, format_time, get_timezone_gmt
from babel.lists import format_list
from markupsafe import Markup, escape

from .article import Article, Image
from .characters import character_problem, is_blank, may_part_at, with_bidi_closed
from .inline import Element, Text, written_url
from .labels import Labels, labels_for
from .language import direction_of, locale_for, script_of, sets_italics
from .pdf_tags import LABELS_LANGUAGE
from .reading import Field, Piece, Reading, Reference, Span, children, read
from .settings import Settings


@dataclass(frozen=True, slots=True)
class Dateline:
    iso: str
    shown: str
    lang: str  # "" when the words are in the article's language, else the fallback's tag


def html_datetime(moment: datetime) -> str:
    """A moment for a datetime attribute: HTML allows at most three digits of a second's
    fraction (RFC 3339 and isoformat() give up to six)."""
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")


def format_dateline(moment: datetime, language: str) -> Dateline:
    """A date as the article's readers write it, in the article's own offset."""
    locale = locale_for(language)
    # The locale's own glue between a date and a time: "{1}, {0}" in English, "{1}، {0}" in
    # Arabic, "{1} {0}" in Chinese and Japanese (a comma after 日 was English punctuation).
    glue = str(locale.datetime_formats.get("medium", "{1}, {0}")).replace("'", "")
    shown = "{} ({})".format(
        glue.format(
            format_time(moment, "short", tzinfo=moment.tzinfo, locale=locale),
            format_date(moment, "long", locale=locale),
        ),
        get_timezone_gmt(moment, "long", locale=locale),
    )
    same = locale.language == language.split("-")[0].lower()
    return Dateline(html_datetime(moment), shown, "" if same else locale.language)


def inline_html(
    reference: Callable[[Reference], str], *, links: bool = True
) -> Callable[[Field | None], Markup]:
    """Return a function that serialises a field to HTML, each note reference by `reference`.

    Without `links`, a link is written as its words alone: for a field that is itself the
    words of a link (a headline in a digest), where a link inside would nest one in another.
    """

    def emit(pieces: tuple[Piece, ...], out: list[str]) -> None:
        for piece in pieces:
            if isinstance(piece, Text):
                out.append(escape(piece.value))
            elif isinstance(piece, Reference):
                out.append(reference(piece))
            elif piece.name == "a" and not links:
                emit(children(piece), out)
            else:
                attrs = "".join(f' {name}="{escape(value)}"' for name, value in piece.attrs)
                if piece.name == "abbr" and _expands(piece):
                    attrs += ' class="expands"'  # print writes the title out (print.css)
                elif piece.name == "a" and shows_its_address(
                    _words(children(piece)), piece.attr("href") or ""
                ):
                    attrs += ' class="address-shown"'  # print writes the address once
                out.append(f"<{piece.name}{attrs}>")
                if piece.name != "br":
                    emit(children(piece), out)
                    out.append(f"</{piece.name}>")

    def render(field: Field | None) -> Markup:
        if field is None:
            return Markup("")
        out: list[str] = []
        emit(field.pieces, out)
        html = "".join(out)
        if "[^" in field.source.source and _only_punctuation(field.text):
            # References alone (a "Sources" cell): with no running text around them each is
            # a target of its own, which WCAG 2.2 wants 24 pixels square (base.css).
            html = f'<span class="notes-only">{html}</span>'
        return Markup(html)

    return render


def _no_reference(reference: Reference) -> str:
    raise AssertionError("a headline holds no note reference")


# A teaser: a standfirst or a first paragraph whole, beside the link to its article: its
# note references left out (the notes are not in the digest), a link written as its words.
teaser_words = inline_html(lambda reference: "", links=False)

# A headline as the words of a link to its article (a digest's list, an edition's contents):
# its markup and languages kept, a link of its own written as its words (it would nest).
headline_words = inline_html(_no_reference, links=False)


def _expands(abbr: Span | Element) -> bool:
    """Whether an abbreviation's title says more than its words: RCC, not NASA titled NASA."""
    title = (abbr.attr("title") or "").strip()
    return bool(title) and title != _words(children(abbr)).strip()


def link_target(href: str) -> str:
    """Where a link goes, as a reader reads it: mailto:desk@example.org is the address,
    decoded (mailto:j%C3%B6rg@… is jörg@…), whatever the scheme's case; with a ?subject= it
    stays a URL, and so does any other link."""
    scheme, _, address = href.partition(":")
    if scheme.lower() != "mailto" or "?" in href:
        return href
    # Only a clean one-line address: decoding may bring back what no field may hold
    # (an open override, a line break, bytes that are no UTF-8), which the href as
    # sent was checked against; such a link stays written as sent.
    try:
        decoded = unquote(address, errors="strict")
    except UnicodeDecodeError:
        return href
    # Nor one holding white space ("Letters to the Editor"@example.org): a reader
    # takes the spaces out of an angled address (RFC 3986, appendix C), and a line
    # could break at them.
    if (
        decoded
        and not character_problem(decoded, line_breaks=False)
        and not any(character.isspace() for character in decoded)
    ):
        return decoded
    return href


def shows_its_address(words: str, href: str) -> bool:
    """Whether a link's words are already its address (the href as sent or as written,
    or the mailbox it names), so that a reading that writes addresses out writes it once."""
    words, targets = words.strip(), (href, link_target(href))
    return words in targets or (" " not in words and written_url(words) in targets)


def _words(pieces: tuple[Piece, ...]) -> str:
    return "".join(
        piece.value
        if isinstance(piece, Text)
        else _words(children(piece))
        if isinstance(piece, (Span, Element))
        else ""
        for piece in pieces
    )


def _only_punctuation(text: str) -> bool:
    """Nothing a reader reads around note references: "[^a], [^b]; [^c]" in a cell."""
    if _A_LETTER_OR_DIGIT.search(text):
        return False  # running text, the common case: found in C
    return is_blank("".join(c for c in text if unicodedata.category(c)[0] != "P"))


# Hangul fillers are letters to the regex, and blank to characters.is_blank: not counted.
_A_LETTER_OR_DIGIT = re.compile("[^\\W_\u115f\u1160\u3164\uffa0]")


def page_reference(labels: Labels, language: str) -> Callable[[Reference], str]:
    """A note reference on a page: a DPUB-ARIA noteref whose hidden words say "Note 2", in
    the labels' language always: inside a passage in another language (a Spanish quote in an
    English article) they took the passage's, and a Spanish voice read "Note"."""
    lang_attr = f' lang="{labels.lang_attr(language) or language}"'
    word = escape(labels["note"])

    def write(ref: Reference) -> str:
        return (
            f'<sup class="noteref"><a href="#{ref.note_anchor}" id="{ref.anchor}" '
            f'role="doc-noteref"><span class="visually-hidden"{lang_attr}>'
            f"{word} </span>{ref.label}</a></sup>"
        )

    return write


@lru_cache(maxsize=256)
def list_comma(language: str) -> str:
    """What stands between the items of a bare list (tags) in `language`: its locale's own
    mark when that is punctuation ("、" in Chinese and Japanese, "، " in Urdu), else its
    script's comma ("، " in Arabic, whose list joins with a word, "و"; Thai's, a space,
    would run its tags together)."""
    middle = locale_for(language).list_patterns["standard"].get("middle", "{0}, {1}")
    mark = str(middle).replace("{0}", "").replace("{1}", "")
    if mark.strip() and not any(character.isalpha() for character in mark):
        return mark
    return "\u060c " if script_of(language) == "Arab" else ", "


def tag_separator(tags: Sequence[str], language: str) -> str:
    """`list_comma`, or the first of " · ", " | ", " / " that no tag holds when one holds that
    mark itself ("文化、芸術" would read as two tags)."""
    for separator in (list_comma(language), " \u00b7 ", " | ", " / "):
        mark = separator.strip("\u200f ")
        if not any(mark in tag for tag in tags):
            return separator
    return " \u00b7 "  # every one taken: the dot, as least likely to be read as a tag's own


def list_separators(count: int, locale) -> list[str]:
    """The words between list items ("", ", ", " and ") as the locale joins `count` names."""
    if count < 2:
        return [""] * count
    marks = [f"\x00{i}\x00" for i in range(count)]
    joined = format_list(marks, locale=locale)
    separators = []
    for i in range(count - 1):
        start = joined.index(marks[i]) + len(marks[i])
        separators.append(joined[start : joined.index(marks[i + 1])])
    return [*separators, ""]


RUNNING_HEAD_COLUMNS = 90  # two lines of the 8-point running head, the widest letters too
# The publisher's running head in the other top corner: both fit side by side on the sheet.
PUBLISHER_HEAD_COLUMNS = 45


def running_head(words: str, columns: int = RUNNING_HEAD_COLUMNS) -> str:
    """The headline as a PDF's running head shows it: at most `columns` columns (a wide
    character counts two), cut at a space if there is one late enough, with an ellipsis.
    Whole, a 300-character headline wrapped upwards past the top of the sheet."""
    used = 0
    for index, character in enumerate(words):
        used += 2 if unicodedata.east_asian_width(character) in "WF" else 1
        if used > columns:
            while index > 1 and not may_part_at(words, index):
                index -= 1  # a letter keeps its marks, a flag its two halves
            cut = words[:index]
            space = cut.rfind(" ")
            return with_bidi_closed((cut[:space] if space > len(cut) // 2 else cut).rstrip() + "…")
    return words


def link_labels(reading: Reading, labels: Labels) -> dict[str, str]:
    """What each internal link does, in words: for PDF /Alt, where hidden text cannot go;
    and under LABELS_LANGUAGE the language of those words (the English ones of a Chinese
    article, or the article's own inside a quote in another), which each link's /Lang then
    declares."""
    result = {}
    for note in reading.notes:
        result[note.anchor] = f"{labels['note']} {note.label}"
        for backlink in note.backlinks:
            # "ii, b", never "iib": with letters or roman numerals, a label and a letter
            # run together name another note (note ii's second reference, note iib).
            letter = f", {backlink.letter}" if backlink.letter else ""
            result[backlink.anchor] = f"{labels['back_to']} {note.label}{letter}"
    if result:  # always: a reference inside a passage in another language is in it
        article = reading.article.language
        result[LABELS_LANGUAGE] = labels.lang_attr(article) or article  # pt-BR's own, not pt
    return result


def article_context(
    article: Article, settings: Settings, *, prefix: str = "", depth: int = 1
) -> dict[str, Any]:
    """Everything the article templates need, computed once per render.

    `prefix` goes before every id the article's markup uses and `depth` is its headline's
    level, so that several articles can be set in one document (see `reading.prefix_for`).
    """
    labels = labels_for(article.language)
    reading = read(article, prefix)
    locale = locale_for(article.language)
    publisher = article.publisher
    publisher_name = publisher.name if publisher else settings.publisher_name
    canonical = article.canonical_url or settings.article_url(article.id)
    authors = [author.name for author in article.authors]
    return {
        "article": article,
        "lang": article.language,
        "dir": article.direction,
        "labels": labels,
        "label_lang": labels.lang_attr(article.language),
        # A label in another language is set apart in its own direction: an English
        # "Published" in an Urdu dateline took the date's first number into its run.
        "label_dir": direction_of(labels.language),
        "reading": reading,
        "running_head": running_head(reading.headline.plain),
        # The top-left corner's running head on a PDF's pages, cut as the headline's is.
        "publisher_head": running_head(publisher_name, PUBLISHER_HEAD_COLUMNS),
        "anchors": reading.anchors,
        "depth": depth,
        "shared_document": False,  # True when set among other articles (html_renderer)
        "inline": inline_html(page_reference(labels, article.language)),
        "published": format_dateline(article.published_at, article.language),
        "updated": (
            format_dateline(article.updated_at, article.language) if article.updated_at else None
        ),
        "author_list": format_list(authors, locale=locale) if authors else "",
        "author_separators": list_separators(len(authors), locale),
        "tag_separator": tag_separator(article.tags, article.language),
        "direction_of": direction_of,
        "sets_italics": sets_italics,
        "publisher_name": publisher_name,
        "publisher": publisher,
        "canonical_url": canonical,
        "settings": settings,
    }


def page_head(context: dict[str, Any]) -> dict[str, Any]:
    """What only the web page's head shows: JSON-LD and the Open Graph image."""
    article: Article = context["article"]
    return {
        "json_ld": json_ld(article, context["publisher_name"], context["canonical_url"]),
        "first_image": next(
            (b for b in article.body if isinstance(b, Image) and b.src.startswith("https://")),
            None,
        ),
    }


def json_ld(article: Article, publisher_name: str, canonical: str) -> str:
    """schema.org NewsArticle, safe to place inside <script> (no '<', '>' or '&')."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.headline.plain_in(article.language),
        "inLanguage": article.language,
        "datePublished": article.published_at.isoformat(),
        "mainEntityOfPage": canonical,
        "publisher": {"@type": "Organization", "name": publisher_name},
    }
    if article.updated_at:
        data["dateModified"] = article.updated_at.isoformat()
    if article.standfirst:
        data["description"] = article.standfirst.plain_in(article.language)
    if article.authors:
        data["author"] = [
            {"@type": "Person", "name": a.name, **({"url": a.url} if a.url else {})}
            for a in article.authors
        ]
    if article.section:
        data["articleSection"] = article.section
    if article.tags:
        data["keywords"] = list(article.tags)
    images = [b.src for b in article.body if isinstance(b, Image) and b.src.startswith("https")]
    if images:
        data["image"] = images
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
