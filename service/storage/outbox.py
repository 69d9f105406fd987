"""The outbox: mail a request wants sent (a confirmation), kept until a relay has sent it.

A row says what to send and to whom, not the message itself: the relay writes the message
when it sends it, so the request that signs someone up does the same small amount of work
whoever they are, and never waits on the mail server.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Connection, ForeignKey, Index, String, insert
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'claimed', 'sent', 'failed', 'skipped')", name="status"
        ),
        Index(None, "status", "next_attempt_at"),
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


def enqueue(connection: Connection, *, purpose: str, subscriber_id: int, now: datetime) -> int:
    """Keep a message for the relay, inside the caller's transaction."""
    return connection.execute(
        insert(OutboxMessage)
        .values(
            purpose=purpose,
            subscriber_id=subscriber_id,
            created_at=now,
            status="pending",
            attempts=0,
            next_attempt_at=now,
        )
        .returning(OutboxMessage.id)
    ).scalar_one()
