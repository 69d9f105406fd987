"""Liveness and readiness: /healthz answers for the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from service import create_app
from service.storage.schema import head_revisions, upgrade

from .conftest import runtime_of


def test_healthz_reports_the_database(make_app, database_url):
    app = make_app(DATABASE_URL=database_url)
    upgrade(runtime_of(app).engine)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_until_the_schema_is_this_codes(make_app, database_url, caplog):
    """A database without the tables this code reads answered every other route with a
    503 (or a 500 before) while /healthz said ok, so a load balancer sent it readers."""
    app = make_app(DATABASE_URL=database_url)
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "not migrated"}
    assert "run `broadsheet db upgrade`" in caplog.text

    (head,) = head_revisions()
    upgrade(runtime_of(app).engine, f"{head}-1")  # one migration behind
    assert client.get("/healthz").status_code == 503

    upgrade(runtime_of(app).engine)
    assert client.get("/healthz").status_code == 200


def test_healthz_is_ready_on_a_schema_newer_than_the_code(make_app, database_url):
    """A rolling upgrade migrates first, then replaces the code: the old code still serves."""
    app = make_app(DATABASE_URL=database_url)
    engine = runtime_of(app).engine
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    assert app.test_client().get("/healthz").status_code == 200


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/db.sqlite3",
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
