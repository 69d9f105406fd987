"""The stored-articles API (SPEC §3): PUT, GET and DELETE one article, and list them.

Writes need `Authorization: Bearer $BROADSHEET_API_TOKEN`; reads are public, like the pages.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from digests.runs import daily_digest_for

from ..article import Article
from ..errors import BadArticle, FieldError, NotFound
from ..runtime import current_runtime
from ..storage.articles import (
    ArticleSummary,
    Preconditions,
    delete_article,
    get_article,
    list_articles,
    put_article,
)
from ..validation import validate_article
from .bearer import require_token
from .body import json_from_request
from .caching import conditional, request_date
from .list_query import article_query

bp = Blueprint("articles_api", __name__, url_prefix="/v1/articles")
logger = logging.getLogger(__name__)


def _preconditions() -> Preconditions:
    def tags(header: str, weak: bool) -> frozenset[str] | None:
        if header not in request.headers:
            return None
        etags = getattr(request, header.lower().replace("-", "_"))
        # If-Match compares strongly, If-None-Match weakly (RFC 9110 §13.1.1, §13.1.2).
        if etags.star_tag:
            return frozenset({"*"})
        # A * among tags ('"stale", *') is no wildcard (only * alone is), as GET reads it:
        # taken for one, a stale tag beside it overwrote the article.
        return frozenset(etags.as_set(include_weak=weak)) - {"*"}

    return Preconditions(
        if_match=tags("If-Match", weak=False),
        if_none_match=tags("If-None-Match", weak=True),
        if_unmodified_since=request_date("If-Unmodified-Since"),  # None: absent, or no date
    )


def summary_json(item: ArticleSummary) -> dict[str, Any]:
    base = current_runtime().settings.base_url
    return {
        "id": item.id,
        "kind": item.kind,
        "language": item.language,
        "headline": item.headline,
        "summary": item.summary,
        "published_at": rfc3339(item.published_at),
        "updated_at": rfc3339(item.updated_at) if item.updated_at else None,
        "stored_at": rfc3339(item.stored_at),
        "version": item.version,
        "links": {
            "self": f"{base}/v1/articles/{item.id}",
            "page": f"{base}/articles/{item.id}",
            "pdf": f"{base}/articles/{item.id}.pdf",
        },
    }


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, mimetype="application/json")


def _article_for(article_id: str, data: Any) -> Article:
    """Validate like the render routes, and refuse a body that names another article."""
    errors: list[FieldError] = []
    article = None
    try:
        article = validate_article(data)
    except BadArticle as error:
        errors = list(error.errors)
    body_id = data.get("id") if isinstance(data, dict) else None
    if isinstance(body_id, str) and body_id != article_id:
        errors.append(FieldError("/id", f"must equal the id in the URL, {article_id!r}"))
    if errors or article is None:
        raise BadArticle(errors)
    return article


@bp.put("/<article_id>")
def put(article_id: str) -> Response:
    require_token()
    preconditions = _preconditions()
    data = json_from_request()
    article = _article_for(article_id, data)
    runtime = current_runtime()
    with runtime.database.writing() as session:
        stored = put_article(session, article, data, preconditions=preconditions)
        summary = ArticleSummary.of(stored.article)
    if stored.changed:
        runtime.press.submit(summary.id, summary.version)
    response = _json(summary_json(summary), status=201 if stored.created else 200)
    response.set_etag(summary.version)
    response.cache_control.no_cache = True  # as every tagged answer, and as documented
    if stored.created:
        response.headers["Location"] = summary_json(summary)["links"]["self"]
    return response


@bp.get("/<article_id>")
def get(article_id: str) -> Response:
    with current_runtime().database.reading() as session:
        row = get_article(session, article_id)
        if row is None:
            raise NotFound(f"There is no article {article_id!r}.")
        response = _json(row.document)
        return conditional(response, etag=row.version, last_modified=row.stored_at)


@bp.delete("/<article_id>")
def delete(article_id: str) -> Response:
    require_token()
    preconditions = _preconditions()
    runtime = current_runtime()
    with runtime.database.writing() as session:
        deleted = delete_article(session, article_id, preconditions=preconditions)
    if not deleted:
        raise NotFound(f"There is no article {article_id!r}.")
    # Nor does a digest not yet sent carry it, nor a run keep its words. Deleted it is,
    # whatever happens here: a sender writes a run again before each batch.
    try:
        daily_digest_for(runtime).withdraw(article_id)
    except Exception:
        logger.exception("Deleted %r; taking it out of the digest runs failed", article_id)
    return Response(status=204)


@bp.get("")
def index() -> Response:
    query = article_query(
        request.args,
        allowed=("kind", "since", "until", "cursor", "limit"),
        zone=current_runtime().settings.timezone,
    )
    with current_runtime().database.reading() as session:
        page = list_articles(session, query)
    next_url = None
    if page.next is not None:
        params = {key: request.args[key] for key in request.args if key != "cursor"}
        params["cursor"] = page.next.encode()
        next_url = f"{current_runtime().settings.base_url}/v1/articles?{urlencode(params)}"
    response = _json({"items": [summary_json(item) for item in page.items], "next": next_url})
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return conditional(response)
