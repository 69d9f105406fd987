"""The character rules every string of an article follows, in one place (SPEC §1).

No field may hold a C0 or C1 control, a lone surrogate or a noncharacter, nor more than 30
combining marks in a row. Only fields that
may span lines (inline text such as paragraphs, captions, notes; descriptions) may hold
a line feed or a tab; every other field is a single line. In every line of every field,
each bidirectional embedding, override or isolate is closed in the order it was opened,
so no field can reorder the text that follows it in a title, a mail header or a log.
Inline text is judged after its character references are decoded.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from . import later_rules

_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane + 0xFFFE)}{chr(plane + 0xFFFF)}" for plane in range(0, 0x110000, 0x10000)
)
# Forbidden in any field: controls (bar tab and line feed), lone surrogates, noncharacters.
_FORBIDDEN = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff{_NONCHARACTERS}]")
# The same rule for text with no character beyond U+FFFF, which is nearly all text: a class
# of BMP ranges is one table look-up per character, while the 32 astral noncharacters above
# make the full class test each character against every range in turn (ten times slower).
_FORBIDDEN_IN_BMP = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# Unicode's stream-safe limit (UAX #15): no text of any language stacks more than 30
# combining marks (non-starters) on one character. A longer run is one grapheme that
# shaping lays out as a whole: 20,000 marks on one letter held a PDF printer for 4 s.
MAX_MARKS = 30


def _non_starters(first: int, last: int) -> str:
    """The non-starters from `first` to `last`, as the ranges of a character class."""
    ranges: list[str] = []
    start = None
    for code in range(first, last + 2):
        if code <= last and unicodedata.combining(chr(code)):
            if start is None:
                start = code
        elif start is not None:
            ranges.append(f"{chr(start)}-{chr(code - 1)}")
            start = None
    return "".join(ranges)


# Two classes, as for the forbidden characters: a class with any astral range is tested
# range by range (a hundred times slower), so the full one is for text that needs it.
_BMP_MARKS = _non_starters(0, 0xFFFF)
_MARK_RUN_IN_BMP = re.compile(f"[{_BMP_MARKS}]{{{MAX_MARKS + 1}}}")
# Every non-starter lies below U+20000.
_MARK_RUN = re.compile(f"[{_BMP_MARKS}{_non_starters(0x10000, 0x1FFFF)}]{{{MAX_MARKS + 1}}}")
_NOT_IN_ONE_LINE = re.compile("[\t\n\u2028\u2029]")
_LINE_BREAKS = re.compile("[\n\u2028\u2029]")
_OPENERS = {
    "\u202a": "\u202c",  # LRE
    "\u202b": "\u202c",  # RLE
    "\u202d": "\u202c",  # LRO
    "\u202e": "\u202c",  # RLO
    "\u2066": "\u2069",  # LRI
    "\u2067": "\u2069",  # RLI
    "\u2068": "\u2069",  # FSI
}
_CLOSERS = frozenset(_OPENERS.values())
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Also the marks: a URL has no use for any character that changes reading order.
_BIDI_IN_URL = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CHARACTER_NAMES = {
    "\t": "a tab",
    "\n": "a line break",
    "\u2028": "a line separator",
    "\u2029": "a paragraph separator",
}


def forbidden_character(value: str) -> str | None:
    """Describe the first character no field may carry, or None."""
    if value.isascii():
        match, marks = _FORBIDDEN_IN_BMP.search(value), None
    elif not _ASTRAL.search(value):
        match, marks = _FORBIDDEN_IN_BMP.search(value), _MARK_RUN_IN_BMP
    else:
        match, marks = _FORBIDDEN.search(value), _MARK_RUN
    if match is None:
        if marks is not None and marks.search(value):
            return (
                f"stacks more than {MAX_MARKS} combining marks on one character, more than "
                "any writing uses (Unicode's stream-safe limit)"
            )
        return None
    return f"contains the character U+{ord(match.group()):04X}, which is not allowed"


def fit_for_a_page(value: str) -> str:
    """`value` with each character no HTML document may hold (controls, noncharacters, lone
    surrogates) replaced by U+FFFD, as a browser does with NUL: for showing input again
    beside the error that names the character."""
    return _FORBIDDEN.sub("\ufffd", value)


def line_break_problem(value: str) -> str | None:
    """Describe the first character a single-line field may not carry, or None."""
    match = _NOT_IN_ONE_LINE.search(value)
    if match is None:
        return None
    character = match.group()
    return (
        f"must be a single line, but contains {_CHARACTER_NAMES[character]}"
        f" (U+{ord(character):04X})"
    )


# Writing needs two or three levels; each wrapped line of plain text reopens the controls
# still open, so 5,000 nested isolates made a 420 KB article a 59 MB text part.
MAX_BIDI_DEPTH = 16


def bidi_problem(value: str, max_depth: int | None = MAX_BIDI_DEPTH) -> str | None:
    """Describe the first bidirectional control left open or closed out of order, or None."""
    if not BIDI_CONTROLS.search(value):
        return None
    for line in _LINE_BREAKS.split(value):
        if not BIDI_CONTROLS.search(line):
            continue
        open_controls: list[str] = []
        for character in line:
            if character in _OPENERS:
                open_controls.append(character)
                if max_depth is not None and len(open_controls) > max_depth:
                    return f"nests bidirectional embeddings and isolates more than {max_depth} deep"
            elif character in _CLOSERS:
                if not open_controls:
                    return (
                        f"closes U+{ord(character):04X}, but no bidirectional embedding"
                        " or isolate is open"
                    )
                inner = open_controls[-1]
                if _OPENERS[inner] != character:
                    return (
                        f"closes U+{ord(character):04X} while U+{ord(inner):04X} is open:"
                        " close bidirectional controls in the reverse order of opening"
                    )
                open_controls.pop()
        if open_controls:
            opener = open_controls[-1]
            return (
                f"leaves the bidirectional control U+{ord(opener):04X} open: close it with"
                f" U+{ord(_OPENERS[opener]):04X} on the same line"
            )
    return None


def with_bidi_closed(value: str) -> str:
    """`value` with each bidirectional embedding, override or isolate it leaves open on its
    last line closed at its end, innermost first: for text cut from a longer field."""
    return value + bidi_closers(bidi_left_open(value))


def bidi_left_open(value: str, already: Sequence[str] = ()) -> list[str]:
    """The bidirectional controls still open at the end of `value` (outermost first), given
    those `already` open before it."""
    open_controls = list(already)
    if not BIDI_CONTROLS.search(value):
        return open_controls
    for character in value:
        if character in _OPENERS:
            open_controls.append(character)
        elif character in _CLOSERS and open_controls:
            if _OPENERS[open_controls[-1]] == character:
                open_controls.pop()
        elif character in "\n\u2028\u2029":
            open_controls.clear()
    return open_controls


def bidi_closers(open_controls: Sequence[str]) -> str:
    """What closes `open_controls`, innermost first."""
    return "".join(_OPENERS[opener] for opener in reversed(open_controls))


def joins_previous(character: str) -> bool:
    """Part of the character before it: a combining mark (variation selectors are marks
    too: an ideograph's variant, an emoji's presentation) or a zero-width joiner."""
    return character == "\u200d" or unicodedata.category(character)[0] == "M"


def may_part(before: str, after: str) -> bool:
    """Whether text may be cut or broken between `before` and `after` without splitting a
    character as a reader sees it: what joins the character before it, a skin tone, and
    whatever follows a zero-width joiner stay with it."""
    return before != "\u200d" and not joins_previous(after) and unicodedata.category(after) != "Sk"


def may_part_at(text: str, index: int) -> bool:
    """`may_part` between text[index - 1] and text[index], knowing the run around them: a
    flag is a pair of regional indicators, so in a run of them a pair is never parted."""
    if is_regional_indicator(text[index - 1]) and is_regional_indicator(text[index]):
        start = index - 1
        while start > 0 and is_regional_indicator(text[start - 1]):
            start -= 1
        return (index - start) % 2 == 0
    return may_part(text[index - 1], text[index])


def is_regional_indicator(character: str) -> bool:
    """One of the 26 letters two of which make a flag (🇫 🇷: 🇫🇷)."""
    return "\U0001f1e6" <= character <= "\U0001f1ff"


ELLIPSIS = "…"


def cut_at_word(text: str, length: int) -> str:
    """`text` cut to at most `length` characters with an ellipsis: at the last space if one
    falls in the second half, so no word is cut; else (scripts written without spaces, one
    long word) between two characters that may part. Any bidirectional control the cut left
    open is closed, so it cannot reorder what follows."""
    if len(text) <= length:
        return text
    space = text.rfind(" ", 0, length + 1)
    if space >= length // 2:
        head = text[:space]
    else:
        end = length
        while end > length // 2 and not may_part_at(text, end):
            end -= 1
        head = text[:end]
    return with_bidi_closed(head.rstrip(" ,;:\u2013\u2014-") + ELLIPSIS)


def character_problem(value: str, *, line_breaks: bool) -> str | None:
    """Why `value` breaks the character rules, or None; `line_breaks` for multi-line fields.
    The limit on nested bidirectional controls came later (later_rules.py)."""
    return (
        forbidden_character(value)
        or (None if line_breaks else line_break_problem(value))
        or bidi_problem(value, max_depth=MAX_BIDI_DEPTH if later_rules.apply() else None)
    )


def url_character_problem(url: str) -> str | None:
    """Why `url` holds a character no link needs, or None."""
    match = _BIDI_IN_URL.search(url)
    if match is None:
        return None
    return f"link must not contain the bidirectional control U+{ord(match.group()):04X}"


# Letters that show nothing: Hangul fillers and the blank braille pattern.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Characters that take no space of their own: spaces and separators, formatting characters
# (zero-width space and joiners, soft hyphen, word joiner, bidirectional marks, byte order
# mark), combining marks with nothing to combine with, controls.
_BLANK_CATEGORIES = frozenset(("Zs", "Zl", "Zp", "Cf", "Mn", "Me", "Cc"))


def is_blank(text: str) -> bool:
    """True when `text` shows nothing a reader could see or hear: "must not be empty" means
    visible text, not a zero-width space, a soft hyphen or a Hangul filler."""
    if text.isascii():
        return not text.strip()
    return all(
        character.isspace()
        or character in _BLANK_LETTERS
        or unicodedata.category(character) in _BLANK_CATEGORIES
        or _IGNORABLE.match(character) is not None
        for character in text
    )


# Default_Ignorable_Code_Point ranges with code points not yet assigned (category Cn): no
# release of Unicode will give them anything to show.
_IGNORABLE = re.compile("[\u2065\ufff0-\ufff8\U000e0000-\U000e0fff]")


def was_blank(text: str) -> bool:
    """What empty meant before visible text was asked for: white space alone. An article
    stored by an earlier release is read back by this rule (later_rules.py)."""
    return not text.strip()


# White space a line may break at: str.split's, less the no-break spaces (U+00A0, the
# figure space U+2007 and the narrow U+202F), which hold a number or French punctuation
# to its neighbour.
_BREAKING_SPACE = re.compile("[^\\S\u00a0\u2007\u202f]+")


def words_of(text: str) -> list[str]:
    """The words of `text` between breaking spaces (str.split, but a no-break space binds)."""
    if text.isascii():
        return text.split()
    return [word for word in _BREAKING_SPACE.split(text) if word]


def squeezed(text: str) -> str:
    """`text` on one line: each run of breaking white space one space, no-break spaces kept."""
    return " ".join(words_of(text))
