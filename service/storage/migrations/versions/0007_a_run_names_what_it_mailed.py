"""A digest run keeps the ids of the quick reads its mail names, in order, and how many
more it counted, so the digest's page shows what was mailed: it was assembled again from
what is stored now, and gained any quick read stored into the window after the run opened.

Runs opened before this revision have neither (NULL): their page is assembled as before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 14:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("digest_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("article_ids", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("more", sa.Integer(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35 and later), not a batch: a batch
    # rebuilds the table on SQLite, and dropping the old digest_runs cascaded to every row
    # of digest_deliveries (foreign keys are on), the record of every digest sent.
    op.drop_column("digest_runs", "more")
    op.drop_column("digest_runs", "article_ids")
