"""An index on articles.stored_at: every feed, the public list page and their 304s ask when
any article was last stored (`max(stored_at)`), which read the whole table without one
(0.5 s a request on SQLite at 200,000 articles, 0.1 s on PostgreSQL).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 19:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_articles_stored_at"), "articles", ["stored_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_articles_stored_at"), table_name="articles")
