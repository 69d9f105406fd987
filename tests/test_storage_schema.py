"""The database: migrations agree with the models, SQLite is tuned, and `db` commands work."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, inspect, select, text, true
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from service import create_app
from service.commands import prepare_database
from service.storage import claims, schema
from service.storage.articles import last_change
from service.storage.db import Base, create_database_engine
from service.storage.models import ArticleDeletion

ROOT = Path(__file__).resolve().parent.parent


def test_the_migrations_form_one_chain():
    script = ScriptDirectory.from_config(schema.alembic_config())
    assert len(script.get_heads()) == 1, "two branches each added a migration: renumber one"
    revisions = list(script.walk_revisions())
    assert [r.revision for r in reversed(revisions)] == [
        f"{n:04d}" for n in range(1, len(revisions) + 1)
    ]


def test_migrations_match_the_models(database_url):
    engine = create_database_engine(database_url)
    try:
        state = schema.upgrade(engine)
        assert state.is_current
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_upgrade_twice_is_harmless_and_downgrade_empties(database_url):
    engine = create_database_engine(database_url)
    try:
        schema.upgrade(engine)
        assert schema.upgrade(engine).is_current
        assert {"articles", "article_pdfs", "article_deletions"} <= set(
            inspect(engine).get_table_names()
        )
        from alembic import command

        with engine.begin() as connection:
            command.downgrade(schema.alembic_config(connection), "base")
        assert not schema.schema_state(engine).is_current
        assert "articles" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_revision_0005_keeps_the_latest_deletion_and_no_deleted_id(database_url):
    from service.storage.db import Database

    engine = create_database_engine(database_url)
    try:
        schema.upgrade(engine, "0004")
        database = Database(engine)
        moments = [datetime(2026, 3, 12, 8, minute, tzinfo=UTC) for minute in (5, 30, 10)]
        with database.writing() as session:
            for n, moment in enumerate(moments):
                session.add(ArticleDeletion(id=f"deleted-{n}", deleted_at=moment))
        schema.upgrade(engine)
        with database.reading() as session:
            rows = session.execute(select(ArticleDeletion.id, ArticleDeletion.deleted_at)).all()
        assert [(row.id, row.deleted_at) for row in rows] == [("", max(moments))]
    finally:
        engine.dispose()


def test_revision_0006_carries_over_the_consents_confirmed(database_url):
    from service.storage.db import Database
    from service.storage.models import ConfirmedConsent, Subscriber

    engine = create_database_engine(database_url)
    try:
        schema.upgrade(engine, "0005")
        moment = datetime(2026, 3, 12, 8, 30, tzinfo=UTC)
        with engine.begin() as connection:
            for n, confirmed in enumerate((moment + timedelta(minutes=5), None)):
                connection.execute(
                    Subscriber.__table__.insert().values(
                        email=f"s{n}@example.org",
                        email_key=f"s{n}@example.org",
                        status="confirmed" if confirmed else "pending",
                        created_at=moment,
                        consented_at=moment,
                        consent_ip="192.0.2.1",
                        consent_form="form",
                        confirmed_at=confirmed,
                    )
                )
        schema.upgrade(engine)
        with Database(engine).reading() as session:
            kept = session.execute(select(ConfirmedConsent)).scalars().all()
        assert [(k.consent_ip, k.consent_form, k.confirmed_at) for k in kept] == [
            ("192.0.2.1", "form", moment + timedelta(minutes=5))
        ]
    finally:
        engine.dispose()


def test_revision_0007_up_and_down_keeps_every_run_and_delivery(database_url):
    """Its downgrade rebuilt digest_runs on SQLite (a batch), and dropping the old table
    cascaded to digest_deliveries: a rollback erased the record of every digest sent."""
    from alembic import command

    from service.storage.models import Subscriber

    engine = create_database_engine(database_url)
    try:
        schema.upgrade(engine, "0006")
        moment = datetime(2026, 3, 12, 8, 30, tzinfo=UTC)
        with engine.begin() as connection:
            connection.execute(
                Subscriber.__table__.insert().values(
                    id=1,
                    email="s@example.org",
                    email_key="s@example.org",
                    status="confirmed",
                    created_at=moment,
                    consented_at=moment,
                    consent_ip=None,
                    consent_form="form",
                    confirmed_at=moment,
                )
            )
            connection.execute(
                text(
                    "INSERT INTO digest_runs (day, opened_at, opened_by, subject, html, text, "
                    "marker, items, audience) VALUES ('2026-03-12', :at, 'test', 's', 'h', 't', "
                    "'m', 1, 1)"
                ),
                {"at": moment.replace(tzinfo=None)},
            )
            connection.execute(
                text(
                    "INSERT INTO digest_deliveries (day, subscriber_id, status, attempts, "
                    "next_attempt_at) VALUES ('2026-03-12', 1, 'sent', 1, :at)"
                ),
                {"at": moment.replace(tzinfo=None)},
            )

        def counted() -> tuple[int, int]:
            with engine.connect() as connection:
                runs = connection.execute(text("SELECT count(*) FROM digest_runs")).scalar()
                sent = connection.execute(text("SELECT count(*) FROM digest_deliveries")).scalar()
            return runs, sent

        schema.upgrade(engine)
        assert counted() == (1, 1)
        writer = engine.execution_options(broadsheet_write=True)
        with writer.begin() as connection:
            command.downgrade(schema.alembic_config(connection), "0006")
        assert counted() == (1, 1)
        assert "article_ids" not in {c["name"] for c in inspect(engine).get_columns("digest_runs")}
    finally:
        engine.dispose()


def test_revision_0010_hashes_the_stored_versions_again_and_their_pdfs_follow(database_url):
    """The version hashed the keys sorted; now the order sent, as GET writes it. Without
    hashing the stored ones again, the first PUT of an unchanged body after the upgrade was
    stored as a change (a new ETag and date, its PDF printed again)."""
    import hashlib
    import json

    from alembic import command

    from service.storage.articles import content_version, put_article
    from service.storage.db import Database
    from service.storage.models import ArticlePdf, StoredArticle
    from service.validation import validate_article

    def sorted_version(document) -> str:  # the rule before 0010
        written = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(written.encode("utf-8")).hexdigest()[:32]

    documents = [
        {
            "published_at": "2026-03-12T08:00:00Z",
            "id": f"a{n:03d}",
            "headline": f"Headline {n}",
            "body": [{"type": "paragraph", "text": "Words."}],
        }
        for n in range(501)  # more than one batch of the migration
    ]
    engine = create_database_engine(database_url)
    database = Database(engine)

    def versions() -> tuple[dict[str, str], dict[str, str]]:
        with database.reading() as session:
            stored = dict(session.execute(select(StoredArticle.id, StoredArticle.version)).all())
            pdfs = dict(session.execute(select(ArticlePdf.article_id, ArticlePdf.version)).all())
        return stored, pdfs

    try:
        schema.upgrade(engine, "0009")
        with database.writing() as session:
            for document in documents:
                put_article(session, validate_article(document), document)
        with engine.begin() as connection:  # as the code before 0010 stored them
            for document in documents:
                old = sorted_version(document)
                for table, key in (("articles", "id"), ("article_pdfs", "article_id")):
                    connection.execute(
                        text(f"UPDATE {table} SET version = :v WHERE {key} = :id"),
                        {"v": old, "id": document["id"]},
                    )
        schema.upgrade(engine)
        now = {document["id"]: content_version(document) for document in documents}
        assert now[documents[0]["id"]] != sorted_version(documents[0])
        assert versions() == (now, now)
        with database.writing() as session:
            stored = put_article(session, validate_article(documents[7]), documents[7])
        assert not stored.changed

        writer = engine.execution_options(broadsheet_write=True)
        with writer.begin() as connection:
            command.downgrade(schema.alembic_config(connection), "0009")
        before = {document["id"]: sorted_version(document) for document in documents}
        assert versions() == (before, before)
    finally:
        engine.dispose()


def test_sqlite_connections_are_tuned(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path / 'tuned.sqlite3'}")
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
        assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10_000}
    finally:
        engine.dispose()


def _plans(engine, action, table: str) -> list[str]:
    """The query plan of each statement `action` issues that names `table`, as one line."""
    asked: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many):
        if table in statement:
            asked.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    plans = []
    with engine.connect() as connection:
        for sql, parameters in asked:
            if engine.dialect.name == "sqlite":
                rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters)
                plans.append(" | ".join(str(row[-1]) for row in rows))
            else:
                connection.exec_driver_sql("SET enable_seqscan = off")
                rows = connection.exec_driver_sql("EXPLAIN " + sql, parameters)
                plans.append(" | ".join(row[0] for row in rows))
    return plans


def test_when_a_list_last_changed_is_asked_of_an_index(database_url):
    """Every feed, the list page and their 304s ask when any article was last stored; it
    read the whole articles table (0.5 s a request at 200,000 articles on SQLite)."""
    engine = create_database_engine(database_url)
    try:
        schema.upgrade(engine)

        def ask() -> None:
            with Session(engine) as session:
                last_change(session)

        (plan,) = (p for p in _plans(engine, ask, "articles") if "deletions" not in p)
        assert "ix_articles_stored_at" in plan, plan
        assert "SCAN articles" not in plan, plan  # SQLite's whole table
        assert "Seq Scan" not in plan, plan
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("table", "index"),
    [
        ("digest_deliveries", "ix_digest_deliveries_day_status_next_attempt_at_id"),
        ("outbox", "ix_outbox_status_next_attempt_at_id"),
    ],
)
def test_a_claim_reads_its_batch_in_index_order(database_url, table, index):
    """A claim asked for rows pending and due OR claimed with their lease run out, by id:
    each claim of 50 read and sorted every row of the run (on PostgreSQL, of every run
    kept: 0.9 s a batch at 2.4 million rows), so a run's cost grew with its square."""
    engine = create_database_engine(database_url)
    try:
        schema.upgrade(engine)
        rows = Base.metadata.tables[table]
        where = rows.c.day == date(2026, 3, 12) if table == "digest_deliveries" else true()

        def claim() -> None:
            claims.claim(
                engine, rows, where=where, now=datetime.now(UTC), lease=timedelta(60), limit=50
            )

        plans = _plans(engine, claim, table)
        assert len(plans) == 2, plans  # the two kinds of due rows, each its own read
        for plan in plans:
            assert index in plan, plan
            assert "TEMP B-TREE" not in plan, plan  # SQLite sorting what it read
            assert "SCAN " + table not in plan, plan
            assert "Seq Scan" not in plan, plan
            assert "Sort" not in plan, plan  # PostgreSQL's
    finally:
        engine.dispose()


