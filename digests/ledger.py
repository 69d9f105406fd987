"""The send ledger: one row per (subscriber, date), so each confirmed subscriber gets one digest.

Opening a run inserts the run's row (the date is its key: one process wins) and, in the same
transaction, one ledger row per confirmed subscriber with a single INSERT … SELECT, which
freezes the day's audience. Senders then claim rows in batches (see service.storage.claims),
take each one just before sending it (renewing the lease and checking that the subscriber
has not left), and record the SMTP reply against their claim token.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    Text,
    and_,
    cast,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from service.email_renderer import EmailBody
from service.storage import claims
from service.storage.models import DigestRun, LedgerEntry, Status, StoredArticle, Subscriber

from .steps import MessageSteps, Result

DELIVERIES: Table = LedgerEntry.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Run:
    day: date
    opened_at: datetime
    body: EmailBody
    items: int
    audience: int
    # What the mail names, in order, and how many more it counted (None: opened before
    # the ledger kept them, revision 0007).
    article_ids: tuple[str, ...] | None = None
    more: int | None = None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A ledger row this sender holds, with the recipient it names."""

    delivery_id: int
    subscriber_id: int
    attempts: int
    email: str
    name: str | None
    created_at: datetime  # when the subscriber's row was made: their unsubscribe link says


WITHDRAWN_REPLY = "not sent: the quick reads it named were deleted"


