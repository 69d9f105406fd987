"""The accessible HTML page of an article."""

from __future__ import annotations

from jinja2 import Environment

from .article import Article
from .page import article_context
from .settings import Settings


def render_html(article: Article, env: Environment, settings: Settings) -> str:
    return env.get_template("rendering/article.html").render(article_context(article, settings))
