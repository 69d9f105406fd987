"""Sign-up, confirmation and unsubscribe pages, and the subscriber list behind the API token.

The form works without JavaScript and carries a CSRF token tied to the session cookie; a
JSON sign-up needs none (a cross-site form cannot send application/json). The unsubscribe
POST needs neither a cookie nor a token: the signed link is the permission, as the RFC 8058
one-click POST from a mail client requires.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, json, request, session, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from ..addresses import mailbox_key
from ..base_path import path_of
from ..characters import fit_for_a_page
from ..errors import BadParameter, BroadsheetError, NotFound, UnsupportedMediaType
from ..problems import REFILLED_FORMS, wants_html
from ..rate_limits import host_address
from ..runtime import Runtime, current_runtime
from ..storage import subscribers as store
from ..storage.models import MAX_SUBSCRIBER_ID
from ..storage.subscribers import Status, SubscriberRow
from ..subscriptions import BadSignUp, SignUpRequest, read_sign_up
from .bearer import require_token
from .body import form_from_request, json_from_request

bp = Blueprint("subscriptions", __name__)
logger = logging.getLogger(__name__)
CSRF_FIELD = "csrf_token"
MAX_LIMIT = 500
DEFAULT_LIMIT = 100
_LABELS = {"skip": "Skip to the main content"}
ACCEPTED = (
    "If the address can receive mail, a message with a link to confirm the subscription "
    "is on its way. Nothing is sent until the link is followed."
)


@bp.record_once
def _cookies(state) -> None:
    # The session cookie carries only the CSRF token of the sign-up form. It is the site's
    # own, under BASE_URL's path: served at https://example.org/news beside other apps, a
    # cookie named Flask's "session" for the whole host would replace theirs (logging their
    # readers out) and be replaced by them (refusing the form as expired).
    config = state.app.config
    config["SESSION_COOKIE_NAME"] = "broadsheet_form"
    # As a browser spells the path it asks for (UTF-8, percent-encoded in capitals), which
    # is how it matches a cookie's Path.
    path = path_of(state.app.extensions["broadsheet"].settings.base_url)
    config["SESSION_COOKIE_PATH"] = quote(path.encode("latin-1"), safe="/!$&'()*+,:=@") or "/"
    if not config.get("SESSION_COOKIE_SAMESITE"):
        config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["SESSION_COOKIE_HTTPONLY"] = True
    if state.app.extensions["broadsheet"].settings.base_url.startswith("https://"):
        config["SESSION_COOKIE_SECURE"] = True


def _runtime() -> Runtime:
    return current_runtime()


def _page(template: str, status: int = 200, **context: Any) -> Response:
    runtime = _runtime()
    html = runtime.env.get_template(template).render(
        lang="en",
        dir="ltr",
        labels=_LABELS,
        label_lang="",
        publisher_name=runtime.settings.publisher_name,
        publisher_address=runtime.settings.publisher_address,
        # When the digest goes out, as its readers' clocks may not say: "07:00 (Europe/Madrid)".
        digest_time=f"{runtime.settings.digest_time:%H:%M} ({runtime.settings.timezone.key})",
        **context,
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _message(status: int, heading: str, *paragraphs: str, link=None) -> Response:
    return _page(
        "subscriptions/message.html", status, heading=heading, paragraphs=paragraphs, link=link
    )


def _csrf_token() -> str:
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def _csrf_ok(form: MultiDict[str, str]) -> bool:
    expected = session.get(CSRF_FIELD)
    given = form.get(CSRF_FIELD, "")
    if not isinstance(expected, str) or not expected:
        return False
    # As bytes: compare_digest refuses str with characters beyond ASCII, and a form may hold any.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


_EMPTY_FORM = {"email": "", "name": ""}


def _form(status: int = 200, errors: dict[str, str] | None = None, values=None) -> Response:
    return _page(
        "subscriptions/form.html",
        status,
        action=url_for("subscriptions.form"),
        csrf_token=_csrf_token(),
        errors=errors or {},
        # As typed, but for characters a page may not hold (the error names them).
        values={key: fit_for_a_page(value) for key, value in (values or _EMPTY_FORM).items()},
    )


def _after_sign_up() -> None:
    if _runtime().settings.mail_relay:
        _runtime().relay_thread.wake()


def _spend_address_budget(request_data: SignUpRequest) -> None:
    # Every attempt counts, known address or not, so a refusal tells nothing about it.
    _runtime().rate_limits.spend_sign_up(mailbox_key(request_data.email))


def _refused_form(problem: dict) -> Response:
    """The form as it was sent, with the refusal on top: over the limit, or the database
    down, a reader keeps what was typed and sends it again when the page says."""
    values = None  # a form that cannot be read: the page comes without what it held
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = form_from_request()
            values = {"email": form.get("email", ""), "name": form.get("name", "")}
        except (BroadsheetError, HTTPException):
            pass
    return _form(int(problem["status"]), {"form": str(problem["detail"])}, values)


REFILLED_FORMS["subscriptions.sign_up"] = _refused_form


@bp.get("/subscribe")
def form() -> Response:
    return _form()


@bp.post("/subscribe")
def sign_up() -> Response:
    subscriptions = _runtime().subscriptions
    if request.mimetype == "application/json":
        request_data = read_sign_up(json_from_request())
        _spend_address_budget(request_data)
        subscriptions.sign_up(request_data, ip=host_address(request.remote_addr), form="json")
        _after_sign_up()
        body = {"status": "accepted", "detail": ACCEPTED}
        return Response(json.dumps(body), status=202, mimetype="application/json")
    if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise UnsupportedMediaType(
            "Send the form, or JSON {email, name?} as application/json, "
            f"not {request.mimetype or 'no type'}."
        )
    form = form_from_request()
    values = {"email": form.get("email", ""), "name": form.get("name", "")}
    if not _csrf_ok(form):
        logger.warning("Refused a sign-up form without a valid CSRF token")
        errors = {"form": "The form had expired. Please check your details and send it again."}
        return _form(400, errors, values)
    try:
        request_data = read_sign_up(values)
    except BadSignUp as error:
        errors = {e.pointer.lstrip("/"): e.message for e in error.errors}
        return _form(422, errors, values)
    _spend_address_budget(request_data)
    subscriptions.sign_up(request_data, ip=host_address(request.remote_addr), form="form")
    _after_sign_up()
    return _message(200, "Check your inbox", ACCEPTED)


@bp.get("/subscribe/confirm/<token>")
def confirm_page(token: str) -> Response:
    """One button that confirms: opening the link changes nothing, so a link scanner that
    opens it for a mail provider cannot confirm a sign-up a stranger made."""
    subscriptions = _runtime().subscriptions
    return _one_button(
        lambda: subscriptions.subscriber_to_confirm(token),
        "subscriptions/confirm.html",
        done=Status.CONFIRMED,
        answer_done=_subscribed,
    )


@bp.post("/subscribe/confirm/<token>")
def confirm(token: str) -> Response:
    """The page's button. The signed token is the proof, as for unsubscribing: no cookie."""
    try:
        _runtime().subscriptions.confirm(token)
    except NotFound:
        return _invalid_link()
    return _subscribed()


