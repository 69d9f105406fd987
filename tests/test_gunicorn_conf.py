"""gunicorn.conf.py: its choices read from the settings and the environment, its hooks, and a
real gunicorn started as docs/deploy.md says, serving, then stopping gracefully on SIGTERM."""

from __future__ import annotations

import json
import os
import runpy
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from .corpus import EXAMPLES
from .deploy_commands import ROOT, doc_command, runnable
from .mail_server import free_port

CONFIG = ROOT / "gunicorn.conf.py"


@pytest.fixture
def environ(monkeypatch):
    """A clean environment for the config: no BROADSHEET_*, gunicorn or metrics variables."""
    for name in list(os.environ):
        if name.startswith(("BROADSHEET_", "GUNICORN_")) or name in (
            "GUNICORN_WORKERS",
            "PROMETHEUS_MULTIPROC_DIR",
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BROADSHEET_ENV", "test")
    return monkeypatch


def load_config() -> dict:
    return runpy.run_path(str(CONFIG))


def test_defaults_follow_the_cores_and_the_settings(environ):
    config = load_config()
    assert config["bind"] == ["127.0.0.1:8000"]
    assert config["workers"] == max(2, len(os.sched_getaffinity(0)))
    assert config["worker_class"] == "gthread"
    assert config["threads"] == 4
    assert config["preload_app"] is True
    # BODY_TIMEOUT 10 s, PDF_TIME_LIMIT 20 s: a body, a wait for a printer, a print, a margin.
    assert config["timeout"] == 10 + 4 * 20 + 10
    assert config["graceful_timeout"] == config["timeout"]
    assert config["max_requests"] > 0
    assert 0 < config["max_requests_jitter"] <= config["max_requests"]
    expected_tmp = "/dev/shm" if os.path.isdir("/dev/shm") else None
    assert config["worker_tmp_dir"] == expected_tmp
    assert config["accesslog"] is None  # the app writes its own access line
    assert config["wsgi_app"] == "wsgi:app"


def test_the_environment_overrides_and_the_time_limits_follow_the_settings(environ):
    environ.setenv("GUNICORN_WORKERS", "7")
    environ.setenv("GUNICORN_THREADS", "2")
    environ.setenv("GUNICORN_BIND", "10.0.0.11:8000")
    environ.setenv("BROADSHEET_PDF_TIME_LIMIT", "100")
    environ.setenv("BROADSHEET_BODY_TIMEOUT", "30")
    config = load_config()
    assert (config["workers"], config["threads"]) == (7, 2)
    assert config["bind"] == ["10.0.0.11:8000"]
    assert config["timeout"] == 30 + 4 * 100 + 10
    assert config["timeout"] > 100 + 30


@pytest.mark.parametrize("name", ["GUNICORN_WORKERS", "GUNICORN_THREADS"])
@pytest.mark.parametrize("value", ["abc", "0", "-2", "１", "99999"])
def test_a_bad_count_stops_gunicorn_with_one_line(environ, name, value):
    """GUNICORN_THREADS=abc ended in a traceback from the config file."""
    environ.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        load_config()
    assert str(stopped.value) == (
        f"{name}={value!r} is not valid: expected a whole number from 1 to 1024"
    )


@pytest.mark.parametrize(
    "value",
    ["127.0.0.1:99999", "[::1]:70000", "host:-1", "host:port", "fd://-1", "fd://" + "9" * 20],
)
def test_a_bad_bind_stops_gunicorn_with_one_line(environ, value):
    """A port past 65535 ended in a traceback (OverflowError) when gunicorn bound it."""
    environ.setenv("GUNICORN_BIND", value)
    with pytest.raises(SystemExit) as stopped:
        load_config()
    assert str(stopped.value).startswith(f"GUNICORN_BIND={value!r} is not valid: expected")


def test_a_bind_to_a_descriptor_that_is_no_socket_stops_gunicorn_with_one_line(environ, tmp_path):
    """fd://N of an open file that is no socket ended in gunicorn's traceback (ENOTSOCK)."""
    with open(tmp_path / "not-a-socket", "w") as file:
        environ.setenv("GUNICORN_BIND", f"fd://{file.fileno()}")
        with pytest.raises(SystemExit) as stopped:
            load_config()
    assert str(stopped.value).startswith("GUNICORN_BIND='fd://")
    assert "is not valid: expected" in str(stopped.value)
    with socket.socket() as sock:
        environ.setenv("GUNICORN_BIND", f"fd://{sock.fileno()}")
        assert load_config()["bind"] == [f"fd://{sock.fileno()}"]


def test_a_bad_setting_stops_gunicorn_with_its_line(environ):
    environ.setenv("BROADSHEET_ENV", "production")
    with pytest.raises(SystemExit) as stopped:
        load_config()
    assert str(stopped.value).startswith("BROADSHEET_SECRET_KEY is required")


def test_starting_afresh_empties_the_metrics_folder_of_metrics_files_only(environ, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"old")
    (folder / "notes.txt").write_text("not ours")
    # An earlier run's worker whose pid is now the master's: its counts are not this run's.
    (folder / f"counter_{os.getpid()}.db").write_bytes(b"an earlier run's")
    environ.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    load_config()["start_metrics_afresh"]()
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]

    fresh = tmp_path / "fresh" / "metrics"
    environ.setenv("PROMETHEUS_MULTIPROC_DIR", str(fresh))
    load_config()
    assert fresh.is_dir()  # made when the config is read, before the app is loaded


