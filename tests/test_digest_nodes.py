"""Many nodes, one digest: two gunicorn servers (each with its own metrics folder) and two
`broadsheet digest send` processes share one PostgreSQL and send one run, each message once."""

from __future__ import annotations

import email
import json
import re
import signal
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from email import policy

import pytest
from sqlalchemy import text

from .deploy_commands import ROOT, doc_command, runnable
from .digest_db import migrated_engine
from .mail_server import free_port, start
from .test_digest_processes import DAY, TOKEN, environment, prepared
from .test_gunicorn_conf import start_gunicorn, wait_until_serving

METRICS_TOKEN = "nodes-metrics-token-0123456789"
SUBSCRIBERS = 600
# Each sender's SMTP connection is capped, so the run lasts long enough for all four to
# take part: messages per second, per sender.
RATE = 30
_SENT = re.compile(r'^broadsheet_digest_messages_total\{outcome="sent"\} (\S+)$', re.M)


class Sink:
    """aiosmtpd handler keeping the recipients and the Message-ID of each message."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.received.extend((r, message["Message-ID"]) for r in envelope.rcpt_tos)
        return "250 2.0.0 Message accepted"

    def count(self) -> int:
        with self.lock:
            return len(self.received)


def sent_by(base: str) -> int:
    """What one gunicorn's /metrics says its workers sent."""
    request = urllib.request.Request(
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read().decode()
    found = _SENT.search(body)
    return int(float(found[1])) if found else 0


def post_send(base: str, answers: list, index: int) -> None:
    request = urllib.request.Request(
        f"{base}/v1/digests/{DAY}/send",
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answers[index] = (response.status, json.load(response))


def unfinished(database_url: str) -> int:
    engine = migrated_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text(
                    "SELECT COUNT(*) FROM digest_deliveries WHERE status IN ('pending', 'claimed')"
                )
            ).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_nodes_and_two_senders_send_each_message_once(database_url, tmp_path):
    sink = Sink()
    controller = start(sink)
    servers: list[subprocess.Popen] = []
    try:
        confirmed = prepared(database_url, SUBSCRIBERS)
        base_env = environment(
            database_url,
            controller,
            SMTP_URL=f"smtp://{controller.hostname}:{controller.port}?rate={RATE}",
            API_TOKEN=TOKEN,
            METRICS_TOKEN=METRICS_TOKEN,
            MAIL_RELAY="false",
            PDF_WORKERS="1",  # no PDFs here: the fewest printer processes a worker starts
        )
        bases = []
        for node in ("a", "b"):
            port = free_port()
            metrics = tmp_path / f"metrics-{node}"
            env = {
                **base_env,
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "GUNICORN_WORKERS": "2",
                "GUNICORN_THREADS": "2",
                "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            }
            servers.append(start_gunicorn(env, tmp_path / f"gunicorn-{node}.log"))
            bases.append(f"http://127.0.0.1:{port}")
        for server, base, node in zip(servers, bases, "ab", strict=True):
            wait_until_serving(server, base, tmp_path / f"gunicorn-{node}.log")

        # All at once: the send route on each node, and two senders as the document runs them.
        variables, argv = runnable(doc_command(".venv/bin/broadsheet digest send --date "))
        assert argv[-1] == DAY
        answers: list = [None, None]
        posts = [
            threading.Thread(target=post_send, args=(base, answers, i))
            for i, base in enumerate(bases)
        ]
        for post in posts:
            post.start()
        senders = [
            subprocess.Popen(
                argv,
                cwd=ROOT,
                env={**base_env, **variables},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        for post in posts:
            post.join(timeout=90)
        outputs = [s.communicate(timeout=180)[0] for s in senders]
        for sender, output in zip(senders, outputs, strict=True):
            assert sender.returncode == 0, output
        # The nodes' threads finish what they hold.
        deadline = time.monotonic() + 120
        while unfinished(database_url) or sink.count() < len(confirmed):
            assert time.monotonic() < deadline, (sink.count(), unfinished(database_url))
            time.sleep(0.2)
        time.sleep(1)  # anything sent twice would have arrived by now

        assert sorted(status for status, _ in answers) in ([200, 202], [202, 202], [200, 200])
        assert [body["opened"] for _, body in answers].count(True) <= 1
        recipients = Counter(r for r, _ in sink.received)
        assert recipients == Counter(confirmed)  # every confirmed reader, exactly once
        message_ids = [m for _, m in sink.received]
        assert len(set(message_ids)) == len(message_ids) == len(confirmed)

        node_shares = [sent_by(base) for base in bases]
        sender_shares = [int(o.split("Sent ", 1)[1].split(",", 1)[0]) for o in outputs]
        assert sum(node_shares) + sum(sender_shares) == len(confirmed), (
            node_shares,
            sender_shares,
        )
        assert all(share > 0 for share in node_shares), node_shares
    finally:
        for server in servers:
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
        for server in servers:
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        controller.stop()
