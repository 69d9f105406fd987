"""Schemathesis against /openapi.json on the real app: no 5xx, and every answer as documented.

The app is called as WSGI, in this process: no sockets or server thread to share the two
cores with, and a failure's traceback is ours. The body limits and deadlines that need a
socket have tests of their own on a live server (tests/test_request_body.py).
"""

from __future__ import annotations

import copy
import re
import time
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service import create_app
from service.formats import FORMATS
from service.storage.schema import upgrade

from .conftest import API_TOKEN, CountingPrinter
from .corpus import examples

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
RENDER = {f"POST /v1/render/{name}" for name in FORMATS}
RENDER_REQUESTS = 1000  # each render route, positive and negative together
OTHER_REQUESTS = 40  # each other route: bounded by what its parameters can vary
KNOWN_REQUESTS = 3  # each route and stored id or date: what is there to be found
# The share of valid (positive) cases: a valid PDF takes a printer 0.2 to 0.5 s, a refused
# article a millisecond, so PDF gets fewer valid cases and more invalid ones.
POSITIVE_SHARE = {"POST /v1/render/pdf": 0.3}
# Hypothesis cannot build strings for regular expressions with lookarounds (the inline
# markup and character rules) but by filtering, which takes minutes per article; for
# generation such strings keep their type and a short length, and the server judges the
# rest. Answers are still checked against the document as served.
GENERATED_STRING_LENGTH = 40


def _relaxed(node: Any) -> Any:
    """A copy of `node` whose strings carry no lookaround pattern, for generation only."""
    if isinstance(node, list):
        return [_relaxed(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _relaxed(value) for key, value in node.items()}
    pattern = out.get("pattern")
    if isinstance(pattern, str) and "(?" in pattern.replace("(?:", ""):
        del out["pattern"]
        out.pop("not", None)
        out["maxLength"] = min(
            out.get("maxLength", GENERATED_STRING_LENGTH), GENERATED_STRING_LENGTH
        )
    return out


def _check(case, headers: dict[str, str]) -> tuple[int, list]:
    """Send `case`; its status and what the checks found wrong with the answer."""
    response = case.call(headers=headers)
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as group:
        return response.status_code, list(group.exceptions)
    return response.status_code, []


def _operations(app, document: dict) -> dict[str, Any]:
    schema = schemathesis.openapi.from_dict(document)
    schema.app = app
    return {op.label: op for op in (r.ok() for r in schema.get_all_operations())}


@pytest.fixture
def fuzzed_app(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'fuzz.sqlite3'}",
            "BASE_URL": "https://news.example.org",
            "API_TOKEN": API_TOKEN,
            "RATELIMIT_ENABLED": False,
            "MAIL_RELAY": False,
            "METRICS_PUBLIC": True,
            # A valid generated article is a page or two; a longer one is refused fast.
            "PDF_MAX_PAGES": 4,
            "PDF_TIME_LIMIT": 5.0,
        }
    )
    runtime = app.extensions["broadsheet"]
    upgrade(runtime.engine)
    runtime.press.get_printer = CountingPrinter  # stored articles' PDFs: fake and fast
    yield app
    runtime.press.close()
    runtime.printer.close()
    runtime.engine.dispose()


