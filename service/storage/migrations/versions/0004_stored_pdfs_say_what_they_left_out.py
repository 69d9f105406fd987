"""A stored PDF keeps what it left out (an image its alt text stands in for), so that
GET /articles/{id}.pdf says so in Broadsheet-Warnings, as the render route does.

PDFs printed before this revision have no record of it (NULL: nothing said) until they are
printed again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 06:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("article_pdfs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("warnings", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("article_pdfs", schema=None) as batch_op:
        batch_op.drop_column("warnings")
