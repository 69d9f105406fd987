"""E-mail HTML with every style inlined (premailer, run once) and its plain-text twin.

premailer runs once per article or digest, never per recipient: parts that differ per
recipient (the unsubscribe link) are left as markers and filled in, escaped, by
`EmailBody.personalise`, which is a string replacement and costs nothing. The marker is new
for every render, so no article can carry it and have a subscriber's own link put into its
text (an image's address, a link) for a third party to receive.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache

import cssutils
from jinja2 import Environment
from markupsafe import escape
from premailer import Premailer

from .article import Article, Image
from .images import embedded_size
from .page import article_context, inline_html
from .reading import PAGE_ANCHORS, Reference
from .settings import Settings
from .text_renderer import angled, article_text, tags_text

logger = logging.getLogger(__name__)


def _refuse_fetch(url: str) -> tuple[None, str]:
    """cssutils fetcher: an @import is never fetched; it resolves to an empty sheet."""
    logger.warning("Refused to fetch a stylesheet import while inlining: %.200s", url)
    return None, ""


@lru_cache(maxsize=32)
def _parse_css(css_body: str, validate: bool):
    parser = cssutils.CSSParser(fetcher=_refuse_fetch, validate=validate, raiseExceptions=False)
    return parser.parseString(css_body)


# The presentational attributes premailer copies from styles, and the elements on which
# HTML still defines them (old Outlook reads them there; anywhere else they are invalid
# markup that no client reads). An image's width or height must be a number of pixels.
_LEGACY_ATTRIBUTES = {
    "bgcolor": frozenset({"body", "table", "tr", "td", "th"}),
    "align": frozenset({"table", "tr", "td", "th", "caption", "thead", "tbody", "tfoot"}),
    "valign": frozenset({"tr", "td", "th", "thead", "tbody", "tfoot"}),
    "width": frozenset({"table", "td", "th", "img"}),
    "height": frozenset({"td", "th", "img"}),
}


class _LockedPremailer(Premailer):
    """premailer whose CSS parser cannot reach the network or the disk (cssutils would
    otherwise fetch @import URLs itself, whatever allow_network says), and which copies a
    style into a legacy attribute only where HTML defines that attribute."""

    def _parse_css_string(self, css_body, validate=True):
        return _parse_css(css_body, validate)

    def _style_to_basic_html_attributes(self, element, style_content, force=False):
        before = dict(element.attrib)
        super()._style_to_basic_html_attributes(element, style_content, force=force)
        tag = element.tag if isinstance(element.tag, str) else ""
        for name in _LEGACY_ATTRIBUTES:
            value = element.attrib.get(name)
            if value is None or before.get(name) == value:
                continue
            if tag not in _LEGACY_ATTRIBUTES[name] or (tag == "img" and not value.isdigit()):
                if name in before:
                    element.attrib[name] = before[name]
                else:
                    del element.attrib[name]


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


def unsubscribe_marker() -> str:
    """A stand-in for a recipient's unsubscribe URL: valid (it survives inlining), unguessable."""
    return f"https://unsubscribe.invalid/{secrets.token_hex(16)}"


@dataclass(frozen=True, slots=True)
class EmailBody:
    """The two alternative parts of a message, still holding the recipient's marker."""

    subject: str
    html: str
    text: str
    marker: str = field(default="", repr=False)  # "" when nothing is left to personalise

    def personalise(self, *, unsubscribe_url: str = "") -> EmailBody:
        if any(ch in unsubscribe_url for ch in "\r\n\t "):
            raise ValueError("unsubscribe_url must be a single token")
        if not self.marker:
            return self
        return replace(
            self,
            html=self.html.replace(self.marker, str(escape(unsubscribe_url))),
            text=self.text.replace(self.marker, unsubscribe_url),
            marker="",
        )


def mail_reference(article_url: str) -> Callable[[Reference], str]:
    """A note reference in e-mail: a bracketed number linking to the note on the web page."""

    def write(ref: Reference) -> str:
        href = escape(f"{article_url}#{PAGE_ANCHORS.note(ref.note_id)}")
        return f'<sup><a class="noteref" href="{href}">[{ref.label}]</a></sup>'

    return write


def email_context(article: Article, settings: Settings) -> dict:
    """What the e-mail templates (the article inside the shared frame) read."""
    context = article_context(article, settings)
    context["email_inline"] = inline_html(mail_reference(settings.article_url(article.id)))
    context["canonical_text"] = angled(context["canonical_url"])  # for the text part
    context["unsubscribe_url"] = ""
    context["image_size"] = image_size
    return context


def image_size(source: Image) -> tuple[int | None, int | None]:
    """An image's width and height as given, or else, for an embedded one, as its header
    says (a height alone gives the width of the header's shape): a 64-pixel logo sent
    without a width was set 552 pixels wide (the column), which Outlook shows. An image from
    elsewhere without a width still is, a height given alone or not: its shape is unknown,
    and Outlook would show a photo at its full size, past the column (it knows no max-width)."""
    if source.width is None and (size := embedded_size(source.src)):
        width, height = size
        if source.height is None:
            return size
        if not height:  # a header may say 0 high: its shape is unknown
            return None, source.height
        return max(1, round(width * source.height / height)), source.height
    return source.width, source.height


def render_email(
    article: Article,
    env: Environment,
    settings: Settings,
    inliner: Inliner,
    *,
    for_subscriber: bool = False,
) -> EmailBody:
    """The article as e-mail. `for_subscriber` leaves an unsubscribe marker to personalise."""
    context = email_context(article, settings)
    marker = unsubscribe_marker() if for_subscriber else ""
    context["unsubscribe_url"] = marker
    html = inliner.inline(env.get_template("email/article.html").render(context))
    context["article_text"] = article_text(context["reading"])
    if article.tags:
        context["tags_text"] = tags_text(article, context["labels"])
    text = env.get_template("email/article.txt").render(context)
    return EmailBody(article.headline.plain_in(article.language), html, text, marker)
