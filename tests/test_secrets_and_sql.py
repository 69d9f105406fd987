"""Secrets never reach a log line; no SQL statement is built from strings."""

from __future__ import annotations

import ast
import io
import logging
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from service import create_app
from service.cli import cli
from service.logs import configure_logging
from service.storage.db import BUSY_TIMEOUT_SECONDS
from service.storage.schema import upgrade

from .corpus import minimal
from .mail_server import Recorder, authenticator, free_port, start

ROOT = Path(__file__).resolve().parent.parent

# Secrets ----------------------------------------------------------------------------------

SECRET_KEY = "sk-7f3a9c-never-in-a-log-line"
FORMER_KEY = "sk-former-6b2e-never-logged"
API_TOKEN = "api-token-5d1e88-never-logged"
METRICS_TOKEN = "metrics-token-c02b4f-never-logged"
SMTP_PASSWORD = "smtp-pw-91ab/?&never-logged"
DB_PASSWORD = "db-pw-e4d2-never-logged"
SHORT_TOKEN = "short-c02b4f"  # refused: too short, and still a secret
SECRETS = (
    SECRET_KEY,
    FORMER_KEY,
    API_TOKEN,
    METRICS_TOKEN,
    SMTP_PASSWORD,
    DB_PASSWORD,
    SHORT_TOKEN,
)


def _leaks(text: str) -> list[str]:
    """Each secret, or a recognisable piece or encoding of one, found in `text`."""
    found = []
    for secret in SECRETS:
        for form in {secret, quote(secret, safe=""), secret[:12]}:
            if form in text:
                found.append(form)
    return found


@pytest.fixture(params=["text", "json"])
def every_line(request):
    """Every record at any level, in one of the two formats, as the entry points write it."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(logging.DEBUG, stream, log_format=request.param)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


# The test server takes the password over plain loopback, so that the client does send it.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_no_secret_reaches_a_log_line(tmp_path, every_line, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    handler = Recorder()
    # A server that knows another password: every login fails, after the password was sent.
    controller = start(
        handler,
        authenticator=authenticator(b"ada", b"other"),
        auth_required=True,
        auth_require_tls=False,
    )
    smtp_url = f"smtp://ada:{quote(SMTP_PASSWORD, safe='')}@127.0.0.1:{controller.port}"
    try:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": SECRET_KEY,
                "SECRET_KEY_FALLBACKS": FORMER_KEY,
                "API_TOKEN": API_TOKEN,
                "METRICS_TOKEN": METRICS_TOKEN,
                "SMTP_URL": smtp_url,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'secrets.sqlite3'}",
                "BASE_URL": "https://news.example.org",
                "MAIL_RELAY": False,
            }
        )
        app.config["PROPAGATE_EXCEPTIONS"] = False
        runtime = app.extensions["broadsheet"]

        @app.get("/explode")
        def explode():
            raise RuntimeError(f"failed while holding {runtime.settings!r}")

        upgrade(runtime.engine)
        client = app.test_client()
        good = {"Authorization": f"Bearer {API_TOKEN}"}
        for given in (f"Bearer {API_TOKEN}x", f"Bearer {METRICS_TOKEN}", f"Basic {API_TOKEN}"):
            headers = {"Authorization": given}
            put = client.put("/v1/articles/minimal", json=minimal(), headers=headers)
            assert put.status_code == 401
            send = client.post("/v1/digests/2026-03-12/send", headers=headers)
            assert send.status_code == 401
        for given in (f"Bearer {METRICS_TOKEN}x", f"Bearer {API_TOKEN}", f"Basic {METRICS_TOKEN}"):
            assert client.get("/metrics", headers={"Authorization": given}).status_code == 401
        metrics = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert metrics.status_code == 200
        assert client.put("/v1/articles/minimal", json=minimal(), headers=good).status_code == 201
        bad = minimal(headline="nul \x00", colour="red")
        assert client.put("/v1/articles/minimal", json=bad, headers=good).status_code == 422
        assert client.post("/v1/render/html", data=b"{", content_type="application/json")
        assert client.get("/unsubscribe/not.a.token").status_code == 404
        assert client.post("/subscribe", json={"email": "reader@example.org"}).status_code == 202
        assert runtime.relay.deliver_all_due() == 1  # the login fails: a logged warning
        assert f"smtp://ada@127.0.0.1:{controller.port}" in every_line.getvalue()
        assert not handler.received
        assert client.get("/explode").status_code == 500
        runtime.engine.dispose()
    finally:
        controller.stop()

    # A database that is not there, behind a URL with a password.
    unreachable = f"postgresql+psycopg://broadsheet:{DB_PASSWORD}@127.0.0.1:{free_port()}/none"
    down = create_app({"TESTING": True, "DATABASE_URL": unreachable, "SECRET_KEY": SECRET_KEY})
    assert down.test_client().get("/healthz").status_code == 503
    down.extensions["broadsheet"].engine.dispose()

    # Settings that cannot start, as the command line reports them.
    runner = CliRunner()
    for name, value in [
        ("SMTP_URL", f"smtp://ada:{SMTP_PASSWORD}@127.0.0.1/path"),
        ("API_TOKEN", f"{API_TOKEN} with spaces"),
        ("METRICS_TOKEN", SHORT_TOKEN),
        ("DATABASE_URL", f"nosuch://u:{DB_PASSWORD}@h/db"),
    ]:
        monkeypatch.setenv(f"BROADSHEET_{name}", value)
        monkeypatch.setenv("BROADSHEET_SECRET_KEY", SECRET_KEY)
        result = runner.invoke(cli, ["db", "current"])
        assert result.exit_code == 2, result.output
        assert f"BROADSHEET_{name}" in result.output
        logging.getLogger("service.test").error("Could not start: %s", result.output)
        monkeypatch.delenv(f"BROADSHEET_{name}")

    written = every_line.getvalue()
    assert written.count("service.access") >= 15  # the requests above were all logged
    assert _leaks(written) == [], written
    assert _leaks(caplog.text) == []


def test_the_leak_check_can_fail():
    line = f"2026-03-12 08:00:00,000 INFO x -: smtp://ada:{quote(SMTP_PASSWORD, safe='')}@host"
    assert _leaks(line)
    assert _leaks(f'{{"message": "{API_TOKEN}"}}')
    assert not _leaks("nothing to see")


# SQL from strings -------------------------------------------------------------------------

# Calls that send SQL: the statement is their first argument.
SQL_CALLS = {"execute", "executemany", "executescript", "exec_driver_sql", "text"}


def _built_from_strings(node: ast.expr) -> bool:
    """An f-string, `%` or `+` on strings, `.format(...)` or `.join(...)`."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("format", "join", "format_map")
    )


