"""The latest quick reads as an Atom feed (RFC 4287) and a JSON Feed (version 1.1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from .settings import Settings
from .storage.articles import ArticleSummary, Byline

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
JSON_FEED = "https://jsonfeed.org/version/1.1"
FEED_SIZE = 20
# Atom needs an `updated` even for a feed that has never had an entry.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _title(settings: Settings) -> str:
    return f"{settings.publisher_name}: quick reads"


def _updated(item: ArticleSummary) -> datetime:
    return item.updated_at or item.published_at


def atom_feed(
    items: Sequence[ArticleSummary],
    settings: Settings,
    credits: Mapping[str, Sequence[Byline]],
) -> bytes:
    """RFC 4287: every entry with one id, title and updated; every link absolute. An entry
    names its authors (else its publisher): one without takes the feed's (§4.2.1), the site.

    The feed is as new as its newest entry: its words depend on its entries alone, so a
    store that no entry shows (another kind of article) leaves it, and its ETag, as it was."""
    ElementTree.register_namespace("", ATOM)

    def add(parent: ElementTree.Element, tag: str, text: str | None = None, **attrs: str):
        element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        element.text = text
        return element

    base = settings.base_url
    feed = ElementTree.Element(f"{{{ATOM}}}feed", {XML_LANG: "en"})
    add(feed, "id", f"{base}/feed.atom")
    add(feed, "title", _title(settings))
    add(feed, "updated", _rfc3339(max(map(_updated, items), default=EPOCH)))
    add(add(feed, "author"), "name", settings.publisher_name)
    add(feed, "link", rel="self", type="application/atom+xml", href=f"{base}/feed.atom")
    add(feed, "link", rel="alternate", type="text/html", href=f"{base}/articles")
    for item in items:
        url = settings.article_url(item.id)
        entry = add(feed, "entry", **{XML_LANG: item.language})
        add(entry, "id", url)
        add(entry, "title", item.headline, type="text")
        add(entry, "updated", _rfc3339(_updated(item)))
        add(entry, "published", _rfc3339(item.published_at))
        for person in credits.get(item.id, ()):
            author = add(entry, "author")
            add(author, "name", person.name)
            if person.url:
                add(author, "uri", person.url)
        add(entry, "link", rel="alternate", type="text/html", href=url)
        add(entry, "link", rel="enclosure", type="application/pdf", href=f"{url}.pdf")
        if item.summary:
            add(entry, "summary", item.summary, type="text")
    return ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)


def json_feed(
    items: Sequence[ArticleSummary], settings: Settings, credits: Mapping[str, Sequence[Byline]]
) -> dict[str, Any]:
    """JSON Feed 1.1: each item with its id, url and title, and text for readers to show; its
    authors (else its publisher), where an item without takes the feed's, the site."""
    base = settings.base_url
    return {
        "version": JSON_FEED,
        "title": _title(settings),
        "home_page_url": f"{base}/articles",
        "feed_url": f"{base}/feed.json",
        "language": "en",
        "authors": [{"name": settings.publisher_name}],
        "items": [
            {
                "id": settings.article_url(item.id),
                "url": settings.article_url(item.id),
                "title": item.headline,
                "content_text": item.summary or item.headline,
                **({"summary": item.summary} if item.summary else {}),
                "date_published": _rfc3339(item.published_at),
                "date_modified": _rfc3339(_updated(item)),
                "language": item.language,
                **({"authors": _authors(credits[item.id])} if credits.get(item.id) else {}),
                "attachments": [
                    {"url": f"{settings.article_url(item.id)}.pdf", "mime_type": "application/pdf"}
                ],
            }
            for item in items
        ],
    }


def _authors(people: Sequence[Byline]) -> list[dict[str, str]]:
    return [{"name": p.name, **({"url": p.url} if p.url else {})} for p in people]
