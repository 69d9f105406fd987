"""The scheduler: one daily job at DIGEST_TIME in TIMEZONE, idempotent firing, catch-up,
and never a scheduler in a web process."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digests import scheduler
from digests.ledger import SendLedger
from digests.message import DigestComposer
from digests.runs import DailyDigest, Schedule
from service.email_renderer import Inliner
from service.mail.transport import MemoryTransport
from service.settings import Settings
from service.storage.articles import put_article
from service.storage.db import Database
from service.storage.models import Status
from service.templating import build_environment
from service.tokens import TokenSigner
from service.validation import validate_article

from .digest_articles import quick_read_json
from .digest_db import add_subscribers, migrated_engine

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = Settings(
    base_url="https://news.example.org",
    publisher_name="Northside Brief",
    mail_from="Northside Brief <digest@news.example.org>",
)


def daily(engine, zone: str = "UTC", at: time = time(7)) -> DailyDigest:
    return DailyDigest(
        engine,
        build_environment(),
        SETTINGS,
        Inliner(),
        Schedule(at, ZoneInfo(zone)),
        DigestComposer(SETTINGS, TokenSigner("scheduler-secret")),
    )


def test_the_daily_job_has_a_fixed_id_coalesces_and_forgives_hours_late(tmp_path):
    engine = migrated_engine(f"sqlite:///{tmp_path / 's.sqlite3'}")
    try:
        built = scheduler.build_scheduler(daily(engine, "Europe/Madrid", time(6, 45)))
        job = built.get_job(scheduler.DAILY_JOB)
        assert job.func_ref == "digests.scheduler:send_daily_digest"
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time >= 3 * 3600
        assert isinstance(job.trigger, scheduler.WindowCloses)
        assert str(job.trigger) == "daily at 06:45 in Europe/Madrid"
        assert (
            built.get_job(scheduler.PENDING_JOB).func_ref == "digests.scheduler:send_pending_mail"
        )
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("zone", "at", "after", "expected"),
    [
        # The trigger follows the clocks across both changes of New York's.
        (
            "America/New_York",
            time(7),
            "2026-03-07T00:00:00+00:00",
            ["2026-03-07T12:00:00+00:00", "2026-03-08T11:00:00+00:00", "2026-03-09T11:00:00+00:00"],
        ),
        (
            "America/New_York",
            time(7),
            "2026-10-31T00:00:00+00:00",
            ["2026-10-31T11:00:00+00:00", "2026-11-01T12:00:00+00:00", "2026-11-02T12:00:00+00:00"],
        ),
        (
            "Pacific/Kiritimati",
            time(7),
            "2026-03-11T00:00:00+00:00",
            ["2026-03-11T17:00:00+00:00", "2026-03-12T17:00:00+00:00", "2026-03-13T17:00:00+00:00"],
        ),
        (
            "America/St_Johns",
            time(7),
            "2026-03-07T00:00:00+00:00",
            ["2026-03-07T10:30:00+00:00", "2026-03-08T09:30:00+00:00", "2026-03-09T09:30:00+00:00"],
        ),
        # Half past midnight in Berlin, the night the clocks go from 02:00 to 03:00: 00:30 of
        # the 30th exists, yet APScheduler's cron went past it to the 31st.
        (
            "Europe/Berlin",
            time(0, 30),
            "2026-03-28T00:00:00+00:00",
            ["2026-03-28T23:30:00+00:00", "2026-03-29T22:30:00+00:00", "2026-03-30T22:30:00+00:00"],
        ),
        (
            "America/New_York",
            time(0, 0),
            "2026-03-08T00:00:00+00:00",
            ["2026-03-08T05:00:00+00:00", "2026-03-09T04:00:00+00:00", "2026-03-10T04:00:00+00:00"],
        ),
    ],
)
def test_the_job_fires_at_the_digest_time_in_local_time(tmp_path, zone, at, after, expected):
    engine = migrated_engine(f"sqlite:///{tmp_path / 's.sqlite3'}")
    try:
        plan = daily(engine, zone, at)
        trigger = scheduler.build_scheduler(plan).get_job(scheduler.DAILY_JOB).trigger
        fires, moment = [], datetime.fromisoformat(after)
        for _ in range(3):
            moment = trigger.get_next_fire_time(None, moment + timedelta(seconds=1))
            fires.append(moment)
        assert [f.astimezone(UTC).isoformat() for f in fires] == expected
        # Each firing sends the digest whose window has just closed: the date it fires on.
        for fire in fires:
            assert plan.schedule.due_date(fire) == fire.astimezone(ZoneInfo(zone)).date()
            assert plan.schedule.window(plan.schedule.due_date(fire)).end == fire
    finally:
        engine.dispose()


@pytest.fixture
def jobs(database_url):
    engine = migrated_engine(database_url)
    plan = daily(engine)
    memory = MemoryTransport()
    scheduler._jobs = scheduler.Jobs(plan, lambda: memory, relay=None, stop=threading.Event())
    yield plan, memory, engine
    scheduler._jobs = None
    engine.dispose()


def store(engine, document) -> None:
    with Database(engine).writing() as session:
        put_article(session, validate_article(document), document, datetime.now(UTC))


def test_firing_opens_the_run_once_and_a_second_firing_sends_nothing(jobs):
    plan, memory, engine = jobs
    now = datetime.now(UTC)
    day = plan.schedule.due_date(now)
    add_subscribers(engine, [Status.CONFIRMED] * 3 + [Status.PENDING])
    window = plan.schedule.window(day)
    store(engine, quick_read_json("due", (window.end - timedelta(minutes=5)).isoformat()))
    assert scheduler.needs_catch_up(plan, window.end + timedelta(minutes=1))
    scheduler.send_daily_digest()
    assert len(memory.sent) == 3
    assert not scheduler.needs_catch_up(plan, now)
    scheduler.send_daily_digest()
    assert len(memory.sent) == 3
    assert SendLedger(engine).counts(day) == {"sent": 3}


def test_firing_on_an_empty_window_sends_nothing_and_opens_no_run(jobs):
    plan, memory, engine = jobs
    add_subscribers(engine, [Status.CONFIRMED])
    scheduler.send_daily_digest()
    assert memory.sent == []
    assert SendLedger(engine).run(plan.schedule.due_date(datetime.now(UTC))) is None


class _Outbox:
    def __init__(self):
        self.turns = 0

    def deliver_all_due(self, stop=None) -> int:
        self.turns += 1
        return 0


def _every_minutes(database_url, minutes_ago: float):
    """A scheduler whose DIGEST_TIME (UTC) was `minutes_ago` minutes ago."""
    engine = migrated_engine(database_url)
    at = (
        (datetime.now(UTC) - timedelta(minutes=minutes_ago)).time().replace(second=0, microsecond=0)
    )
    plan, memory, outbox = daily(engine, at=at), MemoryTransport(), _Outbox()
    scheduler._jobs = scheduler.Jobs(plan, lambda: memory, relay=outbox, stop=threading.Event())
    return plan, memory, outbox, engine


def test_a_missed_firing_is_opened_by_the_periodic_job_within_the_grace(database_url):
    """A daily job that raised once (the database locked or away), or one that never fired
    (DIGEST_TIME inside a midnight spring-forward), lost the day's digest for everyone:
    only the daily job opened runs, and only at start was a missed one caught up."""
    plan, memory, outbox, engine = _every_minutes(database_url, 10)
    try:
        day = plan.schedule.due_date(datetime.now(UTC))
        add_subscribers(engine, [Status.CONFIRMED] * 3)
        store(
            engine,
            quick_read_json(
                "due", (plan.schedule.window(day).end - timedelta(minutes=5)).isoformat()
            ),
        )
        # Nothing fired at DIGEST_TIME, or it raised: the next turn of the periodic job opens it.
        scheduler.send_pending_mail()
        assert len(memory.sent) == 3
        assert SendLedger(engine).counts(day) == {"sent": 3}
        scheduler.send_pending_mail()  # and only once
        assert len(memory.sent) == 3
        assert outbox.turns == 2
    finally:
        scheduler._jobs = None
        engine.dispose()


@pytest.mark.parametrize(
    ("zone", "at", "now", "day"),
    [
        # Clocks jump from 00:00 to 01:00 that night: DIGEST_TIME 00:00 or 00:30 never comes
        # (APScheduler's cron did not fire for the date at all); the window closes at the
        # time the gap leads to, and the daily job fires then.
        ("Africa/Cairo", time(0, 0), "2025-04-24T22:10:00Z", date(2025, 4, 25)),
        ("America/Santiago", time(0, 30), "2025-09-07T04:40:00Z", date(2025, 9, 7)),
        ("Asia/Beirut", time(0, 0), "2025-03-29T22:05:00Z", date(2025, 3, 30)),
    ],
)
def test_a_date_whose_digest_time_does_not_exist_is_still_opened(tmp_path, zone, at, now, day):
    engine = migrated_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        plan = daily(engine, zone, at)
        moment = datetime.fromisoformat(now)
        assert plan.schedule.due_date(moment) == day
        assert scheduler.missed_digest(plan, moment) == day  # the periodic job opens it
        trigger = scheduler.build_scheduler(plan).get_job(scheduler.DAILY_JOB).trigger
        fires = trigger.get_next_fire_time(None, moment - timedelta(days=1))
        assert fires == plan.schedule.window(day).end
        assert fires.astimezone(ZoneInfo(zone)).date() == day
    finally:
        engine.dispose()


def test_the_periodic_job_leaves_the_due_time_to_the_daily_job_and_an_unsendable_day_alone(
    database_url,
):
    """Within a turn of DIGEST_TIME the daily job opens the run (both at once logged a false
    "missed"); with settings that cannot send (an http BASE_URL) the periodic job re-assembled
    the digest and logged the same refusal every two minutes for four hours."""
    engine = migrated_engine(database_url)
    try:
        now = datetime.now(UTC)
        at = (now - timedelta(minutes=1)).time()
        plan = daily(engine, at=at)
        assert scheduler.missed_digest(plan, now) is None
        assert scheduler.missed_digest(plan, now + timedelta(minutes=5)) == plan.schedule.due_date(
            now
        )
        plan.settings = Settings(base_url="http://localhost:5000")
        assert scheduler.missed_digest(plan, now + timedelta(minutes=5)) is None
    finally:
        engine.dispose()


def test_past_the_grace_a_restart_opens_no_late_digest_either(database_url, caplog):
    """A day empty at its time stays unopened; an article stored into its window later was
    mailed hours late by whichever restart of the scheduler came next, and not at all by a
    scheduler left running: past the grace, neither sends it."""
    plan, _memory, _outbox, engine = _every_minutes(
        database_url, scheduler.MISFIRE_GRACE.total_seconds() / 60 + 10
    )
    try:
        now = datetime.now(UTC)
        day = plan.schedule.due_date(now)
        add_subscribers(engine, [Status.CONFIRMED])
        end = plan.schedule.window(day).end
        store(engine, quick_read_json("late", (end - timedelta(minutes=5)).isoformat()))
        with caplog.at_level(logging.INFO, logger="digests.scheduler"):
            assert not scheduler.needs_catch_up(plan, now)
        assert f"broadsheet digest send --date {day}" in caplog.text
        assert scheduler.needs_catch_up(plan, end + scheduler.MISFIRE_GRACE)  # within it
        assert SendLedger(engine).run(day) is None
    finally:
        scheduler._jobs = None
        engine.dispose()


def test_past_the_grace_the_periodic_job_opens_no_late_digest(database_url):
    plan, memory, outbox, engine = _every_minutes(
        database_url, scheduler.MISFIRE_GRACE.total_seconds() / 60 + 10
    )
    try:
        day = plan.schedule.due_date(datetime.now(UTC))
        add_subscribers(engine, [Status.CONFIRMED])
        store(
            engine,
            quick_read_json(
                "due", (plan.schedule.window(day).end - timedelta(minutes=5)).isoformat()
            ),
        )
        scheduler.send_pending_mail()
        assert memory.sent == []
        assert SendLedger(engine).run(day) is None
        assert outbox.turns == 1
    finally:
        scheduler._jobs = None
        engine.dispose()


def test_messages_waiting_in_runs_of_any_age_are_sent(database_url):
    """The mail server away for days: only the runs of today and yesterday were tried again,
    so the older ones waited for ever, though README says a run waits however long."""
    from service.email_renderer import EmailBody

    plan, memory, _, engine = _every_minutes(database_url, 60 * 30)
    try:
        add_subscribers(engine, [Status.CONFIRMED] * 2)
        marker = "https://unsubscribe.invalid/0123456789abcdef0123456789abcdef"
        body = EmailBody("Digest", f'<a href="{marker}">Leave</a>', f"<{marker}>\n", marker)
        today = plan.schedule.due_date(datetime.now(UTC))
        days = [today - timedelta(days=back) for back in (5, 2, 1)]
        for day in days:
            SendLedger(engine).open_run(day, body, 1, now=datetime.now(UTC), opened_by="test")
        assert SendLedger(engine).days_waiting() == days
        scheduler.send_pending_mail()
        assert len(memory.sent) == 6
        assert [SendLedger(engine).counts(day) for day in days] == [{"sent": 2}] * 3
        assert SendLedger(engine).days_waiting() == []
    finally:
        scheduler._jobs = None
        engine.dispose()


def test_no_web_process_builds_a_scheduler(tmp_path):
    program = (
        "import sys, threading\n"
        "from service import create_app\n"
        f"app = create_app({{'TESTING': True, 'DATABASE_URL': 'sqlite:///{tmp_path}/w.db',"
        " 'MAIL_RELAY': False})\n"
        "from service.storage.schema import upgrade\n"
        "upgrade(app.extensions['broadsheet'].engine)\n"
        "client = app.test_client()\n"
        "for path in ('/subscribe', '/digests/2026-03-12', '/healthz'):\n"
        "    client.get(path)\n"
        "client.post('/subscribe', json={'email': 'a@example.org'})\n"
        "print('apscheduler' in sys.modules, sorted(t.name for t in threading.enumerate()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "False ['MainThread']"


def test_today_is_the_date_in_the_time_zone():
    schedule = Schedule(time(7), ZoneInfo("Pacific/Kiritimati"))
    assert schedule.today(datetime(2026, 3, 11, 12, 0, tzinfo=UTC)) == date(2026, 3, 12)


@pytest.mark.parametrize(
    "zone",
    [
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
        "Africa/Cairo",
        "Australia/Lord_Howe",
    ],
)
@pytest.mark.parametrize("at", [time(0, 0), time(0, 30), time(2, 30), time(7, 0), time(23, 59)])
def test_the_daily_job_fires_once_a_day_when_the_window_closes(tmp_path, zone, at):
    """Two years of firings, as the scheduler asks for them (each after the one before):
    one for every date, each the moment its window closes. APScheduler's cron skipped the
    day after a spring-forward for a time between midnight and one, and fired twice on a
    fall-back day for one in the repeated hour."""
    engine = migrated_engine(f"sqlite:///{tmp_path / 's.sqlite3'}")
    try:
        plan = daily(engine, zone, at)
        trigger = scheduler.build_scheduler(plan).get_job(scheduler.DAILY_JOB).trigger
        first = date(2025, 1, 1)
        fire = trigger.get_next_fire_time(None, plan.schedule.window(first).end)
        for offset in range(730):
            day = first + timedelta(days=offset)
            assert fire == plan.schedule.window(day).end, day
            assert plan.schedule.due_date(fire) == day
            fire = trigger.get_next_fire_time(fire, fire)
    finally:
        engine.dispose()
