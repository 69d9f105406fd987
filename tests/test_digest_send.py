"""The send ledger and the sender, on SQLite and PostgreSQL, with a transport that only listens."""

from __future__ import annotations

import email
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from email import policy

import pytest
from sqlalchemy import event, select, update

from digests.ledger import SendLedger
from digests.message import DigestComposer
from digests.send import DigestSender, NotOpen, SendOptions
from service import metrics
from service.email_renderer import EmailBody
from service.mail.transport import WITHDRAWN, Delivery, Envelope, Outcome, Transport
from service.settings import Settings
from service.storage.models import LedgerEntry as LedgerRow
from service.storage.models import Status, Subscriber
from service.tokens import TokenSigner

from .digest_db import add_subscribers, migrated_engine

MARKER = "https://unsubscribe.invalid/0123456789abcdef0123456789abcdef"
DAY = date(2026, 3, 12)
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
FAST = SendOptions(
    batch=7,
    retry_first=timedelta(milliseconds=50),
    retry_longest=timedelta(milliseconds=200),
    wait_for_retries=timedelta(seconds=30),
    poll=0.02,
)


class ListeningTransport(Transport):
    """Accepts every message unless `replies` scripts what the server says to a recipient."""

    def __init__(self, replies: dict[str, list[Delivery]] | None = None):
        self.replies = replies or {}
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    def send(self, message) -> Delivery:
        assert isinstance(message, Envelope)
        (recipient,) = message.recipients
        with self.lock:
            scripted = self.replies.get(recipient)
            if scripted:
                return scripted.pop(0)
            self.messages.append((recipient, message.data))
        return Delivery(Outcome.SENT, 250, "2.0.0 queued")

    def recipients(self) -> Counter[str]:
        return Counter(recipient for recipient, _ in self.messages)


@pytest.fixture
def engine(database_url):
    engine = migrated_engine(database_url)
    yield engine
    engine.dispose()


def sender(engine, transport, options=FAST, **kwargs) -> DigestSender:
    composer = DigestComposer(SETTINGS, TokenSigner("test-secret"))
    return DigestSender(SendLedger(engine), composer, transport, options, **kwargs)


def open_run(engine) -> bool:
    return SendLedger(engine).open_run(DAY, BODY, 3, now=datetime.now(UTC), opened_by="test")


def emails(engine, ids: list[int]) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Subscriber.id, Subscriber.email).where(Subscriber.id.in_(ids))
        )
        return [email for _, email in sorted(rows)]


def test_opening_a_run_freezes_exactly_the_confirmed_audience_once(engine):
    ids = add_subscribers(
        engine, [Status.CONFIRMED, Status.PENDING, Status.CONFIRMED, Status.UNSUBSCRIBED]
    )
    assert open_run(engine) is True
    add_subscribers(engine, [Status.CONFIRMED])  # too late for today's run
    assert open_run(engine) is False
    with engine.connect() as connection:
        ledger = connection.execute(
            select(LedgerRow.subscriber_id, LedgerRow.status).where(LedgerRow.day == DAY)
        ).all()
    assert sorted(ledger) == [(ids[0], "pending"), (ids[2], "pending")]
    run = SendLedger(engine).run(DAY)
    assert run is not None
    assert run.audience == 2
    assert run.body == BODY


def test_each_confirmed_subscriber_gets_one_message_and_a_second_send_sends_nothing(engine):
    ids = add_subscribers(engine, [Status.CONFIRMED] * 20 + [Status.PENDING] * 3)
    open_run(engine)
    transport = ListeningTransport()
    summary = sender(engine, transport).send(DAY)
    assert summary.sent == 20
    assert transport.recipients() == Counter(emails(engine, ids[:20]))
    message_ids = {
        email.message_from_bytes(data, policy=policy.default)["Message-ID"]
        for _, data in transport.messages
    }
    assert len(message_ids) == 20
    assert SendLedger(engine).counts(DAY) == {"sent": 20}

    again = ListeningTransport()
    assert sender(engine, again).send(DAY).handled == 0
    assert again.messages == []