@pytest.mark.timeout(900)
def test_every_operation_answers_as_documented(fuzzed_app):
    client = fuzzed_app.test_client()
    served = client.get("/openapi.json")
    document = served.get_json()
    assert served.status_code == 200
    assert served.mimetype == "application/json"
    stored_articles = list(examples().values())[:3]
    for article in stored_articles:
        stored = client.put(
            f"/v1/articles/{article['id']}",
            json=article,
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        )
        assert stored.status_code == 201

    operations = _operations(fuzzed_app, _relaxed(copy.deepcopy(document)))
    # Cases come from the relaxed copy; answers are judged by the document as served.
    judged = _operations(fuzzed_app, document)
    documented = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert set(operations) == documented

    requests: Counter[str] = Counter()
    statuses: Counter[tuple[str, int]] = Counter()
    failures: dict[tuple[str, str, int], str] = {}

    def call(case) -> None:
        label = case.operation.label
        requests[label] += 1
        # Every seventh request goes without the token, so the 401s are checked too.
        headers = {} if requests[label] % 7 == 0 else {"Authorization": f"Bearer {API_TOKEN}"}
        sent = judged[label].Case(
            path_parameters=case.path_parameters,
            headers=case.headers,
            cookies=case.cookies,
            query=case.query,
            body=case.body,
            media_type=case.media_type,
        )
        status, found = _check(sent, headers)
        statuses[(label, status)] += 1
        for failure in found:
            failures.setdefault((label, failure.title, status), str(failure)[:600])

    started = time.monotonic()
    seconds: Counter[str] = Counter()
    unbreakable: dict[str, int] = {}
    for label, operation in operations.items():
        began = time.monotonic()
        target = RENDER_REQUESTS if label in RENDER else OTHER_REQUESTS
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            positive = round(target * POSITIVE_SHARE.get(label, 0.5))
            share = positive if mode is GenerationMode.POSITIVE else target - positive
            goal = requests[label] + share
            rounds = 0
            # Hypothesis stops early once a small space is exhausted; a few rounds top it up.
            while requests[label] < goal and rounds < 5:
                rounds += 1

                @settings(
                    max_examples=goal - requests[label],
                    deadline=None,
                    database=None,
                    derandomize=False,
                    phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def run(case) -> None:
                    call(case)

                try:
                    run()
                except Unsatisfiable:
                    # Nothing about this route can be made invalid (its only inputs are
                    # optional headers, which any string satisfies): its share is the valid one.
                    unbreakable[label] = positive
                    break
        seconds[label] = time.monotonic() - began

    # Random ids and dates name nothing stored; these do, so the pages, PDFs, editions and
    # digests of stored articles are checked too (not DELETE: the others need them).
    days = set()
    for article in stored_articles:
        published = date.fromisoformat(article["published_at"][:10])
        days |= {published.isoformat(), (published + timedelta(days=1)).isoformat()}
    known = {"article_id": sorted(a["id"] for a in stored_articles), "day": sorted(days)}
    for label, operation in operations.items():
        names = set(re.findall(r"\{(\w+)\}", operation.path)) & set(known)
        if not names or label.startswith("DELETE "):
            continue
        began = time.monotonic()
        name = names.pop()
        for value in known[name]:

            @settings(
                max_examples=KNOWN_REQUESTS,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(path_parameters={name: value}))
            def run_known(case) -> None:
                call(case)

            run_known()
        seconds[label] += time.monotonic() - began
    print(f"\n{sum(requests.values())} requests in {time.monotonic() - started:.0f} s")
    for label in sorted(requests):
        answers = sorted((s, n) for (op, s), n in statuses.items() if op == label)
        print(f"{requests[label]:5d} {seconds[label]:5.1f} s  {label}  {answers}")

    assert failures == {}
    for label in RENDER:
        assert requests[label] >= RENDER_REQUESTS, label
    assert set(requests) == set(operations)
    for path, item in document["paths"].items():
        for method, described in item.items():
            if method == "parameters":
                continue
            label = f"{method.upper()} {path}"
            varies = (
                item.get("parameters")
                or described.get("parameters")
                or ("requestBody" in described)
            )
            # A route without inputs has one request to send; hypothesis sends it each round.
            least = unbreakable.get(label, OTHER_REQUESTS) if varies else 1
            assert requests[label] >= least, label
    assert not [key for key in statuses if key[1] >= 500]


def test_the_checks_fail_on_answers_the_document_does_not_allow(fuzzed_app):
    document = fuzzed_app.test_client().get("/openapi.json").get_json()
    del document["paths"]["/v1/render/text"]["post"]["responses"]["422"]
    feed = document["paths"]["/feed.json"]["get"]["responses"]["200"]
    feed["content"] = {"application/json": feed["content"]["application/feed+json"]}
    health = document["paths"]["/healthz"]["get"]["responses"]["200"]["content"]
    health["application/json"]["schema"]["required"].append("uptime")
    operations = _operations(fuzzed_app, document)

    def found(label: str, **data) -> set[str]:
        _, failures = _check(operations[label].Case(**data), {})
        return {type(failure).__name__ for failure in failures}

    assert "UndefinedStatusCode" in found(
        "POST /v1/render/text", body={"id": "x"}, media_type="application/json"
    )
    assert "UndefinedContentType" in found("GET /feed.json")
    assert "JsonSchemaError" in found("GET /healthz")
    fuzzed_app.view_functions["feeds.atom"] = lambda: 1 / 0
    assert "ServerError" in found("GET /feed.atom")


def test_the_answers_of_the_preconditions_and_ranges_are_documented(fuzzed_app):
    """Every route that tags its answers judges If-Match (412), and the PDF takes a Range
    (416 past the end); each such answer is one the document allows for that route."""
    client = fuzzed_app.test_client()
    token = {"Authorization": f"Bearer {API_TOKEN}"}
    article = examples()["bike-lanes"]
    assert client.put(f"/v1/articles/{article['id']}", json=article, headers=token).status_code
    stored = {"article_id": article["id"]}
    operations = _operations(fuzzed_app, client.get("/openapi.json").get_json())
    failed = {"If-Match": '"not-this-version"'}
    cases = [
        ("GET /v1/articles/{article_id}", stored, failed, 412),
        ("GET /v1/articles", {}, failed, 412),
        ("GET /articles/{article_id}", stored, failed, 412),
        ("GET /articles/{article_id}.pdf", stored, failed, 412),
        ("GET /articles", {}, failed, 412),
        ("GET /feed.atom", {}, failed, 412),
        ("GET /feed.json", {}, failed, 412),
        ("GET /articles/{article_id}.pdf", stored, {"Range": "bytes=99999999-"}, 416),
        ("GET /articles/{article_id}.pdf", stored, {"Range": "items=0-1"}, 200),
    ]
    for label, path_parameters, headers, expected in cases:
        case = operations[label].Case(path_parameters=path_parameters)
        status, failures = _check(case, {**token, **headers})
        assert (label, status, failures) == (label, expected, []), headers
