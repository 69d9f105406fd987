"""Inline text: the small HTML allowlist of the contract, tokenized and turned into a node tree.

Input is never sanitised or repaired: it is tokenized with the standard library's HTML
tokenizer and anything outside the allowlist is reported, so renderers can serialise the
tree knowing every element and attribute is one they expect.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html import unescape
from html.entities import html5
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urlsplit

import idna

from . import later_rules
from .characters import (
    character_problem,
    forbidden_character,
    is_blank,
    line_break_problem,
    url_character_problem,
)
from .language import language_tag_problem, quotation_marks
from .punycode import encoded_length

NOTE_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_NOTE_REF = re.compile(r"\[\^([^\]]*)\]")
# Text that still looks like a tag after tokenizing is a tag the tokenizer could not finish.
_UNFINISHED_TAG = re.compile(r"<[A-Za-z/!?]")

ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href"}),
    "em": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "b": frozenset(),
    "cite": frozenset(),
    "q": frozenset(),
    "abbr": frozenset({"title"}),
    "code": frozenset(),
    "span": frozenset({"lang", "dir"}),
    "bdi": frozenset(),
    "sub": frozenset(),
    "sup": frozenset(),
    "small": frozenset(),
    "mark": frozenset(),
    "s": frozenset(),
    "br": frozenset(),
}
VOID_ELEMENTS = frozenset({"br"})
# Real copy nests three or four elements at most; a bound keeps every tree walk shallow.
MAX_DEPTH = 12
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
MAX_LINK = 2000  # characters of a link's URL


@dataclass(frozen=True, slots=True)
class Text:
    value: str


@dataclass(frozen=True, slots=True)
class NoteRef:
    note_id: str


@dataclass(frozen=True, slots=True)
class Element:
    name: str
    attrs: tuple[tuple[str, str], ...]
    children: tuple[Node, ...]

    def attr(self, name: str) -> str | None:
        return next((value for key, value in self.attrs if key == name), None)


Node = Text | NoteRef | Element


@dataclass(frozen=True, slots=True)
class Inline:
    """Parsed inline text: its nodes and the note ids it references, in order."""

    nodes: tuple[Node, ...]
    source: str

    @property
    def note_refs(self) -> tuple[str, ...]:
        return tuple(_walk_refs(self.nodes))

    @property
    def text(self) -> str:
        """The words as a reader sees them, without markup or note references."""
        return "".join(_walk_text(self.nodes))

    def plain_in(self, language: str) -> str:
        """The words as plain text shows them in `language` (the text's): a <q> in its
        quotation marks («» in French, inner ones within a quotation), an <s> struck
        (~~$10~~ $8, as the text twin writes it), and <sup> and <sub>
        as Unicode super- and subscripts where each character has one (10⁶, m², CO₂), so
        that 10<sup>6</sup> never reads as 106, else figures as 10^(-6.5) and x_(i+1).
        For titles, subjects, feeds and lists."""
        return "".join(_walk_plain(self.nodes, language))

    def __str__(self) -> str:
        return self.text


def _walk_refs(nodes: tuple[Node, ...]):
    for node in nodes:
        if isinstance(node, NoteRef):
            yield node.note_id
        elif isinstance(node, Element):
            yield from _walk_refs(node.children)


def _walk_text(nodes: tuple[Node, ...]):
    for node in nodes:
        if isinstance(node, Text):
            yield node.value
        elif isinstance(node, Element):
            yield "\n" if node.name == "br" else ""
            yield from _walk_text(node.children)


def plain_of(nodes: Sequence[Any], language: str) -> str:
    """The plain words (`Inline.plain_in`) of parsed nodes, or of pieces as read (an element
    whose references are resolved is walked as an element; a reference has no words)."""
    return "".join(_walk_plain(nodes, language))


def _walk_plain(nodes: Sequence[Any], language: str, depth: int = 0):
    for node in nodes:
        if isinstance(node, Text):
            yield node.value
        elif getattr(node, "children", None) is not None:  # an Element, or a read Span
            inner = node.attr("lang") or language  # a <span lang> quotes in its language
            if node.name == "br":
                yield "\n"
            elif node.name in QUOTED:
                words = "".join(_walk_plain(node.children, inner, depth + 1))
                yield marked(node.name, words, quotes_at(inner, depth))
            elif node.name in RAISED or node.name in STRUCK:
                yield marked(node.name, "".join(_walk_plain(node.children, inner, depth)))
            elif sets_apart(node):
                # Isolated as on the page (a name in another script beside a number), so a
                # list, a feed or a subject shows "Party حزب: 3" as the page does.
                words = "".join(_walk_plain(node.children, inner, depth))
                yield isolated(words, node.attr("dir"))
            else:
                yield from _walk_plain(node.children, inner, depth)


def quotes_at(language: str, depth: int) -> tuple[str, str]:
    """The marks of a quotation `depth` quotations deep in `language`: the outer ones, then
    the inner ones at every depth below (as WeasyPrint prints nested <q>)."""
    return quotation_marks(language)[min(depth, 1)]


# The Unicode isolate that stands for dir="…": LRI, RLI, FSI; each closed by PDI (U+2069).
_ISOLATES = {"ltr": "\u2066", "rtl": "\u2067", "auto": "\u2068"}
ISOLATE_END = "\u2069"


def sets_apart(node: Any) -> bool:
    """A <bdi> or a <span dir>: its words are isolated from those around them."""
    return node.name == "bdi" or (node.name == "span" and bool(node.attr("dir")))


def isolated(words: str, direction: str | None) -> str:
    """`words` as a <bdi> or <span dir> sets them apart, in plain text: inside a Unicode
    isolate (LRI, RLI or FSI for dir="ltr", "rtl", "auto" or none) closed by PDI."""
    return _ISOLATES.get(direction or "auto", _ISOLATES["auto"]) + words + ISOLATE_END


QUOTED = frozenset({"q"})
# Struck out: no longer accurate ("$10 $8" without it reads as two prices), as the text
# twin writes it.
STRUCK = frozenset({"s"})
RAISED = {
    "sup": str.maketrans("0123456789+-\u2212=()ni", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿⁱ"),
    "sub": str.maketrans("0123456789+-\u2212=()", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎"),
}


def marked(name: str, words: str, quotes: tuple[str, str] | None = None) -> str:
    """What a <q> (in `quotes`), <s>, <sup> or <sub> adds to its words in plain text (see
    `Inline.plain_in`)."""
    if name in QUOTED:
        opening, closing = quotes or ("“", "”")
        return f"{opening}{words}{closing}"
    if name in STRUCK:
        return f"~~{words}~~"
    table = RAISED.get(name)
    if table is None or not words:
        return words
    if all(ord(c) in table for c in words):
        return words.translate(table)
    if any(c.isdigit() or c in "+-\u2212=/." for c in words):
        # Figures that have no Unicode forms: 10<sup>-6.5</sup> as 10^(-6.5), never as
        # 10-6.5; x<sub>i+1</sub> as x_(i+1). Words stay words (21<sup>st</sup> is 21st).
        return f"{'^' if name == 'sup' else '_'}({words})"
    return words


def _has_an_empty_link(nodes: tuple[Node, ...]) -> bool:
    for node in nodes:
        if isinstance(node, Element):
            if node.name == "a" and is_blank("".join(_walk_text(node.children))):
                return True
            if _has_an_empty_link(node.children):
                return True
    return False


class InlineError(ValueError):
    """Inline text that breaks the allowlist; `problems` lists every reason found."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_inline(
    source: str,
    *,
    note_ids: frozenset[str] | None = None,
    allow_note_refs: bool = True,
    allow_line_breaks: bool = True,
    allow_empty_links: bool = False,
) -> Inline:
    """Tokenize `source` and return its node tree, or raise InlineError with every problem.

    `note_ids` is the set of notes the article defines; None skips that check (used when the
    notes themselves are malformed and reported elsewhere).
    """
    nodes, problems = _tree(source, note_ids, allow_note_refs, allow_line_breaks)
    inline = Inline(nodes, source)
    # The source as written (a line break inside a tag), then the words as decoded
    # (&#10; or &#x202E; is the same character as the one it names).
    written = forbidden_character(source) or (
        None if allow_line_breaks else line_break_problem(source)
    )
    decoded = character_problem(inline.text, line_breaks=allow_line_breaks)
    problems[:0] = [problem for problem in (written, decoded) if problem]
    if not allow_empty_links and _has_an_empty_link(nodes):
        problems.append("a link must have visible text: an empty one is a silent tab stop")
    if problems:
        raise InlineError(list(dict.fromkeys(problems)))
    return inline


