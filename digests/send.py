"""Sending a digest run: claim rows from the ledger, send each through the transport, record.

Each message is taken (lease renewed, subscriber still confirmed) before it is handed to
the transport, and its reply is recorded, with the next message taken, in one transaction
before the next goes out. A sender killed at any point leaves at most the one message in
flight unrecorded: its lease runs out, the row is claimed again, and the copy that goes out
carries the same Message-ID. A cap on messages per second is the SMTP transport's
(`SMTP_URL` with `?rate=`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from service.logs import printable
from service.mail.transport import Delivery, Envelope, Outcome, Transport, without_addresses
from service.metrics import count_digest_message
from service.storage import claims

from .ledger import Claimed, Run, SendLedger
from .message import DigestComposer, DigestTemplate
from .steps import MessageSteps, Result

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SendOptions:
    batch: int = 50
    lease: timedelta = timedelta(minutes=5)
    retry_first: timedelta = timedelta(minutes=1)
    retry_longest: timedelta = timedelta(hours=1)
    max_attempts: int = 8
    # How long one `digest send` keeps waiting for retries that are not yet due.
    wait_for_retries: timedelta = timedelta(minutes=15)
    poll: float = 1.0

    def backoff(self, attempts: int) -> timedelta:
        """Wait before attempt `attempts + 1`: doubling from retry_first up to retry_longest."""
        return claims.backoff(self.retry_first, self.retry_longest, attempts)


@dataclass
class Summary:
    """What one sender did: sent, retried (a temporary failure), failed for good, skipped,
    and the tries that waited for a mail server that could not be reached or refused the
    sender (no message was offered, so none was retried: counted apart, in no metric), with
    what it last said."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    waited: int = 0
    failures: list[str] = field(default_factory=list)
    waited_because: str = ""

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.skipped + self.waited


@dataclass(frozen=True, slots=True)
class Prepared:
    """A taken message, written: its bytes, or why it cannot be sent."""

    row: Claimed
    data: bytes | None  # None when it cannot be written
    failed: Delivery | None


class _Turn:
    """A message's go-ahead: taken (lease renewed, reader still confirmed) in the transaction
    that records the reply to the message before it; asked again, the same answer."""

    def __init__(
        self,
        steps: MessageSteps,
        token: str,
        row: Claimed,
        previous: Result | None,
        until: Callable[[], datetime],
    ):
        self.steps, self.token, self.row = steps, token, row
        self.previous, self.until = previous, until
        self.answer: bool | None = None

    def __call__(self) -> bool:
        if self.answer is None:
            steps, token, delivery_id = self.steps, self.token, self.row.delivery_id
            if self.previous is None:
                self.answer = steps.take(token, delivery_id, self.until())
            else:
                self.answer = steps.record_and_take(token, self.previous, delivery_id, self.until())
        return self.answer


