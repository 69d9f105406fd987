"""Stateless rendering: POST an article, get it back as HTML, text, PDF or e-mail."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from ..email_renderer import render_email
from ..errors import BadRequest
from ..html_renderer import render_html
from ..pdf_renderer import PAPERS, PrintJob
from ..text_renderer import render_text
from .body import article_from_request

bp = Blueprint("rendering", __name__, url_prefix="/v1/render")


@bp.post("/html")
def html() -> Response:
    runtime = current_app.extensions["broadsheet"]
    page = render_html(article_from_request(), runtime.env, runtime.settings)
    return Response(page, mimetype="text/html")


@bp.post("/email")
def email() -> Response:
    runtime = current_app.extensions["broadsheet"]
    body = render_email(article_from_request(), runtime.env, runtime.settings, runtime.inliner)
    return Response(body.html, mimetype="text/html")


@bp.post("/text")
def text() -> Response:
    runtime = current_app.extensions["broadsheet"]
    return Response(render_text(article_from_request(), runtime.settings), mimetype="text/plain")


@bp.post("/pdf")
def pdf() -> Response:
    paper = request.args.get("paper", "a4").lower()
    if paper not in PAPERS:
        raise BadRequest(f"The query parameter paper must be one of {', '.join(PAPERS)}.")
    runtime = current_app.extensions["broadsheet"]
    job = PrintJob(article_from_request(), runtime.env, runtime.settings, paper)
    return pdf_response(job)


def pdf_response(job: PrintJob) -> Response:
    """The PDF for `job`, or 304 when the client already has these exact bytes."""
    runtime = current_app.extensions["broadsheet"]
    headers = {"ETag": f'"{job.etag}"', "Cache-Control": "no-cache"}
    if request.if_none_match.contains(job.etag):
        return Response(status=304, headers=headers)
    data = runtime.pdf_cache.render(job, runtime.printer)
    headers["Content-Disposition"] = f'inline; filename="{job.article.id}.pdf"'
    return Response(data, mimetype="application/pdf", headers=headers)
