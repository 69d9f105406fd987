"""The print-ready PDF of an article: print HTML, a content hash for ETags, a bounded cache."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from html import unescape
from typing import Protocol

from jinja2 import Environment
from weasyprint.urls import iri_to_uri

from .article import Article
from .characters import is_regional_indicator, may_part
from .errors import RenderRefused
from .kept import Kept
from .language import quotation_marks
from .metrics import count_pdf_cache, timed_render
from .page import article_context, link_labels
from .print_budget import check_print_budget
from .printing import PAPER_SIZES, Printed, source_digest
from .reading import ImagePart, Reading
from .settings import Settings
from .url_fetcher import LeftOut, url_digest

PAPERS = tuple(PAPER_SIZES)
# A page of this design holds about 4,500 characters of running text; no page can hold
# 8,000. An article with more than that per allowed page is refused before layout, so an
# oversized article costs a printer process nothing.
MAX_CHARS_PER_PAGE = 8_000


class PrinterLike(Protocol):
    max_pages: int

    def print(
        self, html: str, paper: str = ..., link_labels: dict[str, str] | None = ...
    ) -> Printed: ...


class PrintJob:
    """What the printer needs for one article, and the hash that names its PDF."""

    def __init__(self, article: Article, env: Environment, settings: Settings, paper: str):
        context = article_context(article, settings)
        context["paper"] = paper
        self.article = article
        self.reading: Reading = context["reading"]
        self.paper = paper
        self.html = prepare_for_print(env.get_template("rendering/print.html").render(context))
        self.link_labels = link_labels(context["reading"], context["labels"])
        self.text_length = sum(len(field.text) for field in context["reading"].fields())
        self.etag = hashlib.sha256(
            # With everything that shapes the bytes for the same HTML: engines, code, styles.
            f"{source_digest()}\0{paper}\0".encode() + self.html.encode("utf-8")
        ).hexdigest()[:32]

    def print_with(self, printer: PrinterLike) -> Printed:
        if self.text_length > printer.max_pages * MAX_CHARS_PER_PAGE:
            raise RenderRefused(
                f"The article has {self.text_length} characters of text, more than "
                f"{printer.max_pages} pages can hold; the limit is {printer.max_pages} pages."
            )
        check_print_budget(self.reading)
        return printer.print(self.html, self.paper, self.link_labels)

    def warnings(self, printed: Printed) -> list[str]:
        """What the PDF left out, by pointer, in words a client can act on (ASCII)."""
        return left_out_lines(printed.left_out, image_pointers(self.reading))


def image_pointers(reading: Reading, where: str = "") -> dict[str, list[str]]:
    """Each image's pointer in the article (`where` before it), by its URL's digest: the
    digest a printer names what it left out by (as written, and as fetched)."""
    pointers: dict[str, list[str]] = {}
    for index, part in enumerate(reading.body):
        if isinstance(part, ImagePart):
            for src in {part.source.src, iri_to_uri(part.source.src)}:
                pointers.setdefault(url_digest(src), []).append(f"{where}/body/{index}/src")
    return pointers


def left_out_lines(left_out: Sequence[LeftOut], pointers: dict[str, list[str]]) -> list[str]:
    """One line per image left out, by its pointer and why (ASCII, each said once)."""
    found = []
    for item in left_out:
        for pointer in pointers.get(item.digest, ["/body"]):
            found.append(f"{pointer}: image left out, its alt text stands in ({item.reason})")
    return [ascii_text(line) for line in dict.fromkeys(found)]


def render_pdf(
    article: Article, env: Environment, settings: Settings, printer: PrinterLike, paper: str = "a4"
) -> bytes:
    return PrintJob(article, env, settings, paper).print_with(printer).data


# A run of this many characters with no break in it is no word of any language but a code,
# a URL or a hostile string. Left whole, it is laid out again for every line it fills
# (20,000 characters took minutes) and then runs off the page, so it gets a break
# opportunity every BREAK_EVERY characters and is never hyphenated. A run is counted across
# the inline elements it passes through (x<b>x</b><i>x</i>… is one word to the layout),
# and a space the line may not break at is part of it: one before closing or infix
# punctuation (UAX #14 LB13: "a ,a ,a ," has no break opportunity at all).
LONG_WORD = 60
BREAK_EVERY = 30
_TAG = re.compile(r"(<[^>]*>)")
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")
# Elements inside a line: a run goes on through them. Any other tag ends the run (a block,
# a line break, a table cell), written as _BLOCK in the flattened text.
_INLINE = frozenset(
    "a abbr b bdi bdo cite code data dfn em i kbd mark q s samp small span strong sub sup "
    "time u var".split()
)
_BLOCK = "\x00"
# A space that joins (no-break, figure, narrow no-break) is part of the run it sits in.
_UNBROKEN = re.compile(
    r"(?:&[#0-9A-Za-z]+;|[^\s&<\x00]|[\u00a0\u2007\u202f]"
    r"|[ \t\r\n](?=[,.;:!?)\]}/%\u3001\u3002\uff09\uff0c\uff0e\uff1a\uff1b]))" + f"{{{LONG_WORD},}}"
)
# White space collapses to one space on the page (print.css sets no pre): collapsed here
# first, a run of it is one character to every scan, which stays linear.
_SPACES = re.compile(r"[ \t\r\n]{2,}")
_WHITE = frozenset(" \t\r\n")
_CHARACTER = re.compile(r"&[#0-9A-Za-z]+;|[^&]")


# An address written as words, not as a link: a URL (with its scheme or from www.), an e-mail
# address, a host and path (example.org/report). Justified lines hyphenated them, and a
# hyphen reads as part of an address. Each word of the text (never of a tag) is matched
# once, from its start after any opening quote or bracket, so the work is linear in the text
# (a search through it took time quadratic in a long word: 8,000 letters, 4 s). Each mark is
# an element to lay out (about 0.7 ms), which the print budget does not weigh: past
# MAX_ADDRESSES in one document the rest are left unmarked, merely hyphenable (28,000 marks
# held a printer for its whole time limit).
MAX_ADDRESSES = 100
_WORD = re.compile(r"[^\s<]+")
_OPENING = re.compile(r"(?:&#?\w+;|[(\[{\"'\u201c\u2018\u00ab\u00bf\u00a1])*")
_CLOSING = frozenset(".,;:!?)]}\u201d\u2019\u00bb")  # after an address, not of it
# A character reference ending a word (an escaped quote or bracket, &#34; &gt;): after the
# address as a whole, never cut (its ";" alone left out printed as a stray ";").
_REFERENCE_AT_END = re.compile(r"&#?\w{1,31};\Z")
_ADDRESS = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://\S|www\.\S|[\w.+-]+@[\w-]+\.[\w-]"
    r"|[\w-]+(?:\.[\w-]+)*\.[A-Za-z][\w-]*/"
)


def _address_end(text: str, start: int) -> int:
    """Where the address that begins `text` at `start` ends: before closing punctuation and
    references, each taken whole (at most 33 characters looked at for each)."""
    end = len(text)
    while end > start:
        reference = _REFERENCE_AT_END.search(text, max(start, end - 33), end)
        if reference is not None:
            end = reference.start()
        elif text[end - 1] in _CLOSING:
            end -= 1
        else:
            break
    return end


def keep_addresses_whole(html: str) -> str:
    """The print HTML with the addresses in its body's text marked never to be hyphenated
    (print.css: .address), the first MAX_ADDRESSES of them outside links. Linear in the
    body: each word is matched once, from its start."""
    head, body_tag, body = html.partition("<body")
    if not body_tag:
        return html
    marked = 0

    def mark(word: re.Match[str]) -> str:
        nonlocal marked
        text = word[0]
        start = _OPENING.match(text).end()  # type: ignore[union-attr]  # "" at least
        if marked >= MAX_ADDRESSES or not _ADDRESS.match(text, start):
            return text
        end = _address_end(text, start)
        if end <= start:
            return text
        marked += 1
        return f'{text[:start]}<span class="address">{text[start:end]}</span>{text[end:]}'

    parts = _TAG.split(body)  # text, tag, text, …: the first holds the body tag's attributes
    in_link = False  # a link's words are never hyphenated already (print.css: a)
    for index in range(1, len(parts)):
        if index % 2:
            name = _TAG_NAME.match(parts[index])
            if name is not None and name[1].lower() == "a":
                in_link = not parts[index].startswith("</")
        elif not in_link:
            parts[index] = _WORD.sub(mark, parts[index])
    return head + body_tag + "".join(parts)


def prepare_for_print(html: str) -> str:
    """The print HTML as the line breaker should see it: addresses never hyphenated, and
    over-long runs of characters made breakable; its quotations in their language's marks;
    its words as they are written in the PDF's text (with_exact_text)."""
    return break_long_words(keep_addresses_whole(with_quotation_marks(with_exact_text(html))))