def test_moments_come_back_in_utc(database_url):
    engine = create_database_engine(database_url)
    try:
        schema.upgrade(engine)
        from service.storage.db import Database

        database = Database(engine)
        moment = datetime(2026, 3, 12, 8, 30, tzinfo=timezone(timedelta(hours=2)))
        with database.writing() as session:
            session.add(ArticleDeletion(id="x", deleted_at=moment))
        with database.reading() as session:
            stored = session.scalar(select(ArticleDeletion.deleted_at))
        assert stored == moment
        assert stored.tzinfo == UTC

        def store_a_naive_moment() -> None:
            with database.writing() as session:
                session.add(ArticleDeletion(id="y", deleted_at=datetime(2026, 3, 12)))

        with pytest.raises(StatementError, match="time zone"):
            store_a_naive_moment()
    finally:
        engine.dispose()


def test_db_upgrade_command(database_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": database_url})
    runner = app.test_cli_runner()
    try:
        before = runner.invoke(args=["db", "current"])
        assert before.exit_code == 1
        assert "broadsheet db upgrade" in before.output
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output
        after = runner.invoke(args=["db", "current"])
        assert after.exit_code == 0
        engine = app.extensions["broadsheet"].engine
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM articles")).scalar() == 0
    finally:
        app.extensions["broadsheet"].engine.dispose()


def test_db_upgrade_to_a_revision_passed_says_it_does_not_go_back(database_url):
    """`db upgrade 0005` on a database at the head said "up to date" and exited 0: an
    operator's rollback looked done."""
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": database_url})
    runner = app.test_cli_runner()
    try:
        assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
        for passed in ("0005", "0001", "base"):
            result = runner.invoke(args=["db", "upgrade", passed])
            assert result.exit_code == 1, passed
            assert "never goes back" in result.output
            assert "restore the backup" in result.output
        head = schema.head_revisions()[0]
        for ahead in ("head", head):
            result = runner.invoke(args=["db", "upgrade", ahead])
            assert (result.exit_code, "up to date" in result.output) == (0, True)
    finally:
        app.extensions["broadsheet"].engine.dispose()


@pytest.mark.parametrize("name", ["live.sqlite3", "news#1 100%.sqlite3"])
def test_db_backup_copies_a_serving_sqlite_database(tmp_path, name):
    """What docs/deploy.md backs up with: a consistent copy while the service writes (a
    plain copy of a database in WAL mode may miss what the WAL holds). A path holding # or
    % was read as a URI's parts: an empty database was backed up, with exit 0."""
    source = tmp_path / name
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{source}"})
    runner = app.test_cli_runner()
    try:
        assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
        with app.extensions["broadsheet"].database.writing() as session:  # in the WAL
            session.add(ArticleDeletion(id="", deleted_at=datetime(2026, 3, 12, tzinfo=UTC)))
        copy = tmp_path / "copy.sqlite3"
        result = runner.invoke(args=["db", "backup", str(copy)])
        assert result.exit_code == 0, result.output
        again = runner.invoke(args=["db", "backup", str(copy)])
        assert again.exit_code == 1
        assert "exists" in again.output
    finally:
        app.extensions["broadsheet"].engine.dispose()
    copied = create_database_engine(f"sqlite:///{copy}")
    try:
        with copied.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM article_deletions")).scalar() == 1
        assert schema.schema_state(copied).is_current
    finally:
        copied.dispose()


def test_db_backup_leaves_postgresql_to_its_own_tools(make_app):
    url = "postgresql+psycopg://postgres@127.0.0.1:1/none"
    result = make_app(DATABASE_URL=url).test_cli_runner().invoke(args=["db", "backup", "x"])
    assert result.exit_code == 1
    assert "pg_dump" in result.output


def test_db_upgrade_sql_prints_the_migration(make_app):
    runner = make_app(DATABASE_URL="sqlite://").test_cli_runner()
    result = runner.invoke(args=["db", "upgrade", "--sql"])
    assert result.exit_code == 0, result.output
    assert "CREATE TABLE articles" in result.output


def test_a_backup_onto_a_file_system_without_links_is_renamed_into_place(tmp_path, monkeypatch):
    """A network share may refuse hard links: the copy is then renamed to its name."""
    source = tmp_path / "live.sqlite3"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{source}"})
    runner = app.test_cli_runner()

    def no_links(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    try:
        assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
        monkeypatch.setattr(os, "link", no_links)
        # As long as a file's name may be, in bytes: the copy's own longer name was once
        # too long, and then cut by characters.
        copy = tmp_path / "backups" / ("ü" * 123 + ".sqlite3")
        copy.parent.mkdir()
        result = runner.invoke(args=["db", "backup", str(copy)])
        assert result.exit_code == 0, result.output
        assert [p.name for p in copy.parent.iterdir()] == [copy.name]
        again = runner.invoke(args=["db", "backup", str(copy)])
        assert again.exit_code == 1
        assert "exists" in again.output
    finally:
        app.extensions["broadsheet"].engine.dispose()


def test_a_backup_stopped_part_way_leaves_no_file_of_its_name(tmp_path):
    """A backup stopped by SIGTERM (a timer's time limit) left a file of the backup's name:
    an empty database with a hot journal, which passed an integrity check, and which the
    next run refused to replace. It is copied under another name, then named."""
    import signal
    import sqlite3
    import time

    source = tmp_path / "live.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    env |= {
        "BROADSHEET_DATABASE_URL": f"sqlite:///{source}",
        "BROADSHEET_SECRET_KEY": "backup-test-secret-0123",
        "BROADSHEET_BASE_URL": "https://news.example.org",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "service", "db"]
    subprocess.run([*command, "upgrade"], env=env, cwd=tmp_path, check=True, timeout=120)
    # A writer holding the database (rollback journal) keeps the backup waiting part way.
    holder = sqlite3.connect(source, isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")
    holder.execute("BEGIN EXCLUSIVE")
    folder = tmp_path / "backups"
    folder.mkdir()
    backup = subprocess.Popen([*command, "backup", str(folder / "backup.sqlite3")], env=env)
    try:
        deadline = time.monotonic() + 60
        while not any(folder.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(folder.iterdir()), "the backup never began"
        time.sleep(0.3)
        assert backup.poll() is None
        backup.send_signal(signal.SIGTERM)
        backup.wait(timeout=30)
    finally:
        backup.kill()
        holder.rollback()
        holder.close()
    assert not (folder / "backup.sqlite3").exists()
    again = subprocess.run(
        [*command, "backup", str(folder / "backup.sqlite3")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "backup.sqlite3"
    ]


def _serve(url: str, port: str = "0") -> subprocess.CompletedProcess:
    """Start `broadsheet serve` from this checkout and let it run until it stops by itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    env |= {
        "BROADSHEET_DATABASE_URL": url,
        "BROADSHEET_SECRET_KEY": "serve-test-secret-0123",
        "BROADSHEET_BASE_URL": "https://news.example.org",
        "BROADSHEET_ENV": "production",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("FLASK_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "service", "serve", "--port", port],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_refuses_a_schema_behind_in_one_line(database_url):
    completed = _serve(database_url)
    assert completed.returncode == 1
    (head,) = schema.head_revisions()
    assert completed.stderr.strip().splitlines() == [
        "Broadsheet will not serve: The database has no schema yet (Broadsheet needs "
        f"revision {head}): run `broadsheet db upgrade`."
    ]


def test_serve_goes_on_with_a_schema_newer_than_the_code_saying_so(database_url, capsys):
    """A rolling upgrade migrates first: a node not yet upgraded that restarts (a crash, a
    new node) refused to start while /healthz called the schema ready, and stayed down."""
    engine = create_database_engine(database_url)
    try:
        schema.upgrade(engine)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "x" * 32,
            "ENV": "production",
            "BASE_URL": "https://news.example.org",
        }
    )
    runtime = app.extensions["broadsheet"]
    try:
        prepare_database(runtime)  # no SystemExit
        # `db current` of a node yet to be upgraded: said, and not a failure (it was exit 1,
        # and a check `broadsheet db current || fail` took a serving node out mid-upgrade).
        current = app.test_cli_runner().invoke(args=["db", "current"])
        assert current.exit_code == 0, current.output
        assert "revision 9999, which this version of Broadsheet does not know" in current.output
        (head,) = schema.head_revisions()
        assert capsys.readouterr().err.splitlines() == [
            "Broadsheet goes on: the database schema is at revision 9999, newer than this "
            f"code's {head} (a rolling upgrade under way); run the newer Broadsheet on this "
            "node too."
        ]
        with runtime.engine.connect() as connection:
            assert schema.behind_this_code(connection) is None  # and /healthz agrees
    finally:
        runtime.engine.dispose()
