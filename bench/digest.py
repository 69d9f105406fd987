"""One digest to N subscribers through a local SMTP sink, beside a bare smtplib loop.

For N = 1,000 and 10,000 (or the counts given) this prints, each in a fresh process:

* digest: `DigestSender` sending the day's run from the ledger (SQLite in WAL mode, the
  embedded default) through the SMTP transport: claim, take, cut each copy from the run's
  one serialisation, send, record the reply; one connection for the whole run.
* bare: a bare smtplib loop sending the very same messages, built beforehand, over one
  connection: the limit, since it does nothing but talk SMTP.

with messages per second, their ratio (goal: at least 0.8x), and the sender's memory: the
growth of its peak resident size during the run (goal: not growing with N). The sink is
aiosmtpd in a process of its own that accepts and discards. No DKIM (signing costs the
same ~1 ms per message in both loops' worlds and would only narrow the gap).

Run: `.venv/bin/python bench/digest.py [N ...]`. Set BROADSHEET_BENCH_POSTGRES_URL to time
the digest on PostgreSQL too (a schema of its own is made there, then dropped).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

# bench/email.py must not shadow the standard library's email package: leave this folder.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]
ROOT = BENCH.parent
DAY = date(2026, 3, 12)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def rss_now_mb() -> float:
    """This process's resident size now, with its high-water mark reset to it (Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """The high-water mark of this process's resident size since `rss_now_mb` (VmHWM: its
    own, unlike ru_maxrss, which a child can inherit from the parent that forked it)."""
    return _status_mb("VmHWM")


# The sink ------------------------------------------------------------------------------


def run_sink(port: int) -> None:
    """aiosmtpd accepting everything, counting, keeping nothing; until stdin closes."""
    from aiosmtpd.controller import Controller

    class Discard:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Discard.count += 1
            return "250 2.0.0 Accepted"

    controller = Controller(Discard(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()
    print(Discard.count, flush=True)


class Sink:
    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--sink", str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout.readline().strip() == "ready"

    def stop(self) -> int:
        output, _ = self.process.communicate("", timeout=60)
        return int(output.strip().splitlines()[-1])


# The setup: a database with N subscribers and the day's run open ------------------------


def prepare(database_url: str, count: int) -> None:
    from sqlalchemy import insert

    from digests.assemble import assemble
    from digests.ledger import SendLedger
    from digests.render import render_digest
    from service.email_renderer import Inliner
    from service.storage.db import create_database_engine
    from service.storage.models import Subscriber
    from service.storage.schema import upgrade
    from service.templating import build_environment
    from service.validation import article_from_bytes

    engine = create_database_engine(database_url)
    upgrade(engine)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(Subscriber),
            [
                {
                    "email": f"reader{n}@example.org",
                    "email_key": f"reader{n}@example.org",
                    "name": f"Reader {n}",
                    "status": "confirmed",
                    "created_at": now,
                    "consented_at": now,
                    "consent_form": "bench",
                    "confirmed_at": now,
                }
                for n in range(count)
            ],
        )
    settings = bench_settings()
    articles = [
        article_from_bytes(path.read_bytes()) for path in sorted((ROOT / "examples").glob("*.json"))
    ]
    articles = [
        a.model_copy(
            update={"kind": "quick-read", "published_at": datetime(2026, 3, 11, 12, tzinfo=UTC)}
        )
        for a in articles
    ]
    digest = assemble(articles, DAY, settings.digest_time, settings.timezone, settings)
    body = render_digest(digest, build_environment(), settings, Inliner())
    SendLedger(engine).open_run(DAY, body, len(digest.items), now=now, opened_by="bench")
    engine.dispose()


def bench_settings():
    from service.settings import Settings

    return Settings.load(
        {"BROADSHEET_ENV": "test"},
        {
            "BASE_URL": "https://news.example.org",
            "PUBLISHER_NAME": "Northside Brief",
            "PUBLISHER_ADDRESS": "1 Test Street, Testville",
            "MAIL_FROM": "Northside Brief <digest@news.example.org>",
        },
    )


# The two loops, each in a process of its own --------------------------------------------


def run_digest(database_url: str, port: int) -> None:
    from digests.ledger import SendLedger
    from digests.message import DigestComposer
    from digests.send import DigestSender, SendOptions
    from service.mail.smtp import SmtpTransport
    from service.storage.db import create_database_engine
    from service.tokens import TokenSigner

    engine = create_database_engine(database_url)
    composer = DigestComposer(bench_settings(), TokenSigner("bench-secret"))
    transport = SmtpTransport(f"smtp://127.0.0.1:{port}")
    sender = DigestSender(SendLedger(engine), composer, transport, SendOptions(batch=100))
    before = rss_now_mb()
    start = time.perf_counter()
    summary = sender.send(DAY)
    elapsed = time.perf_counter() - start
    print(summary.sent, elapsed, before, peak_rss_mb(), flush=True)


def run_bare(database_url: str, port: int) -> None:
    """The same messages, built first, then sent as fast as smtplib can over one connection."""
    import smtplib

    from sqlalchemy import select

    from digests.ledger import SendLedger
    from digests.message import DigestComposer
    from service.storage.db import create_database_engine
    from service.storage.models import Subscriber
    from service.tokens import TokenSigner

    engine = create_database_engine(database_url)
    composer = DigestComposer(bench_settings(), TokenSigner("bench-secret"))
    run = SendLedger(engine).run(DAY)
    template = composer.template(run.body)
    now = datetime.now(UTC)
    with engine.connect() as connection:
        people = connection.execute(
            select(Subscriber.id, Subscriber.created_at, Subscriber.email, Subscriber.name)
        ).all()
    messages = [
        (
            email,
            composer.compose(
                template, DAY, subscriber_id=i, created_at=at, email=email, name=name, now=now
            ),
        )
        for i, at, email, name in people
    ]
    sender = composer.sender_address
    before = rss_now_mb()
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as connection:
        for email, data in messages:
            connection.sendmail(sender, [email], data)
    elapsed = time.perf_counter() - start
    print(len(messages), elapsed, before, peak_rss_mb(), flush=True)


def child(mode: str, database_url: str, port: int) -> tuple[int, float, float, float]:
    output = subprocess.run(
        [sys.executable, __file__, f"--{mode}", database_url, str(port)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    sent, elapsed, before, after = output.split()
    return int(sent), float(elapsed), float(before), float(after)


def measure(make_url, count: int, rounds: int) -> dict[str, tuple[int, float, float, float]]:
    """Each loop `rounds` times, alternating, each on a freshly prepared database; the best
    run of each (a busy machine only ever makes a run slower)."""
    best: dict[str, tuple[int, float, float, float]] = {}
    for _ in range(rounds):
        database_url = make_url()
        prepare(database_url, count)
        for mode in ("bare", "digest"):
            sink = Sink()
            try:
                result = child(mode, database_url, sink.port)
            finally:
                received = sink.stop()
            assert received == count == result[0], (mode, received, count, result)
            if mode not in best or result[1] < best[mode][1]:
                best[mode] = result
    return best


def report(label: str, count: int, results) -> None:
    bare, digest = results["bare"], results["digest"]
    bare_rate, digest_rate = bare[0] / bare[1], digest[0] / digest[1]
    print(
        f"{label:<10} {count:>7,} {bare_rate:>9.0f}/s {digest_rate:>9.0f}/s "
        f"{digest_rate / bare_rate:>7.2f}x {digest[3] - digest[2]:>9.1f} MB {digest[3]:>9.1f} MB"
    )


def sqlite_urls(folder: Path):
    """A new SQLite database in `folder` at each call."""
    made = iter(range(1_000_000))
    return lambda: f"sqlite:///{folder / f'bench{next(made)}.sqlite3'}"


def main(counts: list[int], rounds: int = 3) -> None:
    print(
        f"{'database':<10} {'N':>7} {'bare':>11} {'digest':>11} {'ratio':>8} "
        f"{'growth':>12} {'peak RSS':>12}"
    )
    postgres = os.environ.get("BROADSHEET_BENCH_POSTGRES_URL")
    for count in counts:
        with tempfile.TemporaryDirectory() as folder:
            report("sqlite", count, measure(sqlite_urls(Path(folder)), count, rounds))
        if postgres:
            report("postgresql", count, measure(lambda: fresh_schema(postgres), count, rounds))
            drop_schema(postgres)
    print(
        f"(best of {rounds} alternating runs each; bare: smtplib over one connection, messages"
        " built beforehand; digest: the ledger-driven sender; growth: the sender's peak"
        " resident size during the run minus its size when the run began)"
    )


_SCHEMA = "bench_digest"


def fresh_schema(url: str) -> str:
    from sqlalchemy import create_engine, make_url, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{_SCHEMA}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{_SCHEMA}"'))
    engine.dispose()
    return (
        make_url(url)
        .update_query_dict({"options": f"-csearch_path={_SCHEMA}"})
        .render_as_string(hide_password=False)
    )


def drop_schema(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{_SCHEMA}" CASCADE'))
    engine.dispose()


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--sink"]:
        run_sink(int(arguments[1]))
    elif arguments[:1] == ["--digest"]:
        run_digest(arguments[1], int(arguments[2]))
    elif arguments[:1] == ["--bare"]:
        run_bare(arguments[1], int(arguments[2]))
    else:
        main([int(a) for a in arguments] or [1_000, 10_000])
