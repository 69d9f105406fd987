"""The schema's patterns refuse what the validator refuses, wherever a pattern can say it."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.characters import forbidden_character
from service.inline import InlineError, parse_inline
from service.schema_patterns import FORBIDDEN, inline_text

from .test_validation_fuzz import markup_fragments

RICH_TEXT = re.compile(inline_text(allow_note_refs=True, allow_line_breaks=True))
HEADLINE = re.compile(inline_text(allow_note_refs=False, allow_line_breaks=False))
# What the validator refuses and no regular expression can see: how elements nest, an
# attribute given twice, what a character reference stands for, which notes exist, whether
# bidirectional controls are closed in order.
BEYOND_A_PATTERN = (
    "is not closed before",
    "is never closed",
    "closes an element that is not open",
    "may not contain another link",
    "may not stand inside a link",
    "nested more than",
    "is repeated on",
    "is not a character that may appear in text",
    "refers to a note the article does not have",
    "bidirectional",
    "a link must have visible text",  # the published pattern cannot see inside a link
)


def _problems(text: str, **kwargs) -> list[str]:
    if not text.strip():
        return ["must not be empty"]
    try:
        parse_inline(text, note_ids=frozenset({"n"}), **kwargs)
    except InlineError as error:
        return error.problems
    return []


# Well-formed inline text, built from the allowlist's own shapes (random fragments seldom
# make one): it shows the patterns refuse nothing the validator accepts.
_ELEMENTS = [
    ("<em>", "</em>"),
    ("<B>", "</b >"),
    ('<a href="https://example.org/a?b=1&amp;c=2#d">', "</a>"),
    ("<a HREF='mailto:desk@example.org'>", "</A>"),
    ("<a href=http://example.org:8080/>", "</a>"),
    ('<span lang="sr-Latn" dir="rtl">', "</span>"),
    ("<span dir=auto>", "</span>"),
    ("<abbr title='World Health Organization'>", "</abbr>"),
    ("<q>", "</q>"),
    ("<code>", "</code>"),
    ("<sub>", "</sub>"),
    ("<s>", "</s>"),
]
_LEAVES = st.sampled_from(
    [
        "word",
        " ",
        "\t",
        "&amp;",
        "&eacute;",
        "a < b",
        "x<3",
        "[",
        "]",
        "[^",
        "[^n]",
        "[^&amp;]",  # text: a reference ends the run a note reference must lie in
        "[^a&b]",
        "'",
        '"',
        "=",
        ">",
        "é",
        "\U0001f600",
        "\n",
        "<br>",
        "<br/>",
        "<BR >",
    ]
)
well_formed = st.recursive(
    _LEAVES,
    lambda children: (
        st.lists(children, min_size=1, max_size=4).map("".join)
        | st.tuples(st.sampled_from(_ELEMENTS), children).map(lambda t: t[0][0] + t[1] + t[0][1])
    ),
    max_leaves=16,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=markup_fragments | well_formed)
def test_inline_pattern_agrees_with_the_validator(text):
    for pattern, kwargs in (
        (RICH_TEXT, {}),
        (HEADLINE, {"allow_note_refs": False, "allow_line_breaks": False}),
    ):
        problems = _problems(text, **kwargs)
        matches = pattern.search(text) is not None
        if not problems:
            assert matches, (pattern is HEADLINE, text)
        elif matches:
            assert all(any(b in p for b in BEYOND_A_PATTERN) for p in problems), (text, problems)


def test_the_forbidden_characters_are_the_validators():
    forbidden = re.compile(f"[{FORBIDDEN}]")
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue  # lone surrogates: see FORBIDDEN
        char = chr(code)
        assert (forbidden.match(char) is not None) == (forbidden_character(char) is not None), code
