"""Endnote labels: a note's number shown in the article's numbering style."""

from __future__ import annotations

_ROMAN = (
    (1000, "m"),
    (900, "cm"),
    (500, "d"),
    (400, "cd"),
    (100, "c"),
    (90, "xc"),
    (50, "l"),
    (40, "xl"),
    (10, "x"),
    (9, "ix"),
    (5, "v"),
    (4, "iv"),
    (1, "i"),
)


def note_label(number: int, style: str) -> str:
    """`number` as CSS list-style-type `style` would show it (decimal, lower-roman, lower-alpha)."""
    if style == "lower-roman" and 0 < number < 4000:
        parts = []
        for value, letters in _ROMAN:
            count, number = divmod(number, value)
            parts.append(letters * count)
        return "".join(parts)
    if style == "lower-alpha":
        letters = ""
        while number > 0:
            number, remainder = divmod(number - 1, 26)
            letters = chr(ord("a") + remainder) + letters
        return letters
    return str(number)
