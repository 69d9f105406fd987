"""The article contract as pydantic models: JSON in, a frozen `Article` out."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from . import later_rules
from . import schema_patterns as patterns
from .characters import character_problem, forbidden_character, is_blank, was_blank
from .images import IMAGE_TYPES, MAX_IMAGE_BYTES, is_image_of_type, pixels_problem
from .inline import (
    MAX_LINK,
    NOTE_ID,
    Inline,
    InlineError,
    link_problem,
    parse_inline,
    written_url,
)
from .language import direction_of, language_tag_problem

ARTICLE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,119}")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")
MAX_TEXT = 20_000
MAX_EMBEDDED = -(-MAX_IMAGE_BYTES // 3) * 4  # the largest image allowed, in base64


def _fail(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _require_str(value: Any) -> str:
    if not isinstance(value, str):
        raise _fail("string_type", "must be a string")
    bad_char = forbidden_character(value)
    if bad_char:
        raise _fail("forbidden_character", bad_char)
    if len(value) > MAX_TEXT:
        raise _fail("too_long", f"must be at most {MAX_TEXT} characters")
    return value


def _inline_validator(
    allow_note_refs: bool,
    allow_line_breaks: bool = True,
    max_length: int = MAX_TEXT,
    *,
    needs_words: bool = False,
) -> PlainValidator:
    """Inline markup, judged by parse_inline with the character rules after decoding."""

    def validate(value: Any, info: ValidationInfo) -> Inline:
        source = _require_str(value)
        if len(source) > max_length:
            raise _fail("too_long", f"must be at most {max_length} characters")
        if not source.strip():
            raise _fail("empty", "must not be empty")
        context = info.context or {}
        stored = not later_rules.apply()  # a stored article read back as it was stored
        try:
            inline = parse_inline(
                source,
                note_ids=context.get("note_ids"),
                allow_note_refs=allow_note_refs,
                allow_line_breaks=allow_line_breaks,
                allow_empty_links=stored,
            )
        except InlineError as error:
            raise _fail("inline_markup", "; ".join(error.problems)) from None
        if stored:
            return inline
        plain = source.isascii() and "<" not in source and "&" not in source
        if not plain and is_blank(inline.text) and not inline.note_refs:
            # Markup alone (<em></em>) or invisible characters: an empty heading, cell or title.
            raise _fail("empty", "must have visible text, not only markup or invisible characters")
        if needs_words and inline.note_refs and is_blank(inline.text):
            # A heading or caption of references alone ("[^a]") named its section or table
            # "Note 1" and left an empty outline entry; a table cell of them is a source.
            raise _fail("empty", "must have visible text besides note references")
        return inline

    return PlainValidator(validate)


def _string_schema(
    max_length: int,
    description: str = "",
    *,
    pattern: str | None = None,
    line_breaks: bool = False,
    min_length: int = 1,
) -> WithJsonSchema:
    controls = patterns.CONTROLS_IN_LINES if line_breaks else patterns.CONTROLS_IN_ONE_LINE
    schema: dict[str, Any] = {
        "type": "string",
        "minLength": min_length,
        "maxLength": max_length,
        "not": {"pattern": controls},
    }
    if pattern:
        schema["pattern"] = pattern
    if description:
        schema["description"] = description
    return WithJsonSchema(schema)


_INLINE = "inline text: plain text with the allowlisted HTML elements"
RichText = Annotated[
    Inline,
    _inline_validator(True),
    _string_schema(MAX_TEXT, _INLINE, pattern=patterns.inline_text(True, True), line_breaks=True),
]
SummaryText = Annotated[
    Inline,
    _inline_validator(False),
    _string_schema(MAX_TEXT, _INLINE, pattern=patterns.inline_text(False, True), line_breaks=True),
]
NoteText = SummaryText
# A heading's or table caption's text: words of its own, not references alone.
TitleText = Annotated[
    Inline,
    _inline_validator(True, needs_words=True),
    _string_schema(MAX_TEXT, _INLINE, pattern=patterns.inline_text(True, True), line_breaks=True),
]
HeadlineText = Annotated[
    Inline,
    _inline_validator(False, False, 300),
    _string_schema(300, _INLINE + ", one line", pattern=patterns.inline_text(False, False)),
]


def _plain_validator(
    max_length: int, *, line_breaks: bool = False, allow_blank: bool = False
) -> PlainValidator:
    def validate(value: Any, info: ValidationInfo) -> str:
        text = _require_str(value)
        blank = is_blank if later_rules.apply() else was_blank
        if not allow_blank and blank(text):
            raise _fail("empty", "must not be empty")  # invisible characters alone are empty
        if len(text) > max_length:
            raise _fail("too_long", f"must be at most {max_length} characters")
        problem = character_problem(text, line_breaks=line_breaks)
        if problem:
            raise _fail("character", problem)
        return text

    return PlainValidator(validate)


def _validate_url(value: Any) -> str:
    url = _require_str(value)
    problem = link_problem(url, frozenset({"http", "https"}))
    if problem:
        raise _fail("url", problem)
    return written_url(url)


def parse_datetime(text: str) -> datetime:
    """An RFC 3339 date-time with an offset, the only form the contract takes; or ValueError."""
    if not _RFC3339.fullmatch(text):
        raise ValueError(
            "must be an RFC 3339 date-time with an offset, such as 2026-03-12T08:00:00+01:00"
        )
    try:
        moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a real date and time") from None
    try:
        moment.astimezone(UTC)  # how it is stored and compared
    except OverflowError:
        raise ValueError(f"{text!r} falls outside the years 0001 to 9999 in UTC") from None
    return moment


def _validate_datetime(value: Any) -> datetime:
    text = _require_str(value)
    try:
        return parse_datetime(text)
    except ValueError as error:
        raise _fail("datetime", str(error)) from None


def _validate_language(value: Any) -> str:
    tag = _require_str(value)
    problem = language_tag_problem(tag)
    if problem:
        raise _fail("language", problem)
    return tag


def _validate_article_id(value: Any) -> str:
    text = _require_str(value)
    if not ARTICLE_ID.fullmatch(text):
        raise _fail("article_id", "must match ^[a-z0-9][a-z0-9-]{0,119}$")
    return text


def _validate_note_id(value: Any) -> str:
    text = _require_str(value)
    if not NOTE_ID.fullmatch(text):
        raise _fail("note_id", "must match ^[A-Za-z0-9_-]{1,40}$")
    return text


def _validate_image_src(value: Any) -> str:
    if not isinstance(value, str):
        raise _fail("string_type", "must be a string")
    src = value
    if src.startswith("data:"):
        return _validate_data_uri(src)
    if len(src) > MAX_TEXT:
        raise _fail("too_long", f"must be at most {MAX_TEXT} characters")
    bad_char = forbidden_character(src)
    if bad_char:
        raise _fail("forbidden_character", bad_char)
    problem = link_problem(src, frozenset({"https"}))
    if problem:
        raise _fail("image_src", f"must be an https URL or a data: URI ({problem})")
    return written_url(src)


def _validate_data_uri(src: str) -> str:
    header, comma, payload = src[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if not comma or encoding.lower() != "base64":
        raise _fail("image_src", "a data: URI must be base64: data:image/png;base64,…")
    media_type = media_type.lower()
    if media_type not in IMAGE_TYPES:
        raise _fail("image_src", "a data: URI must hold PNG, JPEG, GIF or WebP")
    if len(payload) > MAX_EMBEDDED:
        raise _fail("too_long", f"an embedded image must be at most {MAX_IMAGE_BYTES} bytes")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise _fail("image_src", "the data: URI is not valid base64") from None
    if not is_image_of_type(data, media_type):
        raise _fail("image_src", f"the embedded data is not a {media_type} image")
    problem = pixels_problem(data, media_type)
    if problem:
        raise _fail("image_pixels", f"the embedded image is refused: {problem}")
    return src


Url = Annotated[
    str,
    PlainValidator(_validate_url),
    WithJsonSchema(
        {
            "type": "string",
            # No "format": "uri": a client asserting it refused what the server takes and
            # writes out percent-encoded (https://bücher.example/straße, a|b).
            "description": "an absolute http or https URL; characters RFC 3986 does not "
            "allow in one are taken and written out percent-encoded",
            "maxLength": MAX_LINK,
            "pattern": patterns.whole(patterns.url(frozenset({"http", "https"}))),
        }
    ),
]
DateTime = Annotated[
    datetime,
    PlainValidator(_validate_datetime),
    WithJsonSchema(
        {
            "type": "string",
            # No "format": "date-time": JSON Schema's is RFC 3339's grammar alone, which
            # refuses the space between date and time that RFC 3339 §5.6 lets it take.
            "description": "an RFC 3339 date-time with its offset; T or a space between "
            "the date and the time",
            "pattern": patterns.whole(_RFC3339.pattern),
        }
    ),
]
LanguageTag = Annotated[
    str,
    PlainValidator(_validate_language),
    WithJsonSchema(
        {
            "type": "string",
            "description": "BCP 47 tag",
            "maxLength": 64,
            "pattern": patterns.whole(patterns.LANGUAGE_TAG),
        }
    ),
]
ArticleId = Annotated[
    str,
    PlainValidator(_validate_article_id),
    WithJsonSchema({"type": "string", "pattern": patterns.whole(ARTICLE_ID.pattern)}),
]
NoteId = Annotated[
    str,
    PlainValidator(_validate_note_id),
    WithJsonSchema({"type": "string", "pattern": patterns.whole(NOTE_ID.pattern)}),
]
ImageSrc = Annotated[
    str,
    PlainValidator(_validate_image_src),
    # Each with its length: an address's, or an image's of MAX_IMAGE_BYTES in base64.
    WithJsonSchema(
        {
            "type": "string",
            "anyOf": [
                {
                    "pattern": patterns.whole(patterns.url(frozenset({"https"}))),
                    "maxLength": MAX_LINK,
                },
                *(
                    {
                        "pattern": patterns.embedded_image(media_type),
                        "maxLength": len(f"data:{media_type};base64,") + MAX_EMBEDDED,
                    }
                    for media_type in IMAGE_TYPES
                ),
            ],
        }
    ),
]
Name = Annotated[str, _plain_validator(200), _string_schema(200, pattern=patterns.plain_text())]
ShortText = Annotated[
    str,
    _plain_validator(1000, line_breaks=True),
    _string_schema(1000, pattern=patterns.plain_text(), line_breaks=True),
]
AltText = Annotated[
    str,
    _plain_validator(2000, allow_blank=True),
    _string_schema(2000, min_length=0, pattern=patterns.free_text()),
]


def _whole_number(value: Any) -> Any:
    """1600.0 as 1600: JSON has one kind of number, and JSON Schema's "integer" (which the
    published schema says) admits any number with no fraction. 1600.5 stays a float and is
    refused as one; true and false are never numbers here."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Dimension = Annotated[int, Field(ge=1, le=20_000), BeforeValidator(_whole_number)]


class Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Author(Model):
    name: Name
    url: Url | None = None


class Publisher(Model):
    name: Name
    description: ShortText | None = None
    location: ShortText | None = None
    url: Url | None = None


class Note(Model):
    id: NoteId
    text: NoteText
    url: Url | None = None


class Paragraph(Model):
    type: Literal["paragraph"]
    text: RichText


class Heading(Model):
    type: Literal["heading"]
    level: Literal[2, 3, 4]
    text: TitleText


class Quote(Model):
    type: Literal["quote"]
    text: RichText
    attribution: RichText | None = None
    lang: LanguageTag | None = None


class ListBlock(Model):
    type: Literal["list"]
    style: Literal["bulleted", "numbered"]
    items: Annotated[list[RichText], Field(min_length=1, max_length=500)]


class Image(Model):
    # Alt text is required unless the image is decorative; then it has neither alt nor caption.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"decorative": {"const": True}}, "required": ["decorative"]},
            "then": {
                "properties": {
                    "alt": {"anyOf": [{"type": "null"}, {"type": "string", "pattern": "^\\s*$"}]},
                    "caption": {"type": "null"},
                }
            },
            "else": {
                "required": ["alt"],
                "properties": {"alt": {"type": "string", "pattern": "\\S"}},
            },
        }
    )

    type: Literal["image"]
    src: ImageSrc
    alt: AltText | None = None
    decorative: bool = False
    caption: RichText | None = None
    credit: RichText | None = None
    width: Dimension | None = None
    height: Dimension | None = None


