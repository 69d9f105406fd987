"""From request bytes to an `Article`, or a `BadArticle` that lists every problem at once.

pydantic checks each field's shape and inline markup; the cross-field rules of the contract
(alt text, table widths, unique notes, dates in order) are checked here on the raw JSON so
they are reported together with the field errors, not only once those are fixed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from . import later_rules
from .article import BLOCK_TYPES, Article, parse_datetime
from .budgets import check_budget
from .characters import is_blank, was_blank
from .errors import BadArticle, FieldError, UnreadableBody

MAX_DEPTH = 16
_SURROGATE = re.compile("[\ud800-\udfff]")
_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this object",
    "union_tag_not_found": 'needs a "type"',
    "string_unicode": "holds a lone surrogate (a half of a UTF-16 pair), which is not text",
}


def parse_json(raw: bytes, source: str = "body") -> Any:
    """Decode UTF-8 JSON strictly: no BOM, no NaN, no duplicate keys; `source` names the input."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableBody(f"The {source} is not UTF-8 (byte {error.start}).") from None
    if not text.strip():
        raise UnreadableBody(f"The {source} is empty: send a JSON object.")
    if text.startswith("\ufeff"):
        raise UnreadableBody(f"The {source} starts with a byte order mark; use UTF-8 without one.")
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise UnreadableBody(
            f"The {source} is not JSON: {error.msg} (line {error.lineno}, column {error.colno})."
        ) from None
    except RecursionError:
        raise UnreadableBody(f"The {source} is nested too deeply.") from None
    except ValueError as error:
        raise UnreadableBody(f"The {source} is not acceptable JSON: {error}") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice in one object")
        # A lone surrogate is no character: no field has such a name, and a model cannot
        # even read the object that holds it to report its other problems.
        if not key.isascii() and _SURROGATE.search(key):
            raise ValueError(f"the key {key!r} holds a lone surrogate, which is not text")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def article_from_bytes(raw: bytes, source: str = "body") -> Article:
    return validate_article(parse_json(raw, source))


def validate_article(data: Any, *, stored: bool = False) -> Article:
    """Validate decoded JSON against the contract; raise BadArticle with every problem.

    `stored` reads back an article the service stored, perhaps under an earlier release:
    the rules that came later (about what a reader must be able to see, and those of
    later_rules.py) are not applied again, so an upgrade never makes it unreadable."""
    if stored:
        with later_rules.reading_stored():
            return _validate_article(data)
    return _validate_article(data)


def _validate_article(data: Any) -> Article:
    """validate_article, under the rules later_rules.apply() says."""
    if not isinstance(data, dict):
        raise BadArticle([FieldError("", "the article must be a JSON object")])
    check_budget(data)  # first: it is the cheap bound on everything that follows
    errors = list(_depth_errors(data, "", 0)) if _nests_deeper_than(data, MAX_DEPTH) else []
    if errors:
        raise BadArticle(errors)
    article: Article | None = None
    try:
        context = {"note_ids": _declared_note_ids(data)}
        article = Article.model_validate(data, context=context)
    except ValidationError as error:
        errors.extend(_field_errors(error))
    errors.extend(_cross_field_errors(data, blank=is_blank if later_rules.apply() else was_blank))
    if errors:
        raise BadArticle(list(dict.fromkeys(errors)))
    assert article is not None
    return article


