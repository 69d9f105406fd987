"""The outbox relay: sends queued mail when it can, retrying while the server is away.

Any number of relays may run (a thread in each web process, the scheduler process): rows
are claimed as the digest ledger's are, so each message has one sender at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, Table, func, select, true, update

from .addresses import BadAddress
from .characters import fit_for_a_page
from .mail.transport import Envelope, Outcome, Transport, without_addresses
from .messages import DkimSigner
from .storage import claims
from .storage.models import OutboxMessage
from .subscriptions import Subscriptions

logger = logging.getLogger(__name__)
OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class RelayOptions:
    batch: int = 20
    lease: timedelta = timedelta(minutes=2)
    retry_first: timedelta = timedelta(seconds=30)
    retry_longest: timedelta = timedelta(hours=1)
    max_attempts: int = 30  # with the backoff above: about a day of trying

    def backoff(self, attempts: int) -> timedelta:
        return claims.backoff(self.retry_first, self.retry_longest, attempts)


class OutboxRelay:
    def __init__(
        self,
        engine: Engine,
        subscriptions: Subscriptions,
        transport: Callable[[], Transport],
        *,
        domain: str,
        dkim: DkimSigner | None = None,
        options: RelayOptions | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.writer = engine.execution_options(broadsheet_write=True)
        self.subscriptions = subscriptions
        self.transport = transport
        self.domain = domain
        self.dkim = dkim
        self.options = options or RelayOptions()
        self.clock = clock

    def deliver_due(self, stop: threading.Event | None = None) -> int:
        """Send one batch of what is due; the number of rows handled (0: nothing was due).
        Once `stop` is set, the message in hand is finished and the rest handed back."""
        options = self.options
        with self.transport() as transport:
            lease = max(options.lease, transport.longest_exchange)
            token, rows = claims.claim(
                self.engine,
                OUTBOX,
                where=true(),
                now=self.clock(),
                lease=lease,
                limit=options.batch,
                returning=(
                    OUTBOX.c.purpose,
                    OUTBOX.c.subscriber_id,
                    OUTBOX.c.attempts,
                    OUTBOX.c.created_at,
                ),
            )
            tag = self.subscriptions.settings.message_id_tag
            for index, row in enumerate(rows):
                if stop is not None and stop.is_set():
                    claims.release(self.writer, OUTBOX, token, [r.id for r in rows[index:]])
                    return index
                if not claims.take(self.writer, OUTBOX, row.id, token, self.clock() + lease):
                    logger.info("Mail %d was taken over by another relay", row.id)
                    continue
                # The same for each try of a row; the moment it was queued tells two rows of
                # one id apart, as a database rebuilt from nothing numbers them again
                # (RFC 5322 §3.6.4: globally unique).
                queued = round(row.created_at.timestamp() * 1_000_000)  # aware: UtcDateTime
                try:
                    composed = self.subscriptions.compose(
                        row.purpose,
                        row.subscriber_id,
                        f"<outbox.{row.id}.{queued}.{tag}@{self.domain}>",
                    )
                except BadAddress as refused:  # taken under an older rule, refused now
                    # Failed for good, not raised: it headed every batch, and the mail
                    # queued behind it stayed claimed and unsent.
                    self._record(row.id, token, "failed", str(refused))
                    logger.warning(
                        "Mail %d cannot be addressed: %s", row.id, without_addresses(str(refused))
                    )
                    continue
                if composed is None:
                    self._record(row.id, token, "skipped", "no longer applies")
                    continue
                message, recipient = composed
                envelope = Envelope.of(
                    message,
                    sender=self.subscriptions.settings.mail_from,
                    recipients=[recipient],
                    signer=self.dkim,
                )
                reply = transport.send(envelope)
                if reply.gone:
                    self._record(row.id, token, "sent", str(reply), sent_at=self.clock())
                elif reply.outcome is Outcome.TEMPORARY and not reply.offered:
                    # The server is away: the attempt is not the message's to count, and the
                    # wait is the server's (the first), not this message's backoff.
                    retry_at = self.clock() + options.retry_first
                    self._record(
                        row.id,
                        token,
                        "pending",
                        str(reply),
                        next_attempt_at=retry_at,
                        attempts=OUTBOX.c.attempts - 1,
                    )
                    logger.warning(
                        "Mail %d waits for the mail server: %s", row.id, reply.for_the_log
                    )
                    rest = [later.id for later in rows[index + 1 :]]
                    claims.release(self.writer, OUTBOX, token, rest, due_at=retry_at)
                    claims.postpone(self.writer, OUTBOX, true(), retry_at)  # all of it waits
                    break
                elif reply.outcome is Outcome.TEMPORARY and row.attempts < options.max_attempts:
                    retry_at = self.clock() + options.backoff(row.attempts)
                    self._record(row.id, token, "pending", str(reply), next_attempt_at=retry_at)
                    logger.warning("Mail %d not sent yet, retrying: %s", row.id, reply.for_the_log)
                else:
                    self._record(row.id, token, "failed", str(reply))
                    logger.error("Mail %d could not be sent: %s", row.id, reply.for_the_log)
        return len(rows)

    def deliver_all_due(self, stop: threading.Event | None = None) -> int:
        """Send batches until nothing is due, or until `stop` is set (see deliver_due)."""
        handled = total = self.deliver_due(stop)
        while handled and not (stop is not None and stop.is_set()):
            handled = self.deliver_due(stop)
            total += handled
        return total

    def next_due(self) -> datetime | None:
        """When the earliest waiting message comes due, if any is waiting."""
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.status == claims.PENDING
                )
            ).scalar()

    def _record(self, row_id: int, token: str, status: str, reply: str, **values) -> None:
        with self.writer.begin() as connection:
            connection.execute(
                update(OutboxMessage)
                .where(claims.held(OUTBOX, row_id, token))
                .values(
                    status=status,
                    reply=fit_for_a_page(reply)[:500],  # a NUL fails PostgreSQL's text
                    claim_token=None,
                    lease_expires_at=None,
                    **values,
                )
            )


class RelayThread:
    """Runs a relay in the background of a web process: woken by each sign-up, and awake
    again when the next retry is due, so a sign-up never waits on the mail server."""

    def __init__(self, relay: OutboxRelay, *, idle: float = 60.0) -> None:
        self.relay = relay
        self.idle = idle
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name="broadsheet-outbox-relay", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.relay.deliver_all_due(self._stop)
                next_due = self.relay.next_due()
            except Exception:
                logger.exception("The outbox relay failed; trying again shortly")
                next_due = None
            wait = self.idle
            if next_due is not None:
                wait = min(max((next_due - self.relay.clock()).total_seconds(), 0.05), wait)
            self._wake.wait(wait)