class NotOpen(Exception):
    """There is no run for that date to send."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class DigestSender:
    def __init__(
        self,
        ledger: SendLedger,
        composer: DigestComposer,
        transport: Transport,
        options: SendOptions | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        stop: threading.Event | None = None,
        refresh: Callable[[date], Run | None] | None = None,
    ) -> None:
        self.ledger = ledger
        # The run as it stands, read once each batch is claimed (DailyDigest.current_run
        # writes it again first if a quick read it names was deleted).
        self.refresh = refresh or ledger.run
        self.composer = composer
        self.transport = transport
        self.options = options or SendOptions()
        self.clock = clock
        self.stop = stop or threading.Event()
        # Never shorter than one message may take, or a live sender's could be taken over.
        self.lease = max(self.options.lease, transport.longest_exchange)

    def send(self, day: date, progress: Callable[[int], None] | None = None) -> Summary:
        """Send what is due of `day`'s run until it is done, stopped, or the wait runs out."""
        run = self.ledger.run(day)
        if run is None:
            raise NotOpen(f"no digest run is open for {day.isoformat()}")
        summary = Summary()
        template = self.composer.template(run.body) if run.items else None  # none left: none
        give_up_at = self.clock() + self.options.wait_for_retries
        try:
            while not self.stop.is_set():
                token, batch = self.ledger.claim(
                    day, now=self.clock(), lease=self.lease, limit=self.options.batch
                )
                if batch:
                    # The run read again once the batch is ours: a deleted quick read leaves
                    # its mail (DailyDigest.withdraw), and it may have none left to send.
                    current = self.refresh(day)
                    if current is None or not current.items:
                        self.ledger.skip_claimed(token, [row.delivery_id for row in batch])
                        summary.skipped += len(batch)
                        continue
                    if template is None or current.body.marker != run.body.marker:
                        run, template = current, self.composer.template(current.body)
                    self._send_batch(run, template, token, batch, summary, progress)
                    continue
                next_due = self.ledger.next_due(day)
                if next_due is None or next_due > give_up_at:
                    break
                wait = (next_due - self.clock()).total_seconds()
                self.stop.wait(min(max(wait, 0.0), self.options.poll))
        finally:
            self.transport.close()
        return summary

    def _send_batch(
        self,
        run: Run,
        template: DigestTemplate,
        token: str,
        batch: list[Claimed],
        summary: Summary,
        progress: Callable[[int], None] | None,
    ) -> None:
        """Send a claimed batch in order, one transaction per message.

        Each message is taken (its lease renewed, its reader still confirmed) in the
        transaction that records the reply to the message before it, and that transaction
        commits while the message's MAIL command is on the wire: the data of a message never
        goes before the reply to the one before it is on disk, and a message not taken is
        withdrawn before its data. The next message is written while this one's data is
        with the server."""
        lease = self.lease
        written: list[Prepared] = []
        unrecorded: Result | None = None  # the reply to the message before, not yet on disk
        with self.ledger.steps() as steps:
            for index, row in enumerate(batch):
                if self.stop.is_set():
                    if unrecorded is not None:
                        steps.record(token, unrecorded)
                    self.ledger.release(token, [r.delivery_id for r in batch[index:]])
                    logger.info("Stopped; handed back %d claimed messages", len(batch) - index)
                    return
                ahead = written.pop() if written else None
                prepared = ahead if ahead and ahead.row is row else None
                if prepared is None:
                    prepared = self._prepare(run, template, row, self.clock())
                upcoming = batch[index + 1] if index + 1 < len(batch) else None

                go_ahead = _Turn(steps, token, row, unrecorded, lambda: self.clock() + lease)

                def write_upcoming(upcoming: Claimed | None = upcoming) -> None:
                    if upcoming is not None:
                        written.append(self._prepare(run, template, upcoming, self.clock()))

                unrecorded = self._send_one(prepared, summary, go_ahead, write_upcoming)
                if progress:
                    progress(1)
                if unrecorded is not None and unrecorded.uncounted:
                    # The server is away: the whole run waits as this message does, so the
                    # next attempt is one connection, not one for each batch.
                    retry_at = unrecorded.next_attempt_at
                    assert retry_at is not None
                    steps.record(token, unrecorded)
                    rest = [later.delivery_id for later in batch[index + 1 :]]
                    self.ledger.release(token, rest, retry_at)
                    self.ledger.postpone(run.day, retry_at)
                    logger.warning(
                        "The mail server is away or refuses the sender (%s); the run waits"
                        " until %s",
                        printable(without_addresses(unrecorded.reply)),
                        retry_at,
                    )
                    return
            if unrecorded is not None:
                steps.record(token, unrecorded)

    def _prepare(self, run: Run, template: DigestTemplate, row: Claimed, now: datetime) -> Prepared:
        """The taken message, written for its recipient (or why it cannot be)."""
        try:
            data = self.composer.compose(
                template,
                run.day,
                subscriber_id=row.subscriber_id,
                created_at=row.created_at,
                email=row.email,
                name=row.name,
                now=now,
            )
        except ValueError as error:
            failed = Delivery(Outcome.PERMANENT, None, f"cannot be written: {error}")
            return Prepared(row, None, failed)
        return Prepared(row, data, None)

    def _send_one(
        self,
        prepared: Prepared,
        summary: Summary,
        go_ahead: Callable[[], bool],
        meanwhile: Callable[[], None],
    ) -> Result | None:
        """Send one prepared message if `go_ahead` takes it, calling `meanwhile` while it is
        on its way; what became of it, to record before the next goes (None: not taken)."""
        options, row = self.options, prepared.row
        reply = prepared.failed
        if reply is None:
            assert prepared.data is not None
            envelope = Envelope(self.composer.sender_address, (row.email,), prepared.data)
            reply = self.transport.send_overlapping(envelope, meanwhile, go_ahead)
        else:
            go_ahead()
            meanwhile()
        if not go_ahead():
            summary.skipped += 1
            return None
        if reply.gone:  # sent, or unconfirmed: never sent twice
            summary.sent += 1
            count_digest_message("sent")
            return Result(row.delivery_id, "sent", str(reply), sent_at=self.clock())
        if reply.outcome is Outcome.TEMPORARY and not reply.offered:
            summary.waited += 1  # the server was away: this message was not tried
            summary.waited_because = str(reply)
            retry_at = self.clock() + options.retry_first  # the server's wait, not the row's
            return Result(
                row.delivery_id, "pending", str(reply), next_attempt_at=retry_at, uncounted=True
            )
        if reply.outcome is Outcome.TEMPORARY and row.attempts < options.max_attempts:
            summary.retried += 1
            count_digest_message("retried")
            retry_at = self.clock() + options.backoff(row.attempts)
            return Result(row.delivery_id, "pending", str(reply), next_attempt_at=retry_at)
        text = str(reply)
        if reply.outcome is Outcome.TEMPORARY:
            text = f"gave up after {row.attempts} attempts: {reply}"
        summary.failed += 1
        count_digest_message("failed")
        summary.failures.append(f"{row.email}: {text}")
        logger.error(
            "Digest to subscriber %d failed: %s", row.subscriber_id, without_addresses(text)
        )
        leaves_at = self.clock() if reply.no_such_mailbox else None
        return Result(row.delivery_id, "failed", text, leaves_at=leaves_at)
