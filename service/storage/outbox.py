"""The outbox: mail that a request wants sent (confirmations), kept until a relay sends it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Connection, Index, Integer, LargeBinary, String, insert
from sqlalchemy.orm import Mapped, mapped_column

from .interim import Base, UtcDateTime


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'claimed', 'sent', 'failed')", name="outbox_status"),
        Index("outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(320))
    # The serialised message, exactly as it goes on the wire.
    message: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reply: Mapped[str | None] = mapped_column(String(500))


def enqueue(
    connection: Connection, *, purpose: str, recipient: str, message: bytes, now: datetime
) -> int:
    """Keep a message for the relay, inside the caller's transaction."""
    return connection.execute(
        insert(OutboxMessage)
        .values(
            purpose=purpose,
            recipient=recipient,
            message=message,
            created_at=now,
            status="pending",
            attempts=0,
            next_attempt_at=now,
        )
        .returning(OutboxMessage.id)
    ).scalar_one()
