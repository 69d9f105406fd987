"""The public reading pages: an article, its PDF, and the list of recent quick reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import tzinfo
from typing import Any

from babel.dates import format_date
from flask import Blueprint, Response, request, url_for
from sqlalchemy.orm import Session

from ..days import in_zone
from ..errors import NotFound
from ..html_renderer import render_html
from ..language import direction_of
from ..metrics import timed_render
from ..page import html_datetime
from ..problems import wants_html
from ..runtime import current_runtime
from ..storage.articles import (
    ArticleSummary,
    article_of,
    get_article,
    last_change,
    list_articles,
    stored_rows,
    summary_text,
)
from ..teasers import KeptWords, ListWords, list_words
from .caching import conditional, made_since
from .list_query import article_query
from .rendering import warnings_header

bp = Blueprint("articles", __name__, url_prefix="/articles")

PAGE_SIZE = 20
QUICK_READ = "quick-read"


def site_context(skip: str) -> dict[str, Any]:
    """What base.html needs on a page of the site itself, which speaks English."""
    settings = current_runtime().settings
    return {
        "lang": "en",
        "dir": "ltr",
        "labels": {"skip": skip},
        "label_lang": "",
        "publisher_name": settings.publisher_name,
        "settings": settings,
    }


def not_found(article_id: str) -> Response:
    """An accessible 404 page for browsers; problem+json for everyone else."""
    if not wants_html():
        raise NotFound(f"There is no article {article_id!r}.")
    page = (
        current_runtime()
        .env.get_template("articles/not_found.html")
        .render(site_context("Skip to the message"), list_url=url_for("articles.index"))
    )
    return Response(page, status=404, mimetype="text/html", headers={"Cache-Control": "no-store"})


@bp.get("/<article_id>")
def page(article_id: str) -> Response:
    runtime = current_runtime()
    with runtime.database.reading() as session:
        row = get_article(session, article_id)
        if row is None:
            return not_found(article_id)
        with timed_render("html"):
            html = render_html(article_of(row), runtime.env, runtime.settings)
        response = Response(html, mimetype="text/html")
        return conditional(response, last_modified=made_since(row.stored_at))


@bp.get("/<article_id>.pdf")
def pdf(article_id: str) -> Response:
    try:
        printed = current_runtime().press.pdf(article_id)
    except NotFound:
        return not_found(article_id)
    headers = {"Content-Disposition": f'inline; filename="{article_id}.pdf"'}
    if printed.left_out:  # as the render route says it; logged when it was printed
        headers["Broadsheet-Warnings"] = warnings_header(printed.left_out)
    response = Response(printed.data, mimetype="application/pdf", headers=headers)
    return conditional(response, etag=printed.etag, last_modified=printed.printed_at, ranges=True)


@bp.get("")
def index() -> Response:
    # Readers' links carry tracking parameters; only `cursor` means anything here.
    args = request.args.copy()
    for name in list(args):
        if name != "cursor":
            args.poplist(name)
    query = replace(article_query(args, allowed=("cursor",), kind=QUICK_READ), limit=PAGE_SIZE)
    runtime = current_runtime()
    with runtime.database.reading() as session:
        changed = last_change(session)  # first, as in views/feeds.py
        listed = list_articles(session, query)
        words = _list_words(session, listed.items)
    zone = runtime.settings.timezone
    page = runtime.env.get_template("articles/list.html").render(
        site_context("Skip to the quick reads"),
        items=[_list_item(item, zone, words.get(item.id)) for item in listed.items],
        first_url=url_for("articles.index") if query.after else None,
        next_url=url_for("articles.index", cursor=listed.next.encode()) if listed.next else None,
        direction_of=direction_of,
    )
    return conditional(Response(page, mimetype="text/html"), last_modified=made_since(changed))


_KEPT_WORDS = KeptWords()


def _list_words(session: Session, items: Sequence[ArticleSummary]) -> dict[str, ListWords]:
    """Each item's headline and summary with their markup: the list showed the stored plain
    words, which lost a phrase's language (WCAG 3.1.2) and wrote struck words ~~struck~~.
    The documents not met before are read, by id; one deleted meanwhile has none."""
    words: dict[str, ListWords] = {}
    for item in items:
        if (kept := _KEPT_WORDS.get(item.version)) is not None:
            words[item.id] = kept
    for row in stored_rows(session, [item.id for item in items if item.id not in words]).values():
        article = article_of(row)
        words[row.id] = list_words(article, summary_text(article))
        _KEPT_WORDS.put(row.version, words[row.id])  # stored again meanwhile: the new one's
    return words


def _list_item(item: ArticleSummary, timezone: tzinfo, words: ListWords | None) -> dict[str, Any]:
    # The day in the publication's time zone (TIMEZONE), the one its editions and digests
    # file the article under; the database keeps only the UTC moment.
    published = in_zone(item.published_at, timezone)
    # An article deleted between the two reads is shown as listed, in plain words.
    headline, summary = (item.headline, item.summary) if words is None else words
    return {
        "url": url_for("articles.page", article_id=item.id),
        "headline": headline,
        "summary": summary,
        "language": item.language,
        "iso": html_datetime(published),
        "date": format_date(published, "long", locale="en"),
    }
