"""List parameters shared by the API and the pages: filters, a cursor and a bounded limit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, tzinfo

from werkzeug.datastructures import MultiDict

from ..article import parse_datetime
from ..days import day_from
from ..errors import BadParameter
from ..storage.articles import ArticleQuery, BadCursor, Cursor

KINDS = ("article", "quick-read")
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def article_query(
    args: MultiDict[str, str],
    allowed: tuple[str, ...],
    kind: str | None = None,
    zone: tzinfo = UTC,
) -> ArticleQuery:
    """Read list parameters; anything unknown, repeated or malformed is a 400 naming it. A
    date alone is that day's midnight in `zone` (TIMEZONE): the day an edition, a digest
    and the list page file an article under."""
    for name in args:
        if name not in allowed:
            raise BadParameter(
                f"{name} is not a parameter here; use {', '.join(allowed)}.", parameter=name
            )
        if len(args.getlist(name)) > 1:
            raise BadParameter(f"{name} is given more than once.", parameter=name)
    if "kind" in args:
        kind = args["kind"]
        if kind not in KINDS:
            raise BadParameter(f"kind must be one of {', '.join(KINDS)}.", parameter="kind")
    after = None
    if "cursor" in args:
        try:
            after = Cursor.decode(args["cursor"])
        except BadCursor as error:
            raise BadParameter(f"cursor {error}.", parameter="cursor") from None
    return ArticleQuery(
        kind=kind,
        since=_moment(args, "since", zone),
        until=_moment(args, "until", zone),
        after=after,
        limit=_limit(args),
    )


def _moment(args: MultiDict[str, str], name: str, zone: tzinfo) -> datetime | None:
    if name not in args:
        return None
    value = args[name].strip()
    # An unencoded "+" in a query string arrives as a space: "08:00:00 01:00".
    value = re.sub(r" (\d{2}:\d{2})$", r"+\1", value)
    try:
        if _DATE.fullmatch(value):
            day = day_from(value)  # a neighbour of the calendar's ends overflows in a zone
            if day is None:
                raise ValueError(value)
            return datetime.combine(day, time(), zone).astimezone(UTC)
        return parse_datetime(value)
    except ValueError:
        raise BadParameter(
            f"{name} must be a date (2026-03-12, from 0001-01-03 to 9999-12-30) or an RFC "
            "3339 date-time with an offset (2026-03-12T08:00:00Z).",
            parameter=name,
        ) from None


def _limit(args: MultiDict[str, str]) -> int:
    if "limit" not in args:
        return DEFAULT_LIMIT
    value = args["limit"]
    if not (
        value.isascii() and value.isdigit() and len(value) <= 3 and 1 <= int(value) <= MAX_LIMIT
    ):
        raise BadParameter(
            f"limit must be a whole number from 1 to {MAX_LIMIT}.", parameter="limit"
        )
    return int(value)
