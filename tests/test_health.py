"""Liveness and readiness: /healthz answers for the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from service import create_app


def test_healthz_reports_the_database(make_app, database_url):
    response = make_app(DATABASE_URL=database_url).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


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