# An invisible character between two letters: a soft hyphen, a joiner, a variation selector…
# (Unicode's Default_Ignorable_Code_Point, but the zero-width non-joiner, which keeps
# letters apart itself). The zero-width spaces break_long_words adds come later, and
# print.css prints their runs, and the running heads, without ligatures.
_IGNORABLE_IN_A_WORD = re.compile(
    r"(?<=[^\W\d_])[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u200d-\u200f"
    r"\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    r"\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]+(?=[^\W\d_])"
)


# The attributes print.css writes out: a link's address, an abbreviation's title (an
# image's alt, a byline's address and the like are never printed beside the text).
_PRINTED = re.compile(r'\s(?:href|title)="([^"]*)"')


def with_exact_text(html: str) -> str:
    """The document printed without common ligatures when a word holds an invisible
    character: a ligature drawn across one ("f" soft hyphen "i") is one glyph that
    WeasyPrint maps to no text, and every later "fi" of the font reads as nothing in the
    PDF's text (copy, search, a screen reader). A word in its text, or in an attribute
    the page prints (a link's address, an abbreviation's title). Most articles keep their
    ligatures."""
    _, body_tag, body = html.partition("<body")
    if not body_tag or not (
        _IGNORABLE_IN_A_WORD.search(unescape(_TAG.sub("", body)))
        or any(_IGNORABLE_IN_A_WORD.search(unescape(value)) for value in _PRINTED.findall(body))
    ):
        return html
    rule = "html, body { font-variant-ligatures: no-common-ligatures; }"
    return html.replace("</head>", f"<style>{rule}</style></head>", 1)


