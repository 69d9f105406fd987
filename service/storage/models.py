"""The tables. Each is a class on `Base`; a new table here needs a migration (see `schema`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base


class StoredArticle(Base):
    """An article as stored: its validated JSON, and the columns that lists and feeds query."""

    __tablename__ = "articles"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(64))
    headline: Mapped[str] = mapped_column(Text)  # plain text, for lists and feeds
    summary: Mapped[str] = mapped_column(Text)  # standfirst, or the first paragraph cut short
    published_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]
    stored_at: Mapped[datetime]  # when this version was stored: Last-Modified
    version: Mapped[str] = mapped_column(String(64))  # content hash of `document`: the ETag
    document: Mapped[dict[str, Any]]

    __table_args__ = (
        # Newest first, ties broken by id: the order of every list and its cursors.
        Index(None, "published_at", "id"),
        Index(None, "kind", "published_at", "id"),
    )


class ArticlePdf(Base):
    """The printed PDF of one version of an article; `data` stays empty until it is printed.

    The row is written with the article, in the same transaction, and deleted with it.
    """

    __tablename__ = "article_pdfs"

    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[str] = mapped_column(String(64))  # the article version it is printed from
    layout: Mapped[str | None] = mapped_column(String(64))  # what printed it: code, templates
    etag: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    failure: Mapped[str | None] = mapped_column(Text)  # why it cannot be printed, if so
    claimed_at: Mapped[datetime | None]  # a process took the print on at this moment
    printed_at: Mapped[datetime | None]


class ArticleDeletion(Base):
    """When an article was deleted, so lists and feeds change their Last-Modified."""

    __tablename__ = "article_deletions"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    deleted_at: Mapped[datetime]
