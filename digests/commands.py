"""`broadsheet digest preview|send` and `broadsheet scheduler` (SPEC §4).

Plain click commands: the app comes from the command line's script info (what the
`broadsheet` group and `flask --app wsgi` both set up), so nothing here imports Flask.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from service.days import day_from
from service.errors import DigestNotDue, DigestUnsendable
from service.files import write_whole
from service.labels import counted
from service.logs import configure_logging, first_line, printable
from service.storage.schema import schema_state

from .message import list_mail_warnings, unsendable_because
from .runs import DailyDigest, daily_digest_for

logger = logging.getLogger(__name__)
digest_group = click.Group("digest", help="The daily digest: preview it, send it.")
PREVIEW_TOKEN = "preview-of-your-own-link"


def _runtime():
    """The running app's runtime, loaded by the command line group."""
    return click.get_current_context().find_root().obj.load_app().extensions["broadsheet"]


def _daily() -> DailyDigest:
    """The digests of the running app, once its database is known to be the one this code
    needs (a database never migrated, or unreachable, is one line, not a traceback)."""
    runtime = _runtime()
    try:
        state = schema_state(runtime.engine)
    except SQLAlchemyError as error:
        raise click.ClickException(
            f"Broadsheet cannot use its database: {first_line(error)}"
        ) from None
    if not state.serves_this_code:
        raise click.ClickException(state.describe())
    if state.is_newer:
        click.echo(state.serving_newer(), err=True)
    return daily_digest_for(runtime)


def _day(daily: DailyDigest, given: str | None, *, due: bool = False) -> date:
    """The date given, or else today's (`due`: the latest whose window has closed)."""
    if given is None:
        return daily.schedule.due_date(datetime.now(UTC)) if due else daily.schedule.today()
    day = day_from(given)
    if day is None:
        raise click.BadParameter("a date is YYYY-MM-DD", param_hint="--date")
    return day


def _say_empty(daily: DailyDigest, day: date, what: str) -> None:
    window = daily.schedule.window(day)
    click.echo(
        f"No quick reads were published between {window.start:%Y-%m-%d %H:%M} and "
        f"{window.end:%Y-%m-%d %H:%M} UTC: there is no digest for {day}, and {what}."
    )


@digest_group.command("preview")
@click.option("--date", "given", metavar="YYYY-MM-DD", help="The digest's date (default: today).")
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The folder to write digest-DATE.html and digest-DATE.txt into.",
)
def preview_command(given: str | None, output: Path) -> None:
    """Write the digest's HTML and text parts, as a subscriber would receive them."""
    daily = _daily()
    day = _day(daily, given)
    run = daily.ledger.run(day)
    if run is not None:
        body = run.body
    else:
        digest = daily.assemble(day)
        if not digest:
            _say_empty(daily, day, "nothing would be sent")
            return
        _, body = daily.render(digest)
    settings = _runtime().settings
    personal = body.personalise(unsubscribe_url=f"{settings.base_url}/unsubscribe/{PREVIEW_TOKEN}")
    for suffix, content in (("html", personal.html), ("txt", personal.text)):
        path = output / f"digest-{day.isoformat()}.{suffix}"
        try:
            output.mkdir(parents=True, exist_ok=True)
            write_whole(path, content.encode("utf-8"))
        except OSError as error:
            raise click.ClickException(f"{path}: {error.strerror or error}") from None
        click.echo(f"Wrote {path}")
    click.echo(f"Subject: {personal.subject}")


