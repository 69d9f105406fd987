"""Articles, their printed PDFs, and when articles were deleted.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 09:51:11.490302
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=64), nullable=False),
        sa.Column("headline", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
    )
    op.create_index(
        op.f("ix_articles_published_at_id"), "articles", ["published_at", "id"], unique=False
    )
    op.create_index(
        op.f("ix_articles_kind_published_at_id"),
        "articles",
        ["kind", "published_at", "id"],
        unique=False,
    )
    op.create_table(
        "article_pdfs",
        sa.Column("article_id", sa.String(length=120), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("layout", sa.String(length=64), nullable=True),
        sa.Column("etag", sa.String(length=64), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("printed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_pdfs_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_article_pdfs")),
    )
    op.create_table(
        "article_deletions",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_deletions")),
    )


def downgrade() -> None:
    op.drop_table("article_deletions")
    op.drop_table("article_pdfs")
    op.drop_index(op.f("ix_articles_kind_published_at_id"), table_name="articles")
    op.drop_index(op.f("ix_articles_published_at_id"), table_name="articles")
    op.drop_table("articles")