def _subscribed() -> Response:
    return _message(
        200,
        "You are subscribed",
        "Thank you. The daily digest will reach you from its next edition on.",
        "Every digest has a link to unsubscribe, should you want to leave.",
    )


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str) -> Response:
    subscriptions = _runtime().subscriptions
    return _one_button(
        lambda: subscriptions.subscriber_to_unsubscribe(token),
        "subscriptions/unsubscribe.html",
        done=Status.UNSUBSCRIBED,
        answer_done=_unsubscribed,
    )


def _one_button(
    find: Callable[[], SubscriberRow],
    template: str,
    *,
    done: Status,
    answer_done: Callable[[], Response],
) -> Response:
    """The page a signed link opens: one button that posts back to the same address, or
    what was done already; opening it changes nothing."""
    try:
        row = find()
    except NotFound:
        return _invalid_link()
    if row.status is done:
        return answer_done()
    return _page(
        template,
        email=row.email,
        name=row.name,
        action=url_for(request.endpoint or "", **(request.view_args or {})),
        form_url=url_for("subscriptions.form"),
    )


@bp.post("/unsubscribe/<token>")
def unsubscribe(token: str) -> Response:
    """The page's button and the RFC 8058 one-click POST alike: no cookie, no CSRF token."""
    try:
        _runtime().subscriptions.unsubscribe(token)
    except NotFound:
        return _invalid_link()
    return _unsubscribed()


