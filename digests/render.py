"""A digest as e-mail: HTML inlined by premailer once, its plain-text twin, and a subject.

The result still holds the unsubscribe placeholder; `EmailBody.personalise` fills in each
recipient's link with a string replacement, so premailer never runs per recipient.
"""

from __future__ import annotations

import binascii
from dataclasses import replace
from typing import Any

from babel.dates import format_date
from jinja2 import Environment
from markupsafe import Markup

from service.characters import with_bidi_closed
from service.email_renderer import EmailBody, Inliner, unsubscribe_marker
from service.labels import labels_for
from service.page import headline_words, teaser_words
from service.settings import Settings
from service.text_renderer import angled, in_direction, inline_text, underlined, wrap

from .assemble import Digest, DigestItem

LANGUAGE = "en"
REASON = "You receive this digest because you subscribed to it."


def digest_subject(digest: Digest, settings: Settings) -> str:
    return f"{settings.publisher_name}: the digest for {_date_shown(digest)}"


def _date_shown(digest: Digest) -> str:
    return format_date(digest.date, "full", locale=LANGUAGE)


def _count_shown(digest: Digest) -> str:
    count = len(digest.items)
    if digest.more:
        return f"the first {count} of {count + digest.more} quick reads"
    return f"{count} quick read{'s' if count != 1 else ''}"


def _more_shown(digest: Digest) -> str:
    """The line after the items when the digest could not name them all, or ""."""
    if not digest.more:
        return ""
    return f"{digest.more} more quick read{'s' if digest.more != 1 else ''} on the website:"


def _more_url(settings: Settings) -> str:
    return f"{settings.base_url}/articles"


def digest_context(digest: Digest, settings: Settings, unsubscribe_url: str) -> dict[str, Any]:
    """What the digest templates (inside the shared e-mail frame) read."""
    labels = labels_for(LANGUAGE)
    items = []
    for item in digest.items:
        same = item.language.split("-")[0].lower() == LANGUAGE
        items.append(
            {
                "url": item.url,
                "headline": headline_words(item.headline),  # 300 characters, markup and all
                # Its markup (the languages of its parts), whole or cut; else the cut words.
                "teaser": _teaser_html(item),
                "section": item.section,
                "lang": "" if same else item.language,
                "dir": item.direction,
            }
        )
    headlines = ", ".join(item.headline.plain for item in digest.items)
    return {
        "lang": LANGUAGE,
        "dir": "ltr",
        "labels": labels,
        "label_lang": "",
        "publisher_name": settings.publisher_name,
        "publisher": None,
        "settings": settings,
        "unsubscribe_url": unsubscribe_url,
        "title": digest_subject(digest, settings),
        "heading": "Today\u2019s quick reads",
        "date_shown": _date_shown(digest),
        "count_shown": _count_shown(digest),
        "preheader": with_bidi_closed(f"{_count_shown(digest)}: {headlines}"[:200]),
        "more_shown": _more_shown(digest),
        "more_url": _more_url(settings),
        "reason": REASON,
        "digest": digest,
        "items": items,
    }


# Gmail shows an HTML part longer than 102 KB only up to there, behind "View entire
# message": the postal address and the unsubscribe link at its foot with it. A digest whose
# HTML would pass this as sent names fewer quick reads, and the rest in its "more" line. As
# sent is quoted-printable (messages.build_message), which writes each byte of a character
# beyond ASCII as three: a digest in Chinese or Arabic is near three times its UTF-8 size.
# The margin is for the soft line breaks the mail library places otherwise than
# binascii does, and for each recipient's unsubscribe link, which replaces a shorter
# placeholder.
HTML_BUDGET = 92 * 1024


def size_as_sent(html: str) -> int:
    """The length of the HTML part's body in quoted-printable, as the mail sends it."""
    return len(binascii.b2a_qp(html.encode("utf-8")))


def render_digest(
    digest: Digest, env: Environment, settings: Settings, inliner: Inliner
) -> EmailBody:
    """The digest for every recipient at once; personalise() puts in each one's link."""
    return render_fitted(digest, env, settings, inliner)[1]