@digest_group.command("send")
@click.option(
    "--date",
    "given",
    metavar="YYYY-MM-DD",
    help="The digest's date (default: the latest whose window has closed).",
)
@click.option("--dry-run", is_flag=True, help="Say what would be sent; send and record nothing.")
def send_command(given: str | None, dry_run: bool) -> None:
    """Send the digest of a date to every confirmed subscriber, once; safe to run again."""
    runtime = _runtime()
    configure_logging(log_format=runtime.settings.log_format)
    daily = _daily()
    day = _day(daily, given, due=True)
    try:
        if dry_run:
            _dry_run(daily, day)
            return
        opening = daily.open_run(day)
    except (DigestNotDue, DigestUnsendable) as error:
        raise click.ClickException(str(error)) from None
    if opening.run is None:
        _say_empty(daily, day, "nothing is sent")
        return
    run = opening.run
    for warning in list_mail_warnings(runtime.settings):
        click.echo(f"Warning: {warning}.", err=True)
    click.echo(
        f"Digest for {day}: {counted(run.items, 'quick read')} to "
        f"{counted(run.audience, 'subscriber')}"
        + (" (run opened now)" if opening.opened_now else " (run opened before)")
    )
    stop = threading.Event()

    def stop_cleanly(signum, _frame) -> None:
        click.echo("Stopping after the message in hand…", err=True)
        stop.set()

    previous = {sig: signal.signal(sig, stop_cleanly) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        remaining = daily.remaining(day)
        if sys.stdout.isatty() and remaining:
            with click.progressbar(length=remaining, label="Sending") as bar:
                summary = daily.send(day, runtime.transport(), progress=bar.update, stop=stop)
        else:
            summary = daily.send(day, runtime.transport(), stop=stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    counts = daily.counts(day)
    click.echo(
        f"Sent {summary.sent}, retried {summary.retried}, failed {summary.failed}, "
        f"skipped {summary.skipped}."
        + (
            f" The mail server could not be reached or refused the sender {summary.waited}"
            " times (no message was offered, none spent an attempt); it last said:"
            f" {printable(summary.waited_because)}."
            if summary.waited
            else ""
        )
    )
    click.echo("The run: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    for failure in summary.failures[:20]:
        click.echo(f"  failed: {printable(failure)}", err=True)  # SMTP replies are foreign text
    if summary.failed:
        sys.exit(1)
    if stop.is_set():
        sys.exit(130)
    if waiting := counts.get("pending", 0):
        # Not done: a cron job or a unit must not take this for a run sent whole.
        click.echo(
            f"{waiting} messages are still to be sent (their retries fall after this command's"
            " wait); run it again later: it takes up where this one stopped.",
            err=True,
        )
        sys.exit(75)  # EX_TEMPFAIL


def _dry_run(daily: DailyDigest, day: date) -> None:
    """What `send` would do, refused as `send` would refuse it (not due, not sendable)."""
    run = daily.ledger.run(day)
    if run is not None:
        daily.check_sendable()
        counts = daily.counts(day)
        click.echo(
            f"Dry run: the run for {day} is open ({counted(run.items, 'quick read')}, "
            f"{counted(run.audience, 'subscriber')}); "
            f"{counted(daily.remaining(day), 'message')} would be sent now. "
            + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        )
        return
    daily.check_due(day)
    digest = daily.assemble(day)
    if not digest:
        _say_empty(daily, day, "nothing would be sent")
        return
    daily.check_sendable()
    digest, _ = daily.render(digest)  # as the mail would name them
    audience = daily.ledger.confirmed_count()
    click.echo(
        f"Dry run: {counted(len(digest.items), 'quick read')} would go to "
        f"{counted(audience, 'subscriber')}:"
    )
    for item in digest.items:
        click.echo(f"  {item.published_at.isoformat()}  {item.headline.plain}")


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler in the foreground: the digest every day at DIGEST_TIME."""
    from .scheduler import run_scheduler

    runtime = _runtime()
    daily = _daily()  # the database checked first, as `digest send` does
    reason = unsendable_because(runtime.settings)
    if reason is not None and runtime.settings.env == "production":
        raise click.ClickException(reason)  # it would run, and refuse every day's digest
    configure_logging(log_format=runtime.settings.log_format)
    if reason is not None:
        logger.warning("%s (sign-up mail is still relayed)", reason)
    run_scheduler(daily, runtime.transport, runtime.relay)


COMMANDS = (digest_group, scheduler_command)
