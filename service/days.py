"""A day named in a URL, a request body or a command: YYYY-MM-DD, a real date, and one whose
neighbours are real dates too (a digest's window starts the day before, an edition's day
ends at the next midnight), so no day a client names can overflow the calendar: not even in
a zone whose offset is larger than DIGEST_TIME (the window of 0001-01-02 starts on 0001-01-01
at DIGEST_TIME, before year 1 in UTC once Tokyo's offset is taken off)."""

from __future__ import annotations

import datetime as dt
import re

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
_DAY = re.compile(DATE_PATTERN)
FIRST_DAY = dt.date.min + dt.timedelta(days=2)
LAST_DAY = dt.date.max - dt.timedelta(days=1)


def in_zone(moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """`moment` in `zone`; within hours of 0001-01-01 or 9999-12-31, where the zone's time
    is past the calendar's end, `moment` as it is (UTC)."""
    try:
        return moment.astimezone(zone)
    except OverflowError:
        return moment


def day_from(text: str) -> dt.date | None:
    """The day `text` names as YYYY-MM-DD (ASCII digits, a real date, from 0001-01-03 to
    9999-12-30), or None."""
    if not _DAY.fullmatch(text):
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None
