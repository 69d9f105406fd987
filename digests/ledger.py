"""The send ledger: one row per (subscriber, date), so each confirmed subscriber gets one digest.

Opening a run inserts the run's row (the date is its key: one process wins) and, in the same
transaction, one ledger row per confirmed subscriber with a single INSERT … SELECT, which
freezes the day's audience. Senders then claim rows in batches (see service.storage.claims),
take each one just before sending it (renewing the lease and checking that the subscriber
has not left), and record the SMTP reply against their claim token.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, Table, and_, bindparam, exists, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from service.email_renderer import EmailBody
from service.storage import claims
from service.storage.db import UtcDateTime
from service.storage.digests import DigestRun, LedgerEntry
from service.storage.subscribers import Status, Subscriber

DELIVERIES: Table = LedgerEntry.__table__  # type: ignore[assignment]
REPLY_LENGTH = 500

# The statements each message runs, built once: building them per message costs more than
# running them.
_HELD = and_(
    LedgerEntry.id == bindparam("delivery_id"),
    LedgerEntry.status == claims.CLAIMED,
    LedgerEntry.claim_token == bindparam("token"),
)
_STILL_CONFIRMED = (
    exists()
    .where(Subscriber.id == LedgerEntry.subscriber_id, Subscriber.status == Status.CONFIRMED)
    .correlate(LedgerEntry)
)
_TAKE = (
    update(LedgerEntry)
    .where(_HELD, _STILL_CONFIRMED)
    .values(lease_expires_at=bindparam("lease_expires_at"))
)
_SKIP = (
    update(LedgerEntry)
    .where(_HELD, ~_STILL_CONFIRMED)
    .values(status="skipped", claim_token=None, reply="unsubscribed before sending")
)
_RECORD = (
    update(LedgerEntry)
    .where(_HELD)
    .values(
        status=bindparam("status"),
        sent_at=func.coalesce(bindparam("sent_at", type_=UtcDateTime()), LedgerEntry.sent_at),
        next_attempt_at=func.coalesce(
            bindparam("next_attempt_at", type_=UtcDateTime()), LedgerEntry.next_attempt_at
        ),
        reply=bindparam("reply"),
        claim_token=None,
        lease_expires_at=None,
    )
)


@dataclass(frozen=True, slots=True)
class Run:
    day: date
    opened_at: datetime
    body: EmailBody
    items: int
    audience: int


@dataclass(frozen=True, slots=True)
class Claimed:
    """A ledger row this sender holds, with the recipient it names."""

    delivery_id: int
    subscriber_id: int
    attempts: int
    email: str
    name: str | None


class SendLedger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # On SQLite, transactions on this engine take the write lock when they begin.
        self.writer = engine.execution_options(broadsheet_write=True)

    # Opening ------------------------------------------------------------------------------

    def open_run(
        self, day: date, body: EmailBody, items: int, *, now: datetime, opened_by: str
    ) -> bool:
        """Open the run for `day` and freeze its audience; False when it was already open."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        with self.writer.begin() as connection:
            won = connection.execute(
                dialect.insert(DigestRun)
                .values(
                    day=day,
                    opened_at=now,
                    opened_by=opened_by[:200],
                    subject=body.subject,
                    html=body.html,
                    text=body.text,
                    marker=body.marker,
                    items=items,
                    audience=0,
                )
                .on_conflict_do_nothing(index_elements=["day"])
                .returning(DigestRun.day)
            ).first()
            if won is None:
                return False
            audience = select(
                literal(day).label("day"),
                Subscriber.id,
                literal("pending").label("status"),
                literal(0).label("attempts"),
                literal(now, DigestRun.opened_at.type).label("next_attempt_at"),
            ).where(Subscriber.status == Status.CONFIRMED)
            connection.execute(
                insert(LedgerEntry).from_select(
                    ["day", "subscriber_id", "status", "attempts", "next_attempt_at"], audience
                )
            )
            size = connection.execute(
                select(func.count()).select_from(LedgerEntry).where(LedgerEntry.day == day)
            ).scalar_one()
            connection.execute(update(DigestRun).where(DigestRun.day == day).values(audience=size))
        return True

    def run(self, day: date) -> Run | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(DigestRun).where(DigestRun.day == day)).first()
        if row is None:
            return None
        return Run(
            row.day,
            row.opened_at,
            EmailBody(row.subject, row.html, row.text, row.marker),
            row.items,
            row.audience,
        )

    # Sending ------------------------------------------------------------------------------

    def claim(self, day: date, *, now: datetime, lease: timedelta, limit: int):
        """Claim a batch of due rows of `day`; returns the claim token and the recipients."""
        token, rows = claims.claim(
            self.engine,
            DELIVERIES,
            where=DELIVERIES.c.day == day,
            now=now,
            lease=lease,
            limit=limit,
            returning=(DELIVERIES.c.subscriber_id, DELIVERIES.c.attempts),
        )
        if not rows:
            return token, []
        with self.engine.connect() as connection:
            people = {
                row.id: row
                for row in connection.execute(
                    select(Subscriber.id, Subscriber.email, Subscriber.name).where(
                        Subscriber.id.in_([row.subscriber_id for row in rows])
                    )
                )
            }
        claimed = [
            Claimed(
                row.id,
                row.subscriber_id,
                row.attempts,
                people[row.subscriber_id].email,
                people[row.subscriber_id].name,
            )
            for row in rows
            if row.subscriber_id in people
        ]
        return token, claimed

    def take(self, delivery_id: int, token: str, *, now: datetime, lease: timedelta) -> bool:
        """Just before sending: renew the lease if the row is still ours and its subscriber
        still confirmed. When they left since the run opened, the row is marked skipped."""
        held = {"delivery_id": delivery_id, "token": token}
        with self.writer.begin() as connection:
            if connection.execute(_TAKE, {**held, "lease_expires_at": now + lease}).rowcount:
                return True
            connection.execute(_SKIP, held)
        return False

    def record_sent(self, delivery_id: int, token: str, *, now: datetime, reply: str) -> None:
        self._record(delivery_id, token, status="sent", sent_at=now, reply=reply)

    def record_failed(self, delivery_id: int, token: str, *, reply: str) -> None:
        self._record(delivery_id, token, status="failed", reply=reply)

    def record_retry(
        self, delivery_id: int, token: str, *, next_attempt_at: datetime, reply: str
    ) -> None:
        self._record(
            delivery_id, token, status="pending", next_attempt_at=next_attempt_at, reply=reply
        )

    def _record(
        self,
        delivery_id: int,
        token: str,
        *,
        status: str,
        reply: str,
        sent_at: datetime | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        with self.writer.begin() as connection:
            connection.execute(
                _RECORD,
                {
                    "delivery_id": delivery_id,
                    "token": token,
                    "status": status,
                    "sent_at": sent_at,
                    "next_attempt_at": next_attempt_at,
                    "reply": reply[:REPLY_LENGTH],
                },
            )

    def release(self, token: str, delivery_ids: Iterable[int]) -> None:
        """Hand back rows claimed but not sent (a clean stop), due again at once."""
        ids = list(delivery_ids)
        if not ids:
            return
        with self.writer.begin() as connection:
            connection.execute(
                update(LedgerEntry)
                .where(
                    LedgerEntry.id.in_(ids),
                    LedgerEntry.claim_token == token,
                    LedgerEntry.status == claims.CLAIMED,
                )
                .values(
                    status="pending",
                    claim_token=None,
                    lease_expires_at=None,
                    attempts=LedgerEntry.attempts - 1,
                )
            )

    # Reading ------------------------------------------------------------------------------

    def counts(self, day: date) -> dict[str, int]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(LedgerEntry.status, func.count())
                .where(LedgerEntry.day == day)
                .group_by(LedgerEntry.status)
            )
            return {status: count for status, count in rows}

    def confirmed_count(self) -> int:
        """How many would receive a run opened now."""
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.count()).where(Subscriber.status == Status.CONFIRMED)
            ).scalar_one()

    def next_due(self, day: date) -> datetime | None:
        """When the next row of `day` comes due (a retry, or a lease running out), if any."""
        with self.engine.connect() as connection:
            retry = connection.execute(
                select(func.min(LedgerEntry.next_attempt_at)).where(
                    LedgerEntry.day == day, LedgerEntry.status == claims.PENDING
                )
            ).scalar()
            lease = connection.execute(
                select(func.min(LedgerEntry.lease_expires_at)).where(
                    and_(LedgerEntry.day == day, LedgerEntry.status == claims.CLAIMED)
                )
            ).scalar()
        moments = [m for m in (retry, lease) if m is not None]
        return min(moments) if moments else None
