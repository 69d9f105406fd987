"""The `broadsheet` group: every command in COMMANDS, under `broadsheet` and `flask --app wsgi`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from service.cli import COMMANDS, cli

from .corpus import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent


def test_the_group_lists_every_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = result.output.split("Commands:\n", 1)[1].split()
    assert {command.name for command in COMMANDS} <= set(listed)


def test_flask_reaches_the_same_commands():
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    env["BROADSHEET_ENV"] = "development"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "wsgi",
            "render",
            str(EXAMPLES / "bike-lanes.json"),
            "--to",
            "text",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("City\nCouncil Approves Protected Bike Lanes")


def test_flask_stops_on_a_bad_setting_as_broadsheet_does():
    """One line, and exit status 2 as every command gives for a bad setting (it was 1)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    env["BROADSHEET_DIGEST_TIME"] = "25:00"
    for argv in (
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "current"],
        [sys.executable, "-m", "service", "db", "current"],
    ):
        result = subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 2, (argv, result.stderr)
        assert "BROADSHEET_DIGEST_TIME" in result.stderr
        assert "Traceback" not in result.stderr


def _printers_of(pid: int) -> list[int]:
    """The spawned processes (printers) whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if parent == pid and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def _printing(tmp_path: Path) -> subprocess.Popen:
    """`broadsheet render --to pdf` in a session of its own, once its printer has started
    (importing WeasyPrint, a second or more: not yet able to answer)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    env["BROADSHEET_ENV"] = "development"
    env["BROADSHEET_PDF_WORKERS"] = "1"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service",
            "render",
            str(EXAMPLES / "bike-lanes.json"),
            "--to",
            "pdf",
            "-o",
            str(tmp_path / "out.pdf"),
        ],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not _printers_of(process.pid):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no printer started"
        time.sleep(0.05)
    time.sleep(0.3)
    return process


def test_a_printer_whose_command_is_killed_leaves_quietly(tmp_path):
    """SIGTERM to the command alone (`kill PID`, a supervisor): its printer went on, and
    answering the parent that was gone wrote a BrokenPipeError traceback after the shell's
    prompt had come back."""
    process = _printing(tmp_path)
    printers = _printers_of(process.pid)
    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGTERM
    assert "Traceback" not in errors, errors
    assert all(_gone(pid) for pid in printers)


def _gone(pid: int) -> bool:
    """Exited: no such process, or a zombie that init has not reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_counts_in_command_output_agree_with_their_number():
    """Commands said "1 quick reads to 2 subscribers" and "(1 articles, …)"."""
    from service.labels import counted

    assert [counted(n, "quick read") for n in (0, 1, 2)] == [
        "0 quick reads",
        "1 quick read",
        "2 quick reads",
    ]