def _runs_in_turn(connection: Connection) -> None:
    """Opening a run and finding the runs that name a deleted article take turns: on
    PostgreSQL under one advisory lock for the transaction (a run being opened is not yet
    seen by another transaction, and a deletion committed while it was written must be
    either seen by its check or see the run); SQLite's write lock already orders them."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(_RUNS, 0))))


_RUNS = "broadsheet digest runs"  # no article id has a space: no article's lock is this one


def _all_stored(connection: Connection, article_ids: Sequence[str]) -> bool:
    wanted = set(article_ids)
    if not wanted:
        return True
    found = connection.execute(
        select(func.count()).select_from(StoredArticle).where(StoredArticle.id.in_(wanted))
    ).scalar_one()
    return found == len(wanted)


class SendLedger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # On SQLite, transactions on this engine take the write lock when they begin.
        self.writer = engine.execution_options(broadsheet_write=True)

    # Opening ------------------------------------------------------------------------------

    def open_run(
        self,
        day: date,
        body: EmailBody,
        items: int,
        *,
        now: datetime,
        opened_by: str,
        article_ids: Sequence[str] = (),
        more: int = 0,
        only_if_stored: bool = False,
    ) -> bool | None:
        """Open the run for `day` and freeze its audience; False when it was already open.
        `article_ids` and `more`: what the mail names, kept for the digest's page. With
        `only_if_stored`, None (nothing opened) when one of `article_ids` was deleted since
        the mail was written."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        with self.writer.begin() as connection:
            _runs_in_turn(connection)
            if only_if_stored and not _all_stored(connection, article_ids):
                return None
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
                    article_ids=list(article_ids),
                    more=more,
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
        if dialect is postgresql:
            # The run's rows are new to the planner, which reckoned the day holds none and
            # read each claim through (day, subscriber_id), the whole run (0.6 s a claim at
            # 400,000 readers) until autovacuum came by: told now, once per run.
            with self.writer.begin() as connection:
                connection.exec_driver_sql("ANALYZE digest_deliveries")
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
            tuple(row.article_ids) if row.article_ids is not None else None,
            row.more,
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
                    select(
                        Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.created_at
                    ).where(Subscriber.id.in_([row.subscriber_id for row in rows]))
                )
            }
        claimed = [
            Claimed(
                row.id,
                row.subscriber_id,
                row.attempts,
                people[row.subscriber_id].email,
                people[row.subscriber_id].name,
                people[row.subscriber_id].created_at,
            )
            for row in rows
            if row.subscriber_id in people
        ]
        return token, claimed

    @contextmanager
    def steps(self) -> Iterator[MessageSteps]:
        """The per-message writes, on a driver connection a sender keeps for a batch."""
        raw = self.engine.raw_connection()
        driver_error = self.engine.dialect.loaded_dbapi.Error
        try:
            yield MessageSteps(self.engine, raw.driver_connection)
        except driver_error as error:
            # The driver's own error, as SQLAlchemy's: what handles a database that stops
            # answering (one line, not a traceback) knows only those.
            raise DBAPIError.instance(None, None, error, driver_error) from error
        finally:
            raw.close()

    def take(self, delivery_id: int, token: str, *, now: datetime, lease: timedelta) -> bool:
        with self.steps() as steps:
            return steps.take(token, delivery_id, now + lease)

    def record(self, token: str, result: Result) -> None:
        with self.steps() as steps:
            steps.record(token, result)

    def record_sent(self, delivery_id: int, token: str, *, now: datetime, reply: str) -> None:
        self.record(token, Result(delivery_id, "sent", reply, sent_at=now))

    # Deleted quick reads -----------------------------------------------------------------

    def days_naming(self, article_id: str) -> list[date]:
        """The days whose run names `article_id`. Waits for a run being opened (which, if it
        names the article, is then seen here): see `_runs_in_turn`."""
        quoted = f'%"{article_id}"%'  # ids hold no % nor _ (ARTICLE_ID): a plain LIKE
        with self.engine.begin() as connection:
            _runs_in_turn(connection)
            rows = connection.execute(
                select(DigestRun.day, DigestRun.article_ids).where(
                    cast(DigestRun.article_ids, Text).like(quoted)
                )
            )
            return [day for day, ids in rows if ids and article_id in ids]

    def all_stored(self, article_ids: Sequence[str]) -> bool:
        with self.engine.connect() as connection:
            return _all_stored(connection, article_ids)

    def replace_body(
        self,
        day: date,
        marker: str,
        body: EmailBody | None,
        article_ids: Sequence[str],
        *,
        more: int,
    ) -> bool:
        """Put `body` (None: nothing left to mail) in place of `day`'s run's mail, which was
        written with `marker`; False, changing nothing, when the run has changed since or a
        quick read `article_ids` names is no longer stored. With no body, the messages not
        yet sent nor in a sender's hands are skipped (a sender skips the rest)."""
        with self.writer.begin() as connection:
            _runs_in_turn(connection)
            current = connection.execute(
                select(DigestRun.marker).where(DigestRun.day == day).with_for_update()
            ).scalar_one_or_none()
            if current != marker or not _all_stored(connection, article_ids):
                return False
            mail = body or EmailBody("", "", "", f"withdrawn-{claims.new_claim_token()}")
            connection.execute(
                update(DigestRun)
                .where(DigestRun.day == day)
                .values(
                    subject=mail.subject,
                    html=mail.html,
                    text=mail.text,
                    marker=mail.marker,
                    items=len(article_ids),
                    article_ids=list(article_ids),
                    more=more,
                )
            )
            if body is None:
                connection.execute(
                    update(LedgerEntry)
                    .where(LedgerEntry.day == day, LedgerEntry.status == "pending")
                    .values(status="skipped", reply=WITHDRAWN_REPLY)
                )
        return True

    def skip_claimed(self, token: str, delivery_ids: Sequence[int]) -> None:
        """Mark a claimed batch skipped: its run has nothing left to mail."""
        with self.writer.begin() as connection:
            connection.execute(
                update(LedgerEntry)
                .where(
                    LedgerEntry.id.in_(delivery_ids),
                    LedgerEntry.claim_token == token,
                    LedgerEntry.status == "claimed",
                )
                .values(
                    status="skipped",
                    reply=WITHDRAWN_REPLY,
                    claim_token=None,
                    lease_expires_at=None,
                )
            )

    def release(
        self, token: str, delivery_ids: Iterable[int], due_at: datetime | None = None
    ) -> None:
        """Hand back rows claimed but not sent (a clean stop, a server away): due again at
        once, or at `due_at`."""
        claims.release(self.writer, DELIVERIES, token, list(delivery_ids), due_at=due_at)

    def postpone(self, day: date, until: datetime) -> None:
        """Every waiting message of `day`'s run due no sooner than `until`."""
        claims.postpone(self.writer, DELIVERIES, LedgerEntry.day == day, until)

    # Reading ------------------------------------------------------------------------------

    def counts(self, day: date) -> dict[str, int]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(LedgerEntry.status, func.count())
                .where(LedgerEntry.day == day)
                .group_by(LedgerEntry.status)
            )
            return {status: count for status, count in rows}

    def days_waiting(self) -> list[date]:
        """The days whose runs still have messages to send (waiting or claimed), oldest
        first: one probe of the (day, status) index per run."""
        waiting = (
            select(LedgerEntry.id)
            .where(
                LedgerEntry.day == DigestRun.day,
                LedgerEntry.status.in_((claims.PENDING, claims.CLAIMED)),
            )
            .exists()
        )
        with self.engine.connect() as connection:
            return list(
                connection.execute(select(DigestRun.day).where(waiting).order_by(DigestRun.day))
                .scalars()
                .all()
            )

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
