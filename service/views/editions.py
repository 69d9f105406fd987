"""Print editions: the day's paper as one PDF, or the articles a client names, in order."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from flask import Blueprint, Response, request

from ..article import ARTICLE_ID, Article
from ..characters import forbidden_character, line_break_problem
from ..edition_printer import EditionJob
from ..editions import EditionLimits, plan_edition
from ..errors import (
    BadParameter,
    EditionTooLarge,
    EmptyEdition,
    FieldError,
    InvalidEdition,
    NotFound,
)
from ..printing import Printed
from ..runtime import current_runtime
from ..storage.editions import named, published_on
from .body import json_from_request

bp = Blueprint("editions", __name__)

AUDIENCES = ("readers", "press")
MAX_TITLE = 300
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@bp.get("/editions/<day>.pdf")
def of_the_day(day: str) -> Response:
    """Every article published on `day` in TIMEZONE, oldest first."""
    for_press = _audience()
    on = _date(day)
    if on is None:
        raise NotFound(f"There is no edition {day!r}: editions are named YYYY-MM-DD.")
    runtime = current_runtime()
    with runtime.database.reading() as session:
        articles = published_on(session, on, runtime.settings.timezone)
    if not articles:
        raise EmptyEdition(
            f"No article was published on {on.isoformat()} ({runtime.settings.timezone.key})."
        )
    return _edition(articles, on=on, title=None, for_press=for_press)


@bp.post("/v1/editions")
def of_articles() -> Response:
    """The articles named in `article_ids`, in that order, with an optional title and date."""
    for_press = _audience()
    title, on, article_ids = _read_request(json_from_request())
    runtime = current_runtime()
    limit = runtime.settings.edition_max_articles
    if len(article_ids) > limit:
        raise EditionTooLarge(f"The edition has {len(article_ids)} articles; the limit is {limit}.")
    with runtime.database.reading() as session:
        articles = named(session, article_ids)
    return _edition(articles, on=on, title=title, for_press=for_press)


def _edition(
    articles: Sequence[Article], *, on: date | None, title: str | None, for_press: bool
) -> Response:
    """The edition's PDF, or 304 when the client already has these exact bytes."""
    runtime = current_runtime()
    settings = runtime.settings
    edition = plan_edition(
        articles,
        publication=settings.publisher_name,
        limits=EditionLimits(
            max_articles=settings.edition_max_articles,
            max_pages_per_article=settings.pdf_max_pages,
        ),
        title=title,
        on=on,
        for_press=for_press,
    )
    job = EditionJob(edition, runtime.env, settings)
    headers = {"ETag": f'"{job.etag}"', "Cache-Control": "no-cache"}
    if request.if_none_match.contains(job.etag):
        return Response(status=304, headers=headers)
    printed = runtime.pdf_cache.get(job.etag)
    if printed is None:
        printed = runtime.pdf_cache.put(job.etag, Printed(job.print_with(runtime.printer)))
    data = printed.data
    name = f"edition-{edition.date.isoformat()}{'-press' if for_press else ''}.pdf"
    headers["Content-Disposition"] = f'inline; filename="{name}"'
    return Response(data, mimetype="application/pdf", headers=headers)


def _audience() -> bool:
    """`?for=press` asks for the press edition; no other parameter is taken."""
    for name in request.args:
        if name != "for":
            raise BadParameter(f"{name} is not a parameter here; use for.", parameter=name)
    audience = request.args.get("for", "readers")
    if len(request.args.getlist("for")) > 1 or audience not in AUDIENCES:
        raise BadParameter(f"for must be one of {', '.join(AUDIENCES)}.", parameter="for")
    return audience == "press"


def _date(text: str) -> date | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _read_request(body: Any) -> tuple[str | None, date | None, list[str]]:
    """`{title?, date?, article_ids}` checked field by field; every problem is reported."""
    if not isinstance(body, dict):
        raise InvalidEdition(
            "The request must be a JSON object.", [FieldError("", "must be an object")]
        )
    errors = [
        FieldError(f"/{key}", "is not a field of an edition request")
        for key in body
        if key not in ("title", "date", "article_ids")
    ]
    title = body.get("title")
    if title is not None:
        problem = None
        if not isinstance(title, str):
            problem = "must be a string"
        elif not title.strip() or len(title) > MAX_TITLE:
            problem = f"must be 1 to {MAX_TITLE} characters"
        else:
            problem = forbidden_character(title) or line_break_problem(title)
        if problem:
            errors.append(FieldError("/title", problem))
    on = None
    if body.get("date") is not None:
        on = _date(body["date"]) if isinstance(body["date"], str) else None
        if on is None:
            errors.append(FieldError("/date", "must be a date as YYYY-MM-DD"))
    article_ids = body.get("article_ids")
    if not isinstance(article_ids, list):
        errors.append(FieldError("/article_ids", "is required: a list of article ids"))
        article_ids = []
    seen: set[str] = set()
    for index, article_id in enumerate(article_ids):
        if not isinstance(article_id, str) or not ARTICLE_ID.fullmatch(article_id):
            errors.append(FieldError(f"/article_ids/{index}", "must be an article id"))
        elif article_id in seen:
            errors.append(FieldError(f"/article_ids/{index}", "names an article already listed"))
        else:
            seen.add(article_id)
    if errors:
        count = len(errors)
        raise InvalidEdition(
            f"{count} problem{'s' if count != 1 else ''} found; see errors for where.", errors
        )
    if not article_ids:
        raise EmptyEdition(
            "article_ids names no article.", [FieldError("/article_ids", "is empty")]
        )
    return title, on, article_ids