def test_child_exit_marks_the_worker_dead(environ, tmp_path):
    import service.metrics

    dead: list[int] = []
    environ.setattr(service.metrics, "mark_process_dead", dead.append)
    hooks = load_config()
    hooks["child_exit"](None, type("Worker", (), {"pid": 4242})())
    assert dead == []  # no metrics folder: nothing to forget
    environ.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    hooks["child_exit"](None, type("Worker", (), {"pid": 4242})())
    assert dead == [4242]


def test_pre_fork_refuses_a_master_running_a_thread(environ):
    pre_fork = load_config()["pre_fork"]
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="started-too-early")
    thread.start()
    try:
        with pytest.raises(RuntimeError, match="started-too-early"):
            pre_fork(None, None)
    finally:
        stop.set()
        thread.join()


# A real server ------------------------------------------------------------------------


def server_environment(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BROADSHEET_", "GUNICORN_", "FLASK_"))
        and k not in ("WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR")
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "BROADSHEET_ENV": "production",
            "BROADSHEET_SECRET_KEY": "gunicorn-test-secret",
            "BROADSHEET_BASE_URL": "https://news.example.org",
            "BROADSHEET_DATABASE_URL": f"sqlite:///{tmp_path / 'gunicorn.sqlite3'}",
            "BROADSHEET_MAIL_RELAY": "false",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "2",
            "GUNICORN_THREADS": "2",
        }
    )
    env.update(extra)
    return env


def start_gunicorn(env: dict[str, str], log: Path) -> subprocess.Popen:
    """gunicorn as docs/deploy.md starts it, in this checkout; its output in `log`."""
    variables, argv = runnable(doc_command(".venv/bin/gunicorn "))
    with log.open("wb") as out:
        return subprocess.Popen(
            argv, cwd=ROOT, env={**env, **variables}, stdout=out, stderr=subprocess.STDOUT
        )


