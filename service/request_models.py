"""Request bodies as strict pydantic models: one declaration both checks a body and describes
it in /openapi.json, and every refusal comes back in the service's words at a JSON Pointer.

The lengths, patterns and types a model declares are the ones pydantic enforces and the
ones its JSON Schema publishes; `in_words` only rewords pydantic's refusals of them, and
the rules a schema cannot say (the character rules, a real date) follow as validators.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from .errors import FieldError
from .validation import pointer_to

_SURROGATE = re.compile("[\ud800-\udfff]")


class RequestModel(BaseModel):
    """A request body: strict types, frozen, and no field the model does not name."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    # What a field the model does not name is told, and each required field when missing.
    unknown_field_message: ClassVar[str] = "is not a field of this request"
    missing_field_messages: ClassVar[Mapping[str, str]] = {}


def in_words(message: str, *, blank: str | None = None, **by_type: str) -> WrapValidator:
    """The string constraints declared before this, refusing with `message`, or with
    `by_type[kind]` for a refusal of that pydantic kind; `blank` refuses white space alone."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if blank is not None and isinstance(value, str) and not value.strip():
            raise PydanticCustomError("blank", blank)
        try:
            # pydantic-core cannot read a lone surrogate: a stand-in of the same length
            # lets the constraints judge the rest, and the character rules that follow
            # still see (and name) the surrogate itself.
            handler(_SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value)
        except ValidationError as error:
            kind = error.errors()[0]["type"]
            raise PydanticCustomError(kind, by_type.get(kind, message)) from None
        return value

    return WrapValidator(validate)


def request_errors(error: ValidationError, model: type[RequestModel]) -> list[FieldError]:
    """Each refusal in `error` at its pointer; unknown and missing fields in `model`'s words."""
    unknown, known = [], []
    for item in error.errors(include_url=False, include_context=False, include_input=False):
        pointer = pointer_to(item["loc"])
        if item["type"] == "extra_forbidden":
            unknown.append(FieldError(pointer, model.unknown_field_message))
        elif item["type"] == "missing":
            name = str(item["loc"][0])
            known.append(FieldError(pointer, model.missing_field_messages.get(name, "is required")))
        else:
            known.append(FieldError(pointer, item["msg"]))
    # Unknown fields first: a misspelt name explains the missing field that follows it.
    return unknown + known
