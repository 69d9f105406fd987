"""Reading a request's body (an article, a sign-up as JSON or as a browser form): media type,
charset, content coding, size and deadline, then parsing."""

from __future__ import annotations

import io
from urllib.parse import parse_qsl

from flask import g, request
from werkzeug.datastructures import MultiDict
from werkzeug.formparser import FormDataParser

from ..article import Article
from ..errors import UnreadableBody, UnsupportedContentCoding, UnsupportedMediaType
from ..logs import printable
from ..request_body import read_body
from ..runtime import current_runtime
from ..validation import parse_json, validate_article


def json_from_request():
    """The request's JSON body, after checking its media type (and what _whole_body checks)."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(
            f"Send the article as application/json, not {request.mimetype or 'no type'}."
        )
    return parse_json(_whole_body())


def form_from_request() -> MultiDict[str, str]:
    """A browser form's fields (urlencoded or multipart), read as a JSON body is: within the
    size limit and the body deadline, in UTF-8, with no content coding. Werkzeug's own
    `request.form` cut a chunked body at the limit, silently, and waited on a dripping
    client for ever; and it took a form it could not read for an empty one.
    Read once a request: a refusal after the view read it (the database down) refills the
    form from what was read."""
    kept = g.get("form_fields")
    if kept is not None:
        return kept
    g.form_fields = _form_fields()
    return g.form_fields


def _form_fields() -> MultiDict[str, str]:
    raw = _whole_body()
    try:
        if request.mimetype == "application/x-www-form-urlencoded":
            # As werkzeug parses it, but strict: a byte or an escape that is no UTF-8
            # (Ren%E9, a Latin-1 page's) was kept as "Ren%E9", or emptied the whole form.
            fields = parse_qsl(raw.decode(), keep_blank_values=True, errors="strict")
            return MultiDict(fields)
        parser = FormDataParser(
            max_form_memory_size=request.max_form_memory_size,
            max_form_parts=request.max_form_parts,
            silent=False,
        )
        _, form, _ = parser.parse(
            io.BytesIO(raw), request.mimetype, len(raw), request.mimetype_params
        )
    except ValueError as error:  # not UTF-8, no boundary, a part cut short
        raise UnreadableBody(f"The form could not be read: {printable(error, 200)}.") from None
    return form


def _whole_body() -> bytes:
    """The request's body, whole, after refusing a charset other than UTF-8, a content
    coding and a partial body (request_body.read_body bounds its size and its time)."""
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
    return read_body(request.environ, limit=limit, timeout=settings.body_timeout)


def article_from_request() -> Article:
    return validate_article(json_from_request())
