"""Rate limits: every route has a decided budget and spends it; 429 says when to come back.

The shared app fixtures build apps with TESTING, which turns limits off (fuzzing and timing
tests drive routes hard); every test here turns them on. Budgets are counted in memory and
in Redis (required in CI), where two app instances share one set of counters.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from unittest.mock import patch

import pytest
from limits import WindowStats
from lxml import html as lxml_html
from sqlalchemy import select

from service import create_app
from service.addresses import mailbox_key
from service.errors import PROBLEM_BASE
from service.problems import LINKS_IN_MAIL
from service.rate_limits import BUDGETS, ENDPOINTS, EXEMPT, EXEMPT_PATHS
from service.storage.models import Subscriber
from service.storage.schema import upgrade

from .conftest import require_tool, runtime_of

REDIS_URL = os.environ.get("BROADSHEET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TINY = "2 per hour"
# A value for each kind of URL argument; what the route makes of it does not matter here.
ARGUMENTS = {"fmt": "html", "article_id": "a1", "day": "2026-03-11", "text": "2026-03-11"}


def _redis_reachable() -> bool:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture(params=["memory", "redis"])
def storage(request):
    """The storage URL and a key prefix of this test's own (its Redis keys are removed)."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    if request.param == "memory":
        yield {"RATELIMIT_STORAGE_URL": "memory://", "RATELIMIT_KEY_PREFIX": prefix}
        return
    require_tool(_redis_reachable(), f"Redis at {REDIS_URL}")
    yield {"RATELIMIT_STORAGE_URL": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix}
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=f"*LIMITER/{prefix}/*"):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture
def limited_app(storage, tmp_path):
    """Build apps with limits on, tiny budgets, and a migrated database each."""
    apps = []

    def make(**config):
        budgets = {field.upper(): TINY for field in BUDGETS.values()}
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "limits-secret",
                "DATABASE_URL": f"sqlite:///{tmp_path / f'db{len(apps)}.sqlite3'}",
                "MAIL_RELAY": False,
                "RATELIMIT_ENABLED": True,
                **budgets,
                **storage,
                **config,
            }
        )
        upgrade(runtime_of(app).engine)
        apps.append(app)
        return app

    yield make
    for app in apps:
        runtime_of(app).rate_limits.close()
        runtime_of(app).engine.dispose()


def _routes(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, URL) for every route, and the PDF render beside the others."""
    routes = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            args = {name: ARGUMENTS.get(name, "x") for name in rule.arguments}
            method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
            path = rule.build(args, append_unknown=False)[1]
            routes.append((rule.endpoint, method, path))
            if rule.endpoint == "rendering.render":
                routes.append(("rendering.render", method, path.replace("/html", "/pdf")))
    return routes


def _budget(endpoint: str, path: str) -> str:
    if path == "/metrics":
        return "pages"  # closed in these apps: a path no route answers, and costs as one
    if path in EXEMPT_PATHS:
        return EXEMPT
    if path == "/v1/render/pdf":
        return "pdf"
    return ENDPOINTS[endpoint]


def _request(client, method: str, path: str, address: str, **kwargs):
    kwargs.setdefault("environ_base", {"REMOTE_ADDR": address})
    return client.open(path, method=method, **kwargs)


def _to_the_clock_s(period: int) -> float:
    """Seconds to the end of the clock's current window of `period` seconds."""
    return period - time.time() % period


def _assert_limited(response, longest: int = 3600, *, page: bool = False) -> int:
    """The 429 problem (a page for a link a mail holds), with an integer Retry-After;
    returns the seconds."""
    assert response.status_code == 429
    if page:
        assert response.mimetype == "text/html"
        assert "Too many requests" in response.get_data(as_text=True)
        return _retry_after(response, longest)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == PROBLEM_BASE + "rate-limited"
    assert problem["status"] == 429
    assert problem["title"] == "Too many requests"
    assert "please wait" in problem["detail"]
    return _retry_after(response, longest)


def _retry_after(response, longest: int) -> int:
    retry = response.headers["Retry-After"]
    assert retry.isascii(), retry
    assert retry.isdigit(), retry
    assert 1 <= int(retry) <= longest
    return int(retry)


# Every route has a decided budget -------------------------------------------------------