def test_sending_a_date_with_no_run_is_refused(engine):
    with pytest.raises(NotOpen):
        sender(engine, ListeningTransport()).send(DAY)


def test_an_unsubscribe_after_the_run_opened_is_honoured(engine):
    ids = add_subscribers(engine, [Status.CONFIRMED] * 3)
    open_run(engine)
    with engine.begin() as connection:
        connection.execute(
            update(Subscriber).where(Subscriber.id == ids[1]).values(status="unsubscribed")
        )
    transport = ListeningTransport()
    summary = sender(engine, transport).send(DAY)
    assert (summary.sent, summary.skipped) == (2, 1)
    assert sorted(transport.recipients()) == emails(engine, [ids[0], ids[2]])
    assert SendLedger(engine).counts(DAY) == {"sent": 2, "skipped": 1}


def _counted(outcome: str) -> float:
    """broadsheet_digest_messages_total for `outcome`, as this process counted it."""
    value = metrics.registry.get_sample_value(
        "broadsheet_digest_messages_total", {"outcome": outcome}
    )
    return value or 0.0


def test_temporary_replies_are_retried_and_permanent_ones_recorded_once(engine):
    ids = add_subscribers(engine, [Status.CONFIRMED] * 4)
    greylisted, busy, gone, fine = emails(engine, ids)
    transport = ListeningTransport(
        {
            greylisted: [Delivery(Outcome.TEMPORARY, 451, "4.7.1 greylisted")] * 2,
            busy: [Delivery(Outcome.TEMPORARY, 421, "4.3.2 too busy")],
            gone: [Delivery(Outcome.PERMANENT, 550, "5.1.1 no such user")],
        }
    )
    open_run(engine)
    before = {o: _counted(o) for o in ("sent", "retried", "failed")}
    summary = sender(engine, transport).send(DAY)
    assert (summary.sent, summary.retried, summary.failed) == (3, 3, 1)
    counted = {o: _counted(o) - before[o] for o in before}
    assert counted == {"sent": 3, "retried": 3, "failed": 1}
    assert transport.recipients() == Counter({greylisted: 1, busy: 1, fine: 1})
    with engine.connect() as connection:
        rows = {
            row.subscriber_id: row
            for row in connection.execute(select(LedgerRow).where(LedgerRow.day == DAY))
        }
    assert rows[ids[0]].attempts == 3
    assert rows[ids[2]].status == "failed"
    assert rows[ids[2]].attempts == 1
    assert rows[ids[2]].reply == "permanent 550: 5.1.1 no such user"
    assert summary.failures == [f"{gone}: permanent 550: 5.1.1 no such user"]


def test_an_address_its_server_says_does_not_exist_is_mailed_no_more(engine):
    """A 5.1.1 refusal was recorded and the address mailed again every day (what bulk-sender
    rules penalise), and every day's run ended failed for it. Refusals that say nothing of
    the address (policy, a bare 550) leave the subscriber be."""
    ids = add_subscribers(engine, [Status.CONFIRMED] * 6)
    no_user, no_domain, null_mx, policy, bare, fine = emails(engine, ids)
    transport = ListeningTransport(
        {
            no_user: [Delivery(Outcome.PERMANENT, 550, "5.1.1 <x@example.org>: User unknown")],
            no_domain: [Delivery(Outcome.PERMANENT, 550, "5.1.2 Host unknown")],
            null_mx: [Delivery(Outcome.PERMANENT, 556, "5.1.10 Recipient address has null MX")],
            policy: [Delivery(Outcome.PERMANENT, 550, "5.7.1 Rejected by policy")],
            bare: [Delivery(Outcome.PERMANENT, 550, "Mailbox unavailable 5.1.1.5")],
        }
    )
    open_run(engine)
    summary = sender(engine, transport).send(DAY)
    assert (summary.sent, summary.failed) == (1, 5)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Subscriber.email, Subscriber.status, Subscriber.unsubscribed_at)
        ).all()
    status = {row.email: row.status for row in rows}
    left = {row.email: row.unsubscribed_at for row in rows}
    assert {e for e in status if status[e] == Status.UNSUBSCRIBED} == {no_user, no_domain, null_mx}
    assert all(left[e] is not None for e in (no_user, no_domain, null_mx))
    assert status[policy] == status[bare] == status[fine] == Status.CONFIRMED
    # The next day's run mails the three left alone only.
    assert SendLedger(engine).open_run(
        DAY + timedelta(days=1), BODY, 3, now=datetime.now(UTC), opened_by="test"
    )
    assert SendLedger(engine).counts(DAY + timedelta(days=1)) == {"pending": 3}


