"""A deleted article leaves nothing of itself behind: article_deletions keeps one row, the
latest deletion, under an empty id, instead of a row per deleted article's id (the id is
its slug, which names what the article was about).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 11:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO article_deletions (id, deleted_at) "
        "SELECT '', max(deleted_at) FROM article_deletions "
        "WHERE id <> '' HAVING count(*) > 0 "
        "AND NOT EXISTS (SELECT 1 FROM article_deletions WHERE id = '')"
    )
    op.execute("DELETE FROM article_deletions WHERE id <> ''")


def downgrade() -> None:
    # The ids are gone, as they should be; the latest deletion's row reads as before.
    pass
