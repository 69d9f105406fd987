"""The two writes each message needs: take it before sending, record the reply after.

A sender records one message's reply and takes the next in the same transaction, so it
costs one commit a message and the reply is on disk before the next message goes out.
These run as SQL text on the driver connection itself, with the transaction opened and
committed by hand: through SQLAlchemy's execution machinery the same transaction costs
three times as much (0.35 against 0.11 ms on SQLite, measured), which is a third of what
the SMTP exchange itself takes with a local server. Everything else uses SQLAlchemy.

On PostgreSQL these commits do not wait for the disk (`synchronous_commit` off for these
transactions only): a crash of the sender loses none of them; a crash of the database
server can lose the last fraction of a second, whose messages would then go out again.
SQLite in WAL mode with synchronous=NORMAL, the storage default, makes the same trade.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from service.characters import fit_for_a_page
from service.storage.db import UtcDateTime

REPLY_LENGTH = 500
_HELD = "id = :delivery_id AND status = 'claimed' AND claim_token = :token"
_STILL_CONFIRMED = (
    "EXISTS (SELECT 1 FROM subscribers WHERE subscribers.id = digest_deliveries.subscriber_id"
    " AND subscribers.status = 'confirmed')"
)
_TAKE = (
    f"UPDATE digest_deliveries SET lease_expires_at = :until WHERE {_HELD} AND {_STILL_CONFIRMED}"
)
_SKIP = (
    "UPDATE digest_deliveries SET status = 'skipped', claim_token = NULL,"
    " lease_expires_at = NULL, reply = 'unsubscribed before sending'"
    f" WHERE {_HELD} AND NOT {_STILL_CONFIRMED}"
)
_RECORD = (
    "UPDATE digest_deliveries SET status = :status, reply = :reply,"
    " sent_at = COALESCE(:sent_at, sent_at),"
    " next_attempt_at = COALESCE(:next_attempt_at, next_attempt_at),"
    " attempts = attempts - :uncounted,"
    f" claim_token = NULL, lease_expires_at = NULL WHERE {_HELD}"
)
# The address its server says does not exist is mailed no more: its subscriber leaves, as
# by the link (sending each day to mailboxes that do not exist is what bulk-sender rules
# penalise, and the run failed each day for it). A sign-up renews the row, as after a link.
_LEAVE = (
    "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = :at"
    " WHERE status = 'confirmed' AND id ="
    " (SELECT subscriber_id FROM digest_deliveries WHERE id = :delivery_id)"
)
_NAMED = re.compile(r":(\w+)")


@dataclass(frozen=True, slots=True)
class Result:
    """What became of one message: sent, failed for good, or pending again (a retry)."""

    delivery_id: int
    status: str
    reply: str
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    # When set, the address does not exist (Delivery.no_such_mailbox): the subscriber
    # leaves at that moment, in the transaction that records the reply.
    leaves_at: datetime | None = None
    # The attempt failed before the server saw the message: it does not count against it.
    uncounted: bool = False


class MessageSteps:
    """One sender's per-message transactions, on a driver connection of its own."""

    def __init__(self, engine: Engine, driver: Any) -> None:
        self.driver = driver
        self.postgres = engine.dialect.name == "postgresql"
        # SQLite's driver takes :name; psycopg takes %(name)s.
        if self.postgres:
            self.take_sql, self.skip_sql, self.record_sql, self.leave_sql = (
                _NAMED.sub(r"%(\1)s", sql) for sql in (_TAKE, _SKIP, _RECORD, _LEAVE)
            )
        else:
            self.take_sql, self.skip_sql, self.record_sql = _TAKE, _SKIP, _RECORD
            self.leave_sql = _LEAVE
        self.moment = UtcDateTime().bind_processor(engine.dialect) or (lambda value: value)

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        cursor = self.driver.cursor()
        try:
            if self.postgres:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")  # opens the transaction
            else:
                # The storage engine leaves transactions to us (isolation_level None); a
                # writer takes the write lock first, as every writer there does.
                cursor.execute("BEGIN IMMEDIATE")
            yield cursor
        except BaseException:
            self.driver.rollback()
            raise
        else:
            self.driver.commit()
        finally:
            cursor.close()

    def take(self, token: str, delivery_id: int, until: datetime) -> bool:
        """Renew the lease on the next message if it is still ours and its subscriber still
        confirmed; when they left since the run opened, the row is marked skipped."""
        with self._transaction() as cursor:
            return self._take(cursor, token, delivery_id, until)

    def record(self, token: str, result: Result) -> None:
        with self._transaction() as cursor:
            self._record(cursor, token, result)

    def record_and_take(self, token: str, result: Result, delivery_id: int, until: datetime):
        with self._transaction() as cursor:
            self._record(cursor, token, result)
            return self._take(cursor, token, delivery_id, until)

    def _take(self, cursor: Any, token: str, delivery_id: int, until: datetime) -> bool:
        held = {"delivery_id": delivery_id, "token": token}
        cursor.execute(self.take_sql, {**held, "until": self.moment(until)})
        if cursor.rowcount:
            return True
        cursor.execute(self.skip_sql, held)
        return False

    def _record(self, cursor: Any, token: str, result: Result) -> None:
        moment = self.moment
        cursor.execute(
            self.record_sql,
            {
                "delivery_id": result.delivery_id,
                "token": token,
                "status": result.status,
                "sent_at": moment(result.sent_at) if result.sent_at else None,
                "next_attempt_at": moment(result.next_attempt_at)
                if result.next_attempt_at
                else None,
                # Any text that reached a reply (a server's, an error's), fit for a column.
                "reply": fit_for_a_page(result.reply)[:REPLY_LENGTH],
                "uncounted": int(result.uncounted),
            },
        )
        if result.leaves_at is not None:
            at = {"delivery_id": result.delivery_id, "at": moment(result.leaves_at)}
            cursor.execute(self.leave_sql, at)