def test_a_reply_holding_a_nul_is_recorded_once(engine):
    """PostgreSQL's text holds no NUL: recording such a reply failed, the sender died with
    the row claimed, and each later run sent the message again, for ever."""
    ids = add_subscribers(engine, [Status.CONFIRMED] * 2)
    refused, fine = emails(engine, ids)
    transport = ListeningTransport(
        {refused: [Delivery(Outcome.PERMANENT, 550, "5.7.1 Rejected\x00 by policy")]}
    )
    open_run(engine)
    summary = sender(engine, transport).send(DAY)
    assert (summary.sent, summary.failed) == (1, 1)
    with engine.connect() as connection:
        rows = {
            row.subscriber_id: row
            for row in connection.execute(select(LedgerRow).where(LedgerRow.day == DAY))
        }
    assert (rows[ids[0]].status, rows[ids[0]].attempts) == ("failed", 1)
    assert rows[ids[0]].reply == "permanent 550: 5.7.1 Rejected\ufffd by policy"
    assert transport.recipients() == Counter({fine: 1})


def test_a_driver_error_in_a_message_s_write_is_sqlalchemy_s(engine, monkeypatch):
    """The per-message writes run on the driver's connection: a database that went away
    raised the driver's own error, which nothing that says "the database did not answer" in
    one line knows, so `digest send` ended in a 132-line traceback."""
    from sqlalchemy.exc import OperationalError

    from digests.steps import MessageSteps

    driver_error = engine.dialect.loaded_dbapi.OperationalError

    def lost(*args, **kwargs):
        raise driver_error("the connection is lost")

    monkeypatch.setattr(MessageSteps, "record", lost)
    ids = add_subscribers(engine, [Status.CONFIRMED])
    open_run(engine)
    with pytest.raises(OperationalError) as raised:
        sender(engine, ListeningTransport()).send(DAY)
    assert isinstance(raised.value.orig, driver_error)
    assert ids


def test_a_temporary_failure_gives_up_after_the_last_attempt(engine):
    ids = add_subscribers(engine, [Status.CONFIRMED])
    (address,) = emails(engine, ids)
    transport = ListeningTransport({address: [Delivery(Outcome.TEMPORARY, 421, "down")] * 10})
    open_run(engine)
    options = SendOptions(
        retry_first=timedelta(0), max_attempts=3, wait_for_retries=timedelta(seconds=5), poll=0
    )
    summary = sender(engine, transport, options).send(DAY)
    assert (summary.retried, summary.failed) == (2, 1)
    assert "gave up after 3 attempts: temporary 421: down" in summary.failures[0]


