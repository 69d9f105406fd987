"""The article as plain text: wrapped, notes as [n] with the list at the end, links written out."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence

from .article import Article
from .characters import (
    bidi_closers,
    bidi_left_open,
    joins_previous,
    squeezed,
    words_of,
)
from .inline import QUOTED, Element, Text, isolated, marked, quotes_at, sets_apart
from .labels import Labels, labels_for
from .language import direction_of, locale_for
from .page import (
    format_dateline,
    link_target,
    list_separators,
    shows_its_address,
    tag_separator,
)
from .reading import (
    Field,
    HeadingPart,
    ImagePart,
    ListPart,
    ParagraphPart,
    Piece,
    QuotePart,
    Reading,
    Reference,
    Span,
    TablePart,
    children,
    read,
)
from .settings import Settings

WIDTH = 72


def inline_text(
    field: Field | None, *, links: bool = True, references: bool = True, depth: int = 0
) -> str:
    """A field as words: link targets in <angle brackets>, note references as [n], a <q>
    in its language's quotation marks (the inner ones `depth` quotations deep). Without
    `links`, a link is its words alone (a digest's headline, whose link is the article);
    without `references`, note references are left out (a digest's teaser: no notes).
    A <br> that ends the field adds no line, as on the page (a teaser ending in one put a
    blank line inside its digest item, which read as the end of the item)."""
    if field is None:
        return ""
    words = "".join(_words(field.pieces, links, references, field.language, depth))
    return _CLOSING_BREAK.sub(r"\1", words)


# A <br> that ends a field, or only struck words' ~~ or isolates' PDIs after it, which the
# page does not draw: "~~line two.\n~~" put a line of "~~" inside a digest item. A closing
# quotation mark after it is drawn on a line of its own, on the page as here.
_CLOSING_BREAK = re.compile("\n([~\u2069]*)\\Z")


def _words(
    pieces: tuple[Piece, ...], links: bool, references: bool, language: str, depth: int
) -> Iterator[str]:
    for piece in pieces:
        if isinstance(piece, Text):
            # A line feed in the text is white space, as on the page; only <br> breaks.
            yield piece.value.replace("\n", " ")
        elif isinstance(piece, Reference):
            if references:
                yield f"[{piece.label}]"
        elif piece.name == "br":
            yield "\n"
        else:
            inner = piece.attr("lang") or language  # a <span lang> quotes in its language
            quoted = piece.name in QUOTED
            words = "".join(_words(children(piece), links, references, inner, depth + quoted))
            if piece.name == "a" and not links:
                yield words
            else:
                yield _decorate(piece, words, quotes_at(inner, depth) if quoted else None)


def _decorate(span: Span | Element, inner: str, quotes: tuple[str, str] | None) -> str:
    if span.name == "a":
        href = span.attr("href") or ""
        # The href is written (inline.written_url); words that are the URL as sent match it.
        words = inner.strip()
        if shows_its_address(words, href):
            # Written once; angled when it holds more than ASCII, so that its ends are seen in
            # a language written without spaces (Japanese runs on straight after a URL, and
            # into 編集部@example.jp, which was broken in two): the words as written, and the
            # white space around them, kept.
            if words.isascii():
                return inner
            return inner.replace(words, angled(words), 1)
        return f"{inner} {angled(link_target(href))}"
    title = span.attr("title") if span.name == "abbr" else None
    if title and title.strip() != inner.strip():  # <abbr title="NASA">NASA</abbr> once
        return f"{inner} ({title})"
    if sets_apart(span):
        # The page isolates these words from their neighbours (a name in another script
        # beside a number); in text, the Unicode isolates do it (UAX #9), or a terminal
        # shows "Top scorer: 90 <name> points". _bidi_per_line keeps them whole per line.
        return isolated(inner, span.attr("dir"))
    if span.name == "s":
        return f"~~{inner}~~"  # struck out on the page: no longer accurate, not current
    return marked(span.name, inner, quotes)


def angled(url: str) -> str:
    """A URL in <angle brackets> (RFC 3986, appendix C), any bracket in it percent-encoded
    so that it cannot end the URL early: a browser sends them so encoded anyway."""
    return "<" + url.replace("<", "%3C").replace(">", "%3E") + ">"


def wrap(text: str, indent: str = "", hanging: str | None = None) -> str:
    """Wrap each line of `text`, keeping explicit line breaks from <br>."""
    lines = []
    first = indent
    rest = indent if hanging is None else hanging
    for line in text.split("\n"):
        if line.isascii():
            filled = _fill(words_of(line), first, rest)
        elif not _WIDE.search(line):
            filled = _fill(words_of(line), first, rest, _columns)  # marks take no column
        else:
            filled = _fill_wide(words_of(line), first, rest)
        lines.append(filled or first.rstrip())
        first = rest
    # Across the lines of a <br> as across those of the wrapping: an isolate around a <br>
    # (an address in <span dir>) was left open on one line and closed on the next.
    filled = "\n".join(lines)
    return filled if text.isascii() else _bidi_per_line(filled)


def _bidi_per_line(filled: str) -> str:
    """Each wrapped line closes the bidirectional controls open at its end and the next
    reopens them after its indent: a terminal or mail client resolves direction line by
    line, and an isolate split across lines left one opened and the next closed nothing."""
    if "\n" not in filled:
        return filled
    out: list[str] = []
    carried: list[str] = []
    for line in filled.split("\n"):
        body = line.lstrip(" ")
        line = line[: len(line) - len(body)] + "".join(carried) + body
        carried = bidi_left_open(body, carried)
        out.append(line + bidi_closers(carried))
    return "\n".join(out)


def _fill(words: list[str], first: str, rest: str, measure: Callable[[str], int] = len) -> str:
    """Words filled greedily into WIDTH columns, each as wide as `measure` says (`_columns`
    for text beyond ASCII); a word longer than a line stands alone.

    What textwrap.fill does without breaking words or at hyphens, at a fifth of its cost.
    A line with text in scripts written without spaces (Chinese, Japanese) goes to
    `_fill_wide` instead.
    """
    if not words:
        return ""
    lines = []
    line = first + words[0]
    width = measure(line)
    for word in words[1:]:
        needed = measure(word)
        if width + 1 + needed > WIDTH:
            lines.append(line)
            line = rest + word
            width = measure(rest) + needed
        else:
            line = f"{line} {word}"
            width += 1 + needed
    lines.append(line)
    return "\n".join(lines)


# Characters a terminal shows two columns wide (East Asian Wide and Fullwidth): Hangul
# Jamo, CJK punctuation, kana, ideographs, Hangul syllables, compatibility and fullwidth
# forms, and the supplementary ideographs.
_WIDE = re.compile(
    "[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf"
    "\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6"
    "\U00020000-\U0003fffd]"
)
# Japanese and Chinese line-breaking rules (kinsoku): these never begin a line...
_NO_START = frozenset(
    "、。，．・：；？！ー）」』】〕〉》〙〗〟’”ゝゞヽヾぁぃぅぇぉっゃゅょゎゕゖ"  # noqa: RUF001
    "ァィゥェォッャュョヮヵヶ々〻‐゠–〜…‥,.:;!?)]}%"  # noqa: RUF001
)
# ...and these never end one.
_NO_END = frozenset("（「『【〔〈《〘〖〝‘“([{")  # noqa: RUF001


def _columns(text: str) -> int:
    """The columns a terminal gives `text` (as glibc's wcwidth does): two for a wide
    character, none for a mark set on the one before it (Vietnamese written decomposed,
    Arabic's and Hebrew's vowels, the kana voicing marks: Mn, Me) or a format character (a
    direction mark, an isolate, a joiner), one for any other: a spacing mark (Mc: most of
    Hindi's, Tamil's and Bengali's vowel signs) takes its column, as do a soft hyphen and
    the marks that stand before a number (U+0600…)."""
    if text.isascii():
        return len(text)
    return sum(
        0
        if (unicodedata.category(c) in _NO_COLUMN and c not in _FORMAT_SHOWN)
        or "\u1160" <= c <= "\u11ff"
        or "\ud7b0" <= c <= "\ud7ff"
        else 2
        if _WIDE.match(c) is not None or _wide_elsewhere(c)
        else 1
        for c in text
    )


def _wide_elsewhere(character: str) -> bool:
    """Wide (or fullwidth) by Unicode outside the scripts _WIDE names: emoji (😀 ⭐ ⌚), the
    Tangut and Khitan scripts, small form variants. A line of them was counted a column
    each and ran to twice WIDTH. Not unassigned code points, which this Python calls wide."""
    return (
        unicodedata.east_asian_width(character) in "WF" and unicodedata.category(character) != "Cn"
    )


_NO_COLUMN = frozenset({"Mn", "Me", "Cf"})
# Format characters a terminal shows (glibc gives them a column): the soft hyphen and the
# marks that stand before a number. A Hangul syllable's medial vowel and final consonant
# written as conjoining jamo (U+1160 to 11FF, U+D7B0 to D7FF: Korean copied from macOS) join the
# initial before them, which takes the syllable's two columns.
_FORMAT_SHOWN = frozenset(
    "\u00ad\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd"
)


# Korean is written with spaces between its words, which are not broken (CSS's keep-all).
_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")


# A run in angle brackets, as `angled` writes a link (linear: no run crosses a "<").
_ANGLED = re.compile(r"<[^<>\s]*>")
_SCHEME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")


def _link_spans(word: str) -> Iterator[tuple[int, int]]:
    """Where `word` holds a link written out, in one pass each: <https://…> or
    <desk@example.org> (`angled`), or a URL that is a link's own words (https://…), as far
    as its ASCII goes (a link with words beyond ASCII is written angled, so that Japanese
    written straight after a URL is not taken for its end)."""
    if "<" in word:
        for run in _ANGLED.finditer(word):
            if ":" in run.group() or "@" in run.group():
                yield run.span()
    at = word.find("://")
    while at != -1:
        start = at
        while start > 0 and at - start < 32 and word[start - 1] in _SCHEME:
            start -= 1
        end = at + 3
        while end < len(word) and "!" <= word[end] <= "~" and word[end] not in "<>":
            end += 1
        if start < at:  # a scheme before it
            yield start, end
        at = word.find("://", end)


def _pieces(word: str) -> list[str]:
    """`word` cut where a line may break inside it: before and after a wide character (but
    Hangul), never before closing punctuation or a small kana, nor after opening punctuation,
    nor inside a link written out (one into Japanese Wikipedia was cut in two: unfollowable)."""
    pieces: list[str] = []
    piece = ""
    wide_before = False
    inside = {i for start, end in _link_spans(word) for i in range(start + 1, end)}
    for index, character in enumerate(word):
        if joins_previous(character):
            piece += character  # a mark, joiner or variation selector stays with its base
            continue
        wide = _WIDE.match(character) is not None and _HANGUL.match(character) is None
        if (
            piece
            and (wide or wide_before)
            and index not in inside
            and character not in _NO_START
            and piece[-1] not in _NO_END
        ):
            pieces.append(piece)
            piece = ""
        piece += character
        wide_before = wide
    pieces.append(piece)
    return pieces


def _fill_wide(words: list[str], first: str, rest: str) -> str:
    """`_fill` measured in the columns a terminal gives each character, breaking inside
    words between the pieces `_pieces` cuts."""
    lines = []
    line, width, empty = first, _columns(first), True
    for word in words:
        for index, piece in enumerate(_pieces(word)):
            glue = "" if index or empty else " "
            needed = _columns(glue + piece)
            if not empty and width + needed > WIDTH:
                lines.append(line)
                line, width, glue = rest, _columns(rest), ""
                needed = _columns(piece)
            line += glue + piece
            width += needed
            empty = False
    lines.append(line)
    return "\n".join(lines)


# The underline of each level of the body's headings (the headline's is "="): h3 and h4 had
# the same, and a reader could not tell a section's parts from their parts.
HEADING_MARKS = {2: "-", 3: "~", 4: "."}


def underlined(title: str, mark: str) -> str:
    """A title wrapped like the text, underlined as wide as its widest line."""
    lines = wrap(squeezed(title)).split("\n")
    return "\n".join(lines) + "\n" + mark * min(max(map(_columns, lines)), WIDTH)


def render_text(article: Article, settings: Settings) -> str:
    """The article as a text document, signed with its publisher and its web address."""
    publisher = article.publisher.name if article.publisher else settings.publisher_name
    canonical = article.canonical_url or settings.article_url(article.id)
    labels = labels_for(article.language)
    location = article.publisher.location if article.publisher else None
    signed = f"{publisher} · {location}" if location else publisher  # as the mail signs it
    footer = [wrap(signed), wrap(f"{labels['read_online']}: {angled(canonical)}")]
    if article.tags:
        footer.insert(1, tags_text(article, labels))
    # The signature read in the article's direction too (a Latin publisher's name under an
    # Arabic article was a line read left to right).
    signature = signed_in_direction("\n".join(footer), direction_of(article.language))
    return article_text(read(article)) + "\n-- \n" + signature + "\n"


def tag_line(tags: Sequence[str], language: str) -> str:
    """The tags as plain text, joined by `tag_separator`, each holding letters of the other
    direction isolated (FSI…PDI): two Arabic tags in an English line ran together and
    swapped places."""
    other = ("L",) if direction_of(language) == "rtl" else ("R", "AL")
    return tag_separator(tags, language).join(
        isolated(tag, "auto") if any(unicodedata.bidirectional(c) in other for c in tag) else tag
        for tag in tags
    )


def tags_text(article: Article, labels: Labels) -> str:
    """The tags' line, wrapped, each line read in the article's direction: in Urdu, under
    the English "Tags:", the first Urdu tag was read after the second, and a wrapped line of
    isolated Latin tags in Arabic (no letter outside its isolates) read left to right."""
    text = wrap(f"{labels['tags_line']} {tag_line(article.tags, article.language)}")
    if direction_of(article.language) == "rtl":
        rlm = DIRECTION_MARKS["rtl"]
        return "\n".join(rlm + line.lstrip("\u200e\u200f") for line in text.split("\n"))
    return in_direction(text, "ltr")


def article_text(reading: Reading) -> str:
    """The article's words, from headline to notes, as `reading` orders them (no signature)."""
    article = reading.article
    labels = labels_for(article.language)
    # The section stands over the headline, as on the page and in the mail's HTML part.
    title = underlined(inline_text(reading.headline), "=")
    parts = [f"{wrap(article.section)}\n{title}" if article.section else title]
    if reading.standfirst:
        parts.append(wrap(inline_text(reading.standfirst)))
    meta = []
    if article.authors:
        names = [f"{a.name} {angled(a.url)}" if a.url else a.name for a in article.authors]
        # Joined as the page joins them, in the article's language (و in Arabic, 和 in
        # Chinese, 、 in Japanese), the links written out.
        joins = list_separators(len(names), locale_for(article.language))
        meta.append(wrap(f"{labels['by']} " + "".join(map(str.__add__, names, joins))))
    meta.append(
        f"{labels['published']} {format_dateline(article.published_at, article.language).shown}"
    )
    if article.updated_at:
        meta.append(
            f"{labels['updated']} {format_dateline(article.updated_at, article.language).shown}"
        )
    parts.append("\n".join(meta))
    parts.extend(_parts(reading, labels))
    if reading.notes:
        parts.append(underlined(labels["notes"], "-"))
        parts.append("\n".join(_note_lines(reading)))
    text = "\n\n".join(part for part in parts if part) + "\n"
    return in_direction(text, direction_of(article.language))


def in_direction(text: str, direction: str) -> str:
    """Each line read in the article's direction, as the page's dir sets it for every
    paragraph. A terminal or mail client takes a line's direction from its first strong
    letter (UAX #9, P2), so an Arabic line that opens with a Latin name showed left to
    right, and an English one opening with an Arabic quote right to left. Such a line
    begins with a mark of the article's direction (RLM or LRM), and only such a line."""
    if direction == "ltr" and text.isascii():
        return text
    want, mark = ("R" if direction == "rtl" else "L"), DIRECTION_MARKS[direction]
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if line.startswith(_MARKS):
            continue  # set in a direction of its own (a quotation in another language)
        if line.isascii():  # its first strong letter, if any, is Latin: left to right
            if direction == "rtl" and _LATIN.search(line):
                lines[index] = mark + line
            continue
        strong = _first_strong(line)
        if strong is not None and strong != want:
            lines[index] = mark + line
    return "\n".join(lines)


def signed_in_direction(text: str, direction: str) -> str:
    """A signature's lines (publisher, address, labelled links) in the mail's direction, as
    the HTML part's footer sets them. A line wholly in the other direction (a Latin name or
    an English label and its link under an Urdu article) is set apart in an isolate after
    the mark, as the HTML part's span dir does: after a mark alone, the link's closing ">"
    was shown at the far end of the line ("<Read online: <https://…"), and an address's
    opening number after its street."""
    want = "R" if direction == "rtl" else "L"
    mark = DIRECTION_MARKS[direction]
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if line.startswith(_MARKS) or _first_strong(line) in (None, want):
            continue
        # A link's letters (an Urdu host under an English label) are the link's: they do
        # not make the line one of the mail's direction.
        if _has_strong(_ANGLED.sub("", line), want):
            lines[index] = mark + line
        else:
            lines[index] = mark + isolated(line, "rtl" if want == "L" else "ltr")
    return "\n".join(lines)


_ANGLED = re.compile(r"<[^<>\s]*>")  # a link as `angled` writes it


def _has_strong(line: str, kind: str) -> bool:
    """Whether `line` holds a letter of direction `kind` (L, or R for R and AL)."""
    kinds = ("L",) if kind == "L" else ("R", "AL")
    return any(unicodedata.bidirectional(character) in kinds for character in line)


_LATIN = re.compile("[A-Za-z]")
DIRECTION_MARKS = {"ltr": "\u200e", "rtl": "\u200f"}  # LRM, RLM
_MARKS = tuple(DIRECTION_MARKS.values())


def _first_strong(line: str) -> str | None:
    """L or R: the direction of the line's first strong letter outside an isolate."""
    depth = 0
    for character in line:
        if character in "\u2066\u2067\u2068":
            depth += 1
        elif character == "\u2069":
            depth = max(0, depth - 1)
        elif not depth:
            kind = unicodedata.bidirectional(character)
            if kind == "L":
                return "L"
            if kind in ("R", "AL"):
                return "R"
    return None


def _parts(reading: Reading, labels: Labels) -> Iterator[str]:
    for part in reading.body:
        if isinstance(part, ParagraphPart):
            yield wrap(inline_text(part.text))
        elif isinstance(part, HeadingPart):
            yield underlined(inline_text(part.text), HEADING_MARKS[part.source.level])
        elif isinstance(part, QuotePart):
            opening, closing = quotes_at(part.text.language, 0)
            quote = wrap(f"{opening}{inline_text(part.text, depth=1)}{closing}", indent="    ")
            own = direction_of(part.source.lang) if part.source.lang else None
            if own is not None and own != direction_of(reading.article.language):
                # In its own direction, as the page's blockquote has its own dir: in the
                # article's, an English quote in an Arabic article had its full stop and
                # quotation marks on the wrong sides.
                quote = "\n".join(DIRECTION_MARKS[own] + line for line in quote.split("\n"))
            if part.attribution:
                quote += "\n" + wrap(f"— {inline_text(part.attribution)}", "    ")
            yield quote
        elif isinstance(part, ListPart):
            items = []
            for number, item in enumerate(part.items, start=1):
                bullet = f"{number}. " if part.source.style == "numbered" else "- "
                items.append(wrap(inline_text(item), "  " + bullet, " " * (2 + len(bullet))))
            yield "\n".join(items)
        elif isinstance(part, ImagePart):
            yield _image(part, labels)
        elif isinstance(part, TablePart):
            yield _table(part)
        else:
            yield "* * *".center(WIDTH).rstrip()


def _image(part: ImagePart, labels: Labels) -> str:
    pieces = [] if part.source.decorative else [f"[{part.source.alt}]"]
    if part.caption:
        pieces.append(inline_text(part.caption))
    if part.credit:
        pieces.append(f"({labels['photo']} {inline_text(part.credit)})")
    return wrap(" ".join(pieces))


# Each value is named by its column's header, which is written once per row; a header past
# this length would multiply the text by the rows (one of 20,000 characters over 1,249 rows
# made 53 MB), so it is written once, after the caption, and its values name it "column N".
HEADER_LABEL_LIMIT = 40


def _table(part: TablePart) -> str:
    header = [squeezed(inline_text(cell)) for cell in part.header]
    labels = [
        name if len(name) <= HEADER_LABEL_LIMIT else f"column {number}"
        for number, name in enumerate(header, start=1)
    ]
    lines = [wrap(inline_text(part.caption))]
    for label, name in zip(labels, header, strict=True):
        if label != name:
            lines.append(wrap(f"{label}: {name}", "  ", "    "))
    for row in part.rows:
        cells = [squeezed(inline_text(cell)) for cell in row]
        lines.append(
            wrap("; ".join(f"{h}: {c}" for h, c in zip(labels, cells, strict=True)), "  - ", "    ")
        )
    return "\n".join(lines)


def _note_lines(reading: Reading) -> Iterator[str]:
    for note in reading.notes:
        text = inline_text(note.text)
        if note.source.url:
            text += f" {angled(note.source.url)}"
        yield wrap(text, f"[{note.label}] ", " " * (len(note.label) + 3))
