"""The digest of a date end to end: its quick reads from storage, its run, its sending.

What the CLI, the scheduler and the web routes share; each passes its own transport and
stop signal, and none of this knows which of them is calling.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from jinja2 import Environment
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from service.article import Article
from service.email_renderer import EmailBody, Inliner
from service.errors import DigestNotDue, DigestUnsendable
from service.mail.transport import Transport
from service.settings import Settings
from service.storage.articles import article_of
from service.storage.models import StoredArticle

from .assemble import (
    MAX_ITEMS,
    Digest,
    Window,
    as_mailed,
    assemble,
    digest_date_at,
    digest_window,
)
from .ledger import Run, SendLedger
from .message import DigestComposer, unsendable_because
from .render import render_fitted
from .send import DigestSender, SendOptions, Summary

logger = logging.getLogger(__name__)

NO_MAIL_SERVER = (
    "BROADSHEET_SMTP_URL is unset: in production no digest is written to the Maildir outbox, "
    "where no reader gets it, and recorded as sent; set it (or BROADSHEET_ENV=development "
    "to use the Maildir)."
)

# How many times a run is written (opened, or written again after a deletion) before it
# gives up: each try fails only when a quick read it names is deleted while it is written.
REWRITE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Schedule:
    """When the digest goes out: DIGEST_TIME in TIMEZONE, every day."""

    at: time
    zone: ZoneInfo

    def window(self, day: date) -> Window:
        return digest_window(day, self.at, self.zone)

    def due_date(self, moment: datetime) -> date:
        """The latest date whose digest is due at `moment`."""
        return digest_date_at(moment, self.at, self.zone)

    def today(self, moment: datetime | None = None) -> date:
        return (moment or datetime.now(UTC)).astimezone(self.zone).date()


@dataclass(frozen=True, slots=True)
class Opening:
    """What opening a date's run found: its digest, and the run if there is one to send."""

    digest: Digest | None  # None when the run was open already (it was assembled then)
    run: Run | None
    opened_now: bool

    @property
    def empty(self) -> bool:
        return self.run is None


def quick_reads_in(
    engine: Engine, window: Window, at_most: int = MAX_ITEMS
) -> tuple[list[Article], int]:
    """The first `at_most` stored quick reads published in `window`, oldest first, as
    articles, and how many more the window holds (counted, not read)."""
    in_window = (
        StoredArticle.kind == "quick-read",
        StoredArticle.published_at >= window.start,
        StoredArticle.published_at < window.end,
    )
    with Session(engine) as session:
        rows = session.scalars(
            select(StoredArticle)
            .where(*in_window)
            .order_by(StoredArticle.published_at, StoredArticle.id)
            .limit(at_most)
        ).all()
        more = 0
        if len(rows) == at_most:
            total = session.scalar(
                select(func.count()).select_from(StoredArticle).where(*in_window)
            )
            more = (total or 0) - at_most
        return [article_of(row) for row in rows], more


