"""Conditional GET for every stored page: ETag and Last-Modified, 304 when nothing changed.

`no-cache` lets browsers and proxies keep a copy but makes them ask first, so an article
replaced or deleted is never shown from a cache.

The preconditions are evaluated in the order of RFC 9110 §13.2.2: If-Match (strong), else
If-Unmodified-Since; then If-None-Match (weak), else If-Modified-Since; and only then a
Range (one range of bytes; anything else is ignored), which If-Range lets through only when
it names this very representation by a strong validator. A failed If-Match is a 412
problem, never the resource with another status. Werkzeug does the range arithmetic, on a
copy of the request without the preconditions it would otherwise judge in its own order.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from flask import Response, g, request
from werkzeug.http import parse_date, parse_etags, unquote_etag

from ..errors import PreconditionFailed
from ..runtime import current_runtime
from ..storage.db import DATED_WRITE_LIMIT

SECOND = timedelta(seconds=1)
# How long after its second a date is first said: the longest a dated write may take to
# commit, and as much again for the commit itself.
DATE_SETTLES = 2 * DATED_WRITE_LIMIT

_PRECONDITIONS = (
    "HTTP_IF_MATCH",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_IF_RANGE",
)


def conditional(
    response: Response,
    *,
    last_modified: datetime | None = None,
    etag: str | None = None,
    ranges: bool = False,
) -> Response:
    """Tag `response` (by a hash of its body unless `etag` is given) and answer 304 if fresh."""
    if etag is None:
        etag = hashlib.sha256(response.get_data()).hexdigest()[:32]
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified
    response.cache_control.no_cache = True
    modified = response.last_modified  # whole seconds, as the header says it
    said = modified
    arrived = g.get("request_arrived_at") or datetime.now(UTC)
    if modified is not None and modified + SECOND + DATE_SETTLES > arrived:
        # A date names one version only once its second is over (RFC 9110 §8.8.2.2): another
        # change within it would carry the same date. And a write dated in that second may
        # still be on its way to its commit, for up to DATED_WRITE_LIMIT (storage/db.py):
        # a list said to be of that date without it would keep its 304 once it lands. Hence
        # the margin, counted from when the request arrived, before it read anything. Until
        # then, or while a version is dated ahead (versions stored in quick succession are a
        # second apart), no date is said and the ETag alone validates: a date the client
        # sends in If-Modified-Since or If-Range (an answer's Date, say) is taken for none,
        # as for a resource without one (RFC 9110 §13.1.3), since the client cannot hold
        # this date from us. If-Unmodified-Since keeps the true date: it can only refuse.
        del response.headers["Last-Modified"]
        said = None
    if not _if_match_holds(etag, modified):
        raise PreconditionFailed(
            "The resource is not the version If-Match or If-Unmodified-Since names."
        )
    if request.method in ("GET", "HEAD") and not _changed_for_client(etag, said):
        response.status_code = 304
        response.set_data(b"")
        response.headers.pop("Content-Length", None)
        return response
    environ = {key: value for key, value in request.environ.items() if key not in _PRECONDITIONS}
    # Range is for GET alone (RFC 9110 §14.2): a HEAD with one learns the whole length.
    if (
        not ranges
        or request.method != "GET"
        or not _one_byte_range()
        or not _if_range_holds(etag, said)
    ):
        environ.pop("HTTP_RANGE", None)
    if ranges:
        length = response.calculate_content_length()
        if length is not None and "HTTP_RANGE" in environ:
            start, _ = request.range.ranges[0]  # type: ignore[union-attr]
            if start < -length:
                # A suffix longer than the whole is the whole (RFC 9110 §14.1.2); werkzeug
                # would refuse it with 416.
                environ["HTTP_RANGE"] = f"bytes=-{length}"
        response.make_conditional(environ, accept_ranges=True, complete_length=length)
    else:
        response.make_conditional(environ)
    # werkzeug adds a Date, and every server writes its own: the development server sent two.
    del response.headers["Date"]
    return response


def made_since(changed: datetime | None) -> datetime:
    """The date of a page made from stored data last `changed` then: the later of that and
    when the app was built. Settings and code changed since (BASE_URL, the publisher's name,
    a new release) change the page and not the data: dated by the data alone, the old page
    kept its 304 for a client revalidating with If-Modified-Since alone, old links and all."""
    built = current_runtime().built_at
    return built if changed is None or changed < built else changed


def require_if_match(etag: str) -> None:
    """For a response tagged before it is made (an edition): 412 when If-Match names
    another version, before any work is spent on this one."""
    if not _if_match_holds(etag, None):
        raise PreconditionFailed("The resource is not the version If-Match names.")


def client_holds(etag: str) -> bool:
    """If-None-Match names `etag` (weak comparison): answer 304, the client has this one.

    On a POST whose answer is tagged by its body (a rendering, an edition), a tag the client
    lists still earns a 304. "*" earns none: it asks that no current version exist, and one
    always does, so the condition is false and RFC 9110 §13.1.2 makes that a 412 for any
    method but GET and HEAD (it used to be a 304 with nothing in it for a client that never
    held anything).
    """
    match = request.if_none_match
    if match.star_tag and request.method not in ("GET", "HEAD"):
        raise PreconditionFailed(
            "If-None-Match: * asks that no version exist, and this request always makes one."
        )
    return match.contains_weak(etag)


def request_date(header: str) -> datetime | None:
    """The HTTP-date in the request's `header`, or None when it is not one: a list of dates,
    or a date with more after it, is ignored (RFC 9110 §13.1.3, §13.1.4). werkzeug read the
    first date of a list."""
    value = request.headers.get(header)
    if value is None or not _HTTP_DATE.fullmatch(value.strip(" \t")):
        return None
    return parse_date(value)


# RFC 9110 §5.6.7: IMF-fixdate, then the obsolete RFC 850 and asctime forms.
_DAY, _WEEKDAY = "(Mon|Tue|Wed|Thu|Fri|Sat|Sun)", "(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
_MONTH = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = r"\d{2}:\d{2}:\d{2}"
_HTTP_DATE = re.compile(
    rf"{_DAY}, \d{{2}} {_MONTH} \d{{4}} {_TIME} GMT"
    rf"|{_WEEKDAY}, \d{{2}}-{_MONTH}-\d{{2}} {_TIME} GMT"
    rf"|{_DAY} {_MONTH} ( \d|\d{{2}}) {_TIME} \d{{4}}"
)


def _if_match_holds(etag: str, modified: datetime | None) -> bool:
    """If-Match by strong comparison, or, without it, If-Unmodified-Since."""
    if "HTTP_IF_MATCH" in request.environ:
        return request.if_match.contains(etag)  # strong; "*" matches what exists
    since = request_date("If-Unmodified-Since")
    return since is None or modified is None or modified <= since


def _changed_for_client(etag: str, modified: datetime | None) -> bool:
    """False when If-None-Match (weak) or, without it, If-Modified-Since says the client's
    copy is this one."""
    if "HTTP_IF_NONE_MATCH" in request.environ:
        return not request.if_none_match.contains_weak(etag)
    since = request_date("If-Modified-Since")
    return since is None or modified is None or modified > since


def _one_byte_range() -> bool:
    """True when Range asks for one range of bytes. Another unit, or several ranges (which
    would need a multipart answer), is ignored and the whole answers, as RFC 9110 §14.2
    allows; only a single byte range past the end is refused, with 416."""
    wanted = request.range
    return wanted is not None and wanted.units == "bytes" and len(wanted.ranges) == 1


def _if_range_holds(etag: str, modified: datetime | None) -> bool:
    """True without If-Range, or when it names this representation by a strong validator:
    its strong ETag, or its exact Last-Modified date."""
    value = request.environ.get("HTTP_IF_RANGE")
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        tag, weak = unquote_etag(value)
        return not weak and tag == etag and len(parse_etags(value)) == 1
    moment = request_date("If-Range")
    return moment is not None and modified is not None and moment == modified
