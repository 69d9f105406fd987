"""Errors as types: each carries its HTTP status and becomes an RFC 9457 problem."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

PROBLEM_BASE = "https://broadsheet.invalid/problems/"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One contract violation: where (a JSON Pointer into the request body) and why."""

    pointer: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "message": self.message}


class BroadsheetError(Exception):
    """Base of every error a client can cause; `status` is the HTTP answer, and `errors`
    points at each field of the request body at fault, when there is one."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Something went wrong on our side"

    def __init__(self, detail: str | None = None, errors: Sequence[FieldError] = ()):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = list(errors)

    def problem(self) -> dict[str, Any]:
        problem: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            problem["errors"] = [error.as_dict() for error in self.errors]
        return problem

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(BroadsheetError):
    """A request the service cannot act on; the subclasses say which part is wrong."""

    status = 400
    slug = "bad-request"
    title = "The request could not be understood"


class UnreadableBody(BadRequest):
    """The body is empty, or not UTF-8 JSON the service will read (a bad-request: one type,
    one title, RFC 9457 §3.1.3; the detail says what is wrong)."""


class BadParameter(BadRequest):
    """A query parameter outside what the route accepts; `parameter` names it when known."""

    slug = "bad-parameter"
    title = "A query parameter is not valid"

    def __init__(self, detail: str | None = None, parameter: str | None = None):
        super().__init__(detail)
        self.parameter = parameter

    def problem(self) -> dict[str, Any]:
        problem = super().problem()
        if self.parameter is not None:
            problem["parameter"] = self.parameter
        return problem


class PayloadTooLarge(BroadsheetError):
    status = 413
    slug = "payload-too-large"
    title = "The request body is too large"


class RequestTimeout(BroadsheetError):
    """The body did not arrive within the deadline; the connection is closed."""

    status = 408
    slug = "request-timeout"
    title = "The request body arrived too slowly"

    def headers(self) -> dict[str, str]:
        return {"Connection": "close"}


class UnsupportedMediaType(BroadsheetError):
    status = 415
    slug = "unsupported-media-type"
    title = "The request body's media type, charset or coding is not taken"


class UnsupportedContentCoding(UnsupportedMediaType):
    """A body sent compressed (Content-Encoding): read as it came, gzip was "not UTF-8",
    and a body labelled br was stored undecoded. Says which codings are taken (RFC 9110
    §15.5.16, RFC 7694): none but the body as it is."""

    def headers(self) -> dict[str, str]:
        return {"Accept-Encoding": "identity"}


class BadArticle(BroadsheetError):
    """Valid JSON that breaks the article contract; `errors` lists every problem found."""

    status = 422
    slug = "invalid-article"
    title = "The article does not follow the contract"

    def __init__(self, errors: list[FieldError], detail: str | None = None):
        count = len(errors)
        super().__init__(
            detail
            or f"{count} problem{'s' if count != 1 else ''} found; "
            "see errors for where each one is.",
            errors,
        )


class OverBudget(BadArticle):
    """A valid article larger than one article may be (service/budgets.py)."""

    slug = "over-budget"
    title = "The article is larger than one article may be"


class RenderRefused(BroadsheetError):
    """The article is valid but too large to render within the service's limits."""

    status = 422
    slug = "render-limit"
    title = "The article exceeds a rendering limit"


class PrintRefused(RenderRefused):
    """A printer laid the article out and refused it (its page limit): a refusal that cost
    a printer its time, so one not to be tried again at once."""


class PrintTimedOut(PrintRefused):
    """The layout passed the time limit: the article may be too slow, or the machine busy."""


class PrinterUnavailable(BroadsheetError):
    """Every PDF worker is busy, or one stopped: try again shortly."""

    status = 503
    slug = "printer-unavailable"
    title = "The PDF printer is busy or unavailable"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


class Unauthorized(BroadsheetError):
    """No bearer token, or not the one the route wants (the API's, or the metrics')."""

    status = 401
    slug = "unauthorized"
    title = "A valid bearer token is required"

    def __init__(self, detail: str, *, code: str | None):
        super().__init__(detail)
        self.code = code

    def headers(self) -> dict[str, str]:
        # RFC 6750 §3: the error code when a bearer token was sent, none when none was.
        error = f', error="{self.code}"' if self.code else ""
        return {"WWW-Authenticate": f'Bearer realm="broadsheet"{error}'}


class NotFound(BroadsheetError):
    status = 404
    slug = "not-found"
    title = "Not found"


class PreconditionFailed(BroadsheetError):
    """The stored article is not the version the client's If-Match or If-None-Match named."""

    status = 412
    slug = "precondition-failed"
    title = "The resource is not the version the request names"


class ArticleConflict(BroadsheetError):
    """Writers creating and deleting one article kept taking it from under a PUT (ten times
    over): nothing was stored, and the client may send it again."""

    status = 409
    slug = "article-conflict"
    title = "The article kept changing while it was stored"


class InvalidEdition(BroadsheetError):
    """An edition that cannot be set as asked (the same article twice, a malformed request);
    `errors` points at each field at fault when there is a request body."""

    status = 422
    slug = "invalid-edition"
    title = "The edition cannot be made as asked"


class EmptyEdition(InvalidEdition):
    """No article to print: an empty list, or a date on which nothing was published."""

    slug = "empty-edition"
    title = "The edition has no articles"


class EditionTooLarge(BroadsheetError):
    """Too many articles, or an article too long, for the limits: refused before printing.
    `position` (from 1) names the article at fault, when one is: a request that named its
    articles is pointed at that one (views/editions.py)."""

    status = 422
    slug = "edition-limit"
    title = "The edition exceeds a printing limit"

    def __init__(
        self,
        detail: str | None = None,
        errors: Sequence[FieldError] = (),
        *,
        position: int | None = None,
    ):
        super().__init__(detail, errors)
        self.position = position


class EditionTooSlow(EditionTooLarge):
    """The edition's articles were not all printed by the deadline: a matter of the printers'
    load as well as the edition's size (views/editions.py remembers it only when no other
    edition shared the printers)."""


class DigestNotDue(BroadsheetError):
    """A digest asked for before its window has closed: what is published until then belongs
    in it, and a run, once open, never takes another item."""

    status = 409
    slug = "digest-not-due"
    title = "The digest is not due yet"


class StorageTooSlow(BroadsheetError):
    """A write dated by the clock could not commit soon enough after that moment (see
    storage/db.py): it was rolled back, so nothing is stored and the client may retry."""

    status = 503
    slug = "storage-too-slow"
    title = "The database was too slow to store this"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class DatabaseUnavailable(BroadsheetError):
    """The database did not answer (down, unreachable, locked past its wait, not migrated):
    nothing was read or changed, and the same request may work shortly."""

    status = 503
    slug = "database-unavailable"
    title = "The database is unavailable"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


class DigestUnsendable(BroadsheetError):
    """The settings cannot make a digest (BASE_URL is not https): refused before any copy is
    claimed, so nothing is marked failed for what the operator must mend."""

    status = 503
    slug = "digest-unsendable"
    title = "No digest can be sent with these settings"


class RateLimited(BroadsheetError):
    """A client (or an e-mail address) has spent its budget for a kind of request."""

    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, retry_after: int):
        self.retry_after = max(1, retry_after)
        super().__init__(
            f"Too many requests of this kind: please wait {_wait(self.retry_after)} "
            "before trying again."
        )

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def _wait(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    if minutes < 120:
        return f"{minutes} minutes"
    return f"{-(-minutes // 60)} hours"