def test_every_endpoint_has_a_decided_budget(make_app):
    app = make_app()
    undecided = sorted(
        f"{rule.endpoint} ({rule.rule})"
        for rule in app.url_map.iter_rules()
        if rule.rule not in EXEMPT_PATHS and rule.endpoint not in ENDPOINTS
    )
    assert undecided == [], "add each to ENDPOINTS in service/rate_limits.py with its budget"
    gone = sorted(set(ENDPOINTS) - {rule.endpoint for rule in app.url_map.iter_rules()})
    assert gone == [], "ENDPOINTS names endpoints the app no longer has"
    assert set(ENDPOINTS.values()) - {EXEMPT} <= set(BUDGETS)


def test_the_budgets_the_issue_asks_for():
    assert ENDPOINTS["health.healthz"] == EXEMPT
    assert "/metrics" in EXEMPT_PATHS
    assert ENDPOINTS["rendering.render"] == "render"
    for endpoint in ("articles.pdf", "editions.of_the_day", "editions.of_articles"):
        assert ENDPOINTS[endpoint] == "pdf"
    assert ENDPOINTS["subscriptions.sign_up"] == "signup"
    for endpoint in [e for e in ENDPOINTS if e.startswith("articles_api.")] + [
        "subscriptions.index",
        "digests.send",
    ]:
        assert ENDPOINTS[endpoint] == "token"


def test_every_route_spends_its_budget(limited_app):
    # A different size for each budget, so a route that spent another's would show it.
    sizes = {"pages": 2, "render": 3, "pdf": 1, "signup": 4, "token": 5, "signup_address": 50}
    app = limited_app(**{BUDGETS[name].upper(): f"{n} per hour" for name, n in sizes.items()})
    client = app.test_client()
    for number, (endpoint, method, path) in enumerate(_routes(app)):
        address = f"192.0.2.{number + 1}"
        budget = _budget(endpoint, path)
        allowed = 6 if budget == EXEMPT else sizes[budget]
        answers = [_request(client, method, path, address).status_code for _ in range(allowed)]
        assert 429 not in answers, (endpoint, path, answers)
        if budget != EXEMPT:
            page = method == "GET" and endpoint in LINKS_IN_MAIL  # opened from a mail
            _assert_limited(_request(client, method, path, address), page=page)


def test_the_routes_of_one_budget_share_it(limited_app):
    app = limited_app()
    client = app.test_client()
    address = "192.0.2.200"
    assert _request(client, "GET", "/articles/a1.pdf", address).status_code == 404
    assert _request(client, "GET", "/editions/2026-03-11.pdf", address).status_code == 422
    _assert_limited(_request(client, "POST", "/v1/editions", address, json={}))
    _assert_limited(_request(client, "POST", "/v1/render/pdf", address, json={}))
    # Rendering HTML draws on another budget, still whole.
    assert _request(client, "POST", "/v1/render/html", address, json={}).status_code == 422


def test_each_client_has_its_own_budget(limited_app):
    app = limited_app()
    client = app.test_client()
    for _ in range(2):
        _request(client, "GET", "/feed.json", "192.0.2.1")
    _assert_limited(_request(client, "GET", "/feed.json", "192.0.2.1"))
    assert _request(client, "GET", "/feed.json", "192.0.2.2").status_code == 200


def test_a_budget_takes_several_rates(limited_app):
    app = limited_app(RATELIMIT_PAGES="100 per hour; 1 per day")
    client = app.test_client()
    assert _request(client, "GET", "/feed.json", "192.0.2.1").status_code == 200
    seconds = _assert_limited(_request(client, "GET", "/feed.json", "192.0.2.1"), 86400)
    assert seconds > 3600  # the day's rate refused it, and says so


# Over the limit -------------------------------------------------------------------------


def test_a_browser_gets_an_html_page(limited_app):
    app = limited_app()
    client = app.test_client()
    for _ in range(2):
        _request(client, "GET", "/articles", "192.0.2.1")
    response = _request(
        client, "GET", "/articles", "192.0.2.1", headers={"Accept": "text/html,*/*;q=0.8"}
    )
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"].isdigit()
    page = lxml_html.document_fromstring(response.get_data(as_text=True))
    assert page.xpath("string(//h1)") == "Too many requests"
    assert "please wait" in page.xpath("string(//main)")


def test_an_api_route_answers_problem_json_even_to_a_browser(limited_app):
    app = limited_app()
    client = app.test_client()
    for _ in range(2):
        _request(client, "GET", "/v1/articles", "192.0.2.1")
    response = _request(client, "GET", "/v1/articles", "192.0.2.1", headers={"Accept": "text/html"})
    _assert_limited(response)


