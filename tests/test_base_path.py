"""A site served under a path (BASE_URL https://news.example.org/local): every link a page
makes stays under it, whether the proxy passes the path on, strips it or sets SCRIPT_NAME.

The sign-up form posted to /subscribe and the confirm and unsubscribe pages' buttons to
/subscribe/confirm/… and /unsubscribe/… at the host's root: a reader could not confirm."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from service import create_app
from service.storage.schema import upgrade
from service.tokens import Purpose

from .conftest import CountingPrinter
from .corpus import minimal

BASE = "https://news.example.org/local"
TOKEN = "base-path-test-token"
BROWSER = {"Accept": "text/html"}

# How the proxy in front hands a request for BASE + "/subscribe" on.
PROXIES = {
    "passes the path": ("/local", {}),
    "strips the path": ("", {}),
    "says it in SCRIPT_NAME": ("", {"SCRIPT_NAME": "/local"}),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("base-path")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "base-path-secret",
            "DATABASE_URL": f"sqlite:///{folder / 'site.sqlite3'}",
            "BASE_URL": BASE,
            "API_TOKEN": TOKEN,
            "MAIL_RELAY": False,
        }
    )
    runtime = app.extensions["broadsheet"]
    upgrade(runtime.engine)
    printer = CountingPrinter()
    runtime.press.get_printer = lambda: printer
    client = app.test_client()
    stored = client.put(
        "/v1/articles/minimal",
        json=minimal(kind="quick-read"),
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert stored.status_code == 201
    signed_up = client.post("/subscribe", json={"email": "reader@example.org"})
    assert signed_up.status_code == 202
    unsubscribe = runtime.tokens.sign(Purpose.UNSUBSCRIBE, 1)
    row = runtime.subscriptions.subscriber_to_unsubscribe(unsubscribe)
    confirm = runtime.subscriptions.confirm_url(row).removeprefix(BASE)
    yield client, confirm, unsubscribe
    runtime.press.close()
    runtime.engine.dispose()


def _links(response) -> set[str]:
    page = lxml_html.document_fromstring(response.get_data(as_text=True))
    return set(page.xpath("//a/@href | //form/@action | //link/@href"))


@pytest.mark.parametrize("proxy", PROXIES)
def test_every_link_of_every_page_stays_under_the_path(site, proxy):
    client, confirm, unsubscribe = site
    prefix, environ = PROXIES[proxy]
    paths = {
        "/subscribe": 200,
        confirm: 200,
        f"/unsubscribe/{unsubscribe}": 200,
        "/unsubscribe/x.y.z": 404,
        "/subscribe/confirm/not-a-token": 404,
        "/articles": 200,
        "/articles/minimal": 200,
        "/articles/nowhere": 404,
        "/docs": 200,
    }
    seen = set()
    for path, status in paths.items():
        response = client.get(prefix + path, headers=BROWSER, environ_base=environ)
        assert response.status_code == status, path
        links = _links(response)
        assert links, path
        for link in links:
            if link.startswith("#"):
                continue
            assert link.startswith(("/local/", BASE + "/")), (path, link)
        seen |= links
    # The pages link where the tests above expect them to: the form, its buttons, the docs.
    assert {"/local/subscribe", "/local/openapi.json", "/local/v1/schema/article.json"} <= seen
    assert f"/local{confirm}" in seen
    assert f"/local/unsubscribe/{unsubscribe}" in seen
    assert "/local/articles/minimal" in seen


def test_a_confirm_button_posted_under_the_path_confirms(site):
    client, confirm, _ = site
    page = client.get(confirm, headers=BROWSER)  # the proxy stripped the path
    (action,) = lxml_html.document_fromstring(page.get_data(as_text=True)).xpath("//form/@action")
    assert action == f"/local{confirm}"
    done = client.post(action, headers=BROWSER)  # the proxy passed it on
    assert done.status_code == 200
    assert "You are subscribed" in done.get_data(as_text=True)


def test_a_percent_encoded_path_is_matched_as_its_characters(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "base-path-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}",
            "BASE_URL": "https://news.example.org/actualit%C3%A9s",
        }
    )
    try:
        client = app.test_client()
        for path in ("/actualit%C3%A9s/subscribe", "/subscribe"):
            response = client.get(path, headers=BROWSER)
            assert response.status_code == 200, path
            (action,) = lxml_html.document_fromstring(response.get_data(as_text=True)).xpath(
                "//form/@action"
            )
            assert action == "/actualités/subscribe", path  # as an IRI: a browser sends UTF-8
    finally:
        app.extensions["broadsheet"].engine.dispose()


def test_without_a_path_nothing_is_moved(client):
    assert client.get("/local/subscribe").status_code == 404
    assert client.get("/subscribe").status_code == 200


def _form_token(response) -> str:
    page = lxml_html.document_fromstring(response.get_data(as_text=True))
    (token,) = page.xpath("//input[@name='csrf_token']/@value")
    return token


def test_the_form_cookie_is_the_sites_own_under_its_path(site):
    """Beside other apps on the host, the form's cookie neither replaces nor is replaced by
    theirs: its own name, and BASE_URL's path. It was Flask's `session` for the whole host:
    the other app's readers were logged out, and its cookie made the form 'expired'."""
    client = site[0].application.test_client()  # a reader with no cookie yet
    client.set_cookie("session", "the-other-apps-login", path="/")
    page = client.get("/local/subscribe", headers=BROWSER)
    (set_cookie,) = page.headers.getlist("Set-Cookie")
    assert set_cookie.startswith("broadsheet_form=")
    assert "; Path=/local;" in set_cookie + ";"
    posted = client.post(
        "/local/subscribe",
        data={"email": "beside@example.org", "csrf_token": _form_token(page)},
        headers=BROWSER,
    )
    assert posted.status_code == 200, posted.get_data(as_text=True)[:300]
    assert client.get_cookie("session", path="/").value == "the-other-apps-login"
    assert client.get_cookie("broadsheet_form", path="/local") is not None


def test_the_form_cookie_path_is_spelled_as_a_browser_asks(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "base-path-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}",
            "BASE_URL": "https://news.example.org/actualit%c3%a9s",
        }
    )
    try:
        page = app.test_client().get("/subscribe", headers=BROWSER)
        (set_cookie,) = page.headers.getlist("Set-Cookie")
        assert "; Path=/actualit%C3%A9s;" in set_cookie + ";"
    finally:
        app.extensions["broadsheet"].engine.dispose()


def test_without_a_path_the_form_cookie_is_for_the_host(client):
    page = client.get("/subscribe", headers=BROWSER)
    (set_cookie,) = page.headers.getlist("Set-Cookie")
    assert set_cookie.startswith("broadsheet_form=")
    assert "; Path=/;" in set_cookie + ";"


@pytest.mark.parametrize("proxy", PROXIES)
def test_the_article_schema_names_itself_under_the_path(site, proxy):
    """Its $id was "/v1/schema/article.json", which resolves to the host's root, outside
    the site: a validator fetching a $ref by it fetched nothing of ours."""
    client, _, _ = site
    prefix, environ = PROXIES[proxy]
    response = client.get(f"{prefix}/v1/schema/article.json", environ_overrides=environ)
    assert response.status_code == 200
    assert response.get_json()["$id"] == f"{BASE}/v1/schema/article.json"
