"""What `POST /v1/editions` may ask for: the model that checks the body is the one
/openapi.json publishes, and a refusal points at every field at fault at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from . import schema_patterns as patterns
from .article import ARTICLE_ID
from .characters import character_problem, is_blank
from .days import DATE_PATTERN, day_from
from .errors import EditionTooLarge, EmptyEdition, FieldError, InvalidEdition
from .request_models import RequestModel, in_words, request_errors

MAX_TITLE = 300
ARTICLE_ID_PATTERN = f"^{ARTICLE_ID.pattern}$"
_TITLE_LENGTH = f"must be 1 to {MAX_TITLE} characters"
_DATE = "must be a date as YYYY-MM-DD"
_ARTICLE_IDS = "is required: a list of article ids"
_NOT_A_LIST = "must be a list of article ids"
_VISIBLE = "must have visible text, not only invisible characters"
_EMPTY = FieldError("/article_ids", "is empty")


def _one_line(title: str) -> str:
    """The article's character rules for a single-line field, as a headline follows them."""
    problem = character_problem(title, line_breaks=False)
    if problem:
        raise PydanticCustomError("character", problem)
    if is_blank(title):  # printed as the cover's heading and the PDF's title
        raise PydanticCustomError("empty", _VISIBLE)
    return title


def _a_real_day(text: str) -> str:
    if day_from(text) is None:
        raise PydanticCustomError("date", _DATE)
    return text


def _each_once(value: Any, handler: ValidatorFunctionWrapHandler) -> list[str]:
    """The ids checked one by one, and each repeat pointed at, in the same refusal."""
    try:
        ids, found = handler(value), []
    except ValidationError as error:
        ids, found = [], error.errors()
    if found and not found[0]["loc"]:  # the list itself: not a list, or empty
        kind = found[0]["type"]
        raise PydanticCustomError(kind, _EMPTY.message if kind == "too_short" else _NOT_A_LIST)
    problems = {item["loc"][0]: item["msg"] for item in found}
    seen: set[str] = set()
    for index, article_id in enumerate(value):
        if index not in problems:
            if article_id in seen:
                problems[index] = "names an article already listed"
            seen.add(article_id)
    if not problems:
        return ids
    raise ValidationError.from_exception_data(
        "article_ids",
        [
            {"type": PydanticCustomError("article_id", problems[i]), "loc": (i,), "input": value[i]}
            for i in sorted(problems)
        ],
    )


Title = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_TITLE,
        # Published as the headline's rules are (one line, some visible text); the
        # server's own check (_one_line) also counts invisible characters as blank.
        json_schema_extra={
            "pattern": patterns.plain_text(),
            "not": {"pattern": patterns.CONTROLS_IN_ONE_LINE},
        },
    ),
    in_words(_TITLE_LENGTH, blank=_VISIBLE, string_type="must be a string"),
    AfterValidator(_one_line),
]
Day = Annotated[str, Field(pattern=DATE_PATTERN), in_words(_DATE), AfterValidator(_a_real_day)]
ArticleId = Annotated[str, Field(pattern=ARTICLE_ID_PATTERN), in_words("must be an article id")]
ArticleIds = Annotated[
    list[ArticleId],
    Field(min_length=1, json_schema_extra={"uniqueItems": True}),  # as _each_once holds
    WrapValidator(_each_once),
]


class EditionRequest(RequestModel):
    """`POST /v1/editions`: the stored articles to print, in order, with a title and date."""

    model_config = ConfigDict(title="EditionRequest")
    unknown_field_message: ClassVar[str] = "is not a field of an edition request"
    missing_field_messages: ClassVar[Mapping[str, str]] = {"article_ids": _ARTICLE_IDS}

    title: Title | None = Field(None, description="one line of text")
    date: Day | None = Field(None, description="YYYY-MM-DD")
    article_ids: ArticleIds = Field(
        description="stored article ids, each once, in the order to print them"
    )

    @property
    def on(self) -> dt.date | None:
        """The date the edition's cover shows, when the request names one."""
        return dt.date.fromisoformat(self.date) if self.date is not None else None


def read_edition_request(body: Any, max_articles: int | None = None) -> EditionRequest:
    """The request in `body`, or InvalidEdition pointing at each field at fault (EmptyEdition
    when an empty list of articles is the only fault, EditionTooLarge when a list longer
    than `max_articles` is: counted, not read, so a long list costs no more than its count)."""
    if not isinstance(body, dict):
        raise InvalidEdition(
            "The request must be a JSON object.", [FieldError("", "must be an object")]
        )
    ids = body.get("article_ids")
    if max_articles is not None and isinstance(ids, list) and len(ids) > max_articles:
        too_many = FieldError(
            "/article_ids", f"has {len(ids)} articles; the limit is {max_articles}"
        )
        others = {name: value for name, value in body.items() if name != "article_ids"}
        errors = [too_many, *(e for e in _problems(others) if e.pointer != "/article_ids")]
        if len(errors) == 1:
            raise EditionTooLarge(
                f"The edition has {len(ids)} articles; the limit is {max_articles}.", errors
            )
        raise _invalid(errors)
    try:
        return EditionRequest.model_validate(body)
    except ValidationError as error:
        errors = request_errors(error, EditionRequest)
    if errors == [_EMPTY]:
        raise EmptyEdition("article_ids names no article.", errors)
    raise _invalid(errors)


def _problems(body: dict[str, Any]) -> list[FieldError]:
    try:
        EditionRequest.model_validate(body)
    except ValidationError as error:
        return request_errors(error, EditionRequest)
    return []


def _invalid(errors: list[FieldError]) -> InvalidEdition:
    count = len(errors)
    return InvalidEdition(
        f"{count} problem{'s' if count != 1 else ''} found; see errors for where.", errors
    )