def sender_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class DailyDigest:
    def __init__(
        self,
        engine: Engine,
        env: Environment,
        settings: Settings,
        inliner: Inliner,
        schedule: Schedule,
        composer: DigestComposer,
        options: SendOptions | None = None,
        *,
        mail_server: bool = True,
    ) -> None:
        # False in production with no SMTP_URL (Runtime.mail_server_missing): no digest.
        self.mail_server = mail_server
        self.engine = engine
        self.env = env
        self.settings = settings
        self.inliner = inliner
        self.schedule = schedule
        self.composer = composer
        self.options = options or SendOptions()
        self.ledger = SendLedger(engine)

    def assemble(self, day: date) -> Digest:
        window = self.schedule.window(day)
        articles, more = quick_reads_in(self.engine, window)
        return assemble(articles, day, self.schedule.at, self.schedule.zone, self.settings, more)

    def shown(self, day: date) -> Digest:
        """The digest of `day` as its page shows it: as mailed once its run is open (a quick
        read stored into the window afterwards is not in it, nor one the mail left out
        for size), else as it would be assembled now."""
        run = self.ledger.run(day)
        if run is None or run.article_ids is None:
            return self.assemble(day)
        articles = self.stored(run.article_ids)
        at, zone = self.schedule.at, self.schedule.zone
        return as_mailed(articles, day, at, zone, self.settings, run.more or 0)

    def render(self, digest: Digest) -> tuple[Digest, EmailBody]:
        """The digest as its mail names it (render.HTML_BUDGET), and that mail."""
        return render_fitted(digest, self.env, self.settings, self.inliner)

    def withdraw(self, article_id: str) -> list[date]:
        """Once the deletion of `article_id` has committed, take it out of every run that
        names it: what is not yet sent goes out without it (`rewrite`), or not at all when
        no quick read remains; a run sent in full keeps none of its words. Returns the days
        whose run was written again. A run opening meanwhile either finds the article gone
        or is seen here (SendLedger.days_naming waits for it)."""
        return [day for day in self.ledger.days_naming(article_id) if self.rewrite(day)]

    def rewrite(self, day: date) -> bool:
        """Write `day`'s run again from the quick reads it names that are still stored, if
        one was deleted; False when none was (or the run is gone). The mail is rendered
        outside any transaction and replaces the run's only if the run has not changed
        meanwhile and all it names is still stored, else it is rendered again."""
        for _ in range(REWRITE_ATTEMPTS):
            run = self.ledger.run(day)
            if run is None or not run.article_ids:
                return False
            articles = self.stored(run.article_ids)
            if len(articles) == len(run.article_ids):
                return False
            at, zone = self.schedule.at, self.schedule.zone
            digest = as_mailed(articles, day, at, zone, self.settings, run.more or 0)
            body = None
            if digest:
                digest, body = self.render(digest)
            ids = [item.article_id for item in digest.items]
            if self.ledger.replace_body(day, run.body.marker, body, ids, more=digest.more):
                logger.info("Wrote the digest run for %s again without a deleted article", day)
                return True
        logger.warning("The digest run for %s kept changing; a sender writes it again", day)
        return False

    def current_run(self, day: date) -> Run | None:
        """The run as it stands, written again first if it names a quick read deleted since
        (whose deleting process stopped before it could): what a sender reads before each
        batch."""
        run = self.ledger.run(day)
        if run is not None and run.article_ids and not self.ledger.all_stored(run.article_ids):
            self.rewrite(day)
            run = self.ledger.run(day)
        return run

    def stored(self, ids: Sequence[str]) -> list[Article]:
        """The articles of `ids` still stored, in that order."""
        with Session(self.engine) as session:
            rows = {
                row.id: row
                for row in session.scalars(select(StoredArticle).where(StoredArticle.id.in_(ids)))
            }
            return [article_of(rows[i]) for i in ids if i in rows]

    def check_sendable(self) -> None:
        """Raise DigestUnsendable when the settings cannot make a digest at all."""
        problem = unsendable_because(self.settings)
        if problem:
            raise DigestUnsendable(problem + ".")
        if not self.mail_server:
            raise DigestUnsendable(NO_MAIL_SERVER)

    def open_run(self, day: date, now: datetime | None = None) -> Opening:
        """Open the day's run unless it is open already or there is nothing to send; refuse
        with DigestNotDue while the day's window is still open."""
        run = self.ledger.run(day)
        if run is not None:
            self.check_sendable()
            return Opening(None, run, opened_now=False)
        self.check_due(day, now)
        digest = self.assemble(day)
        if not digest:
            return Opening(digest, None, opened_now=False)
        self.check_sendable()
        for attempt in range(REWRITE_ATTEMPTS):
            digest, body = self.render(digest)  # the count recorded is the one the mail names
            won = self.ledger.open_run(
                day,
                body,
                len(digest.items),
                now=datetime.now(UTC),
                opened_by=sender_name(),
                article_ids=[item.article_id for item in digest.items],
                more=digest.more,
                # The last try opens it whatever was deleted meanwhile: a sender writes the
                # run again before its first batch (current_run).
                only_if_stored=attempt < REWRITE_ATTEMPTS - 1,
            )
            if won is not None:
                break
            # A quick read it names was deleted while it was written: written again.
            digest = self.assemble(day)
            if not digest:
                return Opening(digest, None, opened_now=False)
        if won:
            logger.info("Opened the digest run for %s: %d items", day, len(digest.items))
        return Opening(digest, self.ledger.run(day), opened_now=bool(won))

    def check_due(self, day: date, now: datetime | None = None) -> None:
        """Raise DigestNotDue while the day's window is still open."""
        closes = self.schedule.window(day).end
        if closes > (now or datetime.now(UTC)):
            raise DigestNotDue(
                f"The digest for {day.isoformat()} is not due until {closes.isoformat()}: "
                "what is published until then belongs in it, and a digest once opened "
                "takes nothing more."
            )

    def send(
        self,
        day: date,
        transport: Transport,
        *,
        progress: Callable[[int], None] | None = None,
        stop: threading.Event | None = None,
    ) -> Summary:
        """Send what is due of the day's run (which must be open) through `transport`."""
        self.check_sendable()
        sender = DigestSender(
            self.ledger, self.composer, transport, self.options, stop=stop, refresh=self.current_run
        )
        return sender.send(day, progress)

    def counts(self, day: date) -> dict[str, int]:
        return self.ledger.counts(day)

    def remaining(self, day: date) -> int:
        counts = self.counts(day)
        return counts.get("pending", 0) + counts.get("claimed", 0)


