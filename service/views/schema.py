"""The article's JSON Schema, generated from the same models that validate requests."""

from __future__ import annotations

from functools import cache

from flask import Blueprint, Response, json

from ..article import Article

bp = Blueprint("schema", __name__)


@cache
def article_schema() -> str:
    schema = Article.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "/v1/schema/article.json"
    return json.dumps(schema, indent=2)


@bp.get("/v1/schema/article.json")
def article_json_schema() -> Response:
    return Response(article_schema(), mimetype="application/schema+json")