def test_an_expired_lease_makes_the_row_due_again_and_the_old_claim_records_nothing(engine):
    add_subscribers(engine, [Status.CONFIRMED] * 2)
    open_run(engine)
    ledger = SendLedger(engine)
    lease = timedelta(seconds=30)
    start = datetime.now(UTC)
    dead_token, dead_rows = ledger.claim(DAY, now=start, lease=lease, limit=10)
    assert len(dead_rows) == 2
    # While the lease holds, nobody else can claim those rows.
    assert ledger.claim(DAY, now=start + timedelta(seconds=29), lease=lease, limit=10)[1] == []
    later = start + timedelta(seconds=31)
    token, rows = ledger.claim(DAY, now=later, lease=lease, limit=10)
    assert [r.delivery_id for r in rows] == [r.delivery_id for r in dead_rows]
    assert all(r.attempts == 2 for r in rows)
    # The first sender wakes up: its claim is gone, so it can neither take nor record.
    assert ledger.take(dead_rows[0].delivery_id, dead_token, now=later, lease=lease) is False
    ledger.record_sent(dead_rows[0].delivery_id, dead_token, now=later, reply="250")
    assert ledger.counts(DAY) == {"claimed": 2}
    assert ledger.take(rows[0].delivery_id, token, now=later, lease=lease) is True
    ledger.record_sent(rows[0].delivery_id, token, now=later, reply="250")
    assert ledger.counts(DAY) == {"claimed": 1, "sent": 1}


def test_a_stopped_sender_hands_back_what_it_claimed(engine):
    add_subscribers(engine, [Status.CONFIRMED] * 10)
    open_run(engine)
    stop = threading.Event()

    class StopAfterThree(ListeningTransport):
        def send(self, message):
            reply = super().send(message)
            if len(self.messages) == 3:
                stop.set()
            return reply

    transport = StopAfterThree()
    summary = sender(engine, transport, SendOptions(batch=10), stop=stop).send(DAY)
    assert summary.sent == 3
    assert SendLedger(engine).counts(DAY) == {"sent": 3, "pending": 7}
    rest = ListeningTransport()
    assert sender(engine, rest).send(DAY).sent == 7
    assert not set(transport.recipients()) & set(rest.recipients())


def test_concurrent_senders_share_the_work_without_sending_twice(engine):
    ids = add_subscribers(engine, [Status.CONFIRMED] * 120)
    open_run(engine)
    transport = ListeningTransport()
    threads = [
        threading.Thread(target=sender(engine, transport, SendOptions(batch=5)).send, args=(DAY,))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert transport.recipients() == Counter(emails(engine, ids))
    assert SendLedger(engine).counts(DAY) == {"sent": 120}


def test_concurrent_openers_open_one_run(engine):
    add_subscribers(engine, [Status.CONFIRMED] * 50)
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def opener():
        barrier.wait()
        results.append(open_run(engine))

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert SendLedger(engine).counts(DAY) == {"pending": 50}


class OverlappingTransport(ListeningTransport):
    """Runs the sender's `meanwhile` while a message is "on its way", and a script then."""

    def __init__(self, during_first_wait):
        super().__init__()
        self.during_first_wait = during_first_wait
        self.waits = 0
        self.written_in_the_wait: list[int] = []

    def send_overlapping(self, envelope, meanwhile, go_ahead) -> Delivery:
        # As SMTP does: the go-ahead while MAIL is on the wire, `meanwhile` during the data.
        self.waits += 1
        if self.waits == 1:
            self.during_first_wait()
        going = go_ahead()
        before = composed_count()
        meanwhile()
        self.written_in_the_wait.append(composed_count() - before)
        return self.send(envelope) if going else WITHDRAWN


_composed: list[int] = []


def composed_count() -> int:
    return len(_composed)


def test_the_next_message_is_written_in_the_wait_but_sent_only_once_taken(engine, monkeypatch):
    ids = add_subscribers(engine, [Status.CONFIRMED] * 5)
    open_run(engine)
    original = DigestComposer.compose

    def counting(self, *args, **kwargs):
        _composed.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DigestComposer, "compose", counting)
    _composed.clear()

    def second_reader_leaves():
        # The second message is written during this wait; then its reader unsubscribes.
        with engine.begin() as connection:
            connection.execute(
                update(Subscriber).where(Subscriber.id == ids[1]).values(status="unsubscribed")
            )

    transport = OverlappingTransport(second_reader_leaves)
    summary = sender(engine, transport, SendOptions(batch=10)).send(DAY)
    assert (summary.sent, summary.skipped) == (4, 1)
    assert transport.recipients() == Counter(emails(engine, [ids[0], *ids[2:]]))
    # Every message after the first was written while the one before it was on its way
    # (the withdrawn one included); the last had nothing after it to write.
    assert transport.written_in_the_wait == [1, 1, 1, 1, 0]
    assert len(_composed) == 5


