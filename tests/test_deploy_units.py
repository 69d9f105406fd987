"""deploy/: the systemd units pass `systemd-analyze verify` (as docs/deploy.md has it run),
each runs the command the document gives, and the settings file is a valid set of settings."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from service import Settings
from service.settings import SettingsError

from .conftest import require_tool
from .deploy_commands import ROOT, VENV_BIN, doc_command, runnable

UNITS = ROOT / "deploy" / "systemd"
ENV_EXAMPLE = ROOT / "deploy" / "broadsheet.env.example"
CHECKOUT = "/opt/broadsheet"
ENV_FILE = "/etc/broadsheet/broadsheet.env"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name, encoding="utf-8")
    return parser


def installed_here(text: str, env_file: Path) -> str:
    """A unit as it would be with the checkout here and the settings file `env_file`."""
    return (
        text.replace(f"{CHECKOUT}/.venv/bin/", f"{VENV_BIN}/")
        .replace(CHECKOUT, str(ROOT))
        .replace(ENV_FILE, str(env_file))
    )


def exec_start(name: str) -> str:
    """A unit's command with the checkout's path taken off, as docs/deploy.md writes it."""
    return unit(name)["Service"]["ExecStart"].replace(f"{CHECKOUT}/", "")


def test_the_document_verifies_every_unit():
    command = doc_command("systemd-analyze verify ")
    _, argv = runnable(command)
    assert sorted(argv[2:]) == sorted(f"deploy/systemd/{p.name}" for p in UNITS.glob("*.service"))


def test_systemd_analyze_verify_passes(tmp_path):
    require_tool(shutil.which("systemd-analyze") is not None, "systemd-analyze (systemd)")
    env_file = tmp_path / "broadsheet.env"
    env_file.write_text(ENV_EXAMPLE.read_text("utf-8"), "utf-8")
    installed = tmp_path / "deploy" / "systemd"
    installed.mkdir(parents=True)
    for path in UNITS.glob("*.service"):
        (installed / path.name).write_text(installed_here(path.read_text("utf-8"), env_file))
    _, argv = runnable(doc_command("systemd-analyze verify "))
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    # Unknown keys and the like are warnings on stderr with exit status 0: none allowed.
    assert (done.returncode, done.stdout + done.stderr) == (0, "")

    # And it can fail: a unit whose program is missing.
    broken = installed / "broadsheet-web.service"
    broken.write_text(broken.read_text("utf-8").replace(f"{VENV_BIN}/gunicorn", "/no/gunicorn"))
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "/no/gunicorn" in done.stderr


def test_the_units_run_the_documented_commands():
    assert exec_start("broadsheet-web.service") == doc_command(".venv/bin/gunicorn ")
    assert exec_start("broadsheet-scheduler.service") == doc_command(
        ".venv/bin/broadsheet scheduler"
    )
    assert exec_start("broadsheet-digest-send.service") == ".venv/bin/broadsheet digest send"
    for name in ("broadsheet-web.service", "broadsheet-scheduler.service"):
        service = unit(name)["Service"]
        assert service["WorkingDirectory"] == CHECKOUT
        assert service["EnvironmentFile"] == ENV_FILE
        assert unit(name)["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_waits_longer_than_gunicorn_lets_requests_finish(monkeypatch):
    import runpy

    for name in list(os.environ):
        if name.startswith("BROADSHEET_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BROADSHEET_ENV", "test")
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    web = unit("broadsheet-web.service")["Service"]
    assert int(web["TimeoutStopSec"]) > config["graceful_timeout"]
    assert web["KillMode"] == "mixed"
    assert web["Type"] == "notify"
    assert web["Environment"].startswith("PROMETHEUS_MULTIPROC_DIR=/run/broadsheet-web/")
    assert web["RuntimeDirectory"] == "broadsheet-web"


def test_the_settings_file_is_valid_settings_once_its_stand_ins_are_replaced():
    values = {}
    for line in ENV_EXAMPLE.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    with pytest.raises(SettingsError, match="stand-in"):
        Settings.load(environ=values)  # left as it is, it is refused
    values["BROADSHEET_SECRET_KEY"] = "made-up-for-this-test-" + "k" * 30
    values["BROADSHEET_API_TOKEN"] = "made-up-token-for-this-test"
    settings = Settings.load(environ=values)
    assert settings.env == "production"
    assert settings.secret_key
    assert settings.database_url == "sqlite:////var/lib/broadsheet/broadsheet.sqlite3"
    assert settings.trusted_proxies == 1  # behind the reverse proxy the guide describes
    unknown = {n for n in values if n.startswith("BROADSHEET_")} - {
        f"BROADSHEET_{n}" for n in Settings.names()
    }
    assert not unknown


def _run(argv: list[str], tmp_path: Path, **extra: str) -> subprocess.Popen:
    """A command with a migrated SQLite database of its own (and the mail in a Maildir)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BROADSHEET_", "FLASK_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "BROADSHEET_SECRET_KEY": "units-test-secret",
            "BROADSHEET_BASE_URL": "https://news.example.org",  # a digest needs https
            "BROADSHEET_DATABASE_URL": f"sqlite:///{tmp_path / 'units.sqlite3'}",
            **extra,
        }
    )
    migrate = subprocess.run(
        [str(VENV_BIN / "broadsheet"), "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_the_scheduler_unit_runs_and_stops_on_sigterm(tmp_path):
    variables, argv = runnable(doc_command(".venv/bin/broadsheet scheduler"))
    process = _run(argv, tmp_path, **variables)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any("Scheduler running" in line for line in lines):
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        time.sleep(1)  # its signal handlers are set just after that line
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        reader.join(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=10)
        if process.stdout:
            process.stdout.close()
    output = "".join(lines)
    assert process.returncode == 0, output
    assert "The scheduler has stopped" in output


def _scheduler_refuses(tmp_path: Path, **extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BROADSHEET_", "FLASK_"))}
    env.update({"PYTHONPATH": str(ROOT), "BROADSHEET_SECRET_KEY": "units-test-secret", **extra})
    done = subprocess.run(
        [str(VENV_BIN / "broadsheet"), "scheduler"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done.stderr


def test_the_scheduler_refuses_in_one_line_a_database_it_cannot_use(tmp_path):
    """It printed a traceback with the SQL every 5 s under systemd, or ran on a schema that
    `digest send` refuses."""
    fresh = _scheduler_refuses(
        tmp_path,
        BROADSHEET_BASE_URL="https://news.example.org",
        BROADSHEET_DATABASE_URL=f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}",
    )
    assert "broadsheet db upgrade" in fresh
    away = _scheduler_refuses(
        tmp_path,
        BROADSHEET_BASE_URL="https://news.example.org",
        BROADSHEET_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/test",
    )
    assert "cannot use its database" in away


def test_the_scheduler_refuses_in_one_line_to_run_without_an_https_base_url(tmp_path):
    """It ran, and every day logged that the digest could not be sent."""
    _run(["true"], tmp_path).communicate(timeout=30)  # only for its migrated database
    said = _scheduler_refuses(
        tmp_path,
        BROADSHEET_BASE_URL="http://news.example.org",
        BROADSHEET_DATABASE_URL=f"sqlite:///{tmp_path / 'units.sqlite3'}",
    )
    assert "BROADSHEET_BASE_URL" in said
    assert "must be https" in said


def test_the_digest_send_unit_sends_nothing_when_there_is_nothing(tmp_path):
    command = unit("broadsheet-digest-send.service")["Service"]["ExecStart"]
    process = _run(shlex.split(installed_here(command, tmp_path)), tmp_path)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    assert "there is no digest for" in output


def test_systemd_lets_a_sender_finish_the_message_in_hand():
    """SIGTERM lets a digest sender finish the message in hand and say QUIT. The units killed
    it after 60 s, where a slow server answering within the default timeout may take 17
    waits of 30 s: a kill between a message's data and its record sends it again."""
    from service.mail.smtp import SmtpTransport

    slowest = SmtpTransport("smtp://mail.example.org").longest_stop.total_seconds()
    assert slowest == 17 * 30
    for name in ("broadsheet-scheduler.service", "broadsheet-digest-send.service"):
        assert int(unit(name)["Service"]["TimeoutStopSec"]) > slowest, name
