"""A database that does not answer (down, refusing connections, not migrated) is a 503 the
client may retry, with Retry-After, as /healthz says 503; never an internal error. And what
a failed statement carried (a subscriber's address and name) never reaches the log."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
from sqlalchemy import create_engine, make_url, text

from .conftest import API_TOKEN, POSTGRES_URL

ROUTES = [
    ("get", "/feed.atom"),
    ("get", "/feed.json"),
    ("get", "/articles"),
    ("get", "/articles/some-article"),
    ("get", "/articles/some-article.pdf"),
    ("get", "/v1/articles"),
    ("get", "/v1/articles/some-article"),
    ("delete", "/v1/articles/some-article"),
    ("get", "/v1/subscribers"),
    ("get", "/digests/2026-03-12"),
    ("post", "/v1/digests/2026-03-12/send"),
    ("get", "/editions/2026-03-12.pdf"),
]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens


@contextmanager
def _empty_postgresql_schema() -> Iterator[str]:
    """A URL whose search path is a schema of no tables (PostgreSQL not migrated: it says
    so with a ProgrammingError, where SQLite raises an OperationalError)."""
    admin = create_engine(POSTGRES_URL)
    schema = f"empty_{uuid.uuid4().hex[:16]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(
    params=[
        "sqlite-in-a-missing-folder",
        "sqlite-not-migrated",
        "postgresql-down",
        "postgresql-not-migrated",
    ]
)
def down(request, make_app, tmp_path):
    with ExitStack() as stack:
        url = {
            "sqlite-in-a-missing-folder": lambda: (
                f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}"
            ),
            "sqlite-not-migrated": lambda: f"sqlite:///{tmp_path / 'empty.sqlite3'}",
            "postgresql-down": lambda: (
                f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/test"
            ),
            "postgresql-not-migrated": lambda: stack.enter_context(_empty_postgresql_schema()),
        }[request.param]()
        app = make_app(
            DATABASE_URL=url,
            API_TOKEN=API_TOKEN,
            BASE_URL="https://news.example.org",
            RATELIMIT_ENABLED=False,
        )
        yield app.test_client()
        app.extensions["broadsheet"].engine.dispose()


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_database_that_does_not_answer_is_a_503_to_retry(down, method, path):
    response = getattr(down, method)(path, headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.status_code == 503, response.data[:300]
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"].endswith("/database-unavailable")
    assert response.headers["Retry-After"] == "5"


def test_writes_answer_503_and_a_browser_gets_a_page(down):
    article = {
        "id": "some-article",
        "headline": "A headline",
        "published_at": "2026-03-12T08:00:00Z",
        "body": [{"type": "paragraph", "text": "One paragraph."}],
    }
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    stored = down.put("/v1/articles/some-article", json=article, headers=headers)
    assert stored.status_code == 503
    assert stored.get_json()["type"].endswith("/database-unavailable")
    assert down.post("/subscribe", json={"email": "reader@example.org"}).status_code == 503
    page = down.get("/articles", headers={"Accept": "text/html"})
    assert page.status_code == 503
    assert page.mimetype == "text/html"
    assert b"The database is unavailable" in page.data
    assert down.get("/healthz").status_code == 503


def test_the_sign_up_form_keeps_what_was_typed_while_the_database_is_down(down):
    from lxml import html as lxml_html

    form_page = lxml_html.document_fromstring(down.get("/subscribe").get_data(as_text=True))
    token = form_page.xpath("//input[@name='csrf_token']/@value")[0]
    sent = {"email": "reader@example.org", "name": "Ann", "csrf_token": token}
    response = down.post("/subscribe", data=sent, headers={"Accept": "text/html"})
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"] == "5"
    page = lxml_html.document_fromstring(response.get_data(as_text=True))
    assert page.xpath("//input[@name='email']/@value") == ["reader@example.org"]
    assert page.xpath("//input[@name='name']/@value") == ["Ann"]
    assert "The database did not answer" in page.xpath("string(//*[@role='alert'])")


def test_a_failed_statement_logs_no_address_or_name(make_app, tmp_path, caplog):
    """The INSERT of a sign-up failed on a database without its tables: its parameters (the
    address, the name, the IP) were written into the log with the error."""
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}", RATELIMIT_ENABLED=False)
    with caplog.at_level(logging.ERROR):
        answer = app.test_client().post(
            "/subscribe", json={"email": "priya.private@example.org", "name": "Priya Private"}
        )
    assert answer.status_code == 503
    logged = "\n".join(
        record.getMessage() + "\n" + logging.Formatter().formatException(record.exc_info)
        for record in caplog.records
        if record.exc_info
    )
    assert "INSERT INTO subscribers" in logged  # the statement is there for the operator
    assert "priya.private" not in logged
    assert "Priya Private" not in logged


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_openapi_says_these_routes_may_answer_503_with_retry_after(app, method, path):
    document = app.test_client().get("/openapi.json").get_json()
    paths = document["paths"]
    template = next(name for name in paths if _matches(name, path) and method in paths[name])
    answer = paths[template][method]["responses"]["503"]
    assert "Retry-After" in answer.get("headers", {}), (template, method)


def _matches(template: str, path: str) -> bool:
    import re

    pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
    return re.fullmatch(pattern, path) is not None


def test_a_postgresql_that_accepts_and_never_answers_is_a_503_within_seconds(make_app, monkeypatch):
    """A server stalled, or a proxy before a stalled one: libpq waited 130 s for each new
    connection, and each request thread with it (four stuck requests took a worker whose
    render routes use no database). A connection gives up after CONNECT_SECONDS."""
    import threading
    import time

    from service.storage.db import CONNECT_SECONDS

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        held = []
        threading.Thread(
            target=lambda: [held.append(silent.accept()) for _ in range(4)], daemon=True
        ).start()
        app = make_app(
            DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{port}/test",
            RATELIMIT_ENABLED=False,
        )
        client = app.test_client()
        try:
            for path in ("/healthz", "/v1/articles"):
                started = time.monotonic()
                response = client.get(path)
                took = time.monotonic() - started
                assert response.status_code == 503, path
                assert took < CONNECT_SECONDS + 5, (path, took)
            assert held  # the server took the connection and said nothing
            # An option the URL gives wins over the bound.
            url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/test?connect_timeout=1"
            slow = make_app(DATABASE_URL=url, RATELIMIT_ENABLED=False).test_client()
            started = time.monotonic()
            assert slow.get("/healthz").status_code == 503
            assert time.monotonic() - started < CONNECT_SECONDS
            # And so does libpq's own PGCONNECT_TIMEOUT, which an operator may set for all.
            from sqlalchemy.exc import OperationalError

            from service.storage.db import create_database_engine

            url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"
            monkeypatch.setenv("PGCONNECT_TIMEOUT", "1")
            engine = create_database_engine(url)
            started = time.monotonic()
            with pytest.raises(OperationalError):
                engine.connect()
            assert time.monotonic() - started < CONNECT_SECONDS - 1
            engine.dispose()
        finally:
            app.extensions["broadsheet"].engine.dispose()
            for connection, _ in held:
                connection.close()


def test_a_postgresql_lock_held_elsewhere_is_a_503_after_the_wait_not_a_hang(make_app, monkeypatch):
    """A session that holds what a request needs (a psql left in a transaction, a stuck
    writer) kept the request waiting for ever, where SQLite gives up after its busy
    timeout. Here the holder lets go after 8 s: without the bound the PUT waits and
    stores; with it, it answers 503 after the wait, and nothing is stored."""
    import threading
    import time

    from service.storage import db
    from service.storage.schema import upgrade

    from .corpus import minimal

    monkeypatch.setattr(db, "LOCK_WAIT_SECONDS", 1, raising=False)
    with _empty_postgresql_schema() as url:
        app = make_app(DATABASE_URL=url, API_TOKEN=API_TOKEN, RATELIMIT_ENABLED=False)
        upgrade(app.extensions["broadsheet"].engine)
        holder = create_engine(url)
        held = threading.Event()

        def hold() -> None:
            with holder.begin() as connection:
                key = text("SELECT pg_advisory_xact_lock(hashtextextended('held', 0))")
                connection.execute(key)
                held.set()
                time.sleep(8)

        thread = threading.Thread(target=hold)
        thread.start()
        try:
            assert held.wait(10)
            started = time.monotonic()
            answer = app.test_client().put(
                "/v1/articles/held",
                json=minimal(id="held"),
                headers={"Authorization": f"Bearer {API_TOKEN}"},
            )
            took = time.monotonic() - started
            assert answer.status_code == 503, answer.get_data(as_text=True)[:300]
            assert answer.get_json()["type"].endswith("database-unavailable")
            assert "Retry-After" in answer.headers
            assert took < 5, took
        finally:
            thread.join()
            holder.dispose()
        assert app.test_client().get("/v1/articles/held").status_code == 404


def test_postgresql_bounds_leave_an_operators_own_and_migrations_alone(make_app, monkeypatch):
    from service.storage import db
    from service.storage.schema import upgrade

    def settings(engine) -> dict[str, str]:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT name, setting FROM pg_settings "
                    "WHERE name IN ('lock_timeout', 'statement_timeout')"
                )
            )
            return dict(rows.all())

    engine = db.create_database_engine(POSTGRES_URL)
    try:
        assert settings(engine) == {"lock_timeout": "10000", "statement_timeout": "60000"}
    finally:
        engine.dispose()
    url = make_url(POSTGRES_URL).update_query_dict({"options": "-c lock_timeout=2500"})
    engine = db.create_database_engine(url)
    try:
        assert settings(engine) == {"lock_timeout": "2500", "statement_timeout": "60000"}
    finally:
        engine.dispose()
    # A migration waits for the one before it as long as that takes.
    import threading
    import time

    from service.storage.schema import _UPGRADE_LOCK

    monkeypatch.setattr(db, "LOCK_WAIT_SECONDS", 0.5)
    with _empty_postgresql_schema() as schema_url:
        holder = create_engine(schema_url)
        held = threading.Event()

        def hold() -> None:
            with holder.begin() as connection:
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK}
                )
                held.set()
                time.sleep(2)

        thread = threading.Thread(target=hold)
        thread.start()
        engine = db.create_database_engine(schema_url)
        try:
            assert held.wait(10)
            state = upgrade(engine)
            assert state.is_current
        finally:
            thread.join()
            engine.dispose()
            holder.dispose()
