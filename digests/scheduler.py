"""`broadsheet scheduler`: APScheduler in the foreground, sending the digest every day.

The daily job fires at DIGEST_TIME in TIMEZONE (zoneinfo, so daylight saving moves it with
the clocks), the moment the day's window closes (WindowCloses: once every day, the days the
clocks change included). Firing is idempotent: the job opens the day's run, which only one
process can do, then helps send whatever is due; so schedulers may run on several machines
and there is still one digest per day. A second job, every few minutes, opens the digest
now due if its firing was missed within the misfire grace (the job failed, the database
was away), sends what came due in every run with messages waiting, however old, and the
outbox. On start the scheduler
catches up a digest that is due and not yet sent.
SIGTERM (or Ctrl-C) stops it after the message in hand.

Jobs are module-level functions with fixed ids; they find what they need in `_jobs`,
set once by `run_scheduler` in this process. No web process ever builds a scheduler.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from service.errors import DigestUnsendable
from service.mail.transport import Transport
from service.relay import OutboxRelay

from .message import list_mail_warnings, unsendable_because
from .runs import DailyDigest, Schedule

logger = logging.getLogger(__name__)

DAILY_JOB = "broadsheet-daily-digest"
CATCH_UP_JOB = "broadsheet-daily-digest-catch-up"
PENDING_JOB = "broadsheet-pending-mail"
MISFIRE_GRACE = timedelta(hours=4)
PENDING_EVERY = timedelta(minutes=2)


@dataclass
class Jobs:
    """What the jobs of this process work with."""

    daily: DailyDigest
    transport: Callable[[], Transport]
    relay: OutboxRelay
    stop: threading.Event


_jobs: Jobs | None = None


def _current() -> Jobs:
    if _jobs is None:
        raise RuntimeError("the scheduler's jobs run only inside `broadsheet scheduler`")
    return _jobs


def send_daily_digest(*, missed: bool = False) -> None:
    """Open the run of the digest now due (if nobody has) and send what is due of it.
    `missed`: opened by the periodic job, which says nothing when there is nothing to send."""
    jobs = _current()
    now = datetime.now(UTC)
    day = jobs.daily.schedule.due_date(now)
    try:
        opening = jobs.daily.open_run(day, now)
    except DigestUnsendable as error:
        logger.error("The digest of %s is not sent: %s", day, error.detail)
        return
    if opening.empty:
        if not missed:
            logger.info("No quick reads for the digest of %s: nothing is sent", day)
        return
    if missed and opening.opened_now:
        logger.warning("The digest of %s was not opened at its time: opened now", day)
    summary = jobs.daily.send(day, jobs.transport(), stop=jobs.stop)
    logger.info(
        "Digest %s: %d sent, %d to retry, %d failed, %d skipped, %d waited for the server,"
        " by this process",
        day,
        summary.sent,
        summary.retried,
        summary.failed,
        summary.skipped,
        summary.waited,
    )


def send_pending_mail() -> None:
    """Open the digest now due if its firing was missed; send what came due in every run
    with messages waiting, oldest first; then the outbox."""
    jobs = _current()
    day = missed_digest(jobs.daily, datetime.now(UTC))
    if day is not None:
        try:
            send_daily_digest(missed=True)
        except Exception:  # the database away, say: tried again at the next turn
            logger.exception("The digest of %s could not be opened; trying again shortly", day)
    for day in jobs.daily.ledger.days_waiting():
        if jobs.stop.is_set():
            return
        try:
            jobs.daily.send(day, jobs.transport(), stop=jobs.stop)
        except DigestUnsendable as error:
            logger.error("The digest of %s is not sent: %s", day, error.detail)
            break  # the sign-up mail below does not depend on it
    if not jobs.stop.is_set():
        jobs.relay.deliver_all_due(stop=jobs.stop)  # a SIGTERM ends it after the message in hand


def missed_digest(daily: DailyDigest, now: datetime) -> date | None:
    """The date whose digest is due at `now` and not opened, due for longer than a turn of
    the periodic job (the daily job opens it at its time) and no longer than the misfire
    grace (past it, no digest goes out late); or None. None too when no digest can be sent
    with these settings: the daily job has said why, once."""
    day = daily.schedule.due_date(now)
    late = now - daily.schedule.window(day).end
    if not PENDING_EVERY < late <= MISFIRE_GRACE or unsendable_because(daily.settings):
        return None
    return None if daily.ledger.run(day) is not None else day


def needs_catch_up(daily: DailyDigest, now: datetime) -> bool:
    """True when the digest now due still has messages to send, or was never opened and is
    late by no more than the misfire grace: past it no digest goes out late, as with the
    periodic job (a day found empty at its time, then given an article, was mailed hours
    late by whichever restart came next). `broadsheet digest send` can still send it."""
    day = daily.schedule.due_date(now)
    if daily.ledger.run(day) is not None:
        return daily.remaining(day) > 0
    late = now - daily.schedule.window(day).end
    if late <= MISFIRE_GRACE:
        return True
    logger.info(
        "The digest of %s was due %s ago and was not opened (nothing to send then, or the "
        "scheduler was away): it is not sent this late; `broadsheet digest send --date %s` "
        "sends it",
        day,
        str(late).split(".")[0],
        day,
    )
    return False


class WindowCloses(BaseTrigger):
    """Fires when each day's digest window closes (DIGEST_TIME in TIMEZONE), the very moment
    the window's own arithmetic gives: once a day, on a day the clocks skip or repeat an
    hour too. APScheduler's CronTrigger skipped the day after a spring-forward whenever
    DIGEST_TIME fell between midnight and one (it moved 00:30 past the gap to 01:00 and on
    to the next day), and fired twice on a fall-back day."""

    def __init__(self, schedule: Schedule):
        self.schedule = schedule

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        start = previous_fire_time + timedelta(microseconds=1) if previous_fire_time else now
        day = self.schedule.due_date(start)  # its window closed at `start` or before
        while (closes := self.schedule.window(day).end) < start:
            day += timedelta(days=1)
        return closes  # in UTC: a local time in a repeated hour equals no other zone's

    def __str__(self) -> str:
        return f"daily at {self.schedule.at:%H:%M} in {self.schedule.zone.key}"


def build_scheduler(daily: DailyDigest) -> BlockingScheduler:
    schedule = daily.schedule
    scheduler = BlockingScheduler(
        timezone=schedule.zone,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
        },
    )
    scheduler.add_job(
        send_daily_digest,
        WindowCloses(schedule),
        id=DAILY_JOB,
        name="Send the daily digest",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=int(MISFIRE_GRACE.total_seconds()),
    )
    scheduler.add_job(
        send_pending_mail,
        IntervalTrigger(seconds=int(PENDING_EVERY.total_seconds())),
        id=PENDING_JOB,
        name="Send retries and the outbox",
        replace_existing=True,
    )
    return scheduler


def run_scheduler(
    daily: DailyDigest,
    transport: Callable[[], Transport],
    relay: OutboxRelay,
) -> None:
    """Run in the foreground until SIGTERM or SIGINT; then finish the message in hand."""
    global _jobs
    stop = threading.Event()
    _jobs = Jobs(daily, transport, relay, stop)
    scheduler = build_scheduler(daily)
    for warning in list_mail_warnings(daily.settings):
        logger.warning("%s", warning)
    if needs_catch_up(daily, datetime.now(UTC)):
        logger.info("The digest now due is not sent yet: catching up")
        scheduler.add_job(send_daily_digest, id=CATCH_UP_JOB, name="Catch up the daily digest")

    def stop_cleanly(signum, _frame) -> None:
        if stop.is_set():  # a second signal (Ctrl-C twice, timeout's group kill)
            logger.info("Still stopping (signal %d): finishing the message in hand", signum)
            return
        logger.info("Stopping the scheduler (signal %d) after the message in hand", signum)
        stop.set()
        scheduler.shutdown(wait=True)

    trigger = scheduler.get_job(DAILY_JOB).trigger
    logger.info(
        "Scheduler running: the next digest goes out at %s",
        trigger.get_next_fire_time(None, datetime.now(daily.schedule.zone)),
    )
    previous = {sig: signal.signal(sig, stop_cleanly) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _jobs = None
    logger.info("The scheduler has stopped")
