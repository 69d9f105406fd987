"""A digest as e-mail: HTML inlined by premailer once, its plain-text twin, and a subject.

The result still holds the unsubscribe placeholder; `EmailBody.personalise` fills in each
recipient's link with a string replacement, so premailer never runs per recipient.
"""

from __future__ import annotations

from typing import Any

from babel.dates import format_date
from jinja2 import Environment
from markupsafe import Markup

from service.email_renderer import UNSUBSCRIBE_PLACEHOLDER, EmailBody, Inliner
from service.labels import labels_for
from service.page import inline_renderer
from service.settings import Settings
from service.text_renderer import WIDTH, inline_text, wrap

from .assemble import Digest

LANGUAGE = "en"
REASON = "You receive this digest because you subscribed to it."


def digest_subject(digest: Digest, settings: Settings) -> str:
    return f"{settings.publisher_name}: the digest for {_date_shown(digest)}"


def _date_shown(digest: Digest) -> str:
    return format_date(digest.date, "full", locale=LANGUAGE)


def _count_shown(digest: Digest) -> str:
    count = len(digest.items)
    return f"{count} quick read{'s' if count != 1 else ''}"


def digest_context(digest: Digest, settings: Settings, unsubscribe_url: str) -> dict[str, Any]:
    labels = labels_for(LANGUAGE)
    items = []
    for item in digest.items:
        same = item.language.split("-")[0].lower() == LANGUAGE
        headline = inline_renderer(None, labels, item.language)(item.headline)
        items.append(
            {
                "url": item.url,
                "headline": Markup(headline),
                "teaser": item.teaser,
                "section": item.section,
                "lang": "" if same else item.language,
                "dir": item.direction,
            }
        )
    headlines = ", ".join(item.headline.text for item in digest.items)
    return {
        "lang": LANGUAGE,
        "dir": "ltr",
        "title": digest_subject(digest, settings),
        "heading": "Today\u2019s quick reads",
        "date_shown": _date_shown(digest),
        "count_shown": _count_shown(digest),
        "preheader": f"{_count_shown(digest)}: {headlines}"[:200],
        "publisher_name": settings.publisher_name,
        "publisher_address": settings.publisher_address,
        "labels": labels,
        "reason": REASON,
        "digest": digest,
        "items": items,
        "unsubscribe_url": unsubscribe_url,
    }


def render_digest(
    digest: Digest, env: Environment, settings: Settings, inliner: Inliner
) -> EmailBody:
    """The digest for every recipient at once; personalise() adds each one's link."""
    context = digest_context(digest, settings, UNSUBSCRIBE_PLACEHOLDER)
    html = inliner.inline(env.get_template("digests/email.html").render(context))
    return EmailBody(context["title"], html, digest_text(digest, settings))


def digest_text(digest: Digest, settings: Settings) -> str:
    """The plain-text part: numbered headlines, teasers and links, then the footer."""
    title = digest_subject(digest, settings)
    parts = [f"{title}\n{'=' * min(len(title), WIDTH)}", _count_shown(digest)]
    for number, item in enumerate(digest.items, start=1):
        lines = [wrap(f"{number}. {inline_text(item.headline, None)}", "", "   ")]
        if item.teaser:
            lines.append(wrap(item.teaser, "   "))
        lines.append(f"   <{item.url}>")
        parts.append("\n".join(lines))
    footer = [settings.publisher_name]
    if settings.publisher_address:
        footer.append(settings.publisher_address)
    footer.append(wrap(REASON))
    footer.append(f"{labels_for(LANGUAGE)['unsubscribe']}: <{UNSUBSCRIBE_PLACEHOLDER}>")
    parts.append("-- \n" + "\n".join(footer))
    return "\n\n".join(parts) + "\n"


def render_digest_page(digest: Digest, env: Environment, settings: Settings) -> str:
    """The digest as a browser shows it: the mail's own template, without a recipient."""
    context = digest_context(digest, settings, "")
    return env.get_template("digests/email.html").render(context)
