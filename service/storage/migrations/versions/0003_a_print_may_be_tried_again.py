"""A print may come out better later: a refusal for time (met under load), or a PDF printed
without an image whose server failed, holds until `retry_after`, then is printed again.

Prints recorded before this revision were recorded by another layout, so the press prints
those articles again when they are asked for; nothing needs rewriting.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 22:46:35.642148
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("article_pdfs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_after", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("article_pdfs", schema=None) as batch_op:
        batch_op.drop_column("retry_after")