def test_the_limits_are_off_when_disabled(limited_app):
    app = limited_app(RATELIMIT_ENABLED=False)
    client = app.test_client()
    answers = {_request(client, "GET", "/feed.json", "192.0.2.1").status_code for _ in range(10)}
    assert answers == {200}
    sign_ups = {
        client.post("/subscribe", json={"email": "x@example.org"}).status_code for _ in range(10)
    }
    assert sign_ups == {202}


def test_apps_built_for_tests_have_limits_off_unless_asked(make_app):
    assert runtime_of(make_app()).rate_limits.enabled is False
    assert runtime_of(make_app(RATELIMIT_ENABLED=True)).rate_limits.enabled is True


# Sign-ups: per client and per address ------------------------------------------------------


def _csrf(client) -> str:
    page = lxml_html.document_fromstring(client.get("/subscribe").get_data(as_text=True))
    return page.xpath("//input[@name='csrf_token']/@value")[0]


def test_sign_ups_are_limited_per_client(limited_app):
    app = limited_app(RATELIMIT_SIGNUP_ADDRESS="100 per hour")
    client = app.test_client()
    for n in range(2):
        response = _request(
            client, "POST", "/subscribe", "192.0.2.1", json={"email": f"r{n}@example.org"}
        )
        assert response.status_code == 202
    _assert_limited(
        _request(client, "POST", "/subscribe", "192.0.2.1", json={"email": "r9@example.org"})
    )


def _one_mailbox_budget(client, accepted: list[str], refused: str) -> None:
    """Sign up each of `accepted` from a client of its own (each accepted), then `refused`
    from yet another: refused, since all of them spend one mailbox's budget of two."""
    for n, address in enumerate(accepted):
        response = _request(client, "POST", "/subscribe", f"192.0.2.{n}", json={"email": address})
        assert response.status_code == 202
    _assert_limited(_request(client, "POST", "/subscribe", "192.0.2.9", json={"email": refused}))


def test_sign_ups_are_limited_per_address_whichever_client_sends_them(limited_app):
    app = limited_app(RATELIMIT_SIGNUP="100 per hour")
    client = app.test_client()
    # The same address, however it is written, from a third client.
    _one_mailbox_budget(
        client, ["Reader@Example.org", "reader@example.org"], " READER@example.org "
    )
    other = _request(client, "POST", "/subscribe", "192.0.2.9", json={"email": "o@example.org"})
    assert other.status_code == 202


def test_a_known_address_and_a_new_one_are_refused_alike(limited_app):
    app = limited_app(RATELIMIT_SIGNUP="100 per hour")
    client = app.test_client()
    client.post("/subscribe", json={"email": "known@example.org"})
    runtime_of(app).rate_limits.limiter.reset()  # a fresh window; the address is now known
    answers: dict[str, list] = {"known@example.org": [], "new@example.org": []}
    for n in range(3):
        for address, seen in answers.items():
            response = _request(
                client, "POST", "/subscribe", f"192.0.2.{n}", json={"email": address}
            )
            seen.append((response.status_code, response.get_data()))
    assert answers["known@example.org"] == answers["new@example.org"]
    assert [status for status, _ in answers["new@example.org"]] == [202, 202, 429]


def test_an_address_s_refusal_does_not_tell_when_it_was_first_used(limited_app):
    """The address's window began with the first sign-up for it, by anyone: Retry-After,
    its end, told a stranger when that was, to the second. Windows follow the clock now."""
    app = limited_app(RATELIMIT_SIGNUP="100 per hour", RATELIMIT_SIGNUP_ADDRESS="1 per hour")
    client = app.test_client()
    victim = {"email": "victim@example.org"}
    assert _request(client, "POST", "/subscribe", "198.51.100.20", json=victim).status_code == 202
    time.sleep(1.1)
    refused = _request(client, "POST", "/subscribe", "203.0.113.66", json=victim)
    assert abs(_assert_limited(refused) - _to_the_clock_s(3600)) <= 2


def _refilled_form(response, status: int, values: dict[str, str]) -> str:
    """The sign-up form again, as it was sent, with the refusal summed up on top."""
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"].isdigit()
    assert response.headers["Cache-Control"] == "no-store"
    page = lxml_html.document_fromstring(response.get_data(as_text=True))
    assert page.xpath("string(//title)").startswith("Error: Subscribe")
    assert page.xpath("string(//h1)") == "Subscribe to the daily digest"
    for field, value in values.items():
        assert page.xpath(f"//input[@name='{field}']/@value") == [value]
    assert page.xpath("//input[@name='csrf_token']/@value")[0]
    return " ".join(page.xpath("string(//*[@role='alert'])").split())


BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_the_sign_up_form_over_an_address_limit_keeps_what_was_typed(limited_app):
    app = limited_app(RATELIMIT_SIGNUP_ADDRESS="1 per hour")
    client = app.test_client()
    form = {"email": "f@example.org", "name": "René", "csrf_token": _csrf(client)}
    first = client.post("/subscribe", data=form, headers=BROWSER)
    assert first.status_code == 200
    second = client.post("/subscribe", data=form, headers=BROWSER)
    summary = _refilled_form(second, 429, {"email": "f@example.org", "name": "René"})
    assert "Too many requests of this kind: please wait" in summary


def test_the_sign_up_form_over_a_client_limit_keeps_what_was_typed(limited_app):
    """A reader who mistyped a few times met the client's own limit: the generic page held
    nothing typed and no way back (a POST's answer, which the browser cannot show again)."""
    app = limited_app(RATELIMIT_SIGNUP="2 per hour")
    client = app.test_client()
    token = _csrf(client)
    mistyped = {"email": "ann.example.org", "name": "Ann", "csrf_token": token}
    for _ in range(2):
        assert client.post("/subscribe", data=mistyped, headers=BROWSER).status_code == 422
    third = client.post(
        "/subscribe",
        data={"email": "ann@example.org", "name": "Ann", "csrf_token": token},
        headers=BROWSER,
    )
    summary = _refilled_form(third, 429, {"email": "ann@example.org", "name": "Ann"})
    assert "please wait" in summary
    # An API client still gets the problem.
    _assert_limited(client.post("/subscribe", data=mistyped))


def test_a_refused_sign_up_stores_and_sends_nothing(limited_app):
    app = limited_app(RATELIMIT_SIGNUP_ADDRESS="1 per hour")
    client = app.test_client()
    assert client.post("/subscribe", json={"email": "s@example.org"}).status_code == 202
    from sqlalchemy import func, select

    from service.storage.models import OutboxMessage

    def queued() -> int:
        with runtime_of(app).engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(OutboxMessage)).scalar()

    before = queued()
    _assert_limited(client.post("/subscribe", json={"email": "s@example.org"}))
    assert queued() == before


# Who the client is: the peer, or what a trusted proxy says ------------------------------


def test_without_trusted_proxies_a_forged_forwarded_address_gets_no_fresh_budget(limited_app):
    app = limited_app()
    client = app.test_client()
    for n in range(2):
        forged = {"X-Forwarded-For": f"198.51.100.{n}"}
        assert _request(client, "GET", "/feed.json", "192.0.2.1", headers=forged).status_code == 200
    forged = {"X-Forwarded-For": "198.51.100.77"}
    _assert_limited(_request(client, "GET", "/feed.json", "192.0.2.1", headers=forged))


def test_behind_one_trusted_proxy_each_forwarded_address_has_its_own_budget(limited_app):
    app = limited_app(TRUSTED_PROXIES=1)
    client = app.test_client()
    proxy = "10.0.0.5"

    def via_proxy(forwarded: str):
        headers = {"X-Forwarded-For": forwarded, "X-Forwarded-Proto": "https"}
        return _request(client, "GET", "/feed.json", proxy, headers=headers)

    for _ in range(2):
        assert via_proxy("198.51.100.1").status_code == 200
    _assert_limited(via_proxy("198.51.100.1"))
    assert via_proxy("198.51.100.2").status_code == 200
    # Only the last hop is trusted: an address the client wrote in front changes nothing.
    _assert_limited(via_proxy("203.0.113.9, 198.51.100.1"))


def test_behind_a_trusted_proxy_the_consent_records_the_forwarded_address(limited_app):
    app = limited_app(TRUSTED_PROXIES=1)
    client = app.test_client()
    headers = {"X-Forwarded-For": "198.51.100.4"}
    response = _request(
        client, "POST", "/subscribe", "10.0.0.5", json={"email": "p@example.org"}, headers=headers
    )
    assert response.status_code == 202
    from sqlalchemy import select

    from service.storage.models import Subscriber

    with runtime_of(app).engine.connect() as connection:
        ips = connection.execute(select(Subscriber.consent_ip)).scalars().all()
    assert ips == ["198.51.100.4"]


