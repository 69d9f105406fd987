"""Endnote numbering and labels."""

from __future__ import annotations

import pytest

from service.notes import note_label, number_notes
from service.validation import validate_article

from .corpus import every_block


def test_notes_numbered_by_first_reference_then_unreferenced():
    endnotes = number_notes(validate_article(every_block()))
    assert [(n.note.id, n.number, n.reference_count) for n in endnotes.notes] == [
        ("first", 1, 2),
        ("second", 2, 2),
        ("third", 3, 2),
        ("never", 4, 0),
    ]


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
