"""Routes behind a bearer token: `Authorization: Bearer <token>`, compared in constant time."""

from __future__ import annotations

import hmac
import logging

from flask import request

from ..access import logged_path
from ..errors import Unauthorized
from ..runtime import current_runtime

logger = logging.getLogger(__name__)


def carries(expected: str) -> bool:
    """Whether the request's Authorization header is `Bearer <expected>`."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), expected.encode()
    )


def refusal_code() -> str | None:
    """RFC 6750 §3.1's error code for a request refused: invalid_token for a bearer token
    that is not the one, invalid_request for the scheme without one, none when no bearer
    token was sent at all (no Authorization, or another scheme)."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return "invalid_token" if given.strip() else "invalid_request"


def require_token() -> None:
    """Let the request through only with the configured API token."""
    expected = current_runtime().settings.api_token
    if not expected:
        logger.warning("Refused a write to %s: BROADSHEET_API_TOKEN is not set", logged_path())
    if not expected or not carries(expected):
        raise Unauthorized(
            "Send the API token as Authorization: Bearer <token>.", code=refusal_code()
        )