def test_a_mail_server_away_uses_up_no_attempts_and_the_run_waits_with_it(engine):
    """Hours of outage must not turn into failures (only what the server says counts), nor
    into a connection attempt for every batch of the run."""
    ids = add_subscribers(engine, [Status.CONFIRMED] * 20)
    open_run(engine)
    away = Delivery(Outcome.TEMPORARY, None, "could not connect: refused", offered=False)

    class Away(ListeningTransport):
        tries = 0

        def send(self, message):
            self.tries += 1
            return away

    options = SendOptions(
        batch=5, retry_first=timedelta(seconds=30), max_attempts=2, wait_for_retries=timedelta(0)
    )
    with engine.begin() as connection:  # the first has been tried before (a 4xx, say)
        connection.execute(
            update(LedgerRow).where(LedgerRow.subscriber_id == min(ids)).values(attempts=1)
        )
    transport = Away()
    before = _counted("retried")
    summary = sender(engine, transport, options).send(DAY)
    assert (transport.tries, summary.waited, summary.failed) == (1, 1, 0)  # not one a batch
    # What it said, for the operator: a refused sender waits the same way, and was reported
    # as a server that "could not be reached".
    assert summary.waited_because == "temporary: could not connect: refused"
    # No message was offered, so none was retried: the metric counted each connection
    # refused as a message retried, more than the audience over an outage.
    assert (summary.retried, _counted("retried") - before) == (0, 0)
    with engine.connect() as connection:
        rows = connection.execute(
            select(LedgerRow.status, LedgerRow.attempts, LedgerRow.next_attempt_at)
        ).all()
    assert {(status, attempts) for status, attempts, _ in rows} == {("pending", 0), ("pending", 1)}
    # All of it waits the server's first wait, not the backoff of the row it met first.
    latest = datetime.now(UTC) + timedelta(seconds=31)
    assert all(latest - timedelta(seconds=6) < due < latest for _, _, due in rows)
    with engine.begin() as connection:  # half a minute on, the server is back
        connection.execute(update(LedgerRow).values(next_attempt_at=datetime.now(UTC)))
    back = ListeningTransport()
    assert sender(engine, back, options).send(DAY).sent == 20
    assert sorted(back.recipients()) == sorted(emails(engine, ids))


def test_an_unconfirmed_message_counts_as_sent_and_never_goes_again(engine):
    ids = add_subscribers(engine, [Status.CONFIRMED] * 2)
    first, second = emails(engine, ids)
    lost_reply = Delivery(Outcome.UNCONFIRMED, None, "no reply after the data, so it may have")
    transport = ListeningTransport({first: [lost_reply]})
    open_run(engine)
    summary = sender(engine, transport).send(DAY)
    assert (summary.sent, summary.retried, summary.failed) == (2, 0, 0)
    assert transport.recipients() == Counter({second: 1})
    with engine.connect() as connection:
        replies = dict(connection.execute(select(LedgerRow.subscriber_id, LedgerRow.reply)).all())
    assert replies[ids[0]].startswith("unconfirmed: no reply after the data")
    assert sender(engine, ListeningTransport()).send(DAY).handled == 0


def test_the_backoff_never_overflows_and_stops_at_its_longest():
    longest = timedelta(hours=1)
    options = SendOptions(retry_first=timedelta(days=1), retry_longest=longest)
    assert [options.backoff(n) for n in (0, 1, 2, 42, 100, 10_000)] == [longest] * 6
    options = SendOptions(retry_first=timedelta(minutes=1), retry_longest=longest)
    assert [options.backoff(n) for n in (1, 2, 3, 7, 8, 100)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 60, 60, 60)
    ]


