"""Hypothesis: arbitrary JSON and mutated valid articles never make the service answer 500."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .corpus import corpus

ROUTES = ["/v1/render/html", "/v1/render/text", "/v1/render/email"]
VALID = list(corpus().values())

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)
# Values that are likely to hit interesting paths of the validator.
tricky_strings = st.sampled_from(
    [
        "",
        " ",
        "<",
        "</em>",
        "<em>",
        "[^",
        "[^a]",
        "&",
        "&#0;",
        "&#x110000;",
        "\u0000",
        "\ud800",
        "javascript:alert(1)",
        "https://127.0.0.1/",
        "data:image/png;base64,",
        "2026-13-40T99:99:99Z",
        "ar",
        "x" * 400,
        "<a href='https://x.org'>[^a]</a>",
        "<br>",
        "<span lang='en'>",
    ]
) | st.text(max_size=30)
mutation_values = st.one_of(json_values, tricky_strings)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


@st.composite
def mutated_articles(draw):
    article = copy.deepcopy(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(article) if p]
        path = draw(st.sampled_from(paths))
        parent = article
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(mutation_values)
        else:
            parent[path[-1]] = draw(mutation_values)
    return article


def _check(client, route, body: bytes):
    response = client.post(route, data=body, content_type="application/json")
    assert response.status_code < 500, response.data[:500]
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["status"] == response.status_code
        for error in problem.get("errors", []):
            assert error["pointer"] == "" or error["pointer"].startswith("/")
    else:
        assert response.status_code == 200


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("route", ROUTES)
@FUZZ
@given(value=json_values)
def test_arbitrary_json_never_500(client, route, value):
    _check(client, route, json.dumps(value).encode())


@pytest.mark.parametrize("route", ROUTES)
@FUZZ
@given(article=mutated_articles())
def test_mutated_articles_never_500(client, route, article):
    _check(client, route, json.dumps(article).encode("utf-8", "surrogatepass"))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(article=mutated_articles())
def test_mutated_articles_never_500_as_pdf(pdf_client, article):
    _check(pdf_client, "/v1/render/pdf", json.dumps(article).encode())


@pytest.fixture(scope="module")
def pdf_client():
    from service import create_app

    return create_app(
        {"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://", "PDF_WORKERS": 1}
    ).test_client()


@FUZZ
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_never_500(client, raw):
    _check(client, "/v1/render/html", raw)


markup_fragments = st.lists(
    st.sampled_from(
        [
            "<b>",
            "</b>",
            "<em>",
            "</em>",
            "<a href='https://x.org'>",
            "</a>",
            "<a>",
            "[^n]",
            "[^",
            "]",
            "&amp;",
            "&#0;",
            "&#x10FFFF;",
            "&bogus;",
            "&",
            "<br>",
            "<br/>",
            "</br>",
            "<",
            ">",
            "x",
            " ",
            "\n",
            "<span lang='ar' dir='rtl'>",
            "<span lang='xx-'>",
            "</span>",
            "<!--",
            "-->",
            "<![CDATA[",
            "<?pi?>",
            "<script>",
            "</script>",
            "<b/>",
            "<abbr title>",
            "</abbr>",
            "<q>",
            "</q>",
            "'",
            '"',
            "=",
            "<b\n",
            "\u202e",
            "\ufeff",
            "\u0000",
        ]
    ),
    max_size=40,
).map("".join)


@FUZZ
@given(text=markup_fragments, route=st.sampled_from(ROUTES))
def test_composed_markup_never_500(client, text, route):
    article = {
        "id": "markup",
        "headline": "Markup",
        "published_at": "2026-03-12T08:00:00Z",
        "body": [
            {"type": "paragraph", "text": text},
            {"type": "list", "style": "bulleted", "items": [text or "x"]},
        ],
        "notes": [{"id": "n", "text": "A note."}],
    }
    _check(client, route, json.dumps(article).encode())
