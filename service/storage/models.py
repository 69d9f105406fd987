"""The tables. Each is a class on `Base`; a new table here needs a migration (see `schema`)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
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
        # When any list last changed (max(stored_at)), asked by every feed and its 304s.
        Index(None, "stored_at"),
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
    # What the PDF left out, one warning a line (Broadsheet-Warnings), if anything.
    warnings: Mapped[str | None] = mapped_column(Text)
    # A refusal for time, or a PDF without an image whose server failed, may come out
    # better: printed again by the first reader after then. None: the outcome stands.
    retry_after: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]  # a process took the print on at this moment
    printed_at: Mapped[datetime | None]


class ArticleDeletion(Base):
    """When an article was last deleted, so lists and feeds change their Last-Modified and
    an article created again is dated after it: one row, whose id is empty (LAST_DELETION
    in storage/articles.py). No deleted article's id is kept."""

    __tablename__ = "article_deletions"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    deleted_at: Mapped[datetime]


# Subscribers and the daily digest ----------------------------------------------------


class Status(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"


# A subscriber id is an INTEGER: 32 bits on PostgreSQL, so no id, and no "after" a client
# may ask the list for, is larger (a larger bound parameter was a 500 there).
MAX_SUBSCRIBER_ID = 2**31 - 1


class Subscriber(Base):
    __tablename__ = "subscribers"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'confirmed', 'unsubscribed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    # The address as compared: lower case, so one person is one row.
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]
    # The consent record: when they asked, from which network address, through which form.
    consented_at: Mapped[datetime]
    consent_ip: Mapped[str | None] = mapped_column(String(45))
    consent_form: Mapped[str] = mapped_column(String(40))
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]


class ConfirmedConsent(Base):
    """Each consent a subscriber confirmed, kept whatever the row says later: the proof
    behind the digests sent under it. A sign-up typed by anyone renews a departed
    subscriber's row (pending again, with that sign-up's consent); this is not renewed."""

    __tablename__ = "confirmed_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    consented_at: Mapped[datetime]
    consent_ip: Mapped[str | None] = mapped_column(String(45))
    consent_form: Mapped[str] = mapped_column(String(40))
    confirmed_at: Mapped[datetime]


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'claimed', 'sent', 'failed', 'skipped')", name="status"
        ),
        # Claims read due rows in this order (storage/claims.py).
        Index(None, "status", "next_attempt_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claim_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    reply: Mapped[str | None] = mapped_column(String(500))


class DigestRun(Base):
    """The run for one date. Its primary key is the date, so only one process can open it,
    and it keeps the rendered digest so every sender, on any machine, sends the same one."""

    __tablename__ = "digest_runs"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    opened_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    # Where each recipient's unsubscribe URL goes in html and text.
    marker: Mapped[str] = mapped_column(String(200))
    items: Mapped[int]
    audience: Mapped[int] = mapped_column(default=0)
    # The quick reads the mail names, in its order, and how many more it counted: the
    # digest's page shows the same. NULL for runs opened before revision 0007.
    article_ids: Mapped[list[str] | None] = mapped_column(JSON)
    more: Mapped[int | None]


class LedgerEntry(Base):
    """One recipient of one digest: pending → claimed → sent | failed | pending again."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        UniqueConstraint("day", "subscriber_id", name="one_digest_per_subscriber_per_day"),
        CheckConstraint(
            "status IN ('pending', 'claimed', 'sent', 'failed', 'skipped')", name="status"
        ),
        # Claims read a run's due rows in this order (storage/claims.py), 50 at a time.
        Index(None, "day", "status", "next_attempt_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(ForeignKey("digest_runs.day", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claim_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # The last SMTP reply (or what went wrong on the way), for the operator.
    reply: Mapped[str | None] = mapped_column(String(500))
