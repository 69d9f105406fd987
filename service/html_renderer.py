"""The accessible HTML page of an article, and a page that sets several articles together."""

from __future__ import annotations

from collections.abc import Sequence

from jinja2 import Environment
from markupsafe import Markup

from .article import Article
from .labels import labels_for
from .language import direction_of
from .page import article_context, page_head
from .reading import prefix_for
from .settings import Settings


def render_html(article: Article, env: Environment, settings: Settings) -> str:
    context = article_context(article, settings)
    context.update(page_head(context))
    return env.get_template("rendering/article.html").render(context)


def render_articles_page(
    articles: Sequence[Article],
    env: Environment,
    settings: Settings,
    *,
    title: str,
    language: str = "en",
) -> str:
    """Several articles in one page under an h1 `title`; each article's ids carry a1-, a2-, …"""
    fragment = env.get_template("rendering/_article.html")
    sections = []
    for position, article in enumerate(articles, start=1):
        context = article_context(article, settings, prefix=prefix_for(position), depth=2)
        context["shared_document"] = True
        sections.append(Markup(fragment.render(context)))
    labels = labels_for(language)
    return env.get_template("rendering/articles.html").render(
        title=title,
        lang=language,
        dir=direction_of(language),
        labels=labels,
        label_lang=labels.lang_attr(language),
        publisher_name=settings.publisher_name,
        articles=sections,
    )
