"""Real `digest send` and `scheduler` processes sharing one database and one SMTP server:
several at once, killed at random points, stopped with SIGTERM."""

from __future__ import annotations

import email
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from digests.runs import schedule_from
from service import create_app
from service.storage.models import DigestRun, Status

from .digest_db import add_subscribers, migrated_engine
from .mail_server import start

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "processes-test-token"
DAY = "2026-03-12"


class Sink:
    """aiosmtpd handler keeping (recipient, Message-ID) of each message, optionally slow."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.received: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            time.sleep(self.delay)  # holds this connection, as a slow server would
        message_id = email.message_from_bytes(envelope.original_content, policy=policy.default)[
            "Message-ID"
        ]
        with self.lock:
            self.received.extend((r, message_id) for r in envelope.rcpt_tos)
        return "250 2.0.0 Message accepted"

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def recipients(self) -> Counter[str]:
        with self.lock:
            return Counter(r for r, _ in self.received)


@pytest.fixture
def sink():
    handler = Sink()
    controller = start(handler)
    yield handler, controller
    controller.stop()


def environment(database_url: str, controller, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BROADSHEET_", "FLASK_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "BROADSHEET_DATABASE_URL": database_url,
            "BROADSHEET_SECRET_KEY": "processes-secret",
            "BROADSHEET_BASE_URL": "https://news.example.org",
            "BROADSHEET_MAIL_FROM": "Northside Brief <digest@news.example.org>",
            # A short wait for replies, so that a dead sender's lease (never shorter than
            # twenty-five such waits: 12.5 s) runs out within the test.
            "BROADSHEET_SMTP_URL": f"smtp://{controller.hostname}:{controller.port}?timeout=0.5",
            "BROADSHEET_DIGEST_TIME": "07:00",
            "BROADSHEET_TIMEZONE": "UTC",
            "BROADSHEET_DIGEST_LEASE_SECONDS": "8",
            "BROADSHEET_DIGEST_RETRY_SECONDS": "1",
        }
    )
    env.update({f"BROADSHEET_{k}": v for k, v in extra.items()})
    return env


def broadsheet(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def store_quick_read(database_url: str, published_at: str) -> None:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "processes-secret",
            "DATABASE_URL": database_url,
            "API_TOKEN": TOKEN,
            "MAIL_RELAY": False,
        }
    )
    runtime = app.extensions["broadsheet"]
    article = {
        "id": "the-news",
        "kind": "quick-read",
        "headline": "The news",
        "published_at": published_at,
        "body": [{"type": "paragraph", "text": "It happened."}],
    }
    response = app.test_client().put(
        "/v1/articles/the-news", json=article, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 201
    runtime.press.close()
    runtime.engine.dispose()


def prepared(database_url: str, subscribers: int) -> list[str]:
    """A migrated database with one quick read for DAY and `subscribers` confirmed readers
    (and a few who must get nothing); the confirmed addresses."""
    engine = migrated_engine(database_url)
    try:
        add_subscribers(engine, [Status.PENDING, Status.UNSUBSCRIBED], domain="nobody.example")
        add_subscribers(engine, [Status.CONFIRMED] * subscribers)
    finally:
        engine.dispose()
    store_quick_read(database_url, "2026-03-11T12:00:00Z")
    return [f"r{n}@example.org" for n in range(2, subscribers + 2)]


def finish(process: subprocess.Popen, timeout: float = 240) -> str:
    output, _ = process.communicate(timeout=timeout)
    return output


@pytest.mark.parametrize(
    ("database_url", "senders"),
    [("sqlite", 2), ("postgresql", 2), ("postgresql", 4)],
    indirect=["database_url"],
)
def test_concurrent_senders_send_each_message_once(database_url, sink, senders):
    handler, controller = sink
    confirmed = prepared(database_url, 400)
    env = environment(database_url, controller)
    processes = [broadsheet(env, "digest", "send", "--date", DAY) for _ in range(senders)]
    outputs = [finish(p) for p in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
    assert handler.recipients() == Counter(confirmed)
    shares = [int(o.split("Sent ", 1)[1].split(",", 1)[0]) for o in outputs]
    assert sum(shares) == len(confirmed)
    engine = migrated_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(DigestRun)).scalar() == 1
    finally:
        engine.dispose()


def test_a_sender_killed_at_random_points_loses_nobody(database_url, sink):
    handler, controller = sink
    confirmed = prepared(database_url, 2000)
    env = environment(database_url, controller)
    seed = random.randrange(1 << 30)
    chooser = random.Random(seed)
    kill_at = sorted(chooser.sample(range(50, 1900), 3))
    kills = 0
    for threshold in kill_at:
        process = broadsheet(env, "digest", "send", "--date", DAY)
        deadline = time.monotonic() + 180
        while handler.count() < threshold and process.poll() is None:
            assert time.monotonic() < deadline, f"stuck before {threshold} (seed {seed})"
            time.sleep(chooser.uniform(0.001, 0.02))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=30)
        process.stdout.close()
    assert kills == len(kill_at), f"a sender finished before it could be killed (seed {seed})"
    final = broadsheet(env, "digest", "send", "--date", DAY)
    output = finish(final)
    assert final.returncode == 0, output

    received = handler.recipients()
    assert set(received) == set(confirmed), f"seed {seed}"
    duplicates = {address: n for address, n in received.items() if n > 1}
    assert sum(n - 1 for n in duplicates.values()) <= kills, f"seed {seed}: {duplicates}"
    ids: dict[str, set[str]] = defaultdict(set)
    for address, message_id in handler.received:
        ids[address].add(message_id)
    assert all(len(found) == 1 for found in ids.values()), f"seed {seed}"
    assert len({next(iter(found)) for found in ids.values()}) == len(confirmed)


def test_two_schedulers_open_one_run_and_stop_cleanly_on_sigterm(database_url, sink):
    handler, controller = sink
    # A digest time a few minutes ago, so both schedulers find the digest due on start.
    now = datetime.now(UTC)
    digest_time = (now - timedelta(minutes=3)).strftime("%H:%M")
    schedule = schedule_from(digest_time, "UTC")
    window = schedule.window(schedule.due_date(now))
    engine = migrated_engine(database_url)
    try:
        add_subscribers(engine, [Status.PENDING])
        add_subscribers(engine, [Status.CONFIRMED] * 60)
    finally:
        engine.dispose()
    store_quick_read(database_url, (window.end - timedelta(hours=1)).isoformat())
    env = environment(database_url, controller, DIGEST_TIME=digest_time)
    schedulers = [broadsheet(env, "scheduler") for _ in range(2)]
    try:
        deadline = time.monotonic() + 120
        while handler.count() < 60 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # anything more would arrive now
    finally:
        for process in schedulers:
            process.send_signal(signal.SIGTERM)
        outputs = [finish(p, timeout=60) for p in schedulers]
    for process, output in zip(schedulers, outputs, strict=True):
        assert process.returncode == 0, output
        assert "The scheduler has stopped" in output
    assert handler.recipients() == Counter(f"r{n}@example.org" for n in range(1, 61))
    engine = migrated_engine(database_url)
    try:
        with engine.connect() as connection:
            runs = connection.execute(select(DigestRun.day, DigestRun.audience)).all()
        assert runs == [(schedule.due_date(now), 60)]
    finally:
        engine.dispose()


def test_sigterm_stops_a_sender_after_the_message_in_hand(database_url):
    handler = Sink(delay=0.02)
    controller = start(handler)
    try:
        confirmed = prepared(database_url, 300)
        env = environment(database_url, controller, DIGEST_LEASE_SECONDS="600")
        process = broadsheet(env, "digest", "send", "--date", DAY)
        deadline = time.monotonic() + 120
        while handler.count() < 20:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        output = finish(process, timeout=60)
        assert process.returncode == 130, output
        engine = migrated_engine(database_url)
        try:
            from digests.ledger import SendLedger

            counts = SendLedger(engine).counts(datetime(2026, 3, 12).date())
        finally:
            engine.dispose()
        # Whatever reached the server is recorded; what was claimed and unsent is handed
        # back at once (no lease to wait out), and nothing was sent twice.
        assert counts.get("sent", 0) == handler.count()
        assert "claimed" not in counts
        assert counts["pending"] == len(confirmed) - handler.count()
        assert max(handler.recipients().values()) == 1
    finally:
        controller.stop()
