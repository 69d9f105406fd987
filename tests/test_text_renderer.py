"""The plain-text rendering's line filling: what textwrap would do, without its cost."""

from __future__ import annotations

import textwrap

from hypothesis import given
from hypothesis import strategies as st

from service.text_renderer import WIDTH, wrap

_WORD = st.text(st.sampled_from("abcdeé-/.,:«»ßنص"), min_size=1, max_size=90)
_GAP = st.sampled_from([" ", "  ", "\t", " \u00a0"])
_LINE = st.lists(st.tuples(_GAP, _WORD), max_size=40).map(
    lambda pairs: "".join(map("".join, pairs))
)
_TEXT = st.lists(_LINE, min_size=1, max_size=4).map("\n".join)


def _textwrap(text: str, indent: str, hanging: str | None) -> str:
    rest = indent if hanging is None else hanging
    lines, first = [], indent
    for line in text.split("\n"):
        filled = textwrap.fill(
            " ".join(line.split()),
            WIDTH,
            initial_indent=first,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines.append(filled or first.rstrip())
        first = rest
    return "\n".join(lines)


@given(
    text=_TEXT,
    indent=st.sampled_from(["", "    ", "  - ", "[iv] "]),
    hanging=st.sampled_from([None, "", "    ", "      "]),
)
def test_wrap_fills_lines_as_textwrap_does(text, indent, hanging):
    assert wrap(text, indent, hanging) == _textwrap(text, indent, hanging)


def test_a_word_longer_than_a_line_stands_alone():
    long = "x" * (WIDTH + 10)
    assert wrap(f"short {long} tail") == f"short\n{long}\ntail"
