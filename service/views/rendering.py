"""Stateless rendering: POST an article, get it back as HTML, text, PDF or e-mail."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from ..html_renderer import render_html
from ..text_renderer import render_text
from .body import article_from_request

bp = Blueprint("rendering", __name__, url_prefix="/v1/render")


@bp.post("/html")
def html() -> Response:
    runtime = current_app.extensions["broadsheet"]
    page = render_html(article_from_request(), runtime.env, runtime.settings)
    return Response(page, mimetype="text/html")


@bp.post("/text")
def text() -> Response:
    runtime = current_app.extensions["broadsheet"]
    return Response(render_text(article_from_request(), runtime.settings), mimetype="text/plain")
