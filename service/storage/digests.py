"""Digest runs (one per date, holding what is sent) and the send ledger (one row per recipient)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base


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


class LedgerEntry(Base):
    """One recipient of one digest: pending → claimed → sent | failed | pending again."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        UniqueConstraint("day", "subscriber_id", name="one_digest_per_subscriber_per_day"),
        CheckConstraint(
            "status IN ('pending', 'claimed', 'sent', 'failed', 'skipped')", name="status"
        ),
        Index(None, "day", "status", "next_attempt_at"),
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