_LANG = re.compile(r'\slang="([A-Za-z0-9-]{1,100})"')


def with_quotation_marks(html: str) -> str:
    """Each language of the document given the quotation marks the text twin uses
    (language.quotation_marks): WeasyPrint looks a tag up as written, "zh-Hant" among keys
    such as "zh_Hant", and printed English marks for Traditional Chinese, Portugal's
    Portuguese and Swiss French. Only where a <q> is to print."""
    if "<q>" not in html:
        return html
    rules = []
    for tag in dict.fromkeys(_LANG.findall(html)):
        (outer_open, outer_close), (inner_open, inner_close) = quotation_marks(tag)
        marks = " ".join(_css_string(m) for m in (outer_open, outer_close, inner_open, inner_close))
        rules.append(f'[lang="{tag}"] {{ quotes: {marks} }}')
    return html.replace("</head>", f"<style>{' '.join(rules)}</style></head>", 1)


def _css_string(mark: str) -> str:
    return '"' + "".join(f"\\{ord(c):x} " for c in mark) + '"'


def break_long_words(html: str) -> str:
    """The print HTML with every over-long run of characters in its body made breakable.

    Linear in the body: white space is collapsed first (one character to every scan), and
    each text part finds its runs and breaks by bisection."""
    head, body_tag, body = html.partition("<body")
    if not body_tag:
        return html
    attributes, closed, content = body.partition(">")
    if not _UNBROKEN.search(_SPACES.sub(" ", _TAG.sub("", content))):
        return html  # no long run even with every tag taken out: most articles, in C alone
    parts = _TAG.split(content)  # text, tag, text, tag, …, text
    flat: list[str] = []
    starts: list[int] = []  # where each text part (parts[2k]) begins in the flattened text
    position = 0
    spaced = False  # the text before ended in white space, within this block
    for index, part in enumerate(parts):
        if index % 2 == 0:
            # Collapsed as the page collapses it, across inline elements too: "x <b> ,</b>"
            # is "x ," on the page, whose space is no break opportunity before the comma.
            part = _SPACES.sub(" ", part)
            if spaced and part[:1] in _WHITE:
                part = part[1:]
            if part:
                spaced = part[-1] in _WHITE
            parts[index] = part
            starts.append(position)
            flat.append(part)
            position += len(part)
        else:
            name = _TAG_NAME.match(part)
            if name is None or name[1].lower() not in _INLINE:
                flat.append(_BLOCK)
                position += 1
                spaced = False
    text = "".join(flat)
    breaks: list[int] = []
    runs: list[tuple[int, int]] = []
    for run in _UNBROKEN.finditer(text):
        runs.append(run.span())
        breaks.extend(_breaks_in(run))
    if runs:
        run_ends = [end for _, end in runs]
        for k, start in enumerate(starts):
            end = start + len(parts[2 * k])
            # The runs and breaks within this part: both lists are in order of position.
            first, last = bisect_right(run_ends, start), bisect_left(runs, (end, end))
            if first < last:
                cuts = breaks[bisect_left(breaks, start) : bisect_left(breaks, end)]
                parts[2 * k] = _marked(parts[2 * k], start, end, runs[first:last], cuts)
    return head + body_tag + attributes + closed + "".join(parts)


