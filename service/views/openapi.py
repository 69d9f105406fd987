"""The OpenAPI document at /openapi.json, and the same document as a page at /docs."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, json, url_for

from ..formats import FORMATS, PAPERS
from ..openapi import bodies, openapi_document, reference
from ..runtime import current_runtime
from .articles import site_context

bp = Blueprint("openapi", __name__)
_EXTENSION = "broadsheet.openapi"


def document() -> dict[str, Any]:
    """The document, built once per app (it depends only on settings)."""
    made = current_app.extensions.get(_EXTENSION)
    if made is None:
        settings = current_runtime().settings
        made = openapi_document(
            {name: f.media_type for name, f in FORMATS.items()},
            PAPERS,
            title=settings.publisher_name,
            base_url=settings.base_url,
            edition_max_articles=settings.edition_max_articles,
        )
        current_app.extensions[_EXTENSION] = made
    return made


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return Response(json.dumps(document(), indent=1), mimetype="application/json")


@bp.get("/docs")
def docs() -> Response:
    made = document()
    html = (
        current_runtime()
        .env.get_template("openapi/docs.html")
        .render(
            site_context("Skip to the reference"),
            info=made["info"],
            groups=reference(made),
            bodies=bodies(made),
            document_url=url_for("openapi.openapi_json"),
            schema_url=url_for("schema.article_json_schema"),
        )
    )
    return Response(html, mimetype="text/html")
