"""`broadsheet digest preview` and `broadsheet digest send`, as an operator runs them."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from lxml import html as lxml_html
from sqlalchemy import update

from digests.ledger import SendLedger
from digests.runs import daily_digest_for
from service import create_app
from service.mail.transport import Delivery, MemoryTransport, Outcome
from service.storage.models import LedgerEntry, Status
from service.storage.schema import upgrade

from .digest_articles import quick_read_json
from .digest_db import add_subscribers

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "commands-test-api-token"
DAY = "2026-03-12"


@pytest.fixture
def app(database_url):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "commands-secret-0123",
            "DATABASE_URL": database_url,
            "BASE_URL": "https://news.example.org",
            "PUBLISHER_NAME": "Northside Brief",
            "PUBLISHER_ADDRESS": "1 Test Street, Testville",
            "API_TOKEN": TOKEN,
            "MAIL_RELAY": False,
        }
    )
    runtime = app.extensions["broadsheet"]
    upgrade(runtime.engine)
    yield app
    runtime.press.close()
    runtime.engine.dispose()


def publish(app, *documents) -> None:
    client = app.test_client()
    for document in documents:
        response = client.put(
            f"/v1/articles/{document['id']}",
            json=document,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert response.status_code == 201


def test_preview_into_a_folder_it_cannot_write_is_one_line(app, tmp_path):
    """A folder that cannot be made, or a file in the way, was a traceback."""
    publish(app, quick_read_json("first", "2026-03-11T09:00:00Z"))
    blocker = tmp_path / "a-file"
    blocker.write_text("", "utf-8")
    for output in (blocker, blocker / "inside", Path("/proc/no-such-folder")):
        result = app.test_cli_runner().invoke(
            args=["digest", "preview", "--date", DAY, "-o", str(output)]
        )
        assert result.exit_code in (1, 2), result.output  # 2: click's own check of -o
        assert isinstance(result.exception, SystemExit), result.exception
        assert "Error: " in result.output
        assert str(output) in result.output


def test_preview_writes_both_parts(app, tmp_path):
    publish(
        app,
        quick_read_json("second", "2026-03-11T10:00:00Z"),
        quick_read_json("first", "2026-03-11T09:00:00Z"),
    )
    result = app.test_cli_runner().invoke(
        args=["digest", "preview", "--date", DAY, "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    html = (tmp_path / f"digest-{DAY}.html").read_text("utf-8")
    text = (tmp_path / f"digest-{DAY}.txt").read_text("utf-8")
    page = lxml_html.document_fromstring(html)
    assert page.xpath("//h2/a/text()") == ["Headline of first", "Headline of second"]
    preview_link = "https://news.example.org/unsubscribe/preview-of-your-own-link"
    assert page.xpath("//td[@class='footer']//a/@href") == [preview_link]
    assert f"Unsubscribe: <{preview_link}>" in text
    assert text.index("1. Headline of first") < text.index("2. Headline of second")
    assert "Subject: Northside Brief: the digest for Thursday, March 12, 2026" in result.output


def test_an_empty_window_says_so_and_sends_nothing(app, tmp_path):
    add_subscribers(app.extensions["broadsheet"].engine, [Status.CONFIRMED])
    runner = app.test_cli_runner()
    folder = tmp_path / "previews"
    preview = runner.invoke(args=["digest", "preview", "--date", DAY, "-o", str(folder)])
    assert preview.exit_code == 0
    assert "No quick reads were published between" in preview.output
    assert not folder.exists()
    send = runner.invoke(args=["digest", "send", "--date", DAY])
    assert send.exit_code == 0
    assert "there is no digest for 2026-03-12, and nothing is sent" in send.output
    assert SendLedger(app.extensions["broadsheet"].engine).run(date(2026, 3, 12)) is None


def test_a_dry_run_says_what_would_go_and_sends_nothing(app):
    engine = app.extensions["broadsheet"].engine
    add_subscribers(engine, [Status.CONFIRMED] * 3 + [Status.PENDING])
    publish(app, quick_read_json("news", "2026-03-11T09:00:00Z"))
    memory = MemoryTransport()
    app.extensions["broadsheet"].transport = lambda: memory
    result = app.test_cli_runner().invoke(args=["digest", "send", "--date", DAY, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Dry run: 1 quick read would go to 3 subscribers" in result.output  # not "reads"
    assert "Headline of news" in result.output
    assert memory.sent == []
    assert SendLedger(engine).counts(date(2026, 3, 12)) == {}


def test_a_permanent_failure_makes_the_exit_status_non_zero(app):
    engine = app.extensions["broadsheet"].engine
    add_subscribers(engine, [Status.CONFIRMED] * 3)
    publish(app, quick_read_json("news", "2026-03-11T09:00:00Z"))
    memory = MemoryTransport(
        refuse={
            "r1@example.org": Delivery(Outcome.PERMANENT, 550, "5.1.1 no such user"),
            "r2@example.org": Delivery(Outcome.PERMANENT, 550, "5.1.1 \x1b]0;owned\x07gone"),
        }
    )
    app.extensions["broadsheet"].transport = lambda: memory
    result = app.test_cli_runner().invoke(args=["digest", "send", "--date", DAY])
    assert result.exit_code == 1, result.output
    assert "Sent 1, retried 0, failed 2, skipped 0." in result.output
    assert "failed: r1@example.org: permanent 550: 5.1.1 no such user" in result.output
    assert "failed: r2@example.org: permanent 550: 5.1.1 \\x1b]0;owned\\x07gone" in result.output
    assert "\x1b" not in result.output  # a server's reply never reaches the terminal raw
    again = app.test_cli_runner().invoke(args=["digest", "send", "--date", DAY])
    assert again.exit_code == 0, again.output
    assert "Sent 0, retried 0, failed 0, skipped 0." in again.output
    assert "2 failed, 1 sent" in again.output


def test_messages_left_waiting_for_a_retry_make_the_exit_status_75(app, make_app, database_url):
    """With the mail server away the command waited, gave up and exited 0, as for a run
    sent whole: a cron job or a unit took an undelivered digest for a done one."""
    engine = app.extensions["broadsheet"].engine
    add_subscribers(engine, [Status.CONFIRMED] * 3)
    publish(app, quick_read_json("news", "2026-03-11T09:00:00Z"))
    # A first retry an hour away: after the wait, the command stops at once.
    patient = make_app(
        DATABASE_URL=database_url,
        BASE_URL="https://news.example.org",
        PUBLISHER_ADDRESS="1 Test Street, Testville",
        DIGEST_RETRY_SECONDS=3600,
        MAIL_RELAY=False,
    )

    class Away(MemoryTransport):
        def send(self, envelope):
            return Delivery(Outcome.TEMPORARY, None, "could not connect: refused", offered=False)

    patient.extensions["broadsheet"].transport = Away
    result = patient.test_cli_runner().invoke(args=["digest", "send", "--date", DAY])
    assert result.exit_code == 75, result.output
    assert "3 messages are still to be sent" in result.output
    assert SendLedger(engine).counts(date(2026, 3, 12)) == {"pending": 3}
    patient.extensions["broadsheet"].transport = MemoryTransport
    with engine.begin() as connection:  # their retry is due now
        connection.execute(update(LedgerEntry).values(next_attempt_at=datetime.now(UTC)))
    again = patient.test_cli_runner().invoke(args=["digest", "send", "--date", DAY])
    assert again.exit_code == 0, again.output
    assert SendLedger(engine).counts(date(2026, 3, 12)) == {"sent": 3}


def test_send_shows_a_progress_bar_on_a_terminal(app, database_url, tmp_path):
    from .mail_server import Recorder, start

    handler = Recorder()
    controller = start(handler)
    engine = app.extensions["broadsheet"].engine
    add_subscribers(engine, [Status.CONFIRMED] * 30)
    publish(app, quick_read_json("news", "2026-03-11T09:00:00Z"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "BROADSHEET_DATABASE_URL": database_url,
            "BROADSHEET_SECRET_KEY": "commands-secret-0123",
            "BROADSHEET_BASE_URL": "https://news.example.org",
            "BROADSHEET_SMTP_URL": f"smtp://{controller.hostname}:{controller.port}",
            "COLUMNS": "100",
        }
    )
    main, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "digest", "send", "--date", DAY],
        cwd=ROOT,
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    controller.stop()
    assert process.wait(timeout=120) == 0, output.decode(errors="replace")
    shown = output.decode(errors="replace")
    assert "Sending" in shown
    assert "100%" in shown
    assert "Sent 30, retried 0, failed 0, skipped 0." in shown
    assert len(handler.received) == 30


def test_send_without_a_date_sends_the_digest_now_due_and_refuses_an_open_window(app):
    runtime = app.extensions["broadsheet"]
    daily = daily_digest_for(runtime)
    due = daily.schedule.due_date(datetime.now(UTC))
    assert daily.schedule.window(due).end <= datetime.now(UTC)
    result = app.test_cli_runner().invoke(args=["digest", "send"])
    assert result.exit_code == 0, result.output
    assert f"there is no digest for {due.isoformat()}, and nothing is sent" in result.output
    open_day = due + timedelta(days=1)  # its window is still open
    refused = app.test_cli_runner().invoke(args=["digest", "send", "--date", open_day.isoformat()])
    assert refused.exit_code == 1
    assert f"The digest for {open_day.isoformat()} is not due until" in refused.output
    assert SendLedger(runtime.engine).run(open_day) is None


@pytest.mark.parametrize(
    "base_url", ["http://localhost:5000", "https://news.example.org/actualités"]
)
def test_a_base_url_no_digest_can_carry_stops_the_send_and_marks_nothing_failed(app, base_url):
    engine = app.extensions["broadsheet"].engine
    add_subscribers(engine, [Status.CONFIRMED] * 2)
    publish(app, quick_read_json("news", "2026-03-11T09:00:00Z"))
    settings = app.extensions["broadsheet"].settings
    object.__setattr__(settings, "base_url", base_url)  # as if the app had started with it
    memory = MemoryTransport()
    app.extensions["broadsheet"].transport = lambda: memory
    result = app.test_cli_runner().invoke(args=["digest", "send", "--date", DAY])
    assert result.exit_code == 1
    assert "one-click unsubscribe link (RFC 8058) must be https and printable ASCII" in (
        result.output
    )
    assert memory.sent == []
    ledger = SendLedger(engine)
    assert ledger.run(date(2026, 3, 12)) is None
    assert ledger.counts(date(2026, 3, 12)) == {}
    client = app.test_client()
    response = client.post(f"/v1/digests/{DAY}/send", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 503
    assert response.get_json()["type"].endswith("/digest-unsendable")


def test_a_dry_run_is_refused_as_the_send_would_be(app, make_app, database_url):
    """A dry run said mail would go out for a digest not yet due, and under settings no
    digest can be sent with, where the send itself refuses both."""
    engine = app.extensions["broadsheet"].engine
    add_subscribers(engine, [Status.CONFIRMED] * 2)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    publish(
        app,
        quick_read_json("news", "2026-03-11T09:00:00Z"),
        quick_read_json("today", datetime.now(UTC).isoformat(timespec="seconds")),
    )
    runner = app.test_cli_runner()
    not_due = ["digest", "send", "--date", tomorrow.date().isoformat()]
    for args in (not_due, [*not_due, "--dry-run"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, result.output
        assert "is not due until" in result.output
    plain = make_app(DATABASE_URL=database_url, BASE_URL="http://localhost:5000")
    for args in (["digest", "send", "--date", DAY], ["digest", "send", "--date", DAY, "--dry-run"]):
        result = plain.test_cli_runner().invoke(args=args)
        assert result.exit_code == 1, result.output
        assert "no digest is sent until it is" in result.output
    assert SendLedger(engine).counts(date(2026, 3, 12)) == {}


def test_production_without_a_mail_server_refuses_in_one_line_before_opening(
    app, make_app, database_url
):
    """`digest send` opened the run, then ended in a traceback; the dry run said mail would
    go out."""
    engine = app.extensions["broadsheet"].engine
    add_subscribers(engine, [Status.CONFIRMED] * 2)
    publish(app, quick_read_json("news", "2026-03-11T09:00:00Z"))
    production = make_app(
        DATABASE_URL=database_url,
        ENV="production",
        SECRET_KEY="k" * 32,
        BASE_URL="https://news.example.org",
    )
    for args in (["digest", "send", "--date", DAY], ["digest", "send", "--date", DAY, "--dry-run"]):
        result = production.test_cli_runner().invoke(args=args)
        assert result.exit_code == 1, result.output
        assert "BROADSHEET_SMTP_URL is unset" in result.output
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert SendLedger(engine).run(date(2026, 3, 12)) is None


def test_a_send_without_a_postal_address_says_so(app, make_app, database_url):
    """The footer's postal address is left out while PUBLISHER_ADDRESS is empty, its
    default; the digests went out without it and nothing said so."""
    engine = app.extensions["broadsheet"].engine
    add_subscribers(engine, [Status.CONFIRMED])
    publish(app, quick_read_json("news", "2026-03-11T09:00:00Z"))
    bare = make_app(DATABASE_URL=database_url, BASE_URL="https://news.example.org")
    memory = MemoryTransport()
    bare.extensions["broadsheet"].transport = lambda: memory
    result = bare.test_cli_runner().invoke(args=["digest", "send", "--date", DAY])
    assert result.exit_code == 0, result.output
    assert "PUBLISHER_ADDRESS is empty: digests go out without a postal address" in result.output
    assert "no DKIM key is set" in result.output  # one-click unsubscribe wants a signature
    assert len(memory.sent) == 1
    publish(app, quick_read_json("more-news", "2026-03-12T09:00:00Z"))
    app.extensions["broadsheet"].transport = lambda: memory
    again = app.test_cli_runner().invoke(args=["digest", "send", "--date", "2026-03-13"])
    assert again.exit_code == 0, again.output
    assert len(memory.sent) == 2  # sent, with the address this time, and no warning
    assert "PUBLISHER_ADDRESS" not in again.output
