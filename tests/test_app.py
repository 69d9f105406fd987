"""The app factory: security headers on every answer, the SQLite default in the instance folder."""

from __future__ import annotations

from pathlib import Path

from service import create_app

from .conftest import runtime_of
from .corpus import every_block


def test_pages_carry_a_strict_content_security_policy(post_json):
    response = post_json("/v1/render/html", every_block())
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_default_database_is_sqlite_in_the_instance_folder():
    app = create_app({"TESTING": True})
    engine = runtime_of(app).engine
    assert engine.url.drivername == "sqlite"
    assert Path(engine.url.database) == Path(app.instance_path) / "broadsheet.sqlite3"
    engine.dispose()
