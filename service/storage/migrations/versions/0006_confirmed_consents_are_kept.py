"""Each consent a subscriber confirmed is kept apart, for good: a sign-up typed by anyone
renews a departed subscriber's row, consent included, which took away the proof behind
the digests already sent. Confirmed consents of today's rows are carried over.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 11:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "confirmed_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consent_ip", sa.String(length=45), nullable=True),
        sa.Column("consent_form", sa.String(length=40), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_confirmed_consents_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_confirmed_consents")),
    )
    op.create_index(
        op.f("ix_confirmed_consents_subscriber_id"),
        "confirmed_consents",
        ["subscriber_id"],
        unique=False,
    )
    op.execute(
        "INSERT INTO confirmed_consents "
        "(subscriber_id, consented_at, consent_ip, consent_form, confirmed_at) "
        "SELECT id, consented_at, consent_ip, consent_form, confirmed_at FROM subscribers "
        "WHERE confirmed_at IS NOT NULL ORDER BY id"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_confirmed_consents_subscriber_id"), table_name="confirmed_consents")
    op.drop_table("confirmed_consents")
