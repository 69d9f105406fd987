"""One error handler: any failure becomes RFC 9457 problem+json, or an HTML page for browsers."""

from __future__ import annotations

import logging
from collections.abc import Callable

import werkzeug.exceptions
from flask import Flask, Response, g, json, request
from flask_limiter import RateLimitExceeded
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from .access import logged_path
from .errors import (
    PROBLEM_BASE,
    BadRequest,
    BroadsheetError,
    DatabaseUnavailable,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    RateLimited,
    RequestTimeout,
    UnsupportedMediaType,
)
from .logs import printable
from .metrics import metrics_open
from .request_body import WHOLE
from .runtime import current_runtime

logger = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def register(app: Flask) -> None:
    app.register_error_handler(BroadsheetError, _from_broadsheet_error)
    app.register_error_handler(RateLimitExceeded, _from_rate_limit)
    app.register_error_handler(HTTPException, _from_http_exception)
    for unavailable in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(unavailable, _from_database_failure)
    app.register_error_handler(ProgrammingError, _from_programming_error)
    app.register_error_handler(Exception, _from_unexpected)
    app.after_request(_vary_by_accept)


def _from_broadsheet_error(error: BroadsheetError) -> Response:
    if error.status == 422:
        pointers = ", ".join(printable(e.pointer or "/", 120) for e in error.errors[:5])
        logger.warning(
            "Refused %s %s (%s): %s",
            printable(request.method, 20),
            logged_path(),
            pointers,
            printable(error.detail),
        )
    return problem_response(error.problem(), error.headers())


def _from_rate_limit(error: RateLimitExceeded) -> Response:
    return _from_broadsheet_error(RateLimited(current_runtime().rate_limits.retry_after()))


# Werkzeug's refusals of the kinds Broadsheet refuses itself take Broadsheet's type and
# title: one title per type (RFC 9457 §3.1.3), whoever refused.
_SAME_TYPE: dict[int, type[BroadsheetError]] = {
    error.status: error
    for error in (
        BadRequest,
        NotFound,
        RequestTimeout,
        PreconditionFailed,
        PayloadTooLarge,
        UnsupportedMediaType,
    )
}


def _from_http_exception(error: HTTPException) -> Response:
    if error.code == 405 and request.path == "/metrics":
        if not metrics_open(current_runtime().settings):
            error = werkzeug.exceptions.NotFound()
    status = error.code or 500
    ours = _SAME_TYPE.get(status)
    slug = ours.slug if ours else (error.name or "error").lower().replace(" ", "-")
    body = {
        "type": PROBLEM_BASE + slug,
        "title": ours.title if ours else error.name,
        "status": status,
        "detail": error.description or error.name,
    }
    if status == 413:
        limit = current_runtime().settings.max_body_bytes
        length = request.content_length
        if request.environ.get(WHOLE) or (length is not None and length <= limit):
            # Within the size limit (read whole, chunked or not), werkzeug refuses a form
            # for its parts, not its bytes.
            body["detail"] = "The form has more parts, or a larger field, than a form may have."
        else:
            body["detail"] = f"The request body is larger than the limit of {limit} bytes."
    headers = {k: v for k, v in error.get_headers() if k.lower() not in ("content-type",)}
    return problem_response(body, headers)


def _from_database_failure(error: Exception) -> Response:
    """The database did not answer: the operator needs the error, the client a 503 to retry
    (as /healthz says 503), not an internal error. A failed write was rolled back."""
    logger.error(
        "The database failed on %s %s", printable(request.method, 20), logged_path(), exc_info=error
    )
    detail = "The database did not answer. Nothing was changed; try again shortly."
    return _from_broadsheet_error(DatabaseUnavailable(detail))


# PostgreSQL's codes for a schema not migrated yet: no such table, column or schema. SQLite
# says so with an OperationalError, handled above; PostgreSQL with a ProgrammingError.
_NOT_MIGRATED = frozenset({"42P01", "42703", "3F000"})


def _from_programming_error(error: ProgrammingError) -> Response:
    if getattr(error.orig, "sqlstate", None) in _NOT_MIGRATED:
        return _from_database_failure(error)
    return _from_unexpected(error)


def _from_unexpected(error: Exception) -> Response:
    logger.error(
        "Unexpected error on %s %s",
        printable(request.method, 20),
        logged_path(),
        exc_info=error,
    )
    return problem_response(
        {
            "type": PROBLEM_BASE + "internal-error",
            "title": "Something went wrong on our side",
            "status": 500,
            "detail": "The error has been logged. Please try again later.",
        }
    )


# The links a mail holds: a reader opens them from a mail client, whose viewer may ask for
# anything (or name nothing): whatever goes wrong, a page (README, "Errors").
LINKS_IN_MAIL = frozenset({"subscriptions.confirm_page", "subscriptions.unsubscribe_page"})
_LINK_PATHS = ("/subscribe/confirm/", "/unsubscribe/")


def wants_html() -> bool:
    """Browsers asking for a page get one; API routes and API clients get problem+json."""
    if request.method in ("GET", "HEAD") and (
        request.endpoint in LINKS_IN_MAIL or request.path.startswith(_LINK_PATHS)
    ):
        return True  # a link a mail holds, or one cut or lengthened on its way (no route)
    if request.path.startswith("/v1/") or request.mimetype == "application/json":
        return False
    # Problem JSON first: a client that accepts anything (curl, requests: "*/*") gets it; a
    # page only goes to one that ranks HTML above JSON, as a browser does.
    g.chose_by_accept = True  # a shared cache must keep the page and the JSON apart
    best = request.accept_mimetypes.best_match([PROBLEM_JSON, "application/json", "text/html"])
    return best == "text/html"


def _vary_by_accept(response: Response) -> Response:
    if g.get("chose_by_accept"):
        response.vary.add("Accept")
    return response


# A browser form's own page for a refusal that is no fault of what was typed (too many
# requests, the database down): endpoint -> the page, the form refilled with the problem
# on top. The generic error page lost everything typed, and a POST's answer cannot be
# gone back to. views/subscriptions.py registers the sign-up form's.
REFILLED_FORMS: dict[str, Callable[[dict], Response]] = {}
_NOT_THE_FORMS_FAULT = frozenset({429, 503})


def problem_response(body: dict, headers: dict[str, str] | None = None) -> Response:
    status = int(body["status"])
    refilled = REFILLED_FORMS.get(request.endpoint or "")
    if (
        refilled is not None
        and request.method == "POST"
        and status in _NOT_THE_FORMS_FAULT
        and wants_html()
    ):
        response = refilled(body)
    elif wants_html():
        runtime = current_runtime()
        page = runtime.env.get_template("errors/error.html").render(
            problem=body,
            lang="en",
            dir="ltr",
            labels={"skip": "Skip to the message"},  # there is no article on this page
            label_lang="",
            publisher_name=runtime.settings.publisher_name,
        )
        response = Response(page, status=status, mimetype="text/html")
    else:
        response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    # An error holds for this moment: a shared cache keeps none (a 404 is cacheable by
    # default, and an article stored a minute later stayed missing behind one).
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(headers or {})
    return response