def _unsubscribed() -> Response:
    return _message(
        200,
        "You are unsubscribed",
        "The daily digest will not be sent to you again.",
        link={"href": url_for("subscriptions.form"), "text": "Changed your mind? Subscribe again"},
    )


def _invalid_link() -> Response:
    if not wants_html() and request.method == "POST":
        raise NotFound("This link is not valid, or it has expired.")
    return _message(
        404,
        "This link does not work",
        "It may have expired, or been cut short when it was copied.",
        link={"href": url_for("subscriptions.form"), "text": "Sign up again"},
    )


@bp.get("/v1/subscribers")
def index() -> Response:
    require_token()
    args = request.args
    for name in args:
        if name not in ("status", "after", "limit"):
            raise BadParameter(
                f"{name} is not a parameter here; use status, after, limit.", parameter=name
            )
        if len(args.getlist(name)) > 1:
            raise BadParameter(f"{name} is given more than once.", parameter=name)
    status = None
    if "status" in args:
        try:
            status = Status(args["status"])
        except ValueError:
            raise BadParameter(
                "status must be one of pending, confirmed, unsubscribed.", parameter="status"
            ) from None
    after = _whole("after", 0, 0, MAX_SUBSCRIBER_ID)
    limit = _whole("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    with _runtime().engine.connect() as connection:
        rows = store.page(connection, after=after, limit=limit + 1, status=status)
    more = len(rows) > limit
    rows = rows[:limit]
    next_url = None
    if more:
        params = {k: args[k] for k in args if k != "after"} | {"after": str(rows[-1]["id"])}
        next_url = f"{_runtime().settings.base_url}/v1/subscribers?{urlencode(params)}"
    body = {"items": [_subscriber_json(row) for row in rows], "next": next_url}
    response = Response(json.dumps(body), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


def _whole(name: str, default: int, low: int, high: int) -> int:
    if name not in request.args:
        return default
    value = request.args[name]
    # The length first: int() of thousands of digits is refused by Python itself.
    readable = value.isascii() and value.isdigit() and len(value) <= len(str(high))
    if not (readable and low <= int(value) <= high):
        raise BadParameter(f"{name} must be a whole number from {low} to {high}.", parameter=name)
    return int(value)


def _subscriber_json(row: dict[str, Any]) -> dict[str, Any]:
    def moment(value: datetime | None) -> str | None:
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None

    def consent(given: dict[str, Any]) -> dict[str, Any]:
        return {
            "at": moment(given["at"]),
            "ip": given["ip"],
            "form": given["form"],
            "confirmed_at": moment(given["confirmed_at"]),
        }

    return {
        "id": row["id"],
        "email": row["email"],
        "name": row["name"],
        "status": row["status"],
        "created_at": moment(row["created_at"]),
        "consent": consent(row["consent"]),
        "unsubscribed_at": moment(row["unsubscribed_at"]),
        # Every consent confirmed, oldest first: what each digest sent was sent under.
        "confirmed_consents": [consent(given) for given in row["confirmed_consents"]],
    }
