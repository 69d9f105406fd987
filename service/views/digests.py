"""The digest of a date in the browser, and the API call that sends it now (idempotent)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, current_app, json

from digests.render import digest_page_context
from digests.runs import BackgroundSends, DailyDigest, daily_digest_for

from ..days import day_from
from ..errors import NotFound
from ..runtime import current_runtime
from .bearer import require_token
from .caching import conditional

bp = Blueprint("digests", __name__)
_EXTENSION = "broadsheet.digests"


def _digests() -> tuple[DailyDigest, BackgroundSends]:
    """One DailyDigest and one set of background sends per app, made on first use."""
    made = current_app.extensions.get(_EXTENSION)
    if made is None:
        runtime = current_runtime()
        daily = daily_digest_for(runtime)
        made = (daily, BackgroundSends(daily, runtime.transport))
        current_app.extensions[_EXTENSION] = made
    return made


def _day(text: str) -> date:
    day = day_from(text)
    if day is None:
        raise NotFound(f"There is no digest for {text[:40]!r}: a digest date is YYYY-MM-DD.")
    return day


def _nothing_in(day: date, daily: DailyDigest) -> NotFound:
    window = daily.schedule.window(day)
    return NotFound(
        f"No quick reads were published between {window.start.isoformat()} and "
        f"{window.end.isoformat()}: there is no digest for {day.isoformat()}, "
        "and nothing is sent."
    )


@bp.get("/digests/<day>")
def page(day: str) -> Response:
    daily, _ = _digests()
    on = _day(day)
    digest = daily.shown(on)
    if not digest:
        run = daily.ledger.run(on)
        if run is not None and run.article_ids is not None:
            # Its window may hold quick reads stored since: saying it held none was untrue.
            raise NotFound(
                f"Every quick read the digest for {on.isoformat()} named has been deleted "
                "since its run opened; a quick read stored into its window later is not added."
            )
        raise _nothing_in(on, daily)
    runtime = current_runtime()
    html = runtime.env.get_template("digests/page.html").render(
        digest_page_context(digest, runtime.settings)
    )
    return conditional(Response(html, mimetype="text/html"))


@bp.post("/v1/digests/<day>/send")
def send(day: str) -> Response:
    require_token()
    daily, background = _digests()
    on = _day(day)
    opening = daily.open_run(on)
    if opening.run is None:
        raise _nothing_in(on, daily)
    remaining = daily.remaining(on)
    if remaining:
        background.start(on)
    body = {
        "date": on.isoformat(),
        "status": "sending" if remaining else "done",
        "opened": opening.opened_now,
        "items": opening.run.items,
        "audience": opening.run.audience,
        "counts": daily.counts(on),
    }
    return Response(json.dumps(body), status=202 if remaining else 200, mimetype="application/json")
