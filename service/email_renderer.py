"""E-mail HTML with every style inlined (premailer, run once) and its plain-text twin.

premailer runs once per article or digest, never per recipient: parts that differ per
recipient (the unsubscribe link) are left as placeholders and filled in, escaped, by
`EmailBody.personalise`, which is a string replacement and costs nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import lru_cache

import cssutils
from jinja2 import Environment
from markupsafe import escape
from premailer import Premailer

from .article import Article
from .notes import ReferenceCounter
from .page import article_context, inline_renderer
from .settings import Settings
from .text_renderer import render_text

# Stands where a recipient's own unsubscribe URL goes; survives inlining untouched.
UNSUBSCRIBE_PLACEHOLDER = "https://unsubscribe.placeholder.invalid/bs-personal-7c1e"


logger = logging.getLogger(__name__)


def _refuse_fetch(url: str) -> tuple[None, str]:
    """cssutils fetcher: an @import is never fetched; it resolves to an empty sheet."""
    logger.warning("Refused to fetch a stylesheet import while inlining: %.200s", url)
    return None, ""


@lru_cache(maxsize=32)
def _parse_css(css_body: str, validate: bool):
    parser = cssutils.CSSParser(fetcher=_refuse_fetch, validate=validate, raiseExceptions=False)
    return parser.parseString(css_body)


class _LockedPremailer(Premailer):
    """premailer whose CSS parser cannot reach the network or the disk (cssutils would
    otherwise fetch @import URLs itself, whatever allow_network says)."""

    def _parse_css_string(self, css_body, validate=True):
        return _parse_css(css_body, validate)


class Inliner:
    """premailer, configured for e-mail that works in dark mode and never fetches anything."""

    def __init__(self) -> None:
        self._quiet = logging.NullHandler()

    def inline(self, html: str) -> str:
        premailer = _LockedPremailer(
            html,
            base_url=None,
            disable_link_rewrites=True,  # our links are absolute already
            keep_style_tags=False,  # plain rules are inlined; @media rules stay behind
            strip_important=False,  # dark-mode @media rules need their !important
            exclude_pseudoclasses=True,
            remove_classes=False,
            allow_network=False,
            allow_loading_external_files=False,
            disable_validation=True,
            cache_css_parsing=True,
            cssutils_logging_handler=self._quiet,
            cssutils_logging_level=logging.CRITICAL,
            align_floating_images=False,
            method="html",
        )
        return premailer.transform(pretty_print=False)


@dataclass(frozen=True, slots=True)
class EmailBody:
    """The two alternative parts of a message, still holding recipient placeholders."""

    subject: str
    html: str
    text: str

    def personalise(self, *, unsubscribe_url: str = "") -> EmailBody:
        if any(ch in unsubscribe_url for ch in "\r\n\t "):
            raise ValueError("unsubscribe_url must be a single token")
        return replace(
            self,
            html=self.html.replace(UNSUBSCRIBE_PLACEHOLDER, str(escape(unsubscribe_url))),
            text=self.text.replace(UNSUBSCRIBE_PLACEHOLDER, unsubscribe_url),
        )


def email_context(article: Article, settings: Settings) -> dict:
    context = article_context(article, settings)
    article_url = settings.article_url(article.id)
    context["email_inline"] = inline_renderer(
        ReferenceCounter(context["endnotes"]),
        context["labels"],
        article.language,
        note_link_prefix=article_url,
    )
    context["unsubscribe_url"] = ""
    return context


def render_email(
    article: Article,
    env: Environment,
    settings: Settings,
    inliner: Inliner,
    *,
    for_subscriber: bool = False,
) -> EmailBody:
    """The article as e-mail. `for_subscriber` leaves an unsubscribe placeholder to fill."""
    context = email_context(article, settings)
    if for_subscriber:
        context["unsubscribe_url"] = UNSUBSCRIBE_PLACEHOLDER
    html = inliner.inline(env.get_template("email/article.html").render(context))
    text = render_text(article, settings)
    if for_subscriber:
        text += f"\n{context['labels']['unsubscribe']}: <{UNSUBSCRIBE_PLACEHOLDER}>\n"
    return EmailBody(article.headline.text, html, text)