def _nests_deeper_than(data: Any, limit: int) -> bool:
    """Whether a value lies more than `limit` levels down (the root is level 0); cheaper than
    `_depth_errors`, which builds every value's pointer to name the ones that do."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        container, depth = stack.pop()
        children = container.values() if isinstance(container, dict) else container
        for child in children:
            if depth + 1 > limit:
                return True
            if isinstance(child, (dict, list)) and child:
                stack.append((child, depth + 1))
    return False


def _depth_errors(value: Any, pointer: str, depth: int):
    if depth > MAX_DEPTH:
        yield FieldError(pointer, f"is nested more than {MAX_DEPTH} levels deep")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _depth_errors(item, f"{pointer}/{escape_pointer(key)}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _depth_errors(item, f"{pointer}/{index}", depth + 1)


def escape_pointer(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer_to(loc: Sequence[str | int]) -> str:
    """The JSON Pointer of a pydantic error location: ("body", 3, "text") -> /body/3/text."""
    return "".join(f"/{escape_pointer(part)}" for part in loc)


def _declared_note_ids(data: dict[str, Any]) -> frozenset[str] | None:
    notes = data.get("notes", [])
    if not isinstance(notes, list):
        return None
    return frozenset(
        note["id"] for note in notes if isinstance(note, dict) and isinstance(note.get("id"), str)
    )


def _field_errors(error: ValidationError):
    for item in error.errors(include_url=False, include_input=False):
        loc = list(item["loc"])
        # pydantic puts the block's type tag into the location: /body/3/paragraph/text.
        if len(loc) >= 3 and loc[0] == "body" and loc[2] in BLOCK_TYPES:
            del loc[2]
        kind = item["type"]
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            loc.append("type")
        message = _MESSAGES.get(kind, item["msg"])
        if kind == "union_tag_invalid":
            message = "must be one of " + ", ".join(BLOCK_TYPES)
        if message and not message[1:2].isupper():  # "HTML …" keeps its capitals
            message = message[0].lower() + message[1:]
        yield FieldError(pointer_to(loc), message)


def _cross_field_errors(data: dict[str, Any], blank: Callable[[str], bool] = is_blank):
    notes = data.get("notes")
    if isinstance(notes, list):
        seen: set[str] = set()
        for index, note in enumerate(notes):
            note_id = note.get("id") if isinstance(note, dict) else None
            if isinstance(note_id, str):
                if note_id in seen:
                    yield FieldError(f"/notes/{index}/id", f"note {note_id!r} is defined twice")
                seen.add(note_id)
    body = data.get("body")
    if isinstance(body, list):
        level = 1
        for index, block in enumerate(body):
            if isinstance(block, dict):
                yield from _block_errors(block, f"/body/{index}", blank)
                if block.get("type") == "heading" and block.get("level") in (2, 3, 4):
                    if block["level"] > level + 1:
                        yield FieldError(
                            f"/body/{index}/level",
                            f"a level {block['level']} heading may not follow "
                            f"level {level}: headings must not skip a level",
                        )
                    level = block["level"]
    published = _parsed_datetime(data.get("published_at"))
    updated = _parsed_datetime(data.get("updated_at"))
    if published and updated and updated < published:
        yield FieldError("/updated_at", "must not be earlier than published_at")


def _block_errors(block: dict[str, Any], pointer: str, blank: Callable[[str], bool]):
    if block.get("type") == "image":
        alt = block.get("alt")
        decorative = block.get("decorative", False)
        if decorative is True:
            # As the schema says (^\s*$) and as every release has read it: white space only.
            if isinstance(alt, str) and alt.strip():
                yield FieldError(f"{pointer}/alt", "a decorative image must have no alt text")
            if block.get("caption") is not None:
                yield FieldError(
                    f"{pointer}/caption",
                    "a decorative image has no caption; give it alt text instead",
                )
        elif decorative is False and (not isinstance(alt, str) or blank(alt)):
            yield FieldError(
                f"{pointer}/alt", "is required: describe the image, or mark it decorative"
            )
    if block.get("type") == "table":
        header, rows = block.get("header"), block.get("rows")
        if isinstance(header, list) and isinstance(rows, list):
            for index, row in enumerate(rows):
                if isinstance(row, list) and len(row) != len(header):
                    yield FieldError(
                        f"{pointer}/rows/{index}",
                        f"has {len(row)} cells; the header has {len(header)}",
                    )


def _parsed_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None