def _marked(part: str, start: int, end: int, runs: list[tuple[int, int]], breaks: list[int]) -> str:
    """A text part with its breaks (those within it), and its runs as long words."""
    inside = [(max(a, start), min(b, end)) for a, b in runs if max(a, start) < min(b, end)]
    if not inside:
        return part
    cuts = {i - start for i in breaks}
    out: list[str] = []
    done = 0
    for a, b in inside:
        out.append(part[done : a - start])
        piece = "".join(
            ("\u200b" if i in cuts else "") + part[i] for i in range(a - start, b - start)
        )
        out.append(f'<span class="long-word">{piece}</span>')
        done = b - start
    out.append(part[done:])
    return "".join(out)


def _breaks_in(run: re.Match[str]) -> list[int]:
    """Where in the text a break opportunity goes in `run`: after every BREAK_EVERY columns
    (a wide character counts two, so a run of full-width punctuation still fits the line)
    that have none of their own: never inside a character (a base and its marks, a joined
    sequence) and never next to punctuation that may not begin or end a line (until twice
    the length: a hostile run of nothing else must break too); a character of a script
    that breaks between its letters (Han, kana, Hangul, Thai…) is an opportunity itself."""
    breaks: list[int] = []
    since = 0
    previous = ""
    indicators = 0  # regional indicators just before this character: odd, a flag is open
    for written in _CHARACTER.finditer(run.string, run.start(), run.end()):
        # A character reference is one character; a block's mark is never inside a run.
        character = unescape(written[0]) if written[0].startswith("&") else written[0]
        in_flag = indicators % 2 == 1 and is_regional_indicator(character)
        if _BREAKS_ITSELF.match(character) and unicodedata.category(character)[0] == "L":
            since = 0  # a letter of such a script: a break may come before or after it
        elif (
            not in_flag
            and (
                since >= 2 * BREAK_EVERY
                or (since >= BREAK_EVERY and _may_break_between(previous, character))
            )
            and not character.isspace()
        ):  # past twice the length it breaks anyway: a run of
            breaks.append(written.start())  # marks or dots is still bounded
            since = 0
        since += 2 if unicodedata.east_asian_width(character) in "WF" else 1  # its width
        previous = character
        indicators = indicators + 1 if is_regional_indicator(character) else 0
    return breaks


# Scripts written without spaces, whose lines break between letters (UAX #14 ideographic
# and complex-context classes): the layout engine breaks these runs itself, at their letters
# (their punctuation, such as 。 and 」, may not begin a line: a run of it still gets breaks).
_BREAKS_ITSELF = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u1100-\u11ff\u2e80-\u303e"
    "\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff"
    "\uff00-\uffef\U00020000-\U0003fffd]"
)


def _may_break_between(before: str, after: str) -> bool:
    """Whether a line may end after `before` and begin with `after`: not inside a character
    as a reader sees it (characters.may_part), not before closing punctuation, not after
    opening punctuation."""
    if not may_part(before, after) or unicodedata.category(after) in ("Pe", "Pf", "Po"):
        return False
    return unicodedata.category(before) not in ("Ps", "Pi")


def ascii_text(text: str, limit: int = 300) -> str:
    """`text` as printable ASCII (non-ASCII escaped), fit for a header value."""
    escaped = text.encode("ascii", "backslashreplace").decode("ascii")
    return "".join(c if " " <= c <= "~" else "?" for c in escaped)[:limit]


class PdfCache:
    """Rendered PDFs by ETag, least recently used first out, bounded in count and bytes.

    A PDF keeps the list of images it left out, so a cached answer warns as the first did;
    one that lacks an image only for now (the image's server failed) is not kept.
    """

    def __init__(self, max_items: int, max_bytes: int = 128 * 1024 * 1024):
        self._kept: Kept[str, Printed] = Kept(max_items, max_bytes, lambda p: len(p.data))

    def get(self, key: str) -> Printed | None:
        printed = self._kept.get(key)
        count_pdf_cache(hit=printed is not None)
        return printed

    def put(self, key: str, printed: Printed) -> Printed:
        if not any(item.transient for item in printed.left_out):
            self._kept.put(key, printed)
        return printed

    def __len__(self) -> int:
        return len(self._kept)

    def render(self, job: PrintJob, printer: PrinterLike) -> Printed:
        cached = self.get(job.etag)
        if cached is not None:
            return cached  # a look-up, counted by the cache's own metric, not as a render
        with timed_render("pdf"):
            printed = job.print_with(printer)
        return self.put(job.etag, printed)
