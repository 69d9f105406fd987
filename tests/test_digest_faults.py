"""A mail server that misbehaves mid-run: 421 and 451 are retried until delivered, 550 is
recorded once and never retried, a message whose reply never came is never sent again,
nobody else notices."""

from __future__ import annotations

import email
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from email import policy

from sqlalchemy import select

from digests.ledger import SendLedger
from digests.message import DigestComposer
from digests.send import DigestSender, SendOptions
from service.email_renderer import EmailBody
from service.mail.smtp import SmtpTransport
from service.settings import Settings
from service.storage.models import LedgerEntry, Status, Subscriber
from service.tokens import TokenSigner

from .digest_db import add_subscribers, migrated_engine
from .mail_server import start

DAY = date(2026, 3, 12)
MARKER = "https://unsubscribe.invalid/fedcba9876543210fedcba9876543210"
SETTINGS = Settings(
    base_url="https://news.example.org",
    publisher_name="Northside Brief",
    mail_from="Northside Brief <digest@news.example.org>",
)
BODY = EmailBody(
    "The digest",
    f'<p>Today</p><p><a href="{MARKER}">Unsubscribe</a></p>',
    f"Today\n\nUnsubscribe: <{MARKER}>\n",
    MARKER,
)


class Misbehaving:
    """aiosmtpd handler: 451 at RCPT and 421 at DATA the first time for some recipients,
    550 always for others, and one connection dropped without a reply in mid-run."""

    def __init__(self, greylisted, busy, gone, drop_at: int):
        self.greylisted = set(greylisted)
        self.busy = set(busy)
        self.gone = set(gone)
        self.drop_at = drop_at
        self.seen_rcpt: Counter[str] = Counter()
        self.seen_data: Counter[str] = Counter()
        self.data_count = 0
        self.dropped: list[str] = []
        self.received: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.seen_rcpt[address] += 1
            first = self.seen_rcpt[address] == 1
        if address in self.gone:
            return "550 5.1.1 No such user here"
        if address in self.greylisted and first:
            return "451 4.7.1 Greylisted, please try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        (address,) = envelope.rcpt_tos
        with self.lock:
            self.data_count += 1
            self.seen_data[address] += 1
            if self.data_count == self.drop_at:
                self.dropped.append(address)
                # Gone without a word after the data: the message may have arrived (this
                # server kept it), and the sender must never send it again.
                self.received.append((address, envelope.original_content))
                server.transport.close()
                return "421 4.4.2 Connection dropped"
            if address in self.busy and self.seen_data[address] == 1:
                return "421 4.3.2 Too busy, closing the connection"
            self.received.append((address, envelope.original_content))
        return "250 2.0.0 Message accepted"


def test_4xx_are_delivered_in_the_end_5xx_once_and_nobody_else_is_affected(database_url):
    engine = migrated_engine(database_url)
    try:
        ids = add_subscribers(engine, [Status.CONFIRMED] * 40)
        with engine.connect() as connection:
            address = dict(connection.execute(select(Subscriber.id, Subscriber.email)).all())
        everyone = [address[i] for i in ids]
        greylisted, busy, gone = everyone[3:9], everyone[12:16], everyone[20:23]
        handler = Misbehaving(greylisted, busy, gone, drop_at=30)
        controller = start(handler)
        try:
            ledger = SendLedger(engine)
            ledger.open_run(DAY, BODY, 1, now=datetime.now(UTC), opened_by="test")
            options = SendOptions(
                batch=8,
                retry_first=timedelta(milliseconds=100),
                retry_longest=timedelta(milliseconds=400),
                wait_for_retries=timedelta(seconds=60),
                poll=0.05,
            )
            transport = SmtpTransport(f"smtp://{controller.hostname}:{controller.port}")
            composer = DigestComposer(SETTINGS, TokenSigner("faults-secret"))
            summary = DigestSender(ledger, composer, transport, options).send(DAY)
        finally:
            controller.stop()

        delivered = Counter(a for a, _ in handler.received)
        assert delivered == Counter(a for a in everyone if a not in gone)
        assert handler.dropped, "the connection was never dropped"
        assert summary.failed == len(gone)
        assert summary.retried >= len(greylisted) + len(busy)
        assert all(handler.seen_rcpt[a] == 1 for a in gone)  # 5xx: never asked again
        with engine.connect() as connection:
            entries = {
                address[row.subscriber_id]: row
                for row in connection.execute(select(LedgerEntry).where(LedgerEntry.day == DAY))
            }
        for a in gone:
            assert entries[a].status == "failed"
            assert entries[a].attempts == 1
            assert entries[a].reply.startswith("permanent 550")
        for a in greylisted + busy:
            assert entries[a].status == "sent"
            assert entries[a].attempts == 2
        (dropped,) = handler.dropped
        assert entries[dropped].status == "sent"
        assert entries[dropped].reply.startswith("unconfirmed: no reply after the data")
        assert ledger.counts(DAY) == {"sent": 40 - len(gone), "failed": len(gone)}
        ids_seen = [
            email.message_from_bytes(data, policy=policy.default)["Message-ID"]
            for _, data in handler.received
        ]
        assert len(set(ids_seen)) == len(ids_seen)
    finally:
        engine.dispose()
