"""The latest quick reads as feeds: `/feed.atom` and `/feed.json`."""

from __future__ import annotations

import json

from flask import Blueprint, Response

from ..feeds import FEED_SIZE, atom_feed, json_feed
from ..runtime import current_runtime
from ..storage.articles import ArticleQuery, bylines, last_change, list_articles
from .caching import conditional, made_since

bp = Blueprint("feeds", __name__)
QUICK_READ = "quick-read"


def _latest():
    runtime = current_runtime()
    with runtime.database.reading() as session:
        # The date first: on PostgreSQL each read is a snapshot of its own, and a list read
        # after its date may be newer than the date says, never older (no 304 for stale).
        changed = last_change(session)
        page = list_articles(session, ArticleQuery(kind=QUICK_READ, limit=FEED_SIZE))
        credits = bylines(session, [item.id for item in page.items])
    return runtime.settings, page.items, changed, credits


@bp.get("/feed.atom")
def atom() -> Response:
    settings, items, changed, credits = _latest()
    feed = atom_feed(items, settings, credits)
    response = Response(feed, mimetype="application/atom+xml")
    return conditional(response, last_modified=made_since(changed))


@bp.get("/feed.json")
def json_feed_document() -> Response:
    settings, items, changed, credits = _latest()
    body = json.dumps(json_feed(items, settings, credits), ensure_ascii=False, indent=1)
    response = Response(body, mimetype="application/feed+json")
    return conditional(response, last_modified=made_since(changed))
