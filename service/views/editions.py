"""Print editions: the day's paper as one PDF, or the articles a client names, in order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from flask import Blueprint, Response, request

from ..article import Article
from ..days import day_from
from ..edition_printer import EditionJob
from ..edition_request import read_edition_request
from ..editions import EditionLimits, plan_edition
from ..errors import (
    BadParameter,
    EditionTooLarge,
    EditionTooSlow,
    EmptyEdition,
    FieldError,
    NotFound,
    RenderRefused,
)
from ..printing import Printed
from ..runtime import current_runtime
from ..storage.editions import named, published_on
from .body import json_from_request
from .caching import client_holds, require_if_match
from .rendering import say_left_out

bp = Blueprint("editions", __name__)

AUDIENCES = ("readers", "press")
# An edition spends one PDF of its client's budget for every ten articles it names (or
# part of ten): reading and printing two hundred articles cost what a hundred PDFs cost,
# and one unit for any edition let a client keep the printers busy for minutes a minute.
ARTICLES_PER_PDF = 10


@bp.get("/editions/<day>.pdf")
def of_the_day(day: str) -> Response:
    """Every article published on `day` in TIMEZONE, oldest first."""
    for_press = _audience()
    on = day_from(day)
    if on is None:
        raise NotFound(f"There is no edition {day!r}: editions are named YYYY-MM-DD.")
    runtime = current_runtime()
    with runtime.database.reading() as session:
        articles = published_on(
            session,
            on,
            runtime.settings.timezone,
            at_most=runtime.settings.edition_max_articles,
            counted=_spend_for,
        )
    if not articles:
        raise EmptyEdition(
            f"No article was published on {on.isoformat()} ({runtime.settings.timezone.key})."
        )
    return _edition(articles, on=on, title=None, for_press=for_press)


@bp.post("/v1/editions")
def of_articles() -> Response:
    """The articles named in `article_ids`, in that order, with an optional title and date."""
    for_press = _audience()
    runtime = current_runtime()
    limits = runtime.settings
    asked = read_edition_request(json_from_request(), max_articles=limits.edition_max_articles)
    _spend_for(len(asked.article_ids))
    with runtime.database.reading() as session:
        articles = named(session, asked.article_ids)
    try:
        return _edition(articles, on=asked.on, title=asked.title, for_press=for_press)
    except EditionTooLarge as refusal:
        if refusal.position is None or refusal.errors:
            raise
        pointer = FieldError(f"/article_ids/{refusal.position - 1}", refusal.detail)
        raise EditionTooLarge(refusal.detail, [pointer], position=refusal.position) from None


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
        zone=settings.timezone,
        for_press=for_press,
    )
    job = EditionJob(edition, runtime.env, settings)
    headers = {"ETag": f'"{job.etag}"', "Cache-Control": "no-cache"}
    require_if_match(job.etag)
    # Weak comparison (RFC 9110 §13.1.2), as on every other route.
    if client_holds(job.etag):
        return Response(status=304, headers=headers)
    printed = runtime.pdf_cache.get(job.etag)
    if printed is None:
        runtime.edition_refusals.check(job.etag)
        # The parts' deadline: twice the time limit, as gunicorn.conf.py's REQUEST_LIMIT allows.
        deadline = 2 * settings.pdf_time_limit

        def print_it() -> Printed:
            started = runtime.edition_prints.started  # this run's own start counted
            alone = runtime.edition_prints.alone_since(started)
            try:
                data = job.print_with(runtime.printer, time_limit=deadline)
            except (EditionTooLarge, RenderRefused) as refusal:
                # A deadline missed while other editions shared the printers may be theirs:
                # remembered, three requests for variants of one large edition kept the
                # day's paper refused to every reader for ten minutes.
                if not isinstance(refusal, EditionTooSlow) or (
                    alone and runtime.edition_prints.alone_since(started)
                ):
                    runtime.edition_refusals.remember(job.etag, refusal)
                raise
            # Not kept when an image is missing only for now (the cache says no to that).
            return runtime.pdf_cache.put(job.etag, Printed(data, tuple(job.left_out)))

        # Readers asking at the same moment share one print (the cover and merge included).
        printed = runtime.edition_prints.run(
            job.etag, print_it, wait=deadline + settings.pdf_time_limit
        )
    data = printed.data
    say_left_out(headers, job.warnings(printed.left_out), f"The edition {job.etag}")
    name = f"edition-{edition.date.isoformat()}{'-press' if for_press else ''}.pdf"
    headers["Content-Disposition"] = f'inline; filename="{name}"'
    return Response(data, mimetype="application/pdf", headers=headers)


def _spend_for(articles: int) -> None:
    """The PDFs an edition of `articles` costs past the one its request has spent."""
    current_runtime().rate_limits.spend_more(-(-articles // ARTICLES_PER_PDF) - 1)


def _audience() -> bool:
    """`?for=press` asks for the press edition; no other parameter is taken."""
    for name in request.args:
        if name != "for":
            raise BadParameter(f"{name} is not a parameter here; use for.", parameter=name)
    audience = request.args.get("for", "readers")
    if len(request.args.getlist("for")) > 1 or audience not in AUDIENCES:
        raise BadParameter(f"for must be one of {', '.join(AUDIENCES)}.", parameter="for")
    return audience == "press"
