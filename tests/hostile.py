"""Valid articles built to cost as much as possible: at a budget's maximum, or just past it."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from typing import Any

from service import budgets
from service.errors import BadArticle
from service.print_budget import LIMIT, layout_cost
from service.reading import read
from service.validation import validate_article

from .corpus import PNG


def article(body: list[dict[str, Any]], notes: list[dict[str, Any]] | None = None, **fields):
    result: dict[str, Any] = {
        "id": "hostile",
        "headline": "A costly article",
        "published_at": "2026-03-12T08:00:00Z",
        "body": body,
    }
    if notes:
        result["notes"] = notes
    result.update(fields)
    return result


def _split(total: int, size: int) -> list[int]:
    return [min(size, total - start) for start in range(0, total, size)]


def list_items(total: int) -> dict[str, Any]:
    """`total` one-word list items, in lists of at most 500."""
    return article(
        [{"type": "list", "style": "bulleted", "items": ["x"] * n} for n in _split(total, 500)]
    )


def table_cells(total: int, columns: int = 10) -> dict[str, Any]:
    """One table of `total` cells (a multiple of `columns`), its header included."""
    rows = total // columns - 1
    return article(
        [
            {
                "type": "table",
                "caption": "Cells",
                "header": [f"h{c}" for c in range(columns)],
                "rows": [[str(r * columns + c) for c in range(columns)] for r in range(rows)],
            }
        ]
    )


def note_references(total: int, notes: int = 1) -> dict[str, Any]:
    """`total` references to `notes` notes, 2,000 to a paragraph."""
    counter = iter(range(total))
    body = [
        {"type": "paragraph", "text": " ".join(f"[^n{next(counter) % notes}]" for _ in range(n))}
        for n in _split(total, 2_000)
    ]
    return article(body, [{"id": f"n{k}", "text": f"Source {k}."} for k in range(notes)])


def inline_elements(total: int) -> dict[str, Any]:
    """`total` <b> elements, 2,000 to a paragraph."""
    return article(
        [{"type": "paragraph", "text": " ".join(["<b>x</b>"] * n)} for n in _split(total, 2_000)]
    )


def characters(total: int) -> dict[str, Any]:
    """Exactly `total` characters of text and markup, by the budget's way of counting."""
    result = article([])
    rest = total - text_characters(result)
    per_block = len("paragraph") + 19_000
    count = -(-rest // per_block)
    last = rest - per_block * (count - 1) - len("paragraph")
    texts = [("word " * 4_000)[:18_999] + "."] * (count - 1) + ["x" * last]
    result["body"] = [{"type": "paragraph", "text": text} for text in texts]
    return result


def written_in(pattern: str, total: int) -> dict[str, Any]:
    """Paragraphs of `pattern` repeated, `total` characters in all."""
    result = article([])
    texts, rest = [], total
    while rest > 0:
        size = min(rest, 19_000)
        texts.append((pattern * (size // len(pattern) + 1))[:size].strip() or "x")
        rest -= size
    result["body"] = [{"type": "paragraph", "text": text} for text in texts]
    return result


def emoji_names(total: int) -> dict[str, Any]:
    """Authors and tags named in emoji, printed in the byline and the tags: `total` emoji
    in all, 200 to a name (a name's most), 50 authors and 50 tags at the most."""
    result = article([{"type": "paragraph", "text": "Names."}])
    names = ["\U0001f600" * min(200, total - start) for start in range(0, min(total, 20_000), 200)]
    result["authors"] = [{"name": name} for name in names[:50]]
    result["tags"] = names[50:100]
    return result


def text_characters(value: Any, key: str = "") -> int:
    """Characters of every string of the article but image sources (the budget's measure)."""
    if isinstance(value, str):
        return 0 if key == "src" else len(value)
    if isinstance(value, dict):
        return sum(text_characters(item, k) for k, item in value.items())
    if isinstance(value, list):
        return sum(text_characters(item) for item in value)
    return 0


def images(count: int, src: str = PNG) -> dict[str, Any]:
    return article([{"type": "image", "src": src, "alt": f"Image {n}"} for n in range(count)])


def png_header(width: int, height: int) -> str:
    """A data: URI PNG whose header claims `width` by `height` (its pixels are never sent)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    chunk += struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    data = b"\x89PNG\r\n\x1a\n" + chunk + b"\0\0\0\0IEND\xaeB`\x82"
    return "data:image/png;base64," + base64.b64encode(data).decode()


def png(width: int, height: int, seed: int = 0) -> str:
    """A real PNG of `width` by `height`, one colour per `seed`: small to send, big to decode."""
    from PIL import Image

    colour = (seed * 37 % 256, seed * 91 % 256, seed * 53 % 256)
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def everything() -> dict[str, Any]:
    """Every budget at its maximum at once, in one article, characters last."""
    parts = (
        list_items(budgets.LIST_ITEMS.maximum),
        table_cells(budgets.TABLE_CELLS.maximum),
        note_references(budgets.NOTE_REFERENCES.maximum),
        inline_elements(budgets.ELEMENTS.maximum),
        images(budgets.IMAGES.maximum),
    )
    result = article([block for part in parts for block in part["body"]], parts[2]["notes"])
    rest = budgets.CHARACTERS.maximum - text_characters(result)
    filler = characters(rest + text_characters(article([])))["body"]
    result["body"] += filler
    return result


def noise_png(width: int, height: int, seed: int = 0) -> str:
    """A PNG of random pixels: it compresses to about 3 bytes a pixel, like a photo's detail."""
    import random

    from PIL import Image

    pixels = random.Random(seed).randbytes(width * height * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), pixels).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def the_2mib_list() -> dict[str, Any]:
    """The issue's case: 1,000 lists of 500 items, about 2 MiB of JSON."""
    return article(
        [{"type": "list", "style": "bulleted", "items": ["x"] * 500} for _ in range(1_000)]
    )


def at_maximum() -> dict[str, dict[str, Any]]:
    """One article at the maximum of each budget (each valid, each accepted)."""
    side = int(budgets.PIXELS.maximum**0.5) // 2
    return {
        "list_items": list_items(budgets.LIST_ITEMS.maximum),
        "table_cells": table_cells(budgets.TABLE_CELLS.maximum),
        "note_references": note_references(budgets.NOTE_REFERENCES.maximum),
        "elements": inline_elements(budgets.ELEMENTS.maximum),
        "characters": characters(budgets.CHARACTERS.maximum),
        "images": images(budgets.IMAGES.maximum),
        "everything": everything(),
        "pixels": article(
            [
                {"type": "image", "src": png(side * 2, side, seed), "alt": f"Flat colour {seed}"}
                for seed in range(2)
            ]
        ),
    }


def pull_quotes(count: int) -> dict:
    """One-word pull quotes in a language of their own, each with its attribution: a box,
    a border and a font to find for each (3 ms apiece, as much as 180 characters)."""
    quote = {"type": "quote", "text": "x", "attribution": "y", "lang": "ar"}
    return article([quote] * count)


DENSEST = {
    "characters": characters,
    "list-items": list_items,
    "table-cells": lambda n: table_cells(n * 14, columns=14),
    "note-references": note_references,
    "elements": inline_elements,
    "japanese": lambda n: written_in("市議会は七対二で計画を承認した。", n),
    "combining-marks": lambda n: written_in("a" + "\u0301" * 30 + " ", n),
    "pull-quotes": pull_quotes,
    "emoji": lambda n: written_in("\U0001f600 ", n),
    "flags": lambda n: written_in("\U0001f1ea\U0001f1f8 ", n),
    "emoji-names": emoji_names,
    "skin-tone-bases": lambda n: written_in("\u261d ", n),  # ☝, drawn in colour
}


def densest(kind: str) -> dict:
    """The heaviest article of one kind of box that the print budget still lets through."""
    build = DENSEST[kind]
    low, high = 1, 200_000
    while low < high:
        middle = (low + high + 1) // 2
        try:
            cost = layout_cost(read(validate_article(build(middle))))
        except BadArticle:
            cost = LIMIT + 1
        low, high = (middle, high) if cost <= LIMIT else (low, middle - 1)
    return build(low)