def test_the_lease_is_never_shorter_than_one_message_may_take(engine):
    from service.mail.smtp import SmtpTransport

    slow = SmtpTransport("smtp://127.0.0.1:2525?timeout=30&rate=0.25")
    # From its MAIL to the next message's: MAIL and RCPT on a connection that drops (2), a
    # new one (connect, greeting, EHLO, HELO, STARTTLS, EHLO, HELO, a login of two: 9), the
    # message (MAIL, RCPT, DATA, the data, its reply: 5), and a new one for the next (9);
    # the rate cap's interval before each of the two messages. It said 14 waits: a sender
    # slower than that had its message claimed and sent again by another.
    assert slow.longest_exchange == timedelta(seconds=(2 + 9 + 5 + 9) * 30 + 2 * 4)
    short = SendOptions(lease=timedelta(seconds=2))
    assert sender(engine, slow, short).lease == slow.longest_exchange
    assert sender(engine, ListeningTransport(), short).lease == timedelta(seconds=2)


def test_a_claim_takes_at_most_its_limit_from_a_run_just_opened(engine):
    """On PostgreSQL the planner re-ran the locking subquery for each row of a table not yet
    analysed (a run's ledger, just after it opens): a claim of 50 took all 200 rows."""
    add_subscribers(engine, [Status.CONFIRMED] * 200)
    open_run(engine)
    ledger = SendLedger(engine)
    now = datetime.now(UTC)
    taken: set[int] = set()
    for _ in range(4):
        _, rows = ledger.claim(DAY, now=now, lease=timedelta(minutes=5), limit=50)
        ids = {row.delivery_id for row in rows}
        assert len(ids) == 50
        assert not ids & taken
        taken |= ids
    assert ledger.claim(DAY, now=now, lease=timedelta(minutes=5), limit=50)[1] == []


def test_a_claim_in_a_run_just_opened_reads_the_claim_index(engine):
    """On PostgreSQL the planner knew a run's rows only once autovacuum had come by: it
    reckoned the new day held none and read each claim through (day, subscriber_id), every
    row of the run (0.6 s a claim at 400,000 readers). Opening a run analyses the ledger;
    the claim reads the claim index (at this size the planner chose it even before)."""
    ids = add_subscribers(engine, [Status.CONFIRMED] * 2000)
    ledger = SendLedger(engine)
    earlier = DAY - timedelta(days=1)
    assert ledger.open_run(earlier, BODY, 3, now=datetime.now(UTC), opened_by="test")
    with engine.begin() as connection:  # yesterday's run, sent and known to the planner
        connection.execute(update(LedgerRow).values(status="sent"))
        if engine.dialect.name == "postgresql":  # as autovacuum does (SQLite keeps none)
            connection.exec_driver_sql("ANALYZE digest_deliveries")
    analysed = _analysed(engine)
    ledger.open_run(DAY, BODY, 3, now=datetime.now(UTC), opened_by="test")
    if engine.dialect.name == "postgresql":
        assert _analysed(engine) > analysed  # told, not left to autovacuum
    asked = []

    def keep(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().startswith(("WITH", "UPDATE")) and "pending" in str(parameters):
            asked.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        _, rows = ledger.claim(DAY, now=datetime.now(UTC), lease=timedelta(minutes=5), limit=50)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(rows) == 50
    assert {row.subscriber_id for row in rows} <= set(ids)
    ((sql, parameters),) = asked
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        plan = " | ".join(
            str(row[-1]) for row in connection.exec_driver_sql(explain + sql, parameters)
        )
    assert "ix_digest_deliveries_day_status_next_attempt_at_id" in plan, plan
    assert "Sort" not in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def _analysed(engine) -> int:
    """How many times the ledger was analysed by a command (PostgreSQL; 0 on SQLite)."""
    if engine.dialect.name != "postgresql":
        return 0
    with engine.connect() as connection:
        return connection.exec_driver_sql(
            "SELECT analyze_count FROM pg_stat_user_tables"
            " WHERE relname = 'digest_deliveries' AND schemaname = current_schema()"
        ).scalar_one()
