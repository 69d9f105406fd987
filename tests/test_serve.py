"""The README's first command: `broadsheet serve` answers on embedded defaults."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .corpus import EXAMPLES

# The worktree's own code, not whichever checkout the installed script points at.
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_broadsheet_serve_answers(tmp_path):
    port = _free_port()
    script = Path(sys.executable).parent / "broadsheet"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BROADSHEET_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
    }
    server = subprocess.Popen(
        [str(script), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert json.load(r) == {"status": "ok", "database": "ok"}
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "server did not answer in 30 s"
                time.sleep(0.2)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/render/html",
            data=(EXAMPLES / "bike-lanes.json").read_bytes(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert response.read().startswith(b"<!DOCTYPE html>")
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()


def test_broadsheet_serve_drops_a_silent_connection(tmp_path):
    """A client that opens a connection and says nothing does not hold a thread for ever."""
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BROADSHEET_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "BROADSHEET_BODY_TIMEOUT": "1",
        "BROADSHEET_ENV": "development",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "server did not listen in 30 s"
                time.sleep(0.2)
        with sock:
            sock.sendall(b"POST /v1/render/text HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            assert sock.recv(1024) == b""
            assert time.monotonic() - started < 5
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()
