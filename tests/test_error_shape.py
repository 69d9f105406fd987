"""One test pins the problem+json shape; the others check each status."""

from __future__ import annotations

import pytest

from .corpus import bad_examples, minimal


def test_problem_shape(post_json):
    response = post_json("/v1/render/html", minimal(id="Bad Id", body=[]))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert set(problem) == {"type", "title", "status", "detail", "errors"}
    assert problem["status"] == 422
    assert problem["type"].endswith("/invalid-article")
    assert {e["pointer"] for e in problem["errors"]} == {"/id", "/body"}
    assert all(set(e) == {"pointer", "message"} and e["message"] for e in problem["errors"])


@pytest.mark.parametrize(("name", "raw"), bad_examples().items())
@pytest.mark.parametrize("route", ["/v1/render/html", "/v1/render/text"])
def test_bad_examples_are_refused(post_json, name, raw, route):
    response = post_json(route, raw)
    assert response.status_code == 422, name
    assert response.mimetype == "application/problem+json"
    pointers = [e["pointer"] for e in response.get_json()["errors"]]
    expected = {
        "file-image": "/body/0/src",
        "missing-alt": "/body/0/alt",
        "script-markup": "/body/0/text",
        "unknown-note": "/body/0/text",
    }[name]
    assert pointers == [expected]


def test_not_json_is_400(post_json):
    response = post_json("/v1/render/html", b"{not json")
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith("The body is not JSON")


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe{}",
        b"\xef\xbb\xbf{}",
        b'{"a": NaN}',
        b'{"a": 1, "a": 2}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"n": ' + b"9" * 5000 + b"}",
    ],
)
def test_unreadable_bodies_are_400(post_json, raw):
    response = post_json("/v1/render/html", raw)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1", ""],
)
def test_wrong_content_type_is_415(client, content_type):
    response = client.post("/v1/render/html", data=b"{}", content_type=content_type)
    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"


def test_too_large_is_413(make_app):
    client = make_app(MAX_BODY_BYTES=1024).test_client()
    response = client.post("/v1/render/html", json=minimal(standfirst="x" * 2000))
    assert response.status_code == 413
    problem = response.get_json()
    assert problem["status"] == 413
    assert problem["detail"] == "The request body is larger than the limit of 1024 bytes."


@pytest.mark.parametrize("raw", [b"", b"  \r\n\t "])
def test_an_empty_body_says_it_is_empty(post_json, raw):
    response = post_json("/v1/render/html", raw)
    assert response.status_code == 400
    problem = response.get_json()
    assert problem["title"] == "The request could not be understood"
    assert problem["detail"] == "The body is empty: send a JSON object."


def test_unknown_route_is_404_problem(client):
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_browsers_get_an_html_error_page(client):
    response = client.get("/nothing-here", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"<h1>Not found</h1>" in response.data


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/nothing-here", {}, 404),
        ("PATCH", "/subscribe", {}, 405),
        ("POST", "/subscribe", {"json": {"email": "not-an-address"}}, 422),
        # A JSON body is answered in JSON, even from a client that ranks HTML first.
        ("POST", "/subscribe", {"json": {"email": "x"}, "headers": {"Accept": "text/html"}}, 422),
    ],
)
def test_a_client_that_accepts_anything_gets_problem_json(client, method, path, kwargs, status):
    kwargs = {"headers": {"Accept": "*/*"}, **kwargs}  # curl's and requests' default
    response = client.open(path, method=method, **kwargs)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == status


def test_a_browser_ranking_html_above_anything_gets_the_page(client):
    response = client.get("/nothing-here", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nothing-here"), ("POST", "/feed.atom"), ("GET", "/articles/no-such-article")],
)
def test_an_answer_chosen_by_accept_says_so_to_caches(client, method, path):
    """404 and 405 are cacheable by default: a shared cache must not give the page to an
    API client, or the JSON to a browser (RFC 9110 §12.5.5)."""
    page = client.open(path, method=method, headers={"Accept": "text/html"})
    problem = client.open(path, method=method, headers={"Accept": "*/*"})
    assert (page.mimetype, problem.mimetype) == ("text/html", "application/problem+json")
    for response in (page, problem):
        assert "Accept" in response.vary, (path, response.mimetype)


def test_an_answer_the_same_for_every_accept_does_not_vary(client):
    response = client.get("/v1/nothing-here", headers={"Accept": "text/html"})
    assert response.mimetype == "application/problem+json"
    assert "Accept" not in response.vary


def test_wrong_method_is_405_problem(client):
    response = client.get("/v1/render/html")
    assert response.status_code == 405
    assert response.get_json()["status"] == 405


def test_one_problem_type_has_one_title_whoever_refused(make_app):
    """RFC 9457 §3.1.3: a type's title does not vary. Werkzeug's refusals of the kinds
    Broadsheet refuses itself once carried werkzeug's names ("Not Found", two 413 types)."""
    from service.storage.schema import upgrade

    app = make_app(MAX_BODY_BYTES=1024)
    upgrade(app.extensions["broadsheet"].engine)
    client = app.test_client()
    client.get("/subscribe")
    answers = [
        client.get("/no-such-path"),  # routing (werkzeug)
        client.get("/articles/no-such-article"),  # Broadsheet
        client.post("/v1/render/html", data=b"", content_type="application/json"),
        client.post("/v1/render/html", data=b"x" * 2000, content_type="application/json"),
        client.post("/subscribe", data={"email": "x" * 3000}),  # werkzeug's form parser
        client.get("/v1/articles?limit=0"),
    ]
    titles: dict[str, set[str]] = {}
    for answer in answers:
        problem = answer.get_json()
        titles.setdefault(problem["type"], set()).add(problem["title"])
    assert all(len(found) == 1 for found in titles.values()), titles
    assert {t.rsplit("/", 1)[1] for t in titles} >= {"not-found", "payload-too-large"}
