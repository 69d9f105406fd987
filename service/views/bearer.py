"""Routes behind a bearer token: `Authorization: Bearer <token>`, compared in constant time."""

from __future__ import annotations

import hmac
import logging

from flask import request

from ..access import logged_path
from ..errors import Unauthorized
from ..runtime import current_runtime

logger = logging.getLogger(__name__)


def _presented() -> str | None:
    """The token of the request's `Authorization: Bearer <token>`, or None for another
    scheme or no header ("" for the scheme alone)."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" else None


def carries(expected: str) -> bool:
    """Whether the request's Authorization header is `Bearer <expected>`."""
    given = _presented()
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def refusal_code() -> str | None:
    """RFC 6750 §3.1's error code for a request refused with 401: invalid_token for a
    bearer token that is not the one; none when no token was sent (no Authorization,
    another scheme, or the scheme alone: invalid_request would go with a 400)."""
    return "invalid_token" if _presented() else None


def require_token() -> None:
    """Let the request through only with the configured API token."""
    expected = current_runtime().settings.api_token
    if not expected:
        logger.warning("Refused a write to %s: BROADSHEET_API_TOKEN is not set", logged_path())
    if not expected or not carries(expected):
        raise Unauthorized(
            "Send the API token as Authorization: Bearer <token>.", code=refusal_code()
        )
