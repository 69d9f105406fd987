"""Shared fixtures: the app, its client and runner, and the real tools the tests drive."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from service import create_app, print_pool
from service.printing import Printed
from service.runtime import Runtime, current_runtime
from service.views import caching

from .chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(available: bool, what: str) -> None:
    """A missing tool fails the test in CI and skips it on a developer machine."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is missing", pytrace=False)
    pytest.skip(f"{what} is not installed here (required in CI)")


def runtime_of(app) -> Runtime:
    """The runtime an app's views and commands read."""
    with app.app_context():
        return current_runtime()


@pytest.fixture(autouse=True)
def _no_handler_outlives_its_test():
    """A command run under click's runner configures logging to the runner's stream, closed
    when it returns: a later test's records went there ("--- Logging error ---" in its
    stderr). The handlers `configure_logging` added during a test leave with it."""
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "broadsheet_handler", False)]:
        root.removeHandler(handler)


@pytest.fixture
def app(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'test.sqlite3'}",
            "BASE_URL": "https://news.example.org",
            "PUBLISHER_NAME": "Test Publisher",
            "PUBLISHER_ADDRESS": "1 Test Street, Testville",
        }
    )
    return app


@pytest.fixture
def make_app():
    """create_app with test defaults under `config`; engines are disposed afterwards."""
    apps = []

    def make(**config):
        app = create_app(
            {"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": "sqlite://", **config}
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        runtime_of(app).engine.dispose()


@pytest.fixture
def dates_said_promptly(monkeypatch):
    """Last-Modified said as soon as its second is over, without the margin left for dated
    writes still on their way to their commit (service/views/caching.py): for tests of what a
    date says, not of when it is first said (tests/test_dates_settle.py)."""
    monkeypatch.setattr(caching, "DATE_SETTLES", timedelta(0))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def post_json(client):
    """POST `payload` (a dict, or raw bytes) as JSON to `path`."""

    def post(path: str, payload, **kwargs):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        kwargs.setdefault("content_type", "application/json")
        return client.post(path, data=data, **kwargs)

    return post


# Real tools ----------------------------------------------------------------------------

AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium, driven by Playwright (no browser download)."""
    require_tool(Path(CHROMIUM).exists(), "Chromium (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe(browser):
    """Run axe-core on an HTML document; return its violations."""
    require_tool(AXE_JS.exists(), "axe-core (npm ci)")
    source = AXE_JS.read_text("utf-8")

    def run(html: str, tags: list[str], color_scheme: str = "light") -> list[dict]:
        context = browser.new_context(color_scheme=color_scheme, java_script_enabled=True)
        # Pages must never reach the network; everything they need is inline.
        context.route("**/*", lambda route: route.abort())
        page = context.new_page()
        try:
            page.set_content(html, wait_until="load")
            page.add_script_tag(content=source)
            result = page.evaluate(
                "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", tags
            )
            return result["violations"]
        finally:
            context.close()

    return run


@pytest.fixture(scope="session")
def visible_text(browser):
    """The text a sighted reader sees (innerText), as Chromium lays the page out."""

    def run(html: str) -> str:
        context = browser.new_context()
        context.route("**/*", lambda route: route.abort())
        page = context.new_page()
        try:
            page.set_content(html, wait_until="load")
            return page.evaluate("document.body.innerText")
        finally:
            context.close()

    return run


@pytest.fixture(scope="session")
def nu_checker():
    """Validate many HTML documents in one run of the Nu HTML Checker; name → errors."""
    require_tool(shutil.which("java") is not None, "Java (for the Nu HTML Checker)")
    require_tool(VNU_JAR.exists(), "vnu-jar (npm ci)")

    def check(documents: dict[str, str], workdir: Path) -> dict[str, list[dict]]:
        paths = {}
        for name, html in documents.items():
            path = workdir / f"{name}.html"
            path.write_text(html, "utf-8")
            paths[str(path.resolve())] = name
        completed = subprocess.run(
            ["java", "-jar", str(VNU_JAR), "--format", "json", "--exit-zero-always", *paths.keys()],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        report = json.loads(completed.stderr or completed.stdout)
        results: dict[str, list[dict]] = {name: [] for name in documents}
        for message in report["messages"]:
            url = message.get("url", "").removeprefix("file:")
            name = paths.get(url)
            if name is None:
                raise AssertionError(f"unexpected Nu checker message: {message}")
            if message["type"] == "error" or message.get("subType") == "fatal":
                results[name].append(message)
        return results

    return check


POSTGRES_URL = os.environ.get(
    "BROADSHEET_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Each database test runs on SQLite and on PostgreSQL (required in CI).

    On PostgreSQL each test gets a schema of its own, dropped afterwards, so tests never
    see each other's rows.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite3'}"
        return
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(POSTGRES_URL)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
        reachable = True
    except OperationalError:
        reachable = False
    if not reachable:
        admin.dispose()
    require_tool(reachable, f"PostgreSQL at {POSTGRES_URL}")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '20s'"))
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


# Stored articles ------------------------------------------------------------------------

API_TOKEN = "test-api-token-0123456789"


class CountingPrinter:
    """Counts the print jobs that reach a printer; without one to pass them to, it fakes a PDF."""

    def __init__(self, inner=None, delay: float = 0.0, fail_with: Exception | None = None):
        self.inner = inner
        self.max_pages = inner.max_pages if inner else 60
        self.delay = delay
        self.fail_with = fail_with
        self.jobs: list[str] = []
        self.threads: list[str] = []  # the name of the thread each job came from
        self.behind: list[bool] = []  # whether each job stood behind readers' prints
        self._lock = threading.Lock()

    def print(self, html: str, paper: str = "a4", link_labels=None) -> Printed:
        with self._lock:
            self.jobs.append(html)
            self.threads.append(threading.current_thread().name)
            self.behind.append(print_pool.behind_readers())
        if self.delay:
            time.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        if self.inner is not None:
            return self.inner.print(html, paper, link_labels)
        return Printed(b"%PDF-1.7 fake " + hashlib.sha256(html.encode()).hexdigest().encode())


@pytest.fixture
def printer():
    """The printer the stored app's press uses: fast and fake, counting its jobs."""
    return CountingPrinter()


@pytest.fixture
def stored_app(database_url, printer):
    """An app on a migrated database (SQLite and PostgreSQL) with an API token."""
    from service.storage.schema import upgrade

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "BASE_URL": "https://news.example.org",
            "PUBLISHER_NAME": "Test Publisher",
            "API_TOKEN": API_TOKEN,
        }
    )
    runtime = app.extensions["broadsheet"]
    upgrade(runtime.engine)
    runtime.press.get_printer = lambda: printer
    yield app
    runtime.press.close()
    runtime.engine.dispose()


