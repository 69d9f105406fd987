"""Shared fixtures: the app, its client and runner, and the real tools the tests drive."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from service import create_app
from service.runtime import Runtime, current_runtime

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
    """Each database test runs on SQLite and on PostgreSQL (required in CI)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite3'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        reachable = True
    except OperationalError:
        reachable = False
    finally:
        engine.dispose()
    require_tool(reachable, f"PostgreSQL at {POSTGRES_URL}")
    return POSTGRES_URL
