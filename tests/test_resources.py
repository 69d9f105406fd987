"""Eight costly articles at once, on every render route of a real server: every answer is a
200 or a 4xx within the limits, the server's processes stay under a memory bound, and a
normal PDF prints in its usual time afterwards."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from . import hostile
from .corpus import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
ROUTES = ("html", "text", "email", "pdf")
MEMORY_BOUND_MB = 1_536  # the server and its printer processes together (README)
# Twice the default: six of these PDFs take about 2 s of CPU each, and on the shared
# two-core machine the tests run on they queue behind each other and behind other work
# for more than the default 20 s (they answered 503 then). A PDF may wait a time limit for
# a free printer, then take a time limit; the rest is slack.
PDF_TIME_LIMIT = 40.0
PDF_DEADLINE = 2 * PDF_TIME_LIMIT + 10
OTHER_DEADLINE = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def costly_articles() -> dict[str, bytes]:
    """The issue's large cases at the most the budgets allow; the first two pass them."""
    side = int(hostile.budgets.PIXELS.maximum**0.5) // 2
    word = "".join(chr(ord("a") + (i * 7) % 26) for i in range(19_980))
    columns = 14
    wide = {
        "type": "table",
        "caption": "Fourteen columns",
        "header": [f"Column {c}" for c in range(columns)],
        "rows": [[f"{r:03d}{c:03d}{r * c:05d}" for c in range(columns)] for r in range(20)],
    }
    articles = {
        "2mib-list": hostile.the_2mib_list(),
        "everything": hostile.everything(),
        # The rest at the most the print budget allows, so every route renders them.
        "list-items": hostile.densest("list-items"),
        "table-cells": hostile.densest("table-cells"),
        "note-references": hostile.densest("note-references"),
        "characters": hostile.densest("characters"),
        "pixels": hostile.article(
            [
                {"type": "image", "src": hostile.png(side * 2, side, n), "alt": f"Colour {n}"}
                for n in range(2)
            ]
        ),
        "wide-and-long": hostile.article(
            [wide, {"type": "paragraph", "text": f"Start {word} end."}]
        ),
    }
    return {
        name: json.dumps(article, separators=(",", ":")).encode()
        for name, article in articles.items()
    }


class Server:
    """`broadsheet serve` in a subprocess, from this checkout."""

    def __init__(self, tmp_path: Path):
        self.port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "BROADSHEET_ENV": "development",
            "BROADSHEET_DATABASE_URL": f"sqlite:///{tmp_path / 'resources.sqlite3'}",
            "BROADSHEET_PDF_WORKERS": "2",
            "BROADSHEET_PDF_TIME_LIMIT": str(PDF_TIME_LIMIT),
            # One client sends every request here: the printer's limits are under test.
            "BROADSHEET_RATELIMIT_ENABLED": "false",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                assert self.process.poll() is None, "the server stopped"
            assert time.monotonic() < deadline, "the server was not ready in 60 s"
            time.sleep(0.2)

    def get(self, path: str) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def post(self, route: str, body: bytes) -> tuple[int, float]:
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=PDF_DEADLINE + 30)
        try:
            connection.request(
                "POST", f"/v1/render/{route}", body, {"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            response.read()
            return response.status, time.monotonic() - started
        finally:
            connection.close()

    def tree_rss(self) -> int:
        """Resident bytes of the server and every process it started."""
        root = psutil.Process(self.process.pid)
        total = 0
        for process in [root, *root.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


@pytest.fixture
def server(tmp_path):
    live = Server(tmp_path)
    yield live
    live.close()


def normal_pdf(server: Server, headline: str) -> float:
    article = json.loads((EXAMPLES / "bike-lanes.json").read_text("utf-8"))
    status, seconds = server.post("pdf", json.dumps(article | {"headline": headline}).encode())
    assert status == 200
    return seconds


def test_costly_articles_at_once_stay_within_the_limits(server):
    articles = costly_articles()
    normal_pdf(server, "Warming the printer")
    usual = min(normal_pdf(server, f"Usual time {n}") for n in range(3))

    peak = 0
    sampling = True

    def sample() -> None:
        nonlocal peak
        while sampling:
            peak = max(peak, server.tree_rss())
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    requests = [(name, route) for name in articles for route in ROUTES]
    try:
        with ThreadPoolExecutor(len(requests)) as pool:
            answers = list(
                pool.map(lambda request: server.post(request[1], articles[request[0]]), requests)
            )
    finally:
        sampling = False
        sampler.join()

    figures = {
        f"{name} {route}": answer for (name, route), answer in zip(requests, answers, strict=True)
    }
    print(f"\npeak RSS of the server's processes: {peak / 2**20:.0f} MB")
    for key, (status, seconds) in figures.items():
        print(f"{key:<28} {status} {seconds:6.2f} s")
    for key, (status, seconds) in figures.items():
        assert status == 200 or 400 <= status < 500, (key, status)
        deadline = PDF_DEADLINE if key.endswith("pdf") else OTHER_DEADLINE
        assert seconds < deadline, (key, seconds)
    assert peak < MEMORY_BOUND_MB * 2**20, f"peak {peak / 2**20:.0f} MB"

    after = normal_pdf(server, "After the storm")
    print(f"normal PDF: usual {usual:.2f} s, after {after:.2f} s")
    assert after < max(5 * usual, 5.0), (usual, after)
