"""Each request's id, its one access line and its count, around every view.

The id comes from the client's X-Request-Id when it is a safe token (so a proxy's id carries
through), else it is made here; it goes back in the answer and onto every log record of the
request. The counter and the access line name the request by its URL rule, never by the path
alone, so a scan of random paths adds no label values; the path the line also gives has any
confirm or unsubscribe token taken out.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import UTC, datetime
from functools import partial

from flask import Flask, Response, g, request

from .logs import NO_REQUEST, printable, request_id
from .metrics import count_request
from .request_body import drain_rest, left_unread
from .runtime import current_runtime

HEADER = "X-Request-Id"
SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
PATH_LIMIT = 200
# Paths whose last part is a capability: whoever holds a confirm or unsubscribe link can use
# it (an unsubscribe link never expires), so no log line carries one. Every route that takes
# a <token> starts with one of these (tests/test_access.py).
TOKEN_PATHS = ("/subscribe/confirm/", "/unsubscribe/")
_SLASHES = re.compile("//+")
# Where such a token starts, anywhere in a path and in any case: a path no route answers
# (/./unsubscribe/T, /x/../Unsubscribe/T) holds a token that works all the same.
_TOKEN_START = re.compile(
    "(?:" + "|".join(re.escape(prefix) for prefix in TOKEN_PATHS) + r")(?=.)",
    re.IGNORECASE | re.DOTALL,
)
logger = logging.getLogger(__name__)


def register(app: Flask) -> None:
    """The hooks: registered before any other, so they see every request."""
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_finish)
    app.teardown_request(_forget)


def given_or_new_id(given: str | None) -> str:
    """The client's id when it is safe, and not NO_REQUEST ("-"), which marks the lines
    logged outside any request: a request's lines must never pass for those."""
    if given is not None and given != NO_REQUEST and SAFE_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def _begin() -> None:
    g.request_started = time.perf_counter()
    # Before the view reads anything: views/caching.py judges the dates it reads against it.
    g.request_arrived_at = datetime.now(UTC)
    g.request_id = given_or_new_id(request.headers.get(HEADER))
    g.request_id_token = request_id.set(g.request_id)


def _drop_what_was_left_unread(response: Response) -> None:
    """After the answer, the body no one read is read and dropped, within bounds
    (request_body.drain_rest), from werkzeug's request.stream if something read it there."""
    environ = request.environ
    left = left_unread(environ)
    parsed = request.__dict__.get("stream")  # werkzeug's cached stream, if a form was read
    if left == 0 or (parsed is not None and getattr(parsed, "is_exhausted", False)):
        return
    timeout = current_runtime().settings.body_timeout
    stream = parsed if parsed is not None else environ["wsgi.input"]
    response.call_on_close(partial(drain_rest, environ, stream, left, timeout=timeout))


def _finish(response: Response) -> Response:
    if "request_id" not in g:  # a hook registered before ours refused the request
        _begin()
    response.headers[HEADER] = g.request_id
    _drop_what_was_left_unread(response)
    rule = request.url_rule.rule if request.url_rule is not None else None
    count_request(request.method, rule, response.status_code)
    duration_ms = round((time.perf_counter() - g.request_started) * 1000, 1)
    method = printable(request.method, 20)
    path = logged_path()
    logger.info(
        "%s %s %s %.1f ms",
        method,
        path,
        response.status_code,
        duration_ms,
        extra={
            "access": {
                "method": method,
                "route": rule,
                "path": path,
                "status": response.status_code,
                "duration_ms": duration_ms,
            }
        },
    )
    return response


def logged_path(limit: int = PATH_LIMIT) -> str:
    """The request's path for a log line: one escaped line, cut to `limit`, with any token
    in it replaced by "<token>", whether or not the path matched a route."""
    path = request.path
    # Werkzeug redirects //subscribe//confirm/T to the path with its slashes merged, and
    # the line for that redirect is written too: match the path as it will be merged.
    merged = _SLASHES.sub("/", path)
    start = _TOKEN_START.search(merged)
    if start is not None:
        path = merged[: start.end()] + "<token>"
    return printable(path, limit)


def _forget(_error: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        try:
            request_id.reset(token)
        except ValueError:  # torn down in another context than it began in
            request_id.set(NO_REQUEST)
