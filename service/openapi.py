"""The OpenAPI 3.1 document of every route, built from the models that validate requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .article import Article
from .days import DATE_PATTERN
from .edition_request import ARTICLE_ID_PATTERN, EditionRequest
from .errors import PROBLEM_BASE
from .schema_patterns import spaced_text
from .storage.models import MAX_SUBSCRIBER_ID, Status
from .subscriptions import MAX_NAME, SignUpRequest

OPENAPI = "3.1.0"
PROBLEM_JSON = "application/problem+json"
SCHEMAS = "#/components/schemas/"
# itsdangerous URL-safe tokens: base64url parts joined by dots.
TOKEN_PATTERN = r"^[A-Za-z0-9_.-]+$"
KINDS = ("article", "quick-read")
AUDIENCES = ("readers", "press")
LIST_LIMIT = (1, 100, 20)
SUBSCRIBER_LIMIT = (1, 500, 100)
METHODS = ("get", "put", "post", "delete")
# Routes no rate limit refuses: leaving, and what probes and scrapers call by design.
# /metrics is unlimited when open; closed, it costs what a path no route answers costs.
UNLIMITED = frozenset({"/unsubscribe/{token}", "/healthz"})


def _problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "An RFC 9457 problem; `errors` points at each field at fault.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri", "examples": [PROBLEM_BASE + "not-found"]},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "parameter": {"type": "string", "description": "the query parameter at fault"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["pointer", "message"],
                    "properties": {
                        "pointer": {"type": "string", "description": "a JSON Pointer"},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    }


def _summary_schema() -> dict[str, Any]:
    text = {"type": "string"}
    moment = {"type": "string", "format": "date-time"}
    return {
        "type": "object",
        "required": ["id", "kind", "language", "headline", "published_at", "version", "links"],
        "properties": {
            "id": {"type": "string", "pattern": ARTICLE_ID_PATTERN},
            "kind": {"enum": list(KINDS)},
            "language": text,
            "headline": text,
            "summary": {"type": ["string", "null"]},
            "published_at": moment,
            "updated_at": {"type": ["string", "null"], "format": "date-time"},
            "stored_at": moment,
            "version": text,
            "links": {
                "type": "object",
                "required": ["self", "page", "pdf"],
                "properties": {
                    k: {"type": "string", "format": "uri"} for k in ("self", "page", "pdf")
                },
            },
        },
    }


def _subscriber_schema() -> dict[str, Any]:
    moment = {"type": ["string", "null"], "format": "date-time"}
    consent = {
        "type": "object",
        "properties": {
            "at": moment,
            "ip": {"type": ["string", "null"]},
            "form": {"type": ["string", "null"]},
            "confirmed_at": moment,
        },
    }
    return {
        "type": "object",
        "required": ["id", "email", "status", "created_at", "consent", "confirmed_consents"],
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": "string"},
            "name": {"type": ["string", "null"]},
            "status": {"enum": [s.value for s in Status]},
            "created_at": {"type": "string", "format": "date-time"},
            "consent": consent,
            "unsubscribed_at": moment,
            "confirmed_consents": {
                "type": "array",
                "items": consent,
                "description": "every consent confirmed, oldest first, kept whatever later "
                "sign-ups do to the consent above",
            },
        },
    }


def _page_of(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "next"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": SCHEMAS + item}},
            "next": {"type": ["string", "null"], "format": "uri"},
        },
    }


def _model_schemas() -> dict[str, Any]:
    """Each request model's JSON Schema, its definitions lifted into components."""
    schemas: dict[str, Any] = {}
    for model in (Article, EditionRequest, SignUpRequest):
        schema = model.model_json_schema(mode="validation", ref_template=SCHEMAS + "{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


# Pieces of operations -------------------------------------------------------------------


def _text(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


_HEADERS = {
    "ETag": _text("the version of the representation"),
    "Last-Modified": _text("when this version was stored (said once its second has settled)"),
    "Retry-After": _text("seconds to wait"),
    "Link": _text('the next page, rel="next"'),
    "Location": _text("the stored article"),
    "WWW-Authenticate": _text("Bearer"),
    "Content-Range": _text("the bytes sent and the whole length (206), or the length (416)"),
    "Accept-Encoding": _text("identity, when the body came compressed: it is taken as it is"),
    "Broadsheet-Warnings": _text(
        "RFC 8941 strings: each image left out (by pointer, for one article), and why"
    ),
    "Content-Disposition": _text('inline, with the file\'s name: inline; filename="….pdf"'),
    "Accept-Ranges": {"description": "bytes: one byte range may be asked for", "schema": {}},
    "Cache-Control": _text(
        "no-cache on a tagged answer (revalidate with its ETag); no-store on problems and on"
        " pages carrying tokens or a subscriber's data"
    ),
    "Vary": _text("Accept, where a page or a problem is chosen by it (outside /v1/)"),
    "X-Request-Id": _text(
        "the request's id: the client's when 1 to 128 of A-Z a-z 0-9 . _ : -, else a new one;"
        " on every line logged for it"
    ),
}

_WHY = {
    400: "The body cannot be read (empty, not UTF-8, not JSON) or is sent in part "
    "(Content-Range), or a query parameter is not one the route takes.",
    401: "The API token is missing or wrong.",
    404: "Nothing by that name.",
    408: "The body did not arrive within BODY_TIMEOUT; the connection is closed.",
    409: "The digest's window has not closed yet: it is not due.",
    412: "If-Match, If-Unmodified-Since or If-None-Match does not hold.",
    416: "The one byte range asked for starts past the end; Content-Range gives the length.",
    413: "The body is larger than MAX_BODY_BYTES.",
    415: "The body is not application/json in UTF-8, or is sent compressed (Content-Encoding).",
    422: "The body breaks the contract, or exceeds a limit.",
    429: "Too many requests from this client; wait Retry-After seconds.",
    503: "Every PDF printer is busy, or the database is unreachable.",
}


_TOO_SLOW = (
    "The database is unavailable, or could not commit the write within five seconds of its date; "
    "nothing changed, send it again."
)
# Any route that reads the database (problems.py: database-unavailable, with Retry-After).
_DATABASE = "The database is unavailable; nothing changed, try again after Retry-After."


def _header_refs(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _problem(status: int, *, page: bool, why: str | None = None) -> dict[str, Any]:
    """A problem answer; routes outside /v1/ give browsers an accessible page instead."""
    content: dict[str, Any] = {PROBLEM_JSON: {"schema": {"$ref": SCHEMAS + "Problem"}}}
    if page:
        content["text/html"] = {"schema": {"type": "string"}}
    answer: dict[str, Any] = {"description": why or _WHY[status], "content": content}
    headers = {
        401: ("WWW-Authenticate",),
        415: ("Accept-Encoding",),
        416: ("Content-Range",),
        429: ("Retry-After",),
        503: ("Retry-After",),
    }
    chosen_by_accept = ("Vary",) if page else ()
    answer["headers"] = _header_refs(*headers.get(status, ()), "Cache-Control", *chosen_by_accept)
    return answer


def _ok(
    media_types: Sequence[str] | Mapping[str, Any],
    why: str,
    *headers: str,
) -> dict[str, Any]:
    if isinstance(media_types, Mapping):
        content = {m: {"schema": s} for m, s in media_types.items()}
    else:
        content = {m: {"schema": {"type": "string"}} for m in media_types}
    answer: dict[str, Any] = {"description": why, "content": content}
    if "ETag" in headers:
        headers = (*headers, "Cache-Control")
    if headers:
        answer["headers"] = _header_refs(*headers)
    return answer


def _not_modified(*headers: str) -> dict[str, Any]:
    return {
        "description": "Not modified: If-None-Match names this version.",
        "headers": _header_refs("ETag", "Cache-Control", *headers),
    }


def _query(name: str, schema: dict[str, Any], why: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": why, "schema": schema}


def _path(name: str, pattern: str, why: str) -> dict[str, Any]:
    schema = {"type": "string", "pattern": pattern}
    return {"name": name, "in": "path", "required": True, "description": why, "schema": schema}


def _header(name: str, why: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": why,
        "schema": {"type": "string"},
    }


def _conditional_get(*, dated: bool = True, ranged: bool = False) -> list[dict[str, Any]]:
    """The request headers a conditional GET reads (views/caching.py): the dates only where
    the answer is dated (Last-Modified), and for a PDF the one byte range it serves."""
    headers = [
        _header("If-None-Match", "versions the client holds (weak comparison): 304"),
        _header("If-Match", "the version the client expects (strong comparison): else 412"),
    ]
    if dated:
        headers += [
            _header("If-Modified-Since", "an HTTP date (without If-None-Match): 304 if unchanged"),
            _header("If-Unmodified-Since", "an HTTP date (without If-Match): 412 if changed since"),
        ]
    if ranged:
        headers += [
            _header("Range", "one byte range, bytes=first-last: 206"),
            _header("If-Range", "the ETag or date of the version the range is of"),
        ]
    return headers


def _operation(
    summary: str,
    tag: str,
    responses: dict[int, dict[str, Any]],
    *,
    parameters: Sequence[dict[str, Any]] = (),
    body: dict[str, Any] | None = None,
    token: bool = False,
    problems: Sequence[int] = (),
    page: bool = False,
    why: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": [tag]}
    if parameters:
        operation["parameters"] = list(parameters)
    if body is not None:
        operation["requestBody"] = body
    if token:
        operation["security"] = [{"bearer": []}]
    answers = {str(status): answer for status, answer in responses.items()}
    for status in problems:
        answers.setdefault(str(status), _problem(status, page=page))
    for status, reason in (why or {}).items():  # a problem this route has for a reason its own
        answers[str(status)] = _problem(status, page=page, why=reason)
    operation["responses"] = dict(sorted(answers.items()))
    return operation


def _json_body(schema: str, why: str) -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": SCHEMAS + schema}}}
    return {"required": True, "description": why, "content": content}


BODY_PROBLEMS = (400, 408, 413, 415, 422)


def _rendering(formats: Mapping[str, str], papers: Sequence[str]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for name, media_type in formats.items():
        pdf = name == "pdf"
        parameters = []
        responses = {200: _ok([media_type], f"The article as {name}.")}
        problems = [*BODY_PROBLEMS, 429]
        if pdf:
            parameters = [
                _query("paper", {"enum": list(papers), "default": papers[0]}, "the paper size"),
                _header("If-None-Match", "a version of this PDF the client holds (weak or strong)"),
                _header("If-Match", "the version of this PDF the client expects: else 412"),
            ]
            responses = {
                200: _ok(
                    [media_type],
                    "The tagged PDF.",
                    "ETag",
                    "Broadsheet-Warnings",
                    "Content-Disposition",
                ),
                304: _not_modified(),
            }
            problems += [412, 503]
        paths[f"/v1/render/{name}"] = {
            "post": _operation(
                f"Render an article as {name}",
                "rendering",
                responses,
                parameters=parameters,
                body=_json_body("Article", "One article."),
                problems=problems,
                why={503: "Every PDF printer is busy; try again after Retry-After."} if pdf else {},
            )
        }
    return paths


def _stored_articles() -> dict[str, Any]:
    article_id = _path("article_id", ARTICLE_ID_PATTERN, "the article's id")
    summary = {"application/json": {"$ref": SCHEMAS + "ArticleSummary"}}
    if_match = _header("If-Match", "the version the write expects to replace")
    if_none_match = _header("If-None-Match", "* to create only, or a version the client holds")
    if_unmodified_since = _header(
        "If-Unmodified-Since",
        "an HTTP date: the write is refused if the article changed after it (without If-Match)",
    )
    list_parameters = [
        _query("kind", {"enum": list(KINDS)}, "only this kind"),
        _query(
            "since",
            {"type": "string"},
            "an RFC 3339 date-time, or a date (its midnight in TIMEZONE): published at or after",
        ),
        _query(
            "until",
            {"type": "string"},
            "an RFC 3339 date-time, or a date (its midnight in TIMEZONE): published before",
        ),
        _query(
            "limit",
            {
                "type": "integer",
                "minimum": LIST_LIMIT[0],
                "maximum": LIST_LIMIT[1],
                "default": LIST_LIMIT[2],
            },
            "items per page",
        ),
        _query("cursor", {"type": "string"}, "where the previous page ended (from its next link)"),
    ]
    return {
        "/v1/articles/{article_id}": {
            "parameters": [article_id],
            "put": _operation(
                "Store or replace an article",
                "articles",
                {
                    200: _ok(summary, "Replaced.", "ETag"),
                    201: _ok(summary, "Stored.", "ETag", "Location"),
                },
                parameters=[if_match, if_unmodified_since, if_none_match],
                body=_json_body("Article", "The article; its id must be the one in the URL."),
                token=True,
                problems=[*BODY_PROBLEMS, 401, 412, 429],
                why={
                    409: "Writers creating and deleting this id kept taking it away; retry.",
                    503: _TOO_SLOW,
                },
            ),
            "get": _operation(
                "The stored article: the value and key order sent, written compact",
                "articles",
                {
                    200: _ok(
                        # Served as it was stored, under the rules it was stored under: an
                        # article stored by an earlier release may break a rule added since.
                        {"application/json": {"type": "object"}},
                        "The article as it was stored: it met the Article schema of the "
                        "release that stored it (today's, or an earlier one's).",
                        "ETag",
                        "Last-Modified",
                    ),
                    304: _not_modified(),
                },
                parameters=_conditional_get(),
                problems=[404, 412],
                why={503: _DATABASE},
            ),
            "delete": _operation(
                "Delete an article",
                "articles",
                {204: {"description": "Deleted."}},
                parameters=[
                    if_match,
                    if_unmodified_since,
                    _header("If-None-Match", "* or a version: 412 if it names what is stored"),
                ],
                token=True,
                problems=[401, 404, 412, 429],
                why={503: _TOO_SLOW},
            ),
        },
        "/v1/articles": {
            "get": _operation(
                "Stored articles, newest first",
                "articles",
                {
                    200: _ok(
                        {"application/json": _page_of("ArticleSummary")}, "A page.", "ETag", "Link"
                    ),
                    304: _not_modified("Link"),
                },
                parameters=[*list_parameters, *_conditional_get(dated=False)],
                problems=[400, 412],
                why={503: _DATABASE},
            )
        },
    }


def _pages() -> dict[str, Any]:
    article_id = _path("article_id", ARTICLE_ID_PATTERN, "the article's id")
    html = ["text/html"]
    return {
        "/articles/{article_id}": {
            "get": _operation(
                "The article's reading page",
                "pages",
                {200: _ok(html, "The page.", "ETag", "Last-Modified"), 304: _not_modified()},
                parameters=[article_id, *_conditional_get()],
                problems=[404, 412],
                why={503: _DATABASE},
                page=True,
            )
        },
        "/articles/{article_id}.pdf": {
            "get": _operation(
                "The stored article's PDF",
                "pages",
                {
                    200: _ok(
                        ["application/pdf"],
                        "The PDF.",
                        "ETag",
                        "Last-Modified",
                        "Broadsheet-Warnings",
                        "Content-Disposition",
                        "Accept-Ranges",
                    ),
                    206: _ok(
                        ["application/pdf"],
                        "The range asked for.",
                        "ETag",
                        "Last-Modified",
                        "Content-Range",
                        "Broadsheet-Warnings",
                        "Content-Disposition",
                        "Accept-Ranges",
                    ),
                    304: _not_modified(),
                },
                parameters=[article_id, *_conditional_get(ranged=True)],
                problems=[404, 412, 416, 422, 503],
                why={422: "The article cannot be printed within the limits (render-limit)."},
                page=True,
            )
        },
        "/articles": {
            "get": _operation(
                "Recent quick reads, 20 a page",
                "pages",
                {200: _ok(html, "The list.", "ETag", "Last-Modified"), 304: _not_modified()},
                parameters=[
                    _query("cursor", {"type": "string"}, "where the previous page ended"),
                    *_conditional_get(),
                ],
                problems=[400, 412],
                # A page ignores what a link adds; only its cursor can be wrong.
                why={400: "The cursor is not one a page of this list gave.", 503: _DATABASE},
                page=True,
            )
        },
        "/feed.atom": {
            "get": _operation(
                "The latest quick reads as Atom",
                "feeds",
                {
                    200: _ok(["application/atom+xml"], "The feed.", "ETag", "Last-Modified"),
                    304: _not_modified(),
                },
                parameters=_conditional_get(),
                problems=[412],
                why={503: _DATABASE},
                page=True,
            )
        },
        "/feed.json": {
            "get": _operation(
                "The latest quick reads as JSON Feed 1.1",
                "feeds",
                {
                    200: _ok(
                        {"application/feed+json": {"type": "object"}},
                        "The feed.",
                        "ETag",
                        "Last-Modified",
                    ),
                    304: _not_modified(),
                },
                parameters=_conditional_get(),
                problems=[412],
                why={503: _DATABASE},
                page=True,
            )
        },
    }


def _editions() -> dict[str, Any]:
    audience = _query("for", {"enum": list(AUDIENCES), "default": AUDIENCES[0]}, "press: PDF/X-4")
    if_none_match = _header("If-None-Match", "a version of this edition the client holds")
    if_match = _header("If-Match", "the version of this edition the client expects: else 412")
    pdf = {
        200: _ok(
            ["application/pdf"],
            "The edition.",
            "ETag",
            "Broadsheet-Warnings",
            "Content-Disposition",
        ),
        304: _not_modified(),
    }
    return {
        "/editions/{day}.pdf": {
            "get": _operation(
                "The print edition of a day",
                "editions",
                pdf,
                parameters=[
                    _path("day", DATE_PATTERN, "a date, YYYY-MM-DD"),
                    audience,
                    if_none_match,
                    if_match,
                ],
                problems=[400, 404, 412, 422, 503],
                why={
                    422: "No article was published that day (empty-edition), or the edition"
                    " passes a printing limit (edition-limit)."
                },
                page=True,
            )
        },
        "/v1/editions": {
            "post": _operation(
                "The print edition of the articles named",
                "editions",
                pdf,
                parameters=[audience, if_none_match, if_match],
                body=_json_body("EditionRequest", "The articles, in order."),
                problems=[*BODY_PROBLEMS, 404, 412, 429, 503],
            )
        },
    }


def _subscriptions() -> dict[str, Any]:
    html = ["text/html"]
    token = _path("token", TOKEN_PATTERN, "the signed link's token")
    form = {
        "type": "object",
        "properties": {
            "email": {"type": "string"},
            # The JSON body's rules: a name past them comes back as the form with its error.
            "name": {"type": "string", "maxLength": MAX_NAME, "pattern": spaced_text()},
            "csrf_token": {"type": "string", "description": "from the form page"},
        },
    }
    sign_up_body = {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": SCHEMAS + "SignUpRequest"}},
            "application/x-www-form-urlencoded": {"schema": form},
            "multipart/form-data": {"schema": form},
        },
    }
    accepted = {
        "type": "object",
        "required": ["status", "detail"],
        "properties": {"status": {"const": "accepted"}, "detail": {"type": "string"}},
    }
    page_or_problem = {"text/html": {"type": "string"}, PROBLEM_JSON: {"$ref": SCHEMAS + "Problem"}}
    subscriber_parameters = [
        _query("status", {"enum": [s.value for s in Status]}, "only subscribers in this state"),
        _query(
            "after",
            {"type": "integer", "minimum": 0, "maximum": MAX_SUBSCRIBER_ID},
            "the last id seen",
        ),
        _query(
            "limit",
            {
                "type": "integer",
                "minimum": SUBSCRIBER_LIMIT[0],
                "maximum": SUBSCRIBER_LIMIT[1],
                "default": SUBSCRIBER_LIMIT[2],
            },
            "items per page",
        ),
    ]
    invalid_link = _problem(404, page=True, why="The link is not valid, or has expired.")
    return {
        "/subscribe": {
            "get": _operation("The sign-up form", "subscribers", {200: _ok(html, "The form.")}),
            "post": _operation(
                "Sign up for the daily digest (double opt-in)",
                "subscribers",
                {
                    200: _ok(html, "The form was accepted: check your inbox.", "Cache-Control"),
                    202: _ok({"application/json": accepted}, "Accepted, whatever the address."),
                    400: _ok(
                        page_or_problem,
                        "The form had expired (no CSRF token), or the body cannot be read.",
                        "Cache-Control",
                        "Vary",
                    ),
                    422: _ok(
                        page_or_problem,
                        "A field cannot be used: the form again, or a problem.",
                        "Cache-Control",
                        "Vary",
                    ),
                },
                body=sign_up_body,
                problems=[408, 413, 415, 429],
                why={503: _DATABASE},
                page=True,
            ),
        },
        "/subscribe/confirm/{token}": {
            "parameters": [token],
            "get": _operation(
                "The page with one button to confirm a sign-up (opening it confirms nothing)",
                "subscribers",
                {
                    200: _ok(html, "The page, or that the sign-up is confirmed.", "Cache-Control"),
                    404: invalid_link,
                },
                problems=[429],
                why={503: _DATABASE},
                page=True,
            ),
            "post": _operation(
                "Confirm a sign-up",
                "subscribers",
                {200: _ok(html, "Subscribed.", "Cache-Control"), 404: invalid_link},
                problems=[429],
                why={503: _DATABASE},
                page=True,
            ),
        },
        "/unsubscribe/{token}": {
            "parameters": [token],
            "get": _operation(
                "The page with one button to unsubscribe",
                "subscribers",
                {200: _ok(html, "The page.", "Cache-Control"), 404: invalid_link},
                why={503: _DATABASE},
                page=True,
            ),
            "post": _operation(
                "Unsubscribe (also the RFC 8058 one-click POST)",
                "subscribers",
                {200: _ok(html, "Unsubscribed.", "Cache-Control"), 404: invalid_link},
                why={503: _DATABASE},
                page=True,
            ),
        },
        "/v1/subscribers": {
            "get": _operation(
                "Subscribers with their consent record, in id order",
                "subscribers",
                {
                    200: _ok(
                        {"application/json": _page_of("Subscriber")},
                        "A page.",
                        "Link",
                        "Cache-Control",
                    )
                },
                parameters=subscriber_parameters,
                token=True,
                problems=[400, 401, 429],
                why={503: _DATABASE},
            )
        },
    }


def _digests() -> dict[str, Any]:
    day = _path("day", DATE_PATTERN, "a date, YYYY-MM-DD")
    run = {
        "type": "object",
        "required": ["date", "status", "opened", "items", "audience", "counts"],
        "properties": {
            "date": {"type": "string", "format": "date"},
            "status": {"enum": ["sending", "done"]},
            "opened": {"type": "boolean"},
            "items": {"type": "integer"},
            "audience": {"type": "integer"},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
    }
    return {
        "/digests/{day}": {
            "get": _operation(
                "The digest of a date as a page",
                "digests",
                {200: _ok(["text/html"], "The digest.", "ETag"), 304: _not_modified()},
                parameters=[day, *_conditional_get(dated=False)],
                problems=[404, 412],
                why={503: _DATABASE},
                page=True,
            )
        },
        "/v1/digests/{day}/send": {
            "post": _operation(
                "Send the day's digest in the background (idempotent)",
                "digests",
                {
                    200: _ok({"application/json": run}, "Done: no copy is left to send."),
                    202: _ok({"application/json": run}, "Sending."),
                    # An operator must change a setting: no Retry-After, waiting mends nothing.
                    503: {
                        "description": "No digest can be written with these settings "
                        "(digest-unsendable: BASE_URL is not https; no Retry-After), or the "
                        "database is unavailable (database-unavailable, with Retry-After).",
                        "content": {PROBLEM_JSON: {"schema": {"$ref": SCHEMAS + "Problem"}}},
                        "headers": _header_refs("Retry-After", "Cache-Control"),
                    },
                },
                parameters=[day],
                token=True,
                problems=[401, 404, 409, 429],
            )
        },
    }


def _service() -> dict[str, Any]:
    health = {
        "type": "object",
        "required": ["status", "database"],
        "properties": {"status": {"type": "string"}, "database": {"type": "string"}},
    }
    return {
        "/healthz": {
            "get": _operation(
                "Liveness and readiness",
                "service",
                {
                    200: _ok({"application/json": health}, "The process and its database answer."),
                    503: _ok(
                        {"application/json": health},
                        "The database is unreachable, or its schema is behind this code.",
                    ),
                },
            )
        },
        "/metrics": {
            "get": _operation(
                "Prometheus metrics, when configured",
                "service",
                {
                    200: _ok(["text/plain"], "The metrics in the Prometheus text format."),
                    401: _problem(401, page=True, why="The metrics token is missing or wrong."),
                    404: _problem(404, page=True, why="Metrics are not configured."),
                    429: _problem(
                        429,
                        page=True,
                        why="Metrics are not configured, and the client spent its pages budget "
                        "(a path no route answers costs as much).",
                    ),
                },
                page=True,
            )
            | {"security": [{}, {"metrics": []}]},
        },
        "/v1/schema/article.json": {
            "get": _operation(
                "The article's JSON Schema (draft 2020-12)",
                "service",
                {200: _ok({"application/schema+json": {"type": "object"}}, "The schema.")},
            )
        },
        "/openapi.json": {
            "get": _operation(
                "This document",
                "service",
                {200: _ok({"application/json": {"type": "object"}}, "OpenAPI 3.1.")},
            )
        },
        "/docs": {
            "get": _operation(
                "This document as a page",
                "service",
                {200: _ok(["text/html"], "The API, described for people.")},
            )
        },
    }


# What a 400 or a 412 means where the shared words (a body's, every precondition's) do not
# fit: a GET reads no body and answers a matching If-None-Match with 304; a POST's only
# precondition is If-Match, on what it makes.
_FOR_METHOD = {
    ("get", "400"): "A query parameter is not one the route takes, is repeated, or has a "
    "value it does not take (bad-parameter, with parameter naming it).",
    ("get", "412"): "If-Match or If-Unmodified-Since does not hold (a matching "
    "If-None-Match is 304).",
    ("post", "412"): "If-Match names another version of what this request makes.",
}


def _fit_to_the_method(method: str, answers: dict[str, Any]) -> None:
    for status in ("400", "412"):
        words = _FOR_METHOD.get((method, status))
        if words and answers.get(status, {}).get("description") == _WHY[int(status)]:
            answers[status] = {**answers[status], "description": words}


def openapi_document(
    formats: Mapping[str, str],
    papers: Sequence[str],
    *,
    title: str,
    base_url: str,
    edition_max_articles: int | None = None,
) -> dict[str, Any]:
    """The whole document; `formats` maps each render format to its media type. The
    settings a request is held to beside its model (EDITION_MAX_ARTICLES) are given."""
    paths: dict[str, Any] = {}
    for part in (
        _rendering(formats, papers),
        _stored_articles(),
        _pages(),
        _editions(),
        _subscriptions(),
        _digests(),
        _service(),
    ):
        paths.update(part)
    for path, item in paths.items():
        if path in UNLIMITED:
            continue
        for method in METHODS:
            if method in item:
                answers = item[method]["responses"]
                answers.setdefault("429", _problem(429, page=not path.startswith("/v1/")))
                item[method]["responses"] = dict(sorted(answers.items()))
    for item in paths.values():
        for method in METHODS:
            if method in item:
                _fit_to_the_method(method, item[method]["responses"])
    for item in paths.values():  # every answer carries the request's id
        for method in METHODS:
            for answer in item.get(method, {}).get("responses", {}).values():
                answer["headers"] = {**answer.get("headers", {}), **_header_refs("X-Request-Id")}
    schemas = {
        **_model_schemas(),
        "ArticleSummary": _summary_schema(),
        "Subscriber": _subscriber_schema(),
        "Problem": _problem_schema(),
    }
    if edition_max_articles is not None:
        ids = schemas["EditionRequest"]["properties"]["article_ids"]
        ids["maxItems"] = edition_max_articles  # a setting, checked by read_edition_request
    return {
        "openapi": OPENAPI,
        "info": {
            "title": f"{title} API",
            "version": "1",
            "summary": "Renders news articles as HTML, PDF, e-mail and text; stores them; "
            "mails a daily digest; prints editions.",
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "headers": _HEADERS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "BROADSHEET_API_TOKEN",
                },
                "metrics": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "BROADSHEET_METRICS_TOKEN, when it is set",
                },
            },
        },
    }


# The document as people read it (GET /docs) -----------------------------------------------


def describe(schema: dict[str, Any]) -> str:
    """A schema in a few words: a component's name, a choice, a range or a pattern, an
    object's fields (a body defined in place has no component to link to)."""
    if "$ref" in schema:
        return str(schema["$ref"]).removeprefix(SCHEMAS)
    if "anyOf" in schema:  # an optional field (its kind or null), or kinds of one type
        kind = {"type": schema["type"]} if "type" in schema else {}
        words = " or ".join(describe({**kind, **choice}) for choice in schema["anyOf"])
    elif "enum" in schema:
        words = "one of " + ", ".join(str(v) for v in schema["enum"])
    elif "const" in schema:
        words = f"always {schema['const']}"
    else:
        words = _kind(schema)
    if schema.get("default") is not None:
        words += f" (default {schema['default']})"
    return words


def _kind(schema: dict[str, Any]) -> str:
    kind = schema.get("type", "any")
    words = " or ".join(kind) if isinstance(kind, list) else str(kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        words = f"list of {describe(schema['items'])}"
    if kind == "object" and schema.get("properties"):
        needed = set(schema.get("required", ()))
        fields = "; ".join(
            f"{name}{'' if name in needed else ' (optional)'}: {describe(field)}"
            for name, field in schema["properties"].items()
        )
        words = f"object of {fields}"
    if "format" in schema:
        words += f" ({schema['format']})"
    if "minimum" in schema and "maximum" in schema:
        words += f", {schema['minimum']} to {schema['maximum']}"
    words += _count(schema, "Length", "characters") + _count(schema, "Items", "items")
    if "pattern" in schema:
        words += f" matching {schema['pattern']}"
    return words


def _count(schema: dict[str, Any], what: str, unit: str) -> str:
    least, most = schema.get(f"min{what}"), schema.get(f"max{what}")
    if most is None:
        return f", at least {least} {unit}" if least else ""
    return f", {least} to {most} {unit}" if least else f", at most {most} {unit}"


TOKEN_NAMES = {"bearer": "the API token", "metrics": "the metrics token"}


def reference(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations grouped by tag, in document order, each in plain words for the page."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            security = operation.get("security", [])
            body = operation.get("requestBody", {}).get("content", {})
            groups.setdefault(operation["tags"][0], []).append(
                {
                    "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                    "method": method.upper(),
                    "path": path,
                    "summary": operation["summary"],
                    "token": next((TOKEN_NAMES[name] for need in security for name in need), None),
                    "token_optional": {} in security,
                    "parameters": [
                        {
                            "name": p["name"],
                            "where": p["in"],
                            "required": p.get("required", False),
                            "accepts": describe(p["schema"]),
                            "why": p.get("description", ""),
                        }
                        for p in [*shared, *operation.get("parameters", [])]
                    ],
                    "body": [
                        (media, describe(c["schema"]), _anchor_of(c["schema"]))
                        for media, c in body.items()
                    ],
                    "responses": [
                        {
                            "status": status,
                            "why": answer["description"],
                            "media": [
                                (
                                    media,
                                    describe(c.get("schema", {})),
                                    _anchor_of(c.get("schema", {})),
                                )
                                for media, c in answer.get("content", {}).items()
                            ],
                            "headers": list(answer.get("headers", {})),
                        }
                        for status, answer in operation["responses"].items()
                    ],
                }
            )
    return [{"tag": tag, "operations": operations} for tag, operations in groups.items()]


def _anchor_of(schema: dict[str, Any]) -> str | None:
    """Where the page shows a body's fields: its section of `bodies`, or None for the
    article's (the page links its JSON Schema) and for a schema of no name."""
    name = str(schema.get("$ref", "")).removeprefix(SCHEMAS)
    return f"#schema-{name}" if name and name != "Article" else None


def bodies(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every named body but the article and its parts (whose rules its JSON Schema gives),
    each field in plain words: what a request sends and an answer holds."""
    schemas = document["components"]["schemas"]
    article = _reachable(schemas, "Article")
    return [
        {
            "name": name,
            "id": f"schema-{name}",
            "description": schema.get("description", ""),
            "fields": [
                {
                    "name": field,
                    "required": field in schema.get("required", ()),
                    "accepts": describe(value),
                    "why": value.get("description", ""),
                }
                for field, value in schema.get("properties", {}).items()
            ],
        }
        for name, schema in schemas.items()
        if name not in article
    ]


def _reachable(schemas: dict[str, Any], root: str) -> set[str]:
    """`root` and every schema it names, however deep."""
    seen, waiting = set(), [root]
    while waiting:
        name = waiting.pop()
        if name in seen:
            continue
        seen.add(name)
        stack: list[Any] = [schemas[name]]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                ref = value.get("$ref")
                if isinstance(ref, str) and ref.startswith(SCHEMAS):
                    waiting.append(ref.removeprefix(SCHEMAS))
                stack.extend(value.values())
            elif isinstance(value, list):
                stack.extend(value)
    return seen
