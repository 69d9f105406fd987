"""The outbox: mail a request wants sent (a confirmation), kept until a relay has sent it.

A row says what to send and to whom, not the message itself: the relay writes the message
when it sends it, so the request that signs someone up does the same small amount of work
whoever they are, and never waits on the mail server.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, update

from .models import OutboxMessage


def enqueue(connection: Connection, *, purpose: str, subscriber_id: int, now: datetime) -> int:
    """Keep a message for the relay, inside the caller's transaction: one that is already
    waiting for the same subscriber and purpose is due now instead, and no second is kept
    (a form sent twice mailed twice; the relay writes the message when it sends it, so the
    one waiting already says what the new one would)."""
    waiting = (
        connection.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.subscriber_id == subscriber_id,
                OutboxMessage.purpose == purpose,
                OutboxMessage.status == "pending",
            )
            .values(next_attempt_at=now, attempts=0)  # a new request: its retries start over
            .returning(OutboxMessage.id)
        )
        .scalars()
        .first()
    )
    if waiting is not None:
        return waiting
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
