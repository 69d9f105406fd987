"""Each request: an id (the client's when safe), one access line, every record carrying the id."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from service.access import HEADER, PATH_LIMIT, TOKEN_PATHS
from service.logs import NO_REQUEST, configure_logging, request_id

from .corpus import minimal

MADE_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def logged():
    """Configure logging in a format; return the stream it writes to."""
    root = logging.getLogger()
    level = root.level
    handlers = []

    def start(log_format: str = "json") -> io.StringIO:
        stream = io.StringIO()
        handlers.append(configure_logging(logging.INFO, stream, log_format=log_format))
        return stream

    yield start
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


def records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize("given", ["abc", "req-1.2:3_x", "A" * 128, "0"])
def test_a_safe_request_id_is_kept(client, given):
    response = client.get("/healthz", headers={HEADER: given})
    assert response.headers[HEADER] == given


@pytest.mark.parametrize(
    "given", ["", "A" * 129, "has space", "semi;colon", 'quote"d', "<script>", "é", "a/b", "-"]
)
def test_an_unsafe_request_id_is_replaced(client, given):
    response = client.get("/healthz", headers={HEADER: given})
    made = response.headers[HEADER]
    assert MADE_ID.fullmatch(made)
    assert made != given


def test_each_request_without_an_id_gets_its_own(client):
    ids = {client.get("/healthz").headers[HEADER] for _ in range(5)}
    assert len(ids) == 5
    assert all(MADE_ID.fullmatch(i) for i in ids)


def test_every_record_of_a_request_carries_its_id_and_one_access_line_ends_it(post_json, logged):
    stream = logged("json")
    response = post_json("/v1/render/html", minimal(colour="red"), headers={HEADER: "trace-42"})
    assert response.status_code == 422
    lines = records(stream)
    assert [line["logger"] for line in lines] == ["service.problems", "service.access"]
    assert {line["request_id"] for line in lines} == {"trace-42"}
    access = lines[-1]
    assert access["level"] == "INFO"
    assert (access["method"], access["route"], access["path"], access["status"]) == (
        "POST",
        "/v1/render/<any(html, pdf, email, text):fmt>",
        "/v1/render/html",
        422,
    )
    assert isinstance(access["duration_ms"], float)
    assert access["duration_ms"] >= 0
    assert request_id.get() == NO_REQUEST


def test_the_text_format_names_the_request_too(client, logged):
    stream = logged("text")
    client.get("/no/such/page", headers={HEADER: "trace-43"})
    (line,) = stream.getvalue().splitlines()
    assert re.fullmatch(
        r"\S+ \S+ INFO service\.access trace-43: GET /no/such/page 404 \d+\.\d ms", line
    )


def test_a_record_outside_a_request_has_no_id(logged):
    stream = logged("json")
    logging.getLogger("service.test").warning("between requests")
    (line,) = records(stream)
    assert line["request_id"] == NO_REQUEST


def test_an_unmatched_route_is_null_and_a_long_path_is_cut(client, logged):
    stream = logged("json")
    response = client.get("/" + "x" * 5000)
    assert response.status_code == 404
    (access,) = records(stream)
    assert access["route"] is None
    assert len(access["path"]) <= PATH_LIMIT + 1
    assert access["path"].startswith("/xxx")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_hostile_paths_stay_on_one_line(client, logged, log_format):
    stream = logged(log_format)
    client.get("/a%0A2026-03-12%2008:00:00,000%20ERROR%20x:%20forged%1B[2J%E2%80%AE")
    text = stream.getvalue()
    assert text.count("\n") == 1
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]", text[:-1])
    if log_format == "json":
        (access,) = records(stream)
        assert access["path"].startswith("/a\\n2026-03-12")


def test_every_route_that_takes_a_token_is_one_whose_token_is_kept_out_of_logs(app):
    token_rules = [r.rule for r in app.url_map.iter_rules() if "token" in r.arguments]
    assert token_rules  # the confirm and unsubscribe links
    for rule in token_rules:
        assert rule.startswith(TOKEN_PATHS), rule


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_confirm_and_unsubscribe_tokens_never_reach_a_log_line(app, logged, log_format):
    from service.storage.schema import upgrade
    from service.tokens import Purpose

    from .conftest import runtime_of

    runtime = runtime_of(app)
    upgrade(runtime.engine)
    unsubscribe = runtime.tokens.sign(Purpose.UNSUBSCRIBE, 1)
    confirm = runtime.tokens.sign(Purpose.CONFIRM, 1, "2026-03-12T08:00:00+00:00")
    stream = logged(log_format)
    client = app.test_client()
    answers = [
        client.get(f"/unsubscribe/{unsubscribe}").status_code,
        client.post(f"/unsubscribe/{unsubscribe}").status_code,
        client.get(f"/subscribe/confirm/{confirm}").status_code,
        client.post(f"/subscribe/confirm/{confirm}").status_code,
        client.put(f"/unsubscribe/{unsubscribe}").status_code,  # 405: no route, still kept out
        client.get(f"/unsubscribe/{unsubscribe}/more").status_code,  # 404
        # Paths with "//" are not merged by a redirect (its Location came from the Host
        # header): both are 404; neither line may show the token.
        client.get(f"/subscribe//confirm/{confirm}").status_code,
        client.get(
            "/", environ_overrides={"PATH_INFO": f"//unsubscribe/{unsubscribe}"}
        ).status_code,
        # Paths a browser would tidy but a client may send as they are: the token in them
        # works all the same.
        client.get(f"/./unsubscribe/{unsubscribe}").status_code,
        client.get(f"/x/../Unsubscribe/{unsubscribe}").status_code,
        client.get(f"/SUBSCRIBE/Confirm/{confirm}").status_code,
    ]
    assert answers[4:] == [405, 404, 404, 404, 404, 404, 404]
    text = stream.getvalue()
    assert len(text.splitlines()) >= len(answers)
    for token in (unsubscribe, confirm):
        for part in token.split("."):
            assert part not in text
    assert "/unsubscribe/<token>" in text
    assert "/subscribe/confirm/<token>" in text


def test_a_path_that_holds_no_token_is_logged_as_it_is(client, logged):
    stream = logged("json")
    for path in ("/subscribe/confirm/", "/unsubscribe/", "/a/Subscribe/Confirm/"):
        client.get(path)
    paths = [record["path"] for record in records(stream) if "path" in record]
    assert paths == ["/subscribe/confirm/", "/unsubscribe/", "/a/Subscribe/Confirm/"]


def test_a_refused_write_names_its_path_on_one_unambiguous_line(client, logged):
    stream = logged("text")  # the app has no API token, so every write is refused and logged
    client.delete("/v1/articles/a%0Ab")
    client.delete("/v1/articles/a%5Cnb")
    warnings = [line for line in stream.getvalue().splitlines() if "Refused a write" in line]
    assert len(warnings) == 2, stream.getvalue()
    assert "/v1/articles/a\\nb:" in warnings[0]
    assert "/v1/articles/a\\\\nb:" in warnings[1]