def _tree(
    source: str, note_ids: frozenset[str] | None, allow_note_refs: bool, allow_line_breaks: bool
) -> tuple[tuple[Node, ...], list[str]]:
    """The node tree of `source` and the allowlist's problems with it."""
    if "<" not in source and "&" not in source and "[^" not in source:
        # No tag, no reference, no note reference: the tree is the text itself. Most
        # strings of an article (headlines, names, captions, cells) are such plain text.
        return ((Text(source),) if source else ()), []
    refused, source = _without_declarations(source)
    parser = _InlineParser(note_ids, allow_note_refs, allow_line_breaks)
    tokenize(parser, source)
    problems = [*refused, *parser.finish()]
    return parser.root_children(), problems


# What the standard library's tokenizer scans the rest of the input for, from each one:
# "<!--" its "-->", "<!" and "<?" their ">", "</" or "<a" that no ">" closes their ">".
# Thousands of them made a refusal quadratic (CVE-2025-6069: 141 KB of "<!--" took 4.7 s,
# 12 KB of "<a" 3.5 s). None is allowed in inline text, so each is refused here, by its
# kind, and the tokenizer reads it as text ("&lt;"), which costs nothing. A whole tag is
# passed over as it is, quoted attribute values and all ("<!" may be in a title).
# A whole start or end tag, quoted attribute values and all: passed over as it is.
_WHOLE_TAG = re.compile(r"""<[A-Za-z](?:"[^"]*"|'[^']*'|[^'"<>])*+>|</[A-Za-z][^<>]*+>""")
_SCANNED = re.compile(
    _WHOLE_TAG.pattern + r"""|<(!--|!|\?|/|(?=[A-Za-z]))"""  # or one that is not whole
)
_SCANNED_PROBLEMS = {
    "!--": "HTML comments are not allowed",
    "!": "markup declarations are not allowed",
    "?": "processing instructions are not allowed",
    "/": "contains an unfinished or malformed tag",
    "": "contains an unfinished or malformed tag",
}


