"""A freshly migrated database for each test, on SQLite or PostgreSQL, and people to mail."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, text

from service.storage import schema
from service.storage.db import create_database_engine
from service.storage.models import Status, Subscriber


def migrated_engine(url: str) -> Engine:
    """An engine on the test's own database (SQLite) or schema (PostgreSQL), at head."""
    engine = create_database_engine(url)
    schema.upgrade(engine)
    return engine


def add_subscribers(engine: Engine, statuses: list[Status], *, domain="example.org") -> list[int]:
    """Insert one subscriber per status, r0@domain, r1@domain, …; their ids in order."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        start = connection.execute(text("SELECT COUNT(*) FROM subscribers")).scalar_one()
        rows = [
            {
                "email": f"r{start + i}@{domain}",
                "email_key": f"r{start + i}@{domain}",
                "name": f"Reader {start + i}",
                "status": status,
                "created_at": now,
                "consented_at": now,
                "consent_ip": "192.0.2.1",
                "consent_form": "test",
                "confirmed_at": now if status is Status.CONFIRMED else None,
            }
            for i, status in enumerate(statuses)
        ]
        if rows:
            connection.execute(insert(Subscriber), rows)
        return list(
            connection.execute(
                text("SELECT id FROM subscribers WHERE id > :start ORDER BY id"),
                {"start": 0},
            ).scalars()
        )[start:]
