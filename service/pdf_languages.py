"""Language changes in a PDF's structure: WeasyPrint tags only the document's language.

PDF/UA-1 (§7.2) asks that every change of natural language be declared, so that a screen
reader reads a Hebrew quote in an English article with a Hebrew voice. WeasyPrint builds
one structure element per box of an HTML element and gives none a /Lang; this wraps its
builder so that the element of every HTML element with a `lang` attribute carries it (a
span, a quote, the English words of a label in another language, an article in an
edition). Descendants inherit it in the structure tree as in HTML.

WeasyPrint's builder is a private function: if a release renames it, nothing is wrapped,
and the test that reads /Lang back from a printed PDF fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pydyf
from weasyprint.formatting_structure import boxes
from weasyprint.pdf import tags

_PASSED_THROUGH = ("html", "body")  # their boxes yield their children's elements
_build_box_tree = getattr(tags, "_build_box_tree", None)


def _build_with_languages(box: Any, *rest: Any) -> Iterator[pydyf.Dictionary]:
    assert _build_box_tree is not None
    lang = _declared_language(box)
    for element in _build_box_tree(box, *rest):
        if lang:
            element["Lang"] = pydyf.String(lang)
        yield element


def _declared_language(box: Any) -> str | None:
    if isinstance(box, boxes.PageBox | boxes.MarginBox):
        return None
    element = getattr(box, "element", None)
    if element is None or getattr(box, "element_tag", None) in _PASSED_THROUGH:
        return None
    lang = element.get("lang")
    return lang or None


def install() -> None:
    """Wrap WeasyPrint's structure builder, once per process (printing.py imports it)."""
    if _build_box_tree is not None and tags._build_box_tree is _build_box_tree:
        tags._build_box_tree = _build_with_languages