def _without_declarations(source: str) -> tuple[list[str], str]:
    if "<" not in source or len(_WHOLE_TAG.findall(source)) == source.count("<"):
        return [], source  # every "<" begins a whole tag: the common case, in C alone
    found: set[str] = set()

    def one(match: re.Match[str]) -> str:
        kind = match[1]
        if kind is None:
            return match[0]  # a whole tag
        found.add(kind)
        return "&lt;" + kind

    cleared = _SCANNED.sub(one, source)
    problems = [problem for kind, problem in _SCANNED_PROBLEMS.items() if kind in found]
    return list(dict.fromkeys(problems)), cleared if found else source


def tokenize(parser: HTMLParser, source: str) -> None:
    """Feed `source` to `parser`, whole.

    Character references are read here, not by the standard library's tokenizer, which
    guesses: it decodes "&amp" without its ";", adds a ";" to "R&D" and drops the "&" of
    "a&b" at the end of the input. Every "&" reaches the tokenizer as AMPERSAND, a
    character no field may hold; handle_data and decode_attribute read the references
    strictly. Without "<" there is no tag, and the text goes to handle_data directly.
    """
    if "<" in source:
        parser.feed(source.replace("&", AMPERSAND))
        parser.close()
    else:
        parser.handle_data(source.replace("&", AMPERSAND))


