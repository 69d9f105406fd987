"""The commands: `broadsheet serve` answers on embedded defaults; `render` writes a file."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .corpus import EXAMPLES, minimal


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_broadsheet_serve_answers(tmp_path):
    port = _free_port()
    script = Path(sys.executable).parent / "broadsheet"
    env = {**os.environ, "BROADSHEET_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}"}
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


def test_cli_renders_email(runner, tmp_path):
    out = tmp_path / "a.html"
    result = runner.invoke(
        args=["render", str(EXAMPLES / "bike-lanes.json"), "--to", "email", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert 'style="' in out.read_text("utf-8")


def test_cli_renders_pdf(runner, tmp_path):
    out = tmp_path / "a.pdf"
    result = runner.invoke(
        args=[
            "render",
            str(EXAMPLES / "bike-lanes.json"),
            "--to",
            "pdf",
            "--paper",
            "letter",
            "-o",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF-1.7")


@pytest.mark.parametrize(("fmt", "expected"), [("html", "<!DOCTYPE html>"), ("text", "Council")])
def test_render_command(runner, fmt, expected, tmp_path):
    out = tmp_path / f"out.{fmt}"
    result = runner.invoke(
        args=["render", str(EXAMPLES / "bike-lanes.json"), "--to", fmt, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text("utf-8").startswith(expected)


def test_render_command_reports_problems(runner):
    result = runner.invoke(
        args=["render", str(EXAMPLES / "bad" / "missing-alt.json"), "--to", "html"]
    )
    assert result.exit_code == 1
    assert "/body/0/alt" in result.output


def test_render_command_to_stdout(runner, tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(minimal()), "utf-8")
    result = runner.invoke(args=["render", str(path), "--to", "text"])
    assert result.exit_code == 0
    assert "A minimal article" in result.output
