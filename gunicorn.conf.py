"""Gunicorn's settings for Broadsheet: `gunicorn --config gunicorn.conf.py wsgi:app`.

Environment (besides the BROADSHEET_* settings, read here for the time limits):
GUNICORN_BIND (127.0.0.1:8000), GUNICORN_WORKERS (worker processes, one per core; not
gunicorn's own WEB_CONCURRENCY, which gunicorn reads before this file, with a traceback for
a value that is no number: leave it unset),
GUNICORN_THREADS (threads per worker, 4), PROMETHEUS_MULTIPROC_DIR (metrics of every
worker in one place: emptied when the server starts).

The app is loaded once, in the master, and the workers are forked from it (preload): a
worker that replaces another (max_requests, a crash) answers within milliseconds instead of
importing everything again, and the workers share the master's pages. This is sound only
because building the app starts nothing: the database connects, the press and relay threads
start and the printer processes spawn on first use, each in the worker that uses them. A
fork copies no thread, and a pool forked after it started would be one whose pipes every
worker shares; `pre_fork` refuses to fork a master that has either, and `post_fork` drops
any database connection a worker would inherit. Each worker starts its printer processes
(with `spawn`, never a fork of a process with threads) before it takes its first request.
New code needs a restart, not SIGHUP (which forks new workers from the same loaded
master). The scheduler and the digest senders are processes of their own (`broadsheet
scheduler`, `broadsheet digest send`), never part of a web worker.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from gunicorn.util import parse_address

from service.settings import Settings, SettingsError

try:
    _settings = Settings.load()
except SettingsError as _error:
    # The same lines the app would print, before any worker starts.
    sys.exit(str(_error))


def _cores() -> int:
    """The cores this process may run on (a CPU affinity mask or cgroup pinning counts)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _count(name: str, default: int) -> int:
    """A whole number from the environment, or one line saying what is wrong (not a trace)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdecimal() and 1 <= int(raw) <= 1024):
        sys.exit(f"{name}={raw[:40]!r} is not valid: expected a whole number from 1 to 1024")
    return int(raw)


def _bind(default: str) -> str:
    """GUNICORN_BIND as gunicorn reads it, or one line saying what is wrong: a port past
    65535 ended in a traceback (OverflowError) when gunicorn bound it."""
    raw = os.environ.get("GUNICORN_BIND", "").strip()
    if not raw:
        return default
    try:
        address = parse_address(raw)
    except (RuntimeError, ValueError):
        address = None
    if isinstance(address, int) and not _is_open(address):
        address = None  # fd://N names no open socket: gunicorn's traceback again
    if address is None or (isinstance(address, tuple) and not 0 <= address[1] <= 65535):
        sys.exit(
            f"GUNICORN_BIND={raw[:80]!r} is not valid: expected HOST:PORT (a port from 0 to "
            "65535), [IPv6]:PORT, unix:PATH or fd://N"
        )
    return raw


def _is_open(descriptor: int) -> bool:
    """fd://N names an open socket (one systemd passed on, say)."""
    try:
        return stat.S_ISSOCK(os.fstat(descriptor).st_mode)
    except (OSError, OverflowError, ValueError):
        return False


# The longest a request may rightly take: its body may arrive slowly (BODY_TIMEOUT), then a
# PDF may wait for an idle printer (up to PDF_TIME_LIMIT) and be printed (up to it again;
# a reader of a stored PDF waits three times the limit, the press's own bound). An edition
# prints its articles for up to twice the limit, the ones on a printer then finish within
# it, and its cover takes up to it again: four times. The margin covers validation,
# rendering the HTML and sending the answer.
REQUEST_LIMIT = _settings.body_timeout + 4 * _settings.pdf_time_limit
MARGIN = 10