@contextmanager
def running_gunicorn(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """gunicorn started (start_gunicorn), and killed at the end if it is still running."""
    server = start_gunicorn(env, log)
    try:
        yield server
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def wait_until_serving(server: subprocess.Popen, base: str, log: Path, seconds=120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                assert json.load(response)["status"] == "ok"
                return
        except OSError:
            assert server.poll() is None, log.read_text("utf-8", "replace")
            assert time.monotonic() < deadline, log.read_text("utf-8", "replace")
            time.sleep(0.2)


def migrate(env: dict[str, str]) -> None:
    """`broadsheet db upgrade`, as docs/deploy.md says."""
    variables, argv = runnable(doc_command(".venv/bin/broadsheet db upgrade"))
    done = subprocess.run(
        argv, cwd=ROOT, env={**env, **variables}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout


def test_gunicorn_serves_then_stops_gracefully_on_sigterm(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_1.db").write_bytes(b"from an earlier run")
    env = server_environment(tmp_path, port, PROMETHEUS_MULTIPROC_DIR=str(metrics))
    migrate(env)
    log = tmp_path / "gunicorn.log"
    with running_gunicorn(env, log) as server:
        wait_until_serving(server, base, log)
        assert not (metrics / "counter_1.db").exists()
        master = psutil.Process(server.pid)
        workers = master.children()
        assert len(workers) == 2
        # Each worker started its printers before it answered (post_worker_init).
        for worker in workers:
            assert any("multiprocessing" in " ".join(p.cmdline()) for p in worker.children())

        article = (EXAMPLES / "bike-lanes.json").read_bytes()
        request = urllib.request.Request(
            f"{base}/v1/render/pdf", data=article, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            assert response.status == 200
            assert response.read().startswith(b"%PDF-")
        # The printer processes are the worker's, started after the fork; the master
        # still has its workers alone.
        assert {p.pid for p in master.children()} == {w.pid for w in workers}
        family = master.children(recursive=True)
        printers = [p for p in family if p.ppid() != master.pid]
        assert printers, "the PDF was printed by no printer process"

        # A request in flight when SIGTERM comes: half its body sent before, half after.
        head = (
            f"POST /v1/render/html HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(article)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=60) as client:
            client.sendall(head + article[:100])
            time.sleep(0.5)
            server.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            client.sendall(article[100:])
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
        status_line = answer.split(b"\r\n", 1)[0]
        assert status_line == b"HTTP/1.1 200 OK", answer[:300]
        assert b"<!DOCTYPE html>" in answer
        assert server.wait(timeout=60) == 0
    output = log.read_text("utf-8", "replace")
    assert "Handling signal: term" in output
    assert "Shutting down: Master" in output
    assert "POST /v1/render/pdf 200" in output  # the app's access line (service/access.py)
    assert "HTTP/1.1" not in output  # and no second line of gunicorn's
    # Nothing of the tree outlives the master: workers and printer processes are gone.
    deadline = time.monotonic() + 10
    while any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in family):
        assert time.monotonic() < deadline, [p.pid for p in family if p.is_running()]
        time.sleep(0.1)


def test_gunicorn_refuses_a_database_behind_in_production(tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    # The folder of a server already running: a start that fails leaves it be (it emptied
    # it, and the running server's /metrics stayed blank).
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_1.db").write_bytes(b"the running server's")
    env = server_environment(tmp_path, port, PROMETHEUS_MULTIPROC_DIR=str(metrics))
    with running_gunicorn(env, log) as server:  # never migrated
        assert server.wait(timeout=120) == 1
    output = log.read_text("utf-8", "replace")
    assert "Broadsheet will not serve: The database has no schema yet" in output
    assert "Booting worker" not in output
    assert (metrics / "counter_1.db").read_bytes() == b"the running server's"


def test_with_json_logs_every_line_gunicorn_writes_is_json(tmp_path):
    """A log shipper reads one JSON object a line: gunicorn's own lines, those written while
    the app loads, and those about a malformed request are no exception."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_environment(tmp_path, port, BROADSHEET_LOG_FORMAT="json")
    migrate(env)
    log = tmp_path / "gunicorn.log"
    with running_gunicorn(env, log) as server:
        wait_until_serving(server, base, log)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.sendall(b"NOT HTTP AT ALL\x1b[31m\r\n\r\n")
            while client.recv(65536):
                pass
        with urllib.request.urlopen(f"{base}/v1/schema/article.json", timeout=30) as response:
            assert response.status == 200
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    lines = [line for line in log.read_text("utf-8").splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # fails on the first line that is not
    messages = " | ".join(record["message"] for record in records)
    assert "Starting gunicorn" in messages
    assert "Invalid request" in messages or "Bad request" in messages, messages
    assert "GET /v1/schema/article.json 200" in messages
    assert "Shutting down: Master" in messages
    assert not any("\x1b" in line for line in lines)


def test_after_sighup_every_line_is_still_logged(tmp_path):
    """A reload applied logconfig_dict again, which emptied the root logger: after SIGHUP
    nothing was logged at all, neither access lines nor errors."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_environment(tmp_path, port)
    migrate(env)
    log = tmp_path / "gunicorn.log"
    with running_gunicorn(env, log) as server:
        wait_until_serving(server, base, log)
        old = {w.pid for w in psutil.Process(server.pid).children()}
        server.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while True:  # new workers, forked after the reload, serving
            workers = {w.pid for w in psutil.Process(server.pid).children()}
            if len(workers) == 2 and not workers & old:
                break
            assert time.monotonic() < deadline, log.read_text("utf-8", "replace")
            time.sleep(0.2)
        wait_until_serving(server, base, log)
        with urllib.request.urlopen(f"{base}/v1/schema/article.json", timeout=30) as response:
            assert response.status == 200
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    after = log.read_text("utf-8", "replace").split("Handling signal: hup", 1)[1]
    assert "GET /v1/schema/article.json 200" in after
    assert "Booting worker" in after
    assert "Shutting down: Master" in after


def _early_refusal(
    port: int, request: bytes, drip: threading.Event, piece: bytes = b"x"
) -> list[bytes]:
    """Send a request the app refuses before reading its body, then drip the body a piece
    at a time until `drip` is cleared or the server ends the connection."""
    said: list[bytes] = []

    def run() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(request)
            said.append(connection.recv(200).split(b"\r\n")[0])
            while drip.is_set():
                try:
                    connection.sendall(piece)
                except OSError:
                    said.append(b"ended")
                    return
                time.sleep(0.5)

    threading.Thread(target=run, daemon=True).start()
    return said


def test_clients_dripping_a_refused_body_cannot_hold_gunicorn_s_threads(tmp_path):
    """A refusal given before the body was read (413 on its declared length, 401 before a
    PUT's body) left gunicorn to read the rest before the next request, in a worker thread
    with no deadline: clients dripping a byte now and then held every thread, and the
    server answered nothing else. The rest is read within BODY_TIMEOUT now, or the
    connection ends; a body sent whole is read and the connection serves on."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_environment(tmp_path, port, BROADSHEET_BODY_TIMEOUT="2")
    migrate(env)
    log = tmp_path / "gunicorn.log"
    server = start_gunicorn(env, log)
    drip = threading.Event()
    drip.set()
    try:
        wait_until_serving(server, base, log)
        too_large = (
            b"POST /v1/render/text HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000\r\n\r\n{"
        )
        no_token = (
            b"PUT /v1/articles/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n{"
        )
        # As many as gunicorn has threads (2 workers, 2 threads each): each holds one for
        # at most the body deadline now; before, for as long as it dripped.
        chunks = (  # a coding's name in any case (RFC 9112 §7): "Chunked" was not drained
            b"PUT /v1/articles/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: Chunked\r\n\r\n1\r\n{\r\n"
        )
        clients = [_early_refusal(port, too_large if n % 2 else no_token, drip) for n in range(3)]
        clients.append(_early_refusal(port, chunks, drip, piece=b"1\r\nx\r\n"))
        time.sleep(1)
        started = time.monotonic()
        with urllib.request.urlopen(f"{base}/healthz", timeout=30) as response:
            assert response.status == 200
        assert time.monotonic() - started < 8  # the body deadline, 2 s, and some slack
        deadline = time.monotonic() + 10
        while not all(b"ended" in said for said in clients) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sorted({said[0] for said in clients}) == [
            b"HTTP/1.1 401 UNAUTHORIZED",
            b"HTTP/1.1 413 REQUEST ENTITY TOO LARGE",
        ]
        assert all(b"ended" in said for said in clients), clients

        # A refused body sent whole is read, and the connection carries the next request.
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            body = b"{" + b" " * 998 + b"}"
            connection.sendall(
                b"PUT /v1/articles/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            first = connection.recv(4096)
            assert first.startswith(b"HTTP/1.1 401")
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := connection.recv(4096):
                answer += chunk
            assert b"HTTP/1.1 200 OK" in answer
    finally:
        drip.clear()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
