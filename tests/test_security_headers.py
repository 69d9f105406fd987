"""Every answer, and every HTML page above all, carries the security headers.

The walk visits every rule of the URL map with every method it takes, as a browser (form
data, Accept: text/html) and as an API client (JSON), so a route added later is walked too.
"""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from service import PAGE_POLICY, TRANSPORT_POLICY, create_app
from service.storage.schema import upgrade
from service.tokens import Purpose

from .conftest import CountingPrinter
from .corpus import minimal

TOKEN = "headers-api-token-0123456789"
# A value for each variable part of a rule; `fmt` takes each of its choices.
SAMPLES = {
    "article_id": "bike-lanes",
    "day": "1999-01-01",
    "text": "2026-03-12",
    "token": "not-a-token",
    "filename": "no-such-file.css",
}
BROWSER = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
# Endpoints that must have answered at least one walked request with a page.
PAGES = {
    "articles.page",
    "articles.index",
    "subscriptions.form",
    "subscriptions.sign_up",
    "subscriptions.confirm_page",
    "subscriptions.confirm",
    "subscriptions.unsubscribe_page",
    "subscriptions.unsubscribe",
    "digests.page",
    "rendering.render",
    None,  # no rule: the 404 and 405 pages
}


def _requests(app):
    """(endpoint, method, path, keyword arguments) for each walked request."""
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        choices = [{}]
        if "fmt" in rule.arguments:
            choices = [{"fmt": f} for f in ("html", "pdf", "email", "text")]
        for choice in choices:
            values = {**{a: SAMPLES.get(a, "x") for a in rule.arguments}, **choice}
            path = adapter.build(rule.endpoint, values)
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, method, path, {"headers": BROWSER}
                if method in ("POST", "PUT", "PATCH"):
                    yield rule.endpoint, method, path, {"json": minimal(id="bike-lanes")}
                    yield (
                        rule.endpoint,
                        method,
                        path,
                        {"data": {"email": "a@example.org"}, "headers": BROWSER},
                    )
    yield None, "GET", "/no/such/page", {"headers": BROWSER}
    yield None, "DELETE", "/subscribe", {"headers": BROWSER}


@pytest.fixture(params=["http", "https"])
def walked(request, tmp_path):
    """Every answer of the walk, with its endpoint, for an app at an http or https BASE_URL."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "headers-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'headers.sqlite3'}",
            "BASE_URL": f"{request.param}://news.example.org",
            "API_TOKEN": TOKEN,
            "MAIL_RELAY": False,
        }
    )
    runtime = app.extensions["broadsheet"]
    upgrade(runtime.engine)
    runtime.press.get_printer = lambda: CountingPrinter()
    client = app.test_client()
    article = {
        **minimal(id="bike-lanes", kind="quick-read"),
        "published_at": "2026-03-11T09:00:00Z",
    }
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.put("/v1/articles/bike-lanes", json=article, headers=auth).status_code == 201
    answers = [(e, m, p, client.open(p, method=m, **kw)) for e, m, p, kw in _requests(app)]

    # The pages reached only with a valid token or form.
    form = client.get("/subscribe")
    csrf = lxml_html.document_fromstring(form.text).xpath("//input[@name='csrf_token']")
    data = {"email": "b@example.org", "csrf_token": csrf[0].get("value")}
    answers.append(
        ("subscriptions.sign_up", "POST", "/subscribe", client.post("/subscribe", data=data))
    )
    data = {"email": "nope", "csrf_token": csrf[0].get("value")}
    answers.append(
        ("subscriptions.sign_up", "POST", "/subscribe", client.post("/subscribe", data=data))
    )
    unsubscribe = runtime.tokens.sign(Purpose.UNSUBSCRIBE, 1)
    row = runtime.subscriptions.subscriber_to_unsubscribe(unsubscribe)
    confirm = runtime.subscriptions.confirm_url(row).split("news.example.org", 1)[1]
    answers.append(("subscriptions.confirm_page", "GET", confirm, client.get(confirm)))
    answers.append(("subscriptions.confirm", "POST", confirm, client.post(confirm)))
    path = f"/unsubscribe/{unsubscribe}"
    answers.append(("subscriptions.unsubscribe_page", "GET", path, client.get(path)))
    answers.append(("subscriptions.unsubscribe", "POST", path, client.post(path)))
    runtime.press.close()
    runtime.engine.dispose()
    return request.param, answers


def test_every_html_page_has_the_page_headers(walked):
    scheme, answers = walked
    pages = [(e, m, p, r) for e, m, p, r in answers if r.mimetype == "text/html"]
    assert PAGES <= {e for e, *_ in pages}, sorted(str(e) for e, *_ in pages)
    assert {r.status_code for *_, r in pages} >= {200, 400, 404, 405}
    for endpoint, method, path, response in pages:
        where = f"{method} {path} ({endpoint}) {response.status_code}"
        headers = response.headers
        assert headers.get("Content-Security-Policy") == PAGE_POLICY, where
        assert headers.get("X-Content-Type-Options") == "nosniff", where
        assert headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", where
        expected = TRANSPORT_POLICY if scheme == "https" else None
        assert headers.get("Strict-Transport-Security") == expected, where
        scripts = lxml_html.document_fromstring(response.text).xpath("//script")
        assert all(s.get("type") == "application/ld+json" for s in scripts), where


def test_every_answer_says_nosniff_and_hsts_only_on_https(walked):
    scheme, answers = walked
    assert len(answers) > 40
    for endpoint, method, path, response in answers:
        where = f"{method} {path} ({endpoint}) {response.status_code}"
        assert response.status_code < 500, where
        assert response.headers.get("X-Content-Type-Options") == "nosniff", where
        hsts = response.headers.get("Strict-Transport-Security")
        assert hsts == (TRANSPORT_POLICY if scheme == "https" else None), where


def test_the_policy_lets_a_page_run_no_script():
    directives = dict(part.strip().split(" ", 1) for part in PAGE_POLICY.split(";"))
    assert directives["default-src"] == "'none'"
    assert "script-src" not in directives
    assert directives["frame-ancestors"] == "'none'"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/articles//bike-lanes"),
        ("GET", "//feed.atom"),
        ("POST", "/unsubscribe//a-token"),
        ("GET", "/v1/articles//bike-lanes"),
    ],
)
def test_no_answer_points_at_a_host_the_client_named(make_app, method, path):
    """Werkzeug merged "//" by a 308 to http://<Host header>/…: a link of this site could be
    made to lead elsewhere, and a one-click unsubscribe carried its token there over http."""
    app = make_app(BASE_URL="https://news.example.org")
    response = app.test_client().open(path, method=method, headers={"Host": "evil.example"})
    assert response.status_code == 404
    assert "Location" not in response.headers
