"""Alembic's entry: migrate the connection `schema.upgrade` hands over, or print the SQL."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

from service.storage import models  # noqa: F401  (declares every table on Base.metadata)
from service.storage.db import Base, UtcDateTime

config = context.config


def render_item(kind: str, item: Any, _context: Any) -> str | Literal[False]:
    """Write our column types as plain SQLAlchemy ones, so scripts import nothing of ours."""
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure(**where: Any) -> None:
    context.configure(
        target_metadata=Base.metadata,
        # SQLite alters a table by copying it; batch mode writes migrations that do so.
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
        **where,
    )


if context.is_offline_mode():
    configure(url=config.attributes["url"], literal_binds=True)
else:
    configure(connection=config.attributes["connection"])
with context.begin_transaction():
    context.run_migrations()
