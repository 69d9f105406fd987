"""What every rendering of an article shows, prepared once: the context the templates read.

HTML, PDF and e-mail templates differ in layout only; the words, dates, note numbers and
metadata come from here so the three always agree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.dates import format_date, format_time, get_timezone_gmt
from babel.lists import format_list
from markupsafe import Markup, escape

from .article import Article, Image
from .inline import Element, Inline, Node, NoteRef, Text
from .labels import Labels, labels_for
from .language import direction_of, locale_for
from .notes import Endnotes, ReferenceCounter, number_notes
from .settings import Settings


@dataclass(frozen=True, slots=True)
class Dateline:
    iso: str
    shown: str
    lang: str  # "" when the words are in the article's language, else the fallback's tag


def format_dateline(moment: datetime, language: str) -> Dateline:
    """A date as the article's readers write it, in the article's own offset."""
    locale = locale_for(language)
    shown = "{}, {} ({})".format(
        format_date(moment, "long", locale=locale),
        format_time(moment, "short", tzinfo=moment.tzinfo, locale=locale),
        get_timezone_gmt(moment, "long", locale=locale),
    )
    same = locale.language == language.split("-")[0].lower()
    return Dateline(moment.isoformat(), shown, "" if same else locale.language)


def inline_renderer(
    refs: ReferenceCounter | None,
    labels: Labels,
    language: str,
    *,
    note_link_prefix: str = "",
) -> Callable[[Inline | None], Markup]:
    """Return a function that serialises inline text to HTML, numbering note references.

    On a page a reference is a DPUB-ARIA noteref with hidden words ("Note 2"); in e-mail
    (`note_link_prefix` set: the article's absolute URL) it is a bracketed number linking
    to the note on the web page, since mail clients drop in-message anchors and hidden text.
    """
    label_lang = labels.lang_attr(language)
    lang_attr = Markup(f' lang="{label_lang}"') if label_lang else Markup("")

    def note_ref(note_id: str) -> str:
        assert refs is not None
        numbered, anchor = refs.next(note_id)
        if note_link_prefix:
            href = escape(f"{note_link_prefix}#{numbered.anchor}")
            return f'<sup><a class="noteref" href="{href}">[{numbered.label}]</a></sup>'
        return (
            f'<sup class="noteref"><a href="#{numbered.anchor}" id="{anchor}" '
            f'role="doc-noteref"><span class="visually-hidden"{lang_attr}>'
            f"{escape(labels['note'])} </span>{numbered.label}</a></sup>"
        )

    def emit(nodes: tuple[Node, ...], out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, Text):
                out.append(escape(node.value))
            elif isinstance(node, NoteRef):
                if refs is not None:
                    out.append(note_ref(node.note_id))
            elif isinstance(node, Element):
                attrs = "".join(f' {name}="{escape(value)}"' for name, value in node.attrs)
                out.append(f"<{node.name}{attrs}>")
                if node.name != "br":
                    emit(node.children, out)
                    out.append(f"</{node.name}>")

    def render(inline: Inline | None) -> Markup:
        if inline is None:
            return Markup("")
        out: list[str] = []
        emit(inline.nodes, out)
        return Markup("".join(out))

    return render


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


def backlink_letter(occurrence: int) -> str:
    return chr(ord("a") + occurrence - 1) if occurrence <= 26 else str(occurrence)


def link_labels(endnotes: Endnotes, labels: Labels) -> dict[str, str]:
    """What each internal link does, in words: for PDF /Alt, where hidden text cannot go."""
    result = {}
    for item in endnotes.notes:
        result[item.anchor] = f"{labels['note']} {item.label}"
        for occurrence, anchor in enumerate(item.reference_anchors, start=1):
            letter = backlink_letter(occurrence) if item.reference_count > 1 else ""
            result[anchor] = f"{labels['back_to']} {item.label}{letter}"
    return result


def article_context(article: Article, settings: Settings) -> dict[str, Any]:
    """Everything the article templates need, computed once per render."""
    labels = labels_for(article.language)
    endnotes: Endnotes = number_notes(article)
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
        "inline": inline_renderer(ReferenceCounter(endnotes), labels, article.language),
        "inline_plain": inline_renderer(None, labels, article.language),
        "endnotes": endnotes,
        "link_labels": link_labels(endnotes, labels),
        "backlink_letter": backlink_letter,
        "published": format_dateline(article.published_at, article.language),
        "updated": (
            format_dateline(article.updated_at, article.language) if article.updated_at else None
        ),
        "author_list": format_list(authors, locale=locale) if authors else "",
        "author_separators": list_separators(len(authors), locale),
        "direction_of": direction_of,
        "publisher_name": publisher_name,
        "publisher": publisher,
        "canonical_url": canonical,
        "json_ld": json_ld(article, publisher_name, canonical),
        "first_image": next(
            (b for b in article.body if isinstance(b, Image) and b.src.startswith("https://")),
            None,
        ),
        "settings": settings,
    }


def json_ld(article: Article, publisher_name: str, canonical: str) -> str:
    """schema.org NewsArticle, safe to place inside <script> (no '<', '>' or '&')."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.headline.text,
        "inLanguage": article.language,
        "datePublished": article.published_at.isoformat(),
        "mainEntityOfPage": canonical,
        "publisher": {"@type": "Organization", "name": publisher_name},
    }
    if article.updated_at:
        data["dateModified"] = article.updated_at.isoformat()
    if article.standfirst:
        data["description"] = article.standfirst.text
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