# Markup may weigh this much beside its words: languages, abbreviations with their
# expansions, links, as many as a standfirst names. The heaviest item that passes, in a
# script of three UTF-8 bytes a character, is about 40 KB as sent: one fits the budget.
MARKUP_ALLOWANCE = 4000


def _light(html: Markup, words: str) -> Markup | str:
    """`html`, unless its markup weighs far more than its words: then the words. Titles of
    abbreviations are not shown, yet sent: 39 of 480 characters each in one standfirst made
    a one-item digest's HTML part 184 KB as sent, twice its budget, with the postal address
    and the unsubscribe link past where Gmail cuts a message (fewer items cannot help)."""
    return html if len(html) <= 2 * len(words) + MARKUP_ALLOWANCE else words


def render_fitted(
    digest: Digest, env: Environment, settings: Settings, inliner: Inliner
) -> tuple[Digest, EmailBody]:
    """The digest as its mail names it (fewer items when the HTML would pass HTML_BUDGET,
    the rest counted in `more`), and that mail."""
    marker = unsubscribe_marker()
    while True:
        context = digest_context(digest, settings, marker)
        html = inliner.inline(env.get_template("digests/email.html").render(context))
        size, count = size_as_sent(html), len(digest.items)
        if size <= HTML_BUDGET or count <= 1:
            break
        # Items weigh about the same: keep the share that fits, and at least one fewer.
        keep = max(1, min(count - 1, count * HTML_BUDGET // size))
        digest = replace(digest, items=digest.items[:keep], more=digest.more + count - keep)
    context["digest_text"] = digest_text(digest, settings)
    text = env.get_template("digests/email.txt").render(context)
    return digest, EmailBody(context["title"], html, text, marker)


def digest_text(digest: Digest, settings: Settings) -> str:
    """The plain-text words: the title, then numbered headlines with teasers and links."""
    # The digest's own words are English, left to right, as its HTML part's dir says: a
    # publisher named in Arabic opened the title line, which a client then showed right to left.
    parts = [
        in_direction(underlined(digest_subject(digest, settings), "="), "ltr"),
        in_direction(_count_shown(digest), "ltr"),
    ]
    for number, item in enumerate(digest.items, start=1):
        # Its link is the article's, written below: a link inside would come first.
        section = f"{item.section}: " if item.section else ""  # as the HTML part shows it
        headline = inline_text(item.headline, links=False)
        lines = [wrap(f"{number}. {section}{headline}", "", "   ")]
        if teaser := _teaser_text(item):
            lines.append(wrap(teaser, "   "))
        lines.append(f"   {angled(item.url)}")
        # Each line read in its item's direction, as the article's text twin does and as
        # the HTML part's dir sets it: a line takes its direction from its first letter.
        parts.append(in_direction("\n".join(lines), item.direction))
    if digest.more:
        more = f"{wrap(_more_shown(digest))}\n{angled(_more_url(settings))}"
        parts.append(in_direction(more, "ltr"))
    parts.append(in_direction(wrap(REASON), "ltr"))
    return "\n\n".join(parts) + "\n"


def _teaser_html(item: DigestItem) -> Markup | str:
    """The teaser with its markup (the languages of its parts), whole or cut; else the cut
    words."""
    if item.teaser_field is None:
        return item.teaser
    return _light(teaser_words(item.teaser_field) + item.teaser_tail, item.teaser)


def _teaser_text(item: DigestItem) -> str:
    """The teaser in characters where the HTML part shows it in markup: its line breaks, an
    abbreviation's title after it, struck words closed where the cut falls inside them (the
    cut plain words left "~~struck" open and ran the lines of an address together), its
    note references left out as there. Else the same cut words as the HTML part."""
    if not isinstance(_teaser_html(item), Markup):
        return item.teaser
    assert item.teaser_field is not None
    return inline_text(item.teaser_field, links=False, references=False) + item.teaser_tail


def digest_page_context(digest: Digest, settings: Settings) -> dict[str, Any]:
    """What the browser's page of the digest (digests/page.html) reads: the mail's words."""
    context = digest_context(digest, settings, "")
    context["labels"] = {"skip": "Skip to the digest"}
    context["heading"] = "Quick reads"  # the page stays up after its day: not "Today's"
    context["subscribe_url"] = f"{settings.base_url}/subscribe"
    return context
