"""Stateless rendering: POST an article, get it back as HTML, text, PDF or e-mail."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from flask import Blueprint, Response, request

from ..errors import BadParameter
from ..formats import FORMATS, PAPERS, Rendering
from ..runtime import current_runtime
from .body import article_from_request
from .caching import client_holds, require_if_match

bp = Blueprint("rendering", __name__, url_prefix="/v1/render")
logger = logging.getLogger(__name__)


def say_left_out(headers: dict[str, str], warnings: list[str], what: str) -> None:
    """SPEC §2: nothing is silently dropped. A PDF lacking something is still useful, so it
    is sent, and what it lacks is said in Broadsheet-Warnings and in the log."""
    if warnings:
        headers["Broadsheet-Warnings"] = warnings_header(warnings)
        logger.warning("%s left out: %s", what, "; ".join(warnings))


# Each warning is at most 300 characters; ten keep the header near 3 KB, under the 4 to 8 KB
# of headers a proxy takes (nginx's proxy_buffer_size), whatever an article holds.
HEADER_WARNINGS = 10


def warnings_header(warnings: Sequence[str]) -> str:
    """Broadsheet-Warnings: each warning an RFC 8941 string, the first ten, then how many
    more there are (the log names them)."""
    shown = [sf_string(w) for w in warnings[:HEADER_WARNINGS]]
    if len(warnings) > HEADER_WARNINGS:
        more = len(warnings) - HEADER_WARNINGS
        shown.append(sf_string(f"and {more} more left out, each named in the log"))
    return ", ".join(shown)


def sf_string(text: str) -> str:
    """An RFC 8941 string: quoted, with quotes and backslashes escaped (text is ASCII)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@bp.post(f"/<any({', '.join(FORMATS)}):fmt>")
def render(fmt: str) -> Response:
    allowed = ("paper",) if fmt == "pdf" else ()
    for name in request.args:
        if name not in allowed:
            take = f"use {', '.join(allowed)}" if allowed else "this route takes none"
            raise BadParameter(f"{name} is not a parameter here; {take}.", parameter=name)
        if len(request.args.getlist(name)) > 1:
            raise BadParameter(f"{name} is given more than once.", parameter=name)
    paper = "a4"
    if fmt == "pdf":
        paper = request.args.get("paper", "a4").lower()
        if paper not in PAPERS:
            raise BadParameter(
                f"The query parameter paper must be one of {', '.join(PAPERS)}.", parameter="paper"
            )
    rendering = Rendering(article_from_request(), fmt, current_runtime(), paper)
    headers = {}
    if rendering.etag is not None:
        headers = {"ETag": f'"{rendering.etag}"', "Cache-Control": "no-cache"}
        require_if_match(rendering.etag)  # 412 before a print is spent on another version
        # Weak comparison (RFC 9110 §13.1.2): W/"x" names the same PDF as "x".
        if client_holds(rendering.etag):
            return Response(status=304, headers=headers)
    data = rendering.produce()
    say_left_out(headers, rendering.warnings, f"The {fmt} of {rendering.article.id}")
    if rendering.format.binary:
        headers["Content-Disposition"] = f'inline; filename="{rendering.filename}"'
    return Response(data, mimetype=rendering.format.media_type, headers=headers)
