"""Note labels: a note's number as the article's numbering style shows it."""

from __future__ import annotations

import pytest

from service.notes import note_label


@pytest.mark.parametrize(
    ("style", "number", "label"),
    [
        ("decimal", 12, "12"),
        ("lower-roman", 4, "iv"),
        ("lower-roman", 1994, "mcmxciv"),
        ("lower-alpha", 1, "a"),
        ("lower-alpha", 26, "z"),
        ("lower-alpha", 27, "aa"),
        ("lower-alpha", 703, "aaa"),
    ],
)
def test_note_labels_follow_css_counter_styles(style, number, label):
    assert note_label(number, style) == label
