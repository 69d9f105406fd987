"""Articles the tests render: the repository's examples plus generated stress cases."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

# Poppler extracts the Arabic lam-alef ligatures (lam with an alef, and, in Noto Sans
# Arabic, with an alef maksura: ليلى as ليىل) with their two letters swapped; words
# holding one are checked by the other renderings and the structure, not by extraction.
LAM_ALEF = re.compile("[\u0644][\u0622\u0623\u0625\u0627\u0649]")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAICAIAAAB/FOjAAAAAHklEQVR4nGM4"
    "IadBEmIgWYOIxgKSEB00/CIR0F4DACIv16GVB6khAAAAAElFTkSuQmCC"
)


# The repository's own examples; a missing one is a failure, never a skip.
GOOD_EXAMPLES = ("bike-lanes", "mercado-es")
BAD_EXAMPLES = ("file-image", "missing-alt", "script-markup", "unknown-note")


def examples() -> dict[str, dict[str, Any]]:
    """The good examples in `examples/`, each of which must exist."""
    return {
        name: json.loads((EXAMPLES / f"{name}.json").read_text("utf-8")) for name in GOOD_EXAMPLES
    }


def bad_examples() -> dict[str, bytes]:
    """The bad examples in `examples/bad/`, each of which must exist."""
    return {name: (EXAMPLES / "bad" / f"{name}.json").read_bytes() for name in BAD_EXAMPLES}


def minimal(**fields: Any) -> dict[str, Any]:
    article = {
        "id": "minimal",
        "headline": "A minimal article",
        "published_at": "2026-03-12T08:00:00Z",
        "body": [{"type": "paragraph", "text": "One paragraph."}],
    }
    article.update(fields)
    return article


def every_block() -> dict[str, Any]:
    """Every block type, every inline element, notes referenced twice and never."""
    return {
        "id": "every-block",
        "kind": "quick-read",
        "headline": "Every <em>block</em> &amp; every element",
        "standfirst": "A test of <strong>all</strong> the shapes an article may take.",
        "published_at": "2026-03-12T08:00:00+01:00",
        "updated_at": "2026-03-12T10:15:00+01:00",
        "authors": [
            {"name": "Ada Lovelace", "url": "https://example.org/ada"},
            {"name": "Grace Hopper"},
            {"name": "Katherine Johnson"},
        ],
        "publisher": {
            "name": "Test Gazette",
            "description": "Tests daily.",
            "location": "Testville",
            "url": "https://example.org/",
        },
        "section": "Science",
        "tags": ["testing", "accessibility"],
        "canonical_url": "https://example.org/every-block",
        "body": [
            {
                "type": "paragraph",
                "text": (
                    "Plain, <em>em</em>, <strong>strong</strong>, <i>i</i>, <b>b</b>, "
                    '<cite>cite</cite>, <q>q</q>, <abbr title="abbreviation">abbr</abbr>, '
                    '<code>code</code>, <span lang="fr">bonjour</span>, <bdi>bdi</bdi>, '
                    "H<sub>2</sub>O, E=mc<sup>2</sup>, <small>small</small>, <mark>mark</mark>, "
                    '<s>struck</s>,<br>after a break, a <a href="mailto:desk@example.org">mail '
                    "link</a> and &eacute;l&egrave;ve. [^first]"
                ),
            },
            {"type": "heading", "level": 2, "text": "Second level [^second]"},
            {"type": "heading", "level": 3, "text": "Third level"},
            {"type": "heading", "level": 4, "text": "Fourth level"},
            {
                "type": "quote",
                "text": 'Quoted words in French: <span lang="fr">c’est la vie</span>.',
                "attribution": "A speaker [^first]",
            },
            {"type": "quote", "text": "Ceci est une citation.", "lang": "fr"},
            {"type": "list", "style": "bulleted", "items": ["Alpha", "Beta [^third]"]},
            {"type": "list", "style": "numbered", "items": ["One", "Two"]},
            {
                "type": "image",
                "src": PNG,
                "alt": "A small test pattern",
                "caption": "The caption [^second]",
                "credit": "Test Agency",
                "width": 16,
                "height": 8,
            },
            {"type": "image", "src": PNG, "decorative": True, "credit": "Ornament Studio"},
            {"type": "image", "src": PNG, "alt": "An image with no caption"},
            {
                "type": "table",
                "caption": "Results [^third]",
                "header": ["Name", "Score"],
                "rows": [["Alice", "10"], ["Bob", "<em>9</em>"]],
            },
            {"type": "divider"},
            {"type": "paragraph", "text": "Closing words."},
        ],
        "notes": [
            {
                "id": "first",
                "text": "The first source, <cite>Journal</cite>.",
                "url": "https://example.org/first",
            },
            {"id": "second", "text": "The second source."},
            {"id": "third", "text": "The third source."},
            {"id": "never", "text": "A note no one references."},
        ],
    }


def right_to_left() -> dict[str, Any]:
    return {
        "id": "rtl-arabic",
        "kind": "quick-read",
        "headline": "افتتاح مكتبة جديدة في وسط المدينة",
        "standfirst": "تضم المكتبة أكثر من عشرين ألف كتاب.",
        "language": "ar",
        "published_at": "2026-03-12T09:00:00+03:00",
        "authors": [{"name": "ليلى حسن"}],
        "publisher": {"name": "النشرة اليومية"},
        "note_numbering": "decimal",
        "body": [
            {"type": "paragraph", "text": "افتتحت البلدية يوم الاثنين مكتبة عامة جديدة. [^a]"},
            {
                "type": "paragraph",
                "text": (
                    'قال المدير: <q>هذه <span lang="en" dir="ltr">library</span> للجميع</q>. [^a]'
                ),
            },
            {"type": "list", "style": "numbered", "items": ["القاعة الرئيسية", "قسم الأطفال [^b]"]},
            {
                "type": "image",
                "src": PNG,
                "alt": "واجهة المكتبة الجديدة",
                "caption": "الواجهة",
                "credit": "البلدية",
            },
        ],
        "notes": [
            {"id": "a", "text": "بيان صحفي من البلدية."},
            {"id": "b", "text": "موقع البلدية.", "url": "https://example.org/ar"},
        ],
    }


def hebrew() -> dict[str, Any]:
    return {
        "id": "rtl-hebrew",
        "headline": "גשר חדש נפתח לתנועה",
        "language": "he",
        "published_at": "2026-03-12T09:00:00+02:00",
        "note_numbering": "lower-alpha",
        "body": [{"type": "paragraph", "text": "הגשר נפתח הבוקר. [^x]"}],
        "notes": [{"id": "x", "text": "דובר העירייה."}],
    }


def many_notes(count: int = 60) -> dict[str, Any]:
    body = [
        {"type": "paragraph", "text": f"Claim number {n} stands here. [^n{n}]"}
        for n in range(1, count + 1)
    ]
    body.append(
        {"type": "paragraph", "text": f"Repeating the first and the last. [^n1] [^n{count}]"}
    )
    return {
        "id": "many-notes",
        "headline": "An article with many notes",
        "published_at": "2026-03-12T08:00:00Z",
        "note_numbering": "lower-roman",
        "body": body,
        "notes": [{"id": f"n{n}", "text": f"Source {n}."} for n in range(count, 0, -1)],
    }


def long_article(paragraphs: int = 80) -> dict[str, Any]:
    words = (
        "council budget transport river housing school market library harbour "
        "election museum weather"
    ).split()
    body: list[dict[str, Any]] = []
    for n in range(paragraphs):
        if n % 10 == 0:
            body.append({"type": "heading", "level": 2, "text": f"Part {n // 10 + 1}"})
        sentence = " ".join(words[(n + k) % len(words)] for k in range(40))
        body.append({"type": "paragraph", "text": f"Paragraph {n}: {sentence.capitalize()}."})
    return {
        "id": "long-article",
        "headline": "A long article",
        "published_at": "2026-03-12T08:00:00Z",
        "body": body,
    }


def highlighted() -> dict[str, Any]:
    """Links and code inside highlights (light in both schemes), in a language Broadsheet has
    no interface words for (its own words, such as the mail's button, are in English)."""
    return {
        "id": "evidenziato",
        "language": "it",
        "headline": "Il consiglio approva le nuove piste ciclabili",
        "published_at": "2026-03-12T08:00:00+01:00",
        "body": [
            {
                "type": "paragraph",
                "text": 'Il piano <mark>vedi <a href="https://example.org/piano">il testo</a> '
                "e il parametro <code>rate_limit</code>[^fonte]</mark> entra in vigore ad aprile.",
            },
            {"type": "paragraph", "text": "I lavori inizieranno <mark>lunedì</mark>."},
        ],
        "notes": [{"id": "fonte", "text": "Delibera del consiglio, 11 marzo 2026."}],
    }


def corpus() -> dict[str, dict[str, Any]]:
    """Name → article JSON, for every test that renders 'all articles'."""
    return {
        **examples(),
        "every-block": every_block(),
        "rtl-arabic": right_to_left(),
        "rtl-hebrew": hebrew(),
        "many-notes": many_notes(),
        "long-article": long_article(),
        "minimal": minimal(),
        "highlighted": highlighted(),
    }


_TAG = re.compile(r"<[^>]+>")
_REF = re.compile(r"\[\^[^\]]*\]")


def article_words(article: dict[str, Any]) -> list[str]:
    """Every word a reader must find in a rendering: the article's visible text, unmarked."""
    import html

    texts = [article["headline"], article.get("standfirst", "")]
    texts += [author["name"] for author in article.get("authors", [])]
    for block in article["body"]:
        for key in ("text", "attribution", "caption", "credit"):
            texts.append(block.get(key) or "")
        texts += block.get("items", []) + block.get("header", [])
        for row in block.get("rows", []):
            texts += row
    texts += [note["text"] for note in notes_in_numbered_order(article)]
    words: list[str] = []
    for text in texts:
        plain = html.unescape(_TAG.sub(" ", _REF.sub(" ", text)))
        words += re.findall(r"\w+", plain)
    return words


def notes_in_numbered_order(article: dict[str, Any]) -> list[dict[str, Any]]:
    """Notes as they are listed: by first reference in the body, then the rest."""
    from service.reading import read
    from service.validation import validate_article

    order = [note.source.id for note in read(validate_article(article)).notes]
    by_id = {note["id"]: note for note in article.get("notes", [])}
    return [by_id[note_id] for note_id in order]


def mutated(article: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(article)