# Storage --------------------------------------------------------------------------------


def test_redis_counters_are_shared_between_app_instances(limited_app, storage):
    first, second = limited_app(), limited_app()
    for _ in range(2):
        assert _request(first.test_client(), "GET", "/feed.json", "192.0.2.1").status_code == 200
    after = _request(second.test_client(), "GET", "/feed.json", "192.0.2.1")
    if storage["RATELIMIT_STORAGE_URL"] == "memory://":
        assert after.status_code == 200  # in memory, each process counts alone
        return
    _assert_limited(after)
    # The address budget too: two sign-ups through one instance, the third through the other.
    both = {"email": "both@example.org"}
    for n in range(2):
        response = _request(first.test_client(), "POST", "/subscribe", f"192.0.2.{n}", json=both)
        assert response.status_code == 202
    _assert_limited(_request(second.test_client(), "POST", "/subscribe", "192.0.2.9", json=both))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _app_on_redis_at(port: int, tmp_path, **budgets: str):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "limits-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "MAIL_RELAY": False,
            "RATELIMIT_ENABLED": True,
            **budgets,
            "RATELIMIT_STORAGE_URL": f"redis://127.0.0.1:{port}/0",
        }
    )
    upgrade(runtime_of(app).engine)
    return app


def test_an_unreachable_redis_lets_requests_through_counted_in_memory(caplog, tmp_path):
    budgets = {"RATELIMIT_PAGES": "2 per hour", "RATELIMIT_SIGNUP_ADDRESS": "1 per hour"}
    app = _app_on_redis_at(_closed_port(), tmp_path, **budgets)
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        answers = [client.get("/feed.json").status_code for _ in range(3)]
        sign_ups = [
            client.post("/subscribe", json={"email": "u@example.org"}).status_code for _ in range(2)
        ]
    assert answers == [200, 200, 429]
    assert sign_ups == [202, 429]
    assert any("falling back to in-memory" in r.getMessage() for r in caplog.records)
    runtime_of(app).rate_limits.close()
    runtime_of(app).engine.dispose()