wsgi_app = "wsgi:app"
bind = [_bind("127.0.0.1:8000")]
# Rendering is CPU work under the GIL, so one process per core; PDFs are laid out by
# each worker's printer processes (PDF_WORKERS of them), so more workers would mean more
# printers competing for the same cores and more memory, not more throughput.
workers = _count("GUNICORN_WORKERS", max(2, _cores()))
# Threads let a worker answer other requests while one waits for its printer or its body.
worker_class = "gthread"
threads = _count("GUNICORN_THREADS", 4)
preload_app = True
timeout = int(REQUEST_LIMIT + MARGIN)
# SIGTERM lets every request in flight finish: as long as the longest may take.
graceful_timeout = timeout
keepalive = 5
# A worker is replaced after this many requests (gunicorn staggers them by the jitter), so
# memory a long-lived process gathers is given back. Workers share the load evenly, so a
# small jitter would let them all restart within a second of each other. A replacement
# starts its printers (PDF_WORKERS interpreters importing WeasyPrint, about a second of
# CPU each), so it is kept rare: at 10,000, a flood of cheap requests replaced each worker
# every few seconds and the printers' start-up took half the machine (docs/benchmarks.md).
# A worker's own memory stays flat (125 MB after 500 renders, 127 MB after 90,000); the
# printers, where a document's memory goes, are replaced on their own limits.
max_requests = 200_000
max_requests_jitter = 100_000
# The workers' heartbeat files in memory: a disk-backed /tmp can stall them under load.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# No access log of gunicorn's own: the app writes one line per request (service/access.py)
# with its request id, route, status and time, in the format BROADSHEET_LOG_FORMAT names.
accesslog = None
# Gunicorn's own lines (starting, stopping, a worker replaced, a malformed request) go to the
# root logger, so they are written by the app's handler, in BROADSHEET_LOG_FORMAT, escaped,
# like every other line; its access logger is silenced, for the reason above.
logconfig_dict = {
    "root": {"level": "INFO", "handlers": []},  # wsgi.py puts the app's handler there
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
    "handlers": {},
    "formatters": {},
}
proc_name = "broadsheet"
# Gunicorn 25.1+ opens a control socket at one fixed path per user: two servers on one
# machine would share it, and systemd is what controls this one.
control_socket_disable = True


def _metrics_dir() -> Path | None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(directory) if directory else None


# The folder must be there before the app is loaded (preload comes before on_starting):
# importing the metrics writes the master's own files into it.
if (_folder := _metrics_dir()) is not None:
    _folder.mkdir(parents=True, exist_ok=True)


def start_metrics_afresh() -> None:
    """Files left by the processes of an earlier run would count: only prometheus_client's
    own files go (the folder may have been given carelessly), the master's too: a file
    named for its pid may be an earlier run's (pids are reused), and what the master wrote
    while loading the app is zeros (a forked worker writes its own). Done once this server
    holds its port and its database is fit (`when_ready`): a second start that failed (the
    port in use, the schema behind) emptied the running server's folder, and its /metrics
    stayed blank until its workers were replaced."""
    directory = _metrics_dir()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    from service.metrics import clear_multiprocess_dir

    clear_multiprocess_dir()


def on_reload(server) -> None:
    """SIGHUP: gunicorn has just applied logconfig_dict again, which empties the root
    logger's handlers, the app's among them: without this, nothing at all was logged after
    a reload, errors included. The workers about to be forked inherit it again."""
    from service.logs import configure_logging

    configure_logging(log_format=_settings.log_format)


def when_ready(server) -> None:
    """Serve only a database at the schema this code needs: in production one line and exit
    status 1 when it is behind (run `broadsheet db upgrade`), as `broadsheet serve` does."""
    from service.commands import prepare_database
    from service.runtime import EXTENSION

    runtime = server.app.wsgi().extensions[EXTENSION]
    try:
        prepare_database(runtime)
    finally:
        runtime.engine.dispose()  # no connection of the master's for a worker to inherit
    start_metrics_afresh()


def pre_fork(server, worker) -> None:
    """Fork only a master with no thread and no child process of its own (see above)."""
    import multiprocessing
    import threading

    for thread in threading.enumerate():
        # A one-shot timer ends by itself: limits' memory storage (5.8) starts one for 10 ms
        # when it is made, and again on use, so a worker starts its own when it needs one.
        if isinstance(thread, threading.Timer):
            thread.join(timeout=5)
    threads = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    children = multiprocessing.active_children()
    if threads or children:
        raise RuntimeError(
            f"The app started threads {threads} or processes {children} while it was built; "
            "a forked worker would not have them. Start them on first use instead."
        )


def post_fork(server, worker) -> None:
    """A worker makes its own database connections, never one the master opened."""
    from service.runtime import EXTENSION

    server.app.wsgi().extensions[EXTENSION].engine.dispose(close=False)


def post_worker_init(worker) -> None:
    """Start this worker's printer processes before it takes a request, so no PDF waits for
    a printer to start (seconds on a busy machine), even in a worker that replaced another."""
    from service.runtime import EXTENSION

    worker.app.wsgi().extensions[EXTENSION].printer.warm_up()


def child_exit(server, worker) -> None:
    """A worker has gone: its live gauges go with it (its counters are kept)."""
    if _metrics_dir() is None:
        return
    from service.metrics import mark_process_dead

    mark_process_dead(worker.pid)