# Stands for "&" inside the tokenizer: a noncharacter, which characters.py forbids in every
# field, so a source that holds one is refused whatever the tokenizer makes of it.
AMPERSAND = "\ufdd0"
# A whole reference, ";" included: &name; &#10; &#x2014;. Anything else after "&" is text.
_REFERENCE = re.compile(AMPERSAND + r"(#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]{0,31});")


def decode_attribute(value: str) -> str:
    """An attribute value with its whole references decoded; any other "&" stays."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name[0] == "#":
            if not later_rules.apply():
                return unescape(f"&{name};")  # as it was read when the article was stored
            # The character itself, for the character rules to judge as in text: unescape
            # mends what it is given (drops a control, maps &#x80; through Windows-1252,
            # makes &#0; U+FFFD), so a refused character became another, silently.
            code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
            return chr(code) if 0 < code <= 0x10FFFF else "\x00"  # \x00: refused as such
        return html5.get(name + ";", f"&{name};")

    return _REFERENCE.sub(one, value).replace(AMPERSAND, "&")


class _InlineParser(HTMLParser):
    def __init__(
        self, note_ids: frozenset[str] | None, allow_note_refs: bool, allow_line_breaks: bool
    ):
        super().__init__(convert_charrefs=False)
        self.note_ids = note_ids
        self.allow_note_refs = allow_note_refs
        self.allow_line_breaks = allow_line_breaks
        self.problems: list[str] = []
        self.rejected: set[str] = set()
        # A run of text arrives in pieces; it is judged whole. `raw` keeps the source as
        # written (references blanked) to spot unfinished tags; `text` the decoded words.
        self.raw: list[str] = []
        self.text: list[str] = []
        self.decoded: list[int] = []  # which runs of `text` a reference decoded
        # Each frame: (element name, attributes, children so far).
        self.stack: list[tuple[str, tuple[tuple[str, str], ...], list[Node]]] = [("", (), [])]

    # Tokenizer callbacks -------------------------------------------------------------

    def handle_starttag(self, tag, attrs):
        self._flush_text()
        self._open(_as_written(tag), _decoded(attrs), self_closing=False)

    def handle_startendtag(self, tag, attrs):
        self._flush_text()
        self._open(_as_written(tag), _decoded(attrs), self_closing=True)

    def handle_endtag(self, tag):
        self._flush_text()
        tag = _as_written(tag)
        if tag in VOID_ELEMENTS:
            self.problems.append(f"</{tag}> is not allowed: <{tag}> has no end tag")
            return
        open_names = [frame[0] for frame in self.stack[1:]]
        if tag in self.rejected and tag not in open_names:
            return
        if tag not in open_names:
            self.problems.append(f"</{tag}> closes an element that is not open")
            return
        while self.stack[-1][0] != tag:
            self.problems.append(f"<{self.stack[-1][0]}> is not closed before </{tag}>")
            self._close_top()
        self._close_top()

    def handle_data(self, data):
        if AMPERSAND not in data:  # most text: no reference to read
            self._written(data)
            return
        position = 0
        for match in _REFERENCE.finditer(data):
            self._written(data[position : match.start()].replace(AMPERSAND, "&"))
            name = match.group(1)
            if name[0] == "#":
                self.raw.append(" ")
                self._charref(name[1:])
            elif (decoded := html5.get(name + ";")) is None:
                self._written(f"&{name};")  # no such name: the text as written
            else:
                self.raw.append(" ")
                self._decoded(decoded)
            position = match.end()
        self._written(data[position:].replace(AMPERSAND, "&"))

    def _written(self, value: str) -> None:
        if value:
            self.raw.append(value)
            self.text.append(value)

    def _charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
        except ValueError:
            code = -1
        if not 0 < code <= 0x10FFFF or forbidden_character(chr(code)):
            self.problems.append(f"&#{name}; is not a character that may appear in text")
            return
        self._decoded(unescape(f"&#{name};"))

    def _decoded(self, value: str) -> None:
        self.decoded.append(len(self.text))
        self.text.append(value)

    def _flush_text(self) -> None:
        if not self.text:
            return
        raw, runs, decoded = "".join(self.raw), self.text, self.decoded
        self.raw, self.text, self.decoded = [], [], []
        if _UNFINISHED_TAG.search(raw):
            self.problems.append("contains an unfinished or malformed tag")
        # A note reference is one written as such: "&#91;^n]" is the text "[^n]", so a
        # reference cannot hide from the budgets, which count the "[^" of the source. The
        # runs between decoded ones are searched; a decoded run is text as it stands.
        pending = ""
        start = 0
        for end in [*decoded, len(runs)]:
            written = "".join(runs[start:end])
            position = 0
            for match in _NOTE_REF.finditer(written):
                self._text(pending + written[position : match.start()])
                pending = ""
                self._note_ref(match.group(1))
                position = match.end()
            pending += written[position:]
            if end < len(runs):
                pending += runs[end]
            start = end + 1
        self._text(pending)

    def _text(self, value: str) -> None:
        if value:
            self._append(Text(value))

    def handle_comment(self, data):
        self._flush_text()
        self.problems.append("HTML comments are not allowed")

    def handle_decl(self, decl):
        self.problems.append("markup declarations are not allowed")

    def unknown_decl(self, data):
        self.problems.append("markup declarations are not allowed")

    def handle_pi(self, data):
        self.problems.append("processing instructions are not allowed")

    # Tree building -------------------------------------------------------------------

    def _open(self, tag: str, attrs: list[tuple[str, str | None]], *, self_closing: bool):
        allowed = ALLOWED_ATTRIBUTES.get(tag)
        if allowed is None:
            self.problems.append(f"<{tag}> is not allowed in inline text")
            self.rejected.add(tag)
            return
        if tag == "br" and not self.allow_line_breaks:
            self.problems.append("<br> is not allowed here: this text is a single line")
        if tag == "a" and any(frame[0] == "a" for frame in self.stack):
            self.problems.append("a link may not contain another link")
        checked = self._check_attributes(tag, attrs, allowed)
        if len(self.stack) > MAX_DEPTH and tag not in VOID_ELEMENTS:
            self.problems.append(f"markup is nested more than {MAX_DEPTH} elements deep")
            self.rejected.add(tag)
            return
        if tag in VOID_ELEMENTS:
            self._append(Element(tag, checked, ()))
        elif self_closing:
            self.problems.append(f"<{tag}/> is not allowed: write <{tag}>…</{tag}>")
        else:
            self.stack.append((tag, checked, []))

    def _check_attributes(
        self, tag: str, attrs: list[tuple[str, str | None]], allowed: frozenset[str]
    ) -> tuple[tuple[str, str], ...]:
        seen: dict[str, str] = {}
        for name, value in attrs:
            if name not in allowed:
                self.problems.append(f'attribute "{name}" is not allowed on <{tag}>')
            elif name in seen:
                self.problems.append(f'attribute "{name}" is repeated on <{tag}>')
            elif value is None:
                self.problems.append(f'attribute "{name}" on <{tag}> needs a value')
            else:
                problem = _attribute_problem(tag, name, value)
                if problem:
                    self.problems.append(problem)
                elif tag == "a" and name == "href":
                    value = written_url(value)
                seen[name] = value
        if tag == "a" and "href" not in seen:
            self.problems.append('<a> needs an "href" attribute')
        return tuple(seen.items())

    def _note_ref(self, note_id: str):
        if not self.allow_note_refs:
            self.problems.append(f"note references such as [^{note_id}] are not allowed here")
        elif not NOTE_ID.fullmatch(note_id):
            self.problems.append(f"[^{note_id}] is not a valid note reference")
        elif self.note_ids is not None and note_id not in self.note_ids:
            self.problems.append(f"[^{note_id}] refers to a note the article does not have")
        elif any(frame[0] == "a" for frame in self.stack):
            self.problems.append(f"[^{note_id}] may not stand inside a link")
        else:
            self._append(NoteRef(note_id))

    def _append(self, node: Node):
        self.stack[-1][2].append(node)

    def _close_top(self):
        name, attrs, children = self.stack.pop()
        self._append(Element(name, attrs, tuple(children)))

    def finish(self) -> list[str]:
        self._flush_text()
        rawdata = getattr(self, "rawdata", "")
        if rawdata:
            self.problems.append("contains an unfinished or malformed tag")
        while len(self.stack) > 1:
            self.problems.append(f"<{self.stack[-1][0]}> is never closed")
            self._close_top()
        return self.problems

    def root_children(self) -> tuple[Node, ...]:
        return tuple(self.stack[0][2])


def _as_written(name: str) -> str:
    return name.replace(AMPERSAND, "&")


def _decoded(attrs: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    return [
        (_as_written(name), None if value is None else decode_attribute(value))
        for name, value in attrs
    ]


def _attribute_problem(tag: str, name: str, value: str) -> str | None:
    bad_char = character_problem(value, line_breaks=False)
    if bad_char:
        return f'attribute "{name}" {bad_char}'
    if tag == "a" and name == "href":
        return link_problem(value, LINK_SCHEMES)
    if name == "lang" and (problem := language_tag_problem(value)):
        return f"lang: {problem}"
    if name == "dir" and value not in {"ltr", "rtl", "auto"}:
        return f'dir="{value}" must be "ltr", "rtl" or "auto"'
    if name == "title" and not value.strip():
        return 'attribute "title" must not be empty'
    return None


# What the URL standard has a browser percent-encode in a path, query or fragment, and so
# what no valid href carries as it is (the Nu checker refuses it): | [ ] { } ^ ` " < > and a
# % that starts no escape. White space, controls and backslashes are refused before.
_TO_ENCODE = re.compile(r'["<>\[\]^`{|}\x7f]|%(?![0-9A-Fa-f]{2})')


def written_url(url: str) -> str:
    """A link validated by `link_problem` as an href carries it: what a browser would
    percent-encode anyway encoded, and each "#" after the first (the fragment's start)
    encoded too; the same address, written so every checker reads it as one."""
    scheme, colon, rest = url.partition(":")
    host = ""
    if rest.startswith("//"):
        end = next((i for i, c in enumerate(rest) if i >= 2 and c in "/?#"), len(rest))
        host, rest = rest[:end], rest[end:]
    rest = _TO_ENCODE.sub(lambda m: f"%{ord(m.group()):02X}", rest)
    head, hash_, fragment = rest.partition("#")
    return f"{scheme}{colon}{host}{head}{hash_}{fragment.replace('#', '%23')}"


def link_problem(url: str, schemes: frozenset[str]) -> str | None:
    """Explain why `url` is not an absolute link with one of `schemes`, or return None."""
    if url != url.strip() or any(ch.isspace() for ch in url):
        return f"link {url!r} must not contain white space"
    if "\\" in url:
        # A browser reads it as "/" in a web address, so the link would not go where it says.
        return f"link {url!r} must not contain a backslash"
    bidi = url_character_problem(url)
    if bidi:
        return bidi
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"link {url!r} is not a valid URL"
    del port
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        return f"link {url!r} must use one of the schemes {allowed}"
    if scheme == "mailto":
        return None if parts.path and "@" in parts.path else f"link {url!r} needs an address"
    if not parts.hostname:
        return f"link {url!r} needs a host name"
    if ":" not in parts.hostname and "" in parts.hostname.removesuffix(".").split("."):
        return f"link {url!r} has an empty label in its host name"
    if parts.username is not None or parts.password is not None:
        return f"link {url!r} must not carry a user name or password"
    if len(url) > MAX_LINK:
        return f"link is longer than {MAX_LINK} characters"
    if later_rules.apply():
        if "[" in parts.netloc and not _BRACKETED.fullmatch(parts.netloc.rpartition("@")[2]):
            # urlsplit reads the host of "[::1]evil.example" as ::1 and ignores the rest,
            # which the URL standard (and every checker) refuses, and every output wrote.
            return f"link {url!r} has more than a port after its bracketed host"
        if problem := _host_problem(parts.hostname, "[" in parts.netloc):
            return f"link {url!r} {problem}"
    return None


_BRACKETED = re.compile(r"\[[^\[\]]*\](?::[0-9]*)?")


# What the URL standard forbids in a host (its "forbidden domain code points", less those a
# URL cannot hold at all); the HTML checkers refuse a link whose host holds one.
_FORBIDDEN_IN_HOST = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")


def _host_problem(host: str, bracketed: bool) -> str | None:
    """Why `host` is none a browser or checker reads as written, or None. As the URL
    standard reads a host: percent-decoded, then mapped as UTS #46 says (full-width letters
    and digits, upper case); then an IPv6 address in brackets (without a zone), four decimal
    numbers when it ends in a number (0x7f.1 or 4294967296 would be read as an address of
    their own), or labels of at most 63 characters as sent (xn-- and all), none holding a
    forbidden character, an xn-- label that Punycode decodes, a mark first or a joiner where
    its script uses none; at most 253 characters as sent. An IPv4 address has no root dot."""
    if bracketed:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return "has a bracketed host that is not an IPv6 address"
        return "names a network zone in its host, which links cannot" if "%" in host else None
    try:
        name = unquote(host, errors="strict")
        if not name.isascii():
            name = idna.uts46_remap(name, std3_rules=False, transitional=False)
    except (UnicodeError, idna.IDNAError):
        return "has a host name that is not valid IDNA (an international domain name)"
    labels = name.removesuffix(".").split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        four = len(labels) == 4 and all(_DECIMAL_OCTET.fullmatch(label) for label in labels)
        if four and not name.endswith("."):
            return None
        return "has a host that ends in a number but is not an IPv4 address such as 192.0.2.1"
    if _FORBIDDEN_IN_HOST.search(name) or "" in labels:
        return "has a character no host name may hold"
    # Lengths first, on the labels as sent: Python's Punycode costs the label's length times
    # its distinct characters (a label of 1,016 CJK characters took 0.6 s to encode, and a
    # body of 190 such links 103 s to refuse). An encoded label is at least 4 longer than a
    # label beyond ASCII ("xn--" and one character or more for each), never shorter.
    if any(len(label) > (63 if label.isascii() else 59) for label in labels):
        return "has a label longer than 63 characters in its host name"
    if len(name.removesuffix(".")) > 253:
        return "has a host name longer than 253 characters"
    sent = []  # the lengths of the labels as DNS carries them
    for label in labels:
        if label.isascii():
            if label.startswith("xn--"):
                decoded = _a_label_decoded(label[4:])
                if decoded is None or _u_label_problem(decoded):
                    return "has an xn-- label in its host name that is not valid Punycode"
            sent.append(len(label))
        elif label.startswith("xn--") or _u_label_problem(label):
            return "has a host name that is not valid IDNA (an international domain name)"
        else:
            sent.append(4 + encoded_length(label))  # "xn--" and the Punycode
    if max(sent) > 63:
        return "has a label longer than 63 characters in its host name"
    if sum(sent) + len(sent) - 1 > 253:  # and the dots between
        return "has a host name longer than 253 characters"
    return None


def _a_label_decoded(encoded: str) -> str | None:
    """An A-label's Punycode decoded, if it decodes to a label UTS #46 keeps as it is."""
    try:
        decoded = encoded.encode("ascii").decode("punycode")
        kept = idna.uts46_remap(decoded, std3_rules=False, transitional=False) == decoded
    except (UnicodeError, ValueError, idna.IDNAError):
        return None
    return decoded if kept and not decoded.isascii() else None


def _u_label_problem(label: str) -> bool:
    """Whether a label beyond ASCII breaks UTS #46's rules as browsers apply them: a
    combining mark first, or a joiner (ZWNJ, ZWJ) where its script does not use one."""
    if unicodedata.category(label[0])[0] == "M":
        return True
    try:
        return any(
            character in "\u200c\u200d" and not idna.core.valid_contextj(label, position)
            for position, character in enumerate(label)
        )
    except ValueError:  # a joiner beside a character this Python's Unicode does not name
        return True


_DECIMAL_OCTET = re.compile(r"25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]")