def sql_built_from_strings(source: str, filename: str = "<source>") -> list[str]:
    """`file:line call` for each SQL call whose statement is built from strings."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name not in SQL_CALLS:
            continue
        statements = node.args[:1] + [
            k.value for k in node.keywords if k.arg in ("statement", "sql", "text", "clause")
        ]
        if any(_built_from_strings(statement) for statement in statements):
            found.append(f"{filename}:{node.lineno} {name}(...)")
    return found


def test_no_sql_is_built_from_strings_in_the_service_or_the_digests():
    paths = sorted([*ROOT.glob("service/**/*.py"), *ROOT.glob("digests/**/*.py")])
    assert len(paths) > 50
    found = []
    for path in paths:
        found += sql_built_from_strings(path.read_text("utf-8"), str(path.relative_to(ROOT)))
    assert found == [], "SQL built from strings; use bound parameters:\n" + "\n".join(found)


PLANTED = """
cursor.execute(f"PRAGMA {pragma}")
connection.execute(text("SELECT * FROM t WHERE id = " + given))
connection.execute(text("SELECT * FROM t WHERE id = %s" % given))
connection.exec_driver_sql("DELETE FROM {}".format(table))
session.execute(statement=f"DROP TABLE {name}")
text(" AND ".join(clauses))
cursor.executemany("INSERT INTO t VALUES (%s)" % values, rows)
"""

HARMLESS = """
cursor.execute("PRAGMA foreign_keys=ON")
connection.execute(text("SELECT * FROM t WHERE id = :id"), {"id": given})
connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
cursor.execute(self.record_sql, {"status": status})
session.execute(select(Table).where(Table.id == given))
logger.info(f"{name} executed")
"""


def test_the_sql_check_finds_each_planted_statement():
    found = sql_built_from_strings(PLANTED)
    assert sorted(line.split()[0] for line in found) == [f"<source>:{n}" for n in range(2, 9)]
    assert sql_built_from_strings(HARMLESS) == []


def test_the_sqlite_busy_timeout_literal_agrees_with_its_constant():
    source = (ROOT / "service" / "storage" / "db.py").read_text("utf-8")
    assert f'"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}"' in source
