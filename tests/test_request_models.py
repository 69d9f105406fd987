"""Request models: declared constraints refuse in the service's words, at JSON Pointers."""

from __future__ import annotations

from typing import Annotated, ClassVar

import pytest
from pydantic import AfterValidator, Field, ValidationError

from service.characters import forbidden_character
from service.errors import FieldError
from service.request_models import RequestModel, in_words, request_errors

SEEN: list[str] = []


def _seen(value: str) -> str:
    SEEN.append(value)
    if problem := forbidden_character(value):
        raise ValueError(problem)
    return value


class Note(RequestModel):
    unknown_field_message: ClassVar[str] = "is not a field of a note"
    missing_field_messages: ClassVar[dict[str, str]] = {"text": "is required: say something"}

    text: Annotated[
        str,
        Field(min_length=2, max_length=5),
        in_words("must be 2 to 5 characters", blank="must not be blank", string_type="text!"),
        AfterValidator(_seen),
    ]


def _errors(body) -> list[FieldError]:
    with pytest.raises(ValidationError) as caught:
        Note.model_validate(body)
    return request_errors(caught.value, Note)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (5, "text!"),
        ("x", "must be 2 to 5 characters"),
        ("xxxxxx", "must be 2 to 5 characters"),
        ("  ", "must not be blank"),
    ],
)
def test_the_declared_constraints_refuse_in_words(text, message):
    assert _errors({"text": text}) == [FieldError("/text", message)]


def test_the_constraints_are_the_published_schema():
    schema = Note.model_json_schema()
    assert schema["properties"]["text"] == {
        "type": "string",
        "minLength": 2,
        "maxLength": 5,
        "title": "Text",
    }
    assert schema["additionalProperties"] is False


def test_a_lone_surrogate_reaches_the_character_rules_after_the_constraints():
    SEEN.clear()
    assert _errors({"text": "\ud800" * 6}) == [FieldError("/text", "must be 2 to 5 characters")]
    assert SEEN == []
    refused = _errors({"text": "a\ud800"})
    assert refused[0].message.endswith("contains the character U+D800, which is not allowed")
    assert SEEN == ["a\ud800"]  # the original, not the stand-in the constraints judged


def test_unknown_fields_come_first_with_escaped_pointers_then_missing_ones():
    assert _errors({"a/b": 1, "t~": 2}) == [
        FieldError("/a~1b", "is not a field of a note"),
        FieldError("/t~0", "is not a field of a note"),
        FieldError("/text", "is required: say something"),
    ]


def test_a_model_is_strict_and_frozen():
    assert _errors({"text": b"ab"}) == [FieldError("/text", "text!")]
    note = Note.model_validate({"text": "ab"})
    with pytest.raises(ValidationError):
        note.text = "cd"  # type: ignore[misc]
