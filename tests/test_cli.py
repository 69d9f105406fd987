"""The `broadsheet` group: every command in COMMANDS, under `broadsheet` and `flask --app wsgi`."""

from __future__ import annotations

import os
import subprocess
import sys
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