@pytest.fixture
def api(stored_app):
    """A client for the stored-articles API that sends the token unless told otherwise."""
    return ApiClient(stored_app.test_client())


class ApiClient:
    def __init__(self, client):
        self.client = client

    def put(self, article: dict | bytes, article_id: str | None = None, token=API_TOKEN, **kw):
        data = article if isinstance(article, bytes) else json.dumps(article).encode()
        article_id = article_id or article["id"]
        kw.setdefault("content_type", "application/json")
        return self.client.put(
            f"/v1/articles/{article_id}", data=data, headers=self._headers(token, kw), **kw
        )

    def delete(self, article_id: str, token=API_TOKEN, **kw):
        return self.client.delete(
            f"/v1/articles/{article_id}", headers=self._headers(token, kw), **kw
        )

    def get(self, path: str, **kw):
        return self.client.get(path, **kw)

    @staticmethod
    def _headers(token, kw) -> dict[str, str]:
        headers = dict(kw.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return headers


@pytest.fixture(scope="session")
def page_width(browser):
    """How wide a document lays out in a viewport `width` CSS pixels wide (WCAG 1.4.10: at
    320 px, text must reflow, not scroll sideways)."""

    def measure(html: str, width: int = 320) -> int:
        context = browser.new_context(viewport={"width": width, "height": 640})
        context.route("**/*", lambda route: route.abort())
        page = context.new_page()
        try:
            page.set_content(html, wait_until="load")
            return int(page.evaluate("document.documentElement.scrollWidth"))
        finally:
            context.close()

    return measure


def challenge(authorization: str | None) -> str:
    """RFC 6750 §3: an error code only when a bearer token was sent (the header said the
    same whether none was sent or a wrong one)."""
    if authorization is None or not authorization.lower().startswith("bearer"):
        return 'Bearer realm="broadsheet"'
    if not authorization[len("bearer") :].strip():
        return 'Bearer realm="broadsheet"'  # the scheme alone: no token was sent
    return 'Bearer realm="broadsheet", error="invalid_token"'