class Table(Model):
    type: Literal["table"]
    caption: TitleText
    header: Annotated[list[RichText], Field(min_length=1, max_length=50)]
    rows: Annotated[list[list[RichText]], Field(min_length=1, max_length=2000)]


class Divider(Model):
    type: Literal["divider"]


Block = Annotated[
    Paragraph | Heading | Quote | ListBlock | Image | Table | Divider,
    Field(discriminator="type"),
]
BLOCK_TYPES = ("paragraph", "heading", "quote", "list", "image", "table", "divider")


class Article(Model):
    id: ArticleId
    kind: Literal["article", "quick-read"] = "article"
    headline: HeadlineText
    standfirst: SummaryText | None = None
    language: LanguageTag = "en"
    published_at: DateTime
    updated_at: DateTime | None = None
    authors: Annotated[list[Author], Field(max_length=50)] = []
    publisher: Publisher | None = None
    section: Name | None = None
    tags: Annotated[list[Name], Field(max_length=50)] = []
    canonical_url: Url | None = None
    note_numbering: Literal["decimal", "lower-roman", "lower-alpha"] = "decimal"
    body: Annotated[list[Block], Field(min_length=1, max_length=2000)]
    notes: Annotated[list[Note], Field(max_length=1000)] = []

    @property
    def direction(self) -> str:
        return direction_of(self.language)

    @property
    def is_quick_read(self) -> bool:
        return self.kind == "quick-read"
