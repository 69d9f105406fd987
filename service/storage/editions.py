"""The stored articles an edition prints: all those published on a day, or those named."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ..article import Article
from ..errors import EditionTooLarge, NotFound
from .articles import article_of, ids_published_between, stored_rows


def published_on(
    session: Session,
    day: date,
    zone: ZoneInfo,
    *,
    at_most: int,
    counted: Callable[[int], None] = lambda count: None,
) -> list[Article]:
    """Every article published on `day` as the clock reads in `zone`, oldest first; refused
    with EditionTooLarge when there are more than `at_most`, before any is read whole.
    `counted` is told how many there are, before any is read whole too."""
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    ids = ids_published_between(session, start, end, limit=at_most + 1)
    if len(ids) > at_most:
        raise EditionTooLarge(
            f"More than {at_most} articles were published on {day.isoformat()}; "
            f"the limit is {at_most}."
        )
    counted(len(ids))
    rows = stored_rows(session, ids)
    # One deleted between the two queries (a reading session's each stand alone) is left out.
    return [article_of(rows[article_id]) for article_id in ids if article_id in rows]


def named(session: Session, article_ids: Sequence[str]) -> list[Article]:
    """The articles called `article_ids`, in that order; any unknown one is named in a 404."""
    rows = stored_rows(session, article_ids)
    missing = [article_id for article_id in article_ids if article_id not in rows]
    if missing:
        names = ", ".join(repr(article_id) for article_id in missing)
        raise NotFound(f"There is no stored article {names}." if len(missing) == 1 else
                       f"There are no stored articles {names}.")  # fmt: skip
    return [article_of(rows[article_id]) for article_id in article_ids]
