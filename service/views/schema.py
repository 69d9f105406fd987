"""The article's JSON Schema, generated from the same models that validate requests."""

from __future__ import annotations

from functools import cache

from flask import Blueprint, Response, json

from ..article import Article
from ..runtime import current_runtime

bp = Blueprint("schema", __name__)


@cache
def article_schema(base_url: str) -> str:
    schema = Article.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    # Where it is served, in full: "/v1/…" resolved outside a service under a base path.
    schema["$id"] = f"{base_url}/v1/schema/article.json"
    return json.dumps(schema, indent=2)


@bp.get("/v1/schema/article.json")
def article_json_schema() -> Response:
    base_url = current_runtime().settings.base_url
    return Response(article_schema(base_url), mimetype="application/schema+json")
