"""The body of POST /v1/editions, read by the model /openapi.json publishes: every refusal,
its pointer and its words, and every problem in one answer."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from service.edition_request import EditionRequest, read_edition_request
from service.errors import EmptyEdition, InvalidEdition

LENGTH = "must be 1 to 300 characters"
VISIBLE = "must have visible text, not only invisible characters"
DATE = "must be a date as YYYY-MM-DD"
IDS = "is required: a list of article ids"
NOT_A_LIST = "must be a list of article ids"  # present: "is required" sent the user astray
NOT_AN_ID = "must be an article id"
REPEAT = "names an article already listed"
UNKNOWN = "is not a field of an edition request"


def _refusal(body) -> list[tuple[str, str]]:
    with pytest.raises(InvalidEdition) as caught:
        read_edition_request(body)
    assert type(caught.value) is InvalidEdition
    errors = [(e.pointer, e.message) for e in caught.value.errors]
    count = len(errors)
    assert caught.value.detail == (
        f"{count} problem{'s' if count != 1 else ''} found; see errors for where."
    )
    return errors


def test_a_request_reads_into_the_model():
    asked = read_edition_request(
        {"title": " Late edition ", "date": "2026-03-14", "article_ids": ["evening", "morning"]}
    )
    assert isinstance(asked, EditionRequest)
    assert asked.title == " Late edition "
    assert asked.on == date(2026, 3, 14)
    assert asked.article_ids == ["evening", "morning"]
    bare = read_edition_request({"article_ids": ["a"], "title": None, "date": None})
    assert (bare.title, bare.on) == (None, None)


@pytest.mark.parametrize(
    ("title", "message"),
    [
        (5, "must be a string"),
        (["x"], "must be a string"),
        ("", VISIBLE),
        ("   ", VISIBLE),  # it has a length; it lacks visible text ("must be 1 to 300")
        ("x" * 301, LENGTH),
        ("\x07" * 301, LENGTH),  # the length is judged first, as the old reader did
        ("a\x07b", "contains the character U+0007, which is not allowed"),
        ("Two\nlines", "must be a single line, but contains a line break (U+000A)"),
        ("a\tb", "must be a single line, but contains a tab (U+0009)"),
        ("a\u2028b", "must be a single line, but contains a line separator (U+2028)"),
        ("a\ud800b", "contains the character U+D800, which is not allowed"),
        ("\ud800" * 301, LENGTH),
        ("\ufdd0", "contains the character U+FDD0, which is not allowed"),
        (
            "abc\u202edef",
            "leaves the bidirectional control U+202E open: close it with U+202C on the same line",
        ),
    ],
)
def test_a_title_follows_the_article_character_rules(title, message):
    assert _refusal({"title": title, "article_ids": ["a"]}) == [("/title", message)]


def test_a_title_of_the_full_length_is_taken():
    assert read_edition_request({"title": "x" * 300, "article_ids": ["a"]}).title == "x" * 300


@pytest.mark.parametrize(
    "day", [20260312, True, "", "12/03/2026", "20260312", "2026-3-12", "2026-02-30", "2026-03-12\n"]
)
def test_a_date_is_a_real_day_as_yyyy_mm_dd(day):
    assert _refusal({"date": day, "article_ids": ["a"]}) == [("/date", DATE)]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, [("/article_ids", IDS)]),
        ({"article_ids": None}, [("/article_ids", NOT_A_LIST)]),
        ({"article_ids": "a"}, [("/article_ids", NOT_A_LIST)]),
        ({"article_ids": {"a": 1}}, [("/article_ids", NOT_A_LIST)]),
        (
            {"article_ids": [5, "a", "a", "B", "", "a", ["a"], "a" * 121, "-a"]},
            [
                ("/article_ids/0", NOT_AN_ID),
                ("/article_ids/2", REPEAT),
                ("/article_ids/3", NOT_AN_ID),
                ("/article_ids/4", NOT_AN_ID),
                ("/article_ids/5", REPEAT),
                ("/article_ids/6", NOT_AN_ID),
                ("/article_ids/7", NOT_AN_ID),
                ("/article_ids/8", NOT_AN_ID),
            ],
        ),
        # A repeat of an id that is not one is told it is not an id.
        (
            {"article_ids": ["B", "B"]},
            [("/article_ids/0", NOT_AN_ID), ("/article_ids/1", NOT_AN_ID)],
        ),
    ],
)
def test_article_ids_are_each_an_id_each_once(body, errors):
    assert _refusal(body) == errors


def test_every_problem_is_reported_at_once_unknown_fields_first():
    body = {
        "title": "Two\nlines",
        "date": "12/03/2026",
        "article_ids": ["ok", "Not An Id", "ok"],
        "colour": "red",
        "a/b~": 1,
    }
    assert _refusal(body) == [
        ("/colour", UNKNOWN),
        ("/a~1b~0", UNKNOWN),
        ("/title", "must be a single line, but contains a line break (U+000A)"),
        ("/date", DATE),
        ("/article_ids/1", NOT_AN_ID),
        ("/article_ids/2", REPEAT),
    ]


def test_an_empty_list_alone_is_an_empty_edition():
    with pytest.raises(EmptyEdition) as caught:
        read_edition_request({"article_ids": []})
    assert caught.value.detail == "article_ids names no article."
    assert [(e.pointer, e.message) for e in caught.value.errors] == [("/article_ids", "is empty")]
    assert _refusal({"article_ids": [], "title": 5}) == [
        ("/title", "must be a string"),
        ("/article_ids", "is empty"),
    ]


@pytest.mark.parametrize("body", [None, [], "x", 5, [{"article_ids": ["a"]}]])
def test_a_body_that_is_not_an_object(body):
    with pytest.raises(InvalidEdition) as caught:
        read_edition_request(body)
    assert caught.value.detail == "The request must be a JSON object."
    assert [(e.pointer, e.message) for e in caught.value.errors] == [("", "must be an object")]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=10,
)
bodies = json_values | st.fixed_dictionaries(
    {},
    optional={
        "title": json_values,
        "date": json_values | st.dates().map(date.isoformat),
        "article_ids": st.lists(st.sampled_from(["a", "b", "B", ""]) | json_values, max_size=4),
        "x": json_values,
    },
)


def _read(body) -> EditionRequest | InvalidEdition:
    try:
        return read_edition_request(body)
    except InvalidEdition as refusal:
        return refusal


@given(body=bodies)
def test_any_json_is_a_request_or_an_invalid_edition(body):
    outcome = _read(body)
    if isinstance(outcome, InvalidEdition):
        assert outcome.errors
        assert all(e.pointer == "" or e.pointer.startswith("/") for e in outcome.errors)
    else:
        assert outcome.article_ids
        assert len(set(outcome.article_ids)) == len(outcome.article_ids)


@pytest.mark.parametrize("title", ["Spring\nedition", "   ", "a\u2028b", "a\x07b"])
def test_the_published_schema_refuses_the_titles_the_server_refuses(title):
    """The schema said only 1 to 300 characters: a client that checks with it sent a title
    of two lines, or of spaces, and met a 422."""
    schema = EditionRequest.model_json_schema()
    body = {"title": title, "article_ids": ["a"]}
    assert list(Draft202012Validator(schema).iter_errors(body))
    with pytest.raises(InvalidEdition):
        read_edition_request(body)
    assert not list(Draft202012Validator(schema).iter_errors({**body, "title": "Spring"}))