class BackgroundSends:
    """Sends a day's run on a thread of this process, one thread per day at most (the
    web route that sends now); a second request while it runs starts nothing."""

    def __init__(self, daily: DailyDigest, transport: Callable[[], Transport]) -> None:
        self.daily = daily
        self.transport = transport
        self._threads: dict[date, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, day: date) -> bool:
        with self._lock:
            running = self._threads.get(day)
            if running is not None and running.is_alive():
                return False
            thread = threading.Thread(
                target=self._send, args=(day,), name=f"broadsheet-digest-{day}", daemon=True
            )
            self._threads[day] = thread
            thread.start()
            return True

    def join(self, day: date, timeout: float | None = None) -> None:
        thread = self._threads.get(day)
        if thread is not None:
            thread.join(timeout)

    def _send(self, day: date) -> None:
        try:
            summary = self.daily.send(day, self.transport())
            logger.info(
                "Digest %s: %d sent, %d to retry, %d failed, %d skipped, %d waited for the server",
                day,
                summary.sent,
                summary.retried,
                summary.failed,
                summary.skipped,
                summary.waited,
            )
        except Exception:
            logger.exception("Sending the digest for %s stopped", day)


def schedule_from(digest_time: str | time, timezone: str | ZoneInfo) -> Schedule:
    """The schedule from DIGEST_TIME (HH:MM) and TIMEZONE (an IANA name)."""
    at = digest_time if isinstance(digest_time, time) else time.fromisoformat(str(digest_time))
    zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(str(timezone))
    return Schedule(at.replace(second=0, microsecond=0), zone)


def daily_digest_for(runtime) -> DailyDigest:
    """A DailyDigest on a running Broadsheet's settings, templates and database."""
    settings = runtime.settings
    composer = DigestComposer(
        settings, runtime.tokens, runtime.dkim, unsubscribe_mailto=settings.unsubscribe_mailto
    )
    retry = timedelta(seconds=settings.digest_retry_seconds)
    options = SendOptions(
        lease=timedelta(seconds=settings.digest_lease_seconds),
        retry_first=retry,
        retry_longest=max(retry, timedelta(hours=1)),
        max_attempts=settings.digest_max_attempts,
    )
    return DailyDigest(
        runtime.engine,
        runtime.env,
        settings,
        runtime.inliner,
        Schedule(settings.digest_time, settings.timezone),
        composer,
        options,
        mail_server=not runtime.mail_server_missing,
    )
