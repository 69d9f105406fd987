"""Reading an article out of an HTTP request: media type, charset, size, then validation."""

from __future__ import annotations

from flask import request

from ..article import Article
from ..errors import UnreadableBody, UnsupportedContentCoding, UnsupportedMediaType
from ..request_body import read_body
from ..runtime import current_runtime
from ..validation import parse_json, validate_article


def json_from_request():
    """The request's JSON body, after checking its media type and charset."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(
            f"Send the article as application/json, not {request.mimetype or 'no type'}."
        )
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"The charset must be utf-8, not {charset}.")
    codings = [c.strip().lower() for c in request.headers.get("Content-Encoding", "").split(",")]
    if any(coding not in ("", "identity") for coding in codings):
        raise UnsupportedContentCoding(
            "Send the body as it is: no content coding (Content-Encoding) is taken."
        )
    if "Content-Range" in request.headers:
        # RFC 9110 §14.5: a server that takes no partial PUT answers 400; stored as a
        # whole, a slice would have replaced the article.
        raise UnreadableBody("Send the whole body in one request: Content-Range is not taken.")
    settings = current_runtime().settings
    # Flask's own knob, set from MAX_BODY_BYTES by create_app (a view may lower it).
    limit = request.max_content_length or settings.max_body_bytes
    raw = read_body(request.environ, limit=limit, timeout=settings.body_timeout)
    return parse_json(raw)


def article_from_request() -> Article:
    return validate_article(json_from_request())