def test_a_redis_that_never_answers_holds_requests_only_until_one_finds_it_so(tmp_path):
    """A Redis that takes connections and answers nothing cost every request its timeout
    (a second: four requests a second for a worker of four threads), and counted nothing."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # the kernel takes the connections; nothing ever answers them
        app = _app_on_redis_at(silent.getsockname()[1], tmp_path, RATELIMIT_PAGES="3 per hour")
        client = app.test_client()
        answers, slow = [], 0
        for _ in range(6):
            started = time.monotonic()
            answers.append(client.get("/feed.json").status_code)
            slow += time.monotonic() - started > 0.9
        runtime_of(app).rate_limits.close()
        runtime_of(app).engine.dispose()
    assert answers == [200, 200, 200, 429, 429, 429]
    assert slow <= 2  # the request that found it so, and one try again a second later


def test_the_problem_body_is_json_with_the_house_shape(limited_app):
    app = limited_app()
    client = app.test_client()
    for _ in range(2):
        _request(client, "GET", "/v1/schema/article.json", "192.0.2.1")
    response = _request(client, "GET", "/v1/schema/article.json", "192.0.2.1")
    _assert_limited(response)
    assert set(json.loads(response.get_data())) == {"type", "title", "status", "detail"}


# One mailbox, one client: however they are spelt --------------------------------------


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("Reader@Example.org", "reader@example.org"),
        ("reader+news@example.org", "reader@example.org"),
        ("reader+a+b@example.org", "reader@example.org"),
        ("+only@example.org", "+only@example.org"),  # no base mailbox to fold into
        ("j.doe@example.org", "j.doe@example.org"),  # dots count everywhere but Gmail
        ("J.Doe+x@GoogleMail.com", "jdoe@gmail.com"),
        ("jdoe@gmail.com", "jdoe@gmail.com"),
    ],
)
def test_the_mailbox_key_folds_the_spellings_of_one_mailbox(address, key):
    assert mailbox_key(address) == key


def test_sub_addresses_and_gmail_dots_share_the_mailbox_budget(limited_app):
    app = limited_app(RATELIMIT_SIGNUP="100 per hour")
    client = app.test_client()
    _one_mailbox_budget(client, ["b+1@example.org", "b+2@example.org"], "B+news@example.org")
    _one_mailbox_budget(client, ["j.doe@gmail.com", "jdoe@googlemail.com"], "J.D.O.E+x@gmail.com")
    # Each spelling is still its own sign-up: the limit counts, the store keeps what was sent.
    with runtime_of(app).engine.connect() as connection:
        emails = set(connection.execute(select(Subscriber.email)).scalars())
    assert emails == {
        "b+1@example.org",
        "b+2@example.org",
        "j.doe@gmail.com",
        "jdoe@googlemail.com",
    }


def test_an_ipv6_client_is_its_slash_64(limited_app):
    app = limited_app()
    client = app.test_client()
    for host in ("2001:db8:1:3::1", "2001:db8:1:3:ffff::9"):
        assert _request(client, "GET", "/feed.json", host).status_code == 200
    _assert_limited(_request(client, "GET", "/feed.json", "2001:db8:1:3::abcd"))
    assert _request(client, "GET", "/feed.json", "2001:db8:1:4::1").status_code == 200


def test_an_ipv4_address_mapped_into_ipv6_is_that_ipv4_client(limited_app):
    app = limited_app()
    client = app.test_client()
    assert _request(client, "GET", "/feed.json", "192.0.2.7").status_code == 200
    assert _request(client, "GET", "/feed.json", "::ffff:192.0.2.7").status_code == 200
    _assert_limited(_request(client, "GET", "/feed.json", "192.0.2.7"))


def test_ipv4_readers_translated_into_ipv6_are_each_their_ipv4_client(limited_app):
    """Behind a stateless IPv4-to-IPv6 front end (RFC 6052's 64:ff9b::/96), every IPv4
    reader was the one client 64:ff9b::/64, and one of them spent everyone's budget."""
    app = limited_app()
    client = app.test_client()
    for _ in range(2):
        assert _request(client, "GET", "/feed.json", "64:ff9b::c000:207").status_code == 200
    _assert_limited(_request(client, "GET", "/feed.json", "192.0.2.7"))  # the same reader
    assert _request(client, "GET", "/feed.json", "64:ff9b::c633:6401").status_code == 200


def test_a_port_written_by_the_proxy_gives_the_host_no_fresh_budget(limited_app):
    app = limited_app(TRUSTED_PROXIES=1)
    client = app.test_client()

    def via_proxy(forwarded: str):
        headers = {"X-Forwarded-For": forwarded}
        return _request(client, "GET", "/feed.json", "10.0.0.5", headers=headers)

    assert via_proxy("203.0.113.5:4001").status_code == 200
    assert via_proxy("203.0.113.5:4002").status_code == 200
    _assert_limited(via_proxy("203.0.113.5"))
    assert via_proxy("[2001:db8::1]:1").status_code == 200
    assert via_proxy("[2001:db8::2]:2").status_code == 200
    _assert_limited(via_proxy("2001:db8::3"))  # the same /64, whatever the port


def test_unreadable_client_addresses_share_one_budget(limited_app):
    app = limited_app(TRUSTED_PROXIES=1)
    client = app.test_client()
    answers = [
        _request(
            client, "GET", "/feed.json", "10.0.0.5", headers={"X-Forwarded-For": f"host-{n}"}
        ).status_code
        for n in range(3)
    ]
    assert answers == [200, 200, 429]


def test_a_request_no_route_answers_spends_the_pages_budget(limited_app):
    app = limited_app()
    client = app.test_client()
    assert _request(client, "GET", "/no-such-page", "192.0.2.1").status_code == 404
    assert _request(client, "GET", "/v1/render/html", "192.0.2.1").status_code == 405
    _assert_limited(_request(client, "GET", "/feed.json", "192.0.2.1"))
    _assert_limited(_request(client, "GET", "/another-page", "192.0.2.1"))
    # Flask's static route answered 404s with no budget at all (flask-limiter skips it).
    _assert_limited(_request(client, "GET", "/static/x.css", "192.0.2.1"))
    # The render budget is its own: the pages spent do not touch it.
    render = _request(client, "POST", "/v1/render/html", "192.0.2.1", json={})
    assert render.status_code == 422


def test_a_closed_metrics_route_costs_what_a_path_no_route_answers_costs(limited_app):
    """Exempt, a closed /metrics alone kept answering 404 once a client's pages budget was
    spent: one request then showed that it was there, switched off."""
    closed = limited_app().test_client()
    assert _request(closed, "GET", "/no-such-page", "192.0.2.1").status_code == 404
    assert _request(closed, "GET", "/metrics", "192.0.2.1").status_code == 404
    for path in ("/metrics", "/no-such-page"):
        _assert_limited(_request(closed, "GET", path, "192.0.2.1"))
    opened = limited_app(METRICS_PUBLIC=True).test_client()
    answers = [_request(opened, "GET", "/metrics", "192.0.2.2").status_code for _ in range(4)]
    assert answers == [200] * 4  # open, it is exempt, as the README says


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_a_method_an_exempt_path_does_not_answer_spends_the_pages_budget(limited_app, path):
    """Exempt by its path, a 405 there was free for ever, where the README says that any
    request no route answers spends the pages budget."""
    client = limited_app(METRICS_PUBLIC=True).test_client()
    answers = [_request(client, "POST", path, "192.0.2.3").status_code for _ in range(2)]
    assert answers == [405, 405]
    _assert_limited(_request(client, "POST", path, "192.0.2.3"))
    assert _request(client, "GET", path, "192.0.2.3").status_code == 200  # still exempt


def test_retry_after_waits_for_every_rate_used_up(limited_app):
    app = limited_app(RATELIMIT_PAGES="2 per minute; 2 per day")
    client = app.test_client()
    for _ in range(2):
        assert _request(client, "GET", "/feed.json", "192.0.2.1").status_code == 200
    # Both rates are used up: waiting out the minute would only meet the day's refusal.
    seconds = _assert_limited(_request(client, "GET", "/feed.json", "192.0.2.1"), 86400)
    assert seconds > 3600


def test_retry_after_waits_for_a_rate_the_refused_request_filled(limited_app):
    """The request a short rate refused had just filled the long one (the hour's third of
    three): Retry-After named the short window, and a client that waited it out was refused
    again for the hour. For pages (flask-limiter) and per address (our own spending)."""
    app = limited_app(
        RATELIMIT_PAGES="2 per 30 second; 3 per hour",
        RATELIMIT_SIGNUP_ADDRESS="1 per 30 second; 2 per hour",
    )
    client = app.test_client()
    for _ in range(2):
        assert _request(client, "GET", "/feed.json", "192.0.2.1").status_code == 200
    seconds = _assert_limited(_request(client, "GET", "/feed.json", "192.0.2.1"))
    assert seconds > 60
    sign_up = {"email": "filled@example.org"}
    assert _request(client, "POST", "/subscribe", "192.0.2.2", json=sign_up).status_code == 202
    seconds = _assert_limited(_request(client, "POST", "/subscribe", "192.0.2.3", json=sign_up))
    assert abs(seconds - _to_the_clock_s(3600)) <= 2  # the hour's window, not the 30 s one


def test_a_refusal_stands_when_its_window_rolls_over_before_it_is_timed(limited_app):
    """Timing a refusal reads the windows again; one that had just rolled over left no rate
    at zero, and the refused request went through, logged as a storage outage. It stands,
    until the window of the rate that refused it ends."""
    app = limited_app(RATELIMIT_SIGNUP_ADDRESS="1 per hour")
    client = app.test_client()
    sign_up = {"email": "rolled@example.org"}
    assert _request(client, "POST", "/subscribe", "192.0.2.2", json=sign_up).status_code == 202
    strategy = runtime_of(app).rate_limits.limiter.limiter
    rolled_over = WindowStats(time.time() + 3600, 1)
    with patch.object(strategy, "get_window_stats", return_value=rolled_over):
        refused = _request(client, "POST", "/subscribe", "192.0.2.3", json=sign_up)
    assert abs(_assert_limited(refused) - _to_the_clock_s(3600)) <= 2


def test_the_storage_holds_no_plain_hash_of_a_signing_up_address(limited_app, storage):
    import hashlib

    app = limited_app()
    client = app.test_client()
    address = "keyed@example.org"
    response = _request(client, "POST", "/subscribe", "192.0.2.1", json={"email": address})
    assert response.status_code == 202
    backend = runtime_of(app).rate_limits.limiter.storage
    if storage["RATELIMIT_STORAGE_URL"] == "memory://":
        keys = [str(key) for key in backend.storage]
    else:
        keys = [key.decode() for key in backend.storage.scan_iter(match="*signup_address*")]
    keys = [key for key in keys if storage["RATELIMIT_KEY_PREFIX"] in key]
    assert any("/signup_address/" in key for key in keys), keys
    # A plain hash of the mailbox could be matched against a list of guessed addresses.
    plain = hashlib.sha256(mailbox_key(address).encode()).hexdigest()
    assert not any(plain in key for key in keys)


def _store_day(app, count: int) -> list[str]:
    """`count` stored articles published on 2026-03-12; their ids."""
    from service.storage.articles import put_article
    from service.validation import validate_article

    from .corpus import minimal

    ids = [f"day-{number}" for number in range(count)]
    with runtime_of(app).database.writing() as session:
        for article_id in ids:
            document = minimal(id=article_id, published_at="2026-03-12T08:00:00Z")
            put_article(session, validate_article(document), document)
    return ids


def test_an_edition_spends_a_pdf_for_every_ten_articles(limited_app):
    app = limited_app(RATELIMIT_PDF="5 per hour")
    client = app.test_client()
    address = "192.0.2.30"
    unknown = [f"nowhere-{number}" for number in range(21)]
    # 21 articles cost 3 PDFs, counted before any is read: the answer does not matter.
    answer = _request(client, "POST", "/v1/editions", address, json={"article_ids": unknown})
    assert answer.status_code == 404
    # 2 left: 11 articles (2 PDFs) fit, then nothing does.
    eleven = {"article_ids": unknown[:11]}
    assert _request(client, "POST", "/v1/editions", address, json=eleven).status_code == 404
    _assert_limited(_request(client, "GET", "/articles/a1.pdf", address))
    # Another client's budget is whole.
    assert _request(client, "GET", "/articles/a1.pdf", "192.0.2.31").status_code == 404


def test_an_edition_that_does_not_fit_is_refused_before_any_article_is_read(limited_app):
    app = limited_app(RATELIMIT_PDF="6 per hour")
    ids = _store_day(app, 41)
    client = app.test_client()
    # 2 spent: the day's 41 articles cost 5 PDFs, 4 more than the request's own.
    for address in ("192.0.2.32", "192.0.2.34"):
        assert _request(client, "GET", "/articles/a1.pdf", address).status_code == 404
        assert _request(client, "GET", "/articles/a1.pdf", address).status_code == 404
    # Not a stored document is read for a refusal: the GET counts the day's ids alone.
    from sqlalchemy import event

    statements: list[str] = []
    engine = runtime_of(app).engine

    def seen(_connection, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        _assert_limited(_request(client, "GET", "/editions/2026-03-12.pdf", "192.0.2.32"))
        named = {"article_ids": ids}
        _assert_limited(_request(client, "POST", "/v1/editions", "192.0.2.34", json=named))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert not [s for s in statements if "document" in s], statements
    # With room for them, the same edition is read and printed.
    with patch("service.views.editions._edition", return_value=("", 204)) as printed:
        answer = _request(client, "GET", "/editions/2026-03-12.pdf", "192.0.2.35")
        assert answer.status_code == 204
    assert len(printed.call_args.args[0]) == 41


def test_editions_asked_for_at_once_get_no_more_than_the_budget(limited_app):
    """Each rate counts an edition's units and answers in one step: a check before the
    count let twelve editions at the same moment all pass it (up to 110 units of 20)."""
    from concurrent.futures import ThreadPoolExecutor

    app = limited_app(RATELIMIT_PDF="20 per hour")
    named = {"article_ids": [f"nowhere-{number}" for number in range(100)]}  # 10 PDFs each

    def ask(_: int) -> int:
        return _request(
            app.test_client(), "POST", "/v1/editions", "192.0.2.36", json=named
        ).status_code

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(ask, range(12)))
    assert set(answers) <= {404, 429}
    assert answers.count(404) <= 2, answers  # 404: past the budget, to find no article


def test_an_edition_larger_than_a_whole_budget_takes_the_whole_window(limited_app):
    app = limited_app(RATELIMIT_PDF="2 per hour; 3 per day")
    client = app.test_client()
    address = "192.0.2.33"
    unknown = [f"nowhere-{number}" for number in range(200)]
    answer = _request(client, "POST", "/v1/editions", address, json={"article_ids": unknown})
    # 20 PDFs asked; each rate gave what one whole window holds: never refused for ever.
    assert answer.status_code == 404
    seconds = _assert_limited(_request(client, "GET", "/articles/a1.pdf", address), 86400)
    assert seconds > 3600  # the day's rate is spent too
