"""Prometheus metrics: what the service counts, exposed for one process or for all of them.

The metrics live on a registry of their own. Under gunicorn (several worker processes),
prometheus-client's PROMETHEUS_MULTIPROC_DIR names a directory that every process writes
its values into; the exposition then reads that directory, so any worker answers for all.
The variable must be set before the processes start (prometheus-client reads it when it is
imported); gunicorn's `when_ready` hook calls `clear_multiprocess_dir()` and its
`child_exit` hook `mark_process_dead(worker.pid)`.
Labels take bounded values only: a route is its URL rule, never the path a client sent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)

if TYPE_CHECKING:
    from .settings import Settings

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# The classic text format (0.0.4), which every Prometheus version reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The route label of a request that matched no URL rule (a 404 or a refused method).
UNMATCHED_ROUTE = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Made if missing, as gunicorn.conf.py makes it: set in a shared env file to the web unit's
# runtime folder, it is not there while that unit is stopped, and every command (db
# upgrade, the scheduler) ended in a traceback (FileNotFoundError) as its first value was
# written.
if _folder := os.environ.get(MULTIPROCESS_VARIABLE):
    Path(_folder).mkdir(parents=True, exist_ok=True)

registry = CollectorRegistry()

HTTP_REQUESTS = Counter(
    "broadsheet_http_requests_total",
    "HTTP requests answered, by method, URL rule and status.",
    ["method", "route", "status"],
    registry=registry,
)
RENDER_SECONDS = Histogram(
    "broadsheet_render_seconds",
    "Time taken to render one article (or one print edition), by format.",
    ["format"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
    registry=registry,
)
PDF_CACHE = Counter(
    "broadsheet_pdf_cache_total",
    "Lookups in the in-memory PDF cache, by result (hit or miss).",
    ["result"],
    registry=registry,
)
PRINTER_QUEUE_DEPTH = Gauge(
    "broadsheet_printer_queue_depth",
    "Print jobs waiting for a free process of the printer pool.",
    registry=registry,
    multiprocess_mode="livesum",
)
DIGEST_MESSAGES = Counter(
    "broadsheet_digest_messages_total",
    "Digest messages by outcome: sent, retried (a 4xx reply, tried again later) or failed.",
    ["outcome"],
    registry=registry,
)


def multiprocess_dir() -> str | None:
    """The directory shared by every process, or None when this process stands alone."""
    return os.environ.get(MULTIPROCESS_VARIABLE) or None


if multiprocess_dir() is None:
    ProcessCollector(registry=registry)


def count_request(method: str, route: str | None, status: int) -> None:
    """One answered request; unknown methods and rule-less paths get fixed labels."""
    HTTP_REQUESTS.labels(
        method=method if method in METHODS else "other",
        route=route or UNMATCHED_ROUTE,
        status=str(status),
    ).inc()


@contextmanager
def timed_render(fmt: str) -> Iterator[None]:
    """Time the block as one render of `fmt` (html, pdf, email, text or edition). A block
    that raises (a refusal, a time limit) made nothing, so it is not counted."""
    started = time.perf_counter()
    yield
    RENDER_SECONDS.labels(format=fmt).observe(time.perf_counter() - started)


@contextmanager
def waiting_for_printer() -> Iterator[None]:
    """A job waiting for a printer process for the length of the block."""
    PRINTER_QUEUE_DEPTH.inc()
    try:
        yield
    finally:
        PRINTER_QUEUE_DEPTH.dec()


def count_pdf_cache(hit: bool) -> None:
    PDF_CACHE.labels(result="hit" if hit else "miss").inc()


def count_digest_message(outcome: str) -> None:
    """One digest message's outcome: sent, retried or failed."""
    DIGEST_MESSAGES.labels(outcome=outcome).inc()


def exposition() -> bytes:
    """Every metric in the text format: this process's, or every process's in multiprocess mode."""
    if multiprocess_dir() is None:
        return generate_latest(registry)
    # A fresh registry each time: the collector reads the directory when it is collected.
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged)
    return generate_latest(merged)


def clear_multiprocess_dir() -> None:
    """Empty the shared directory of a previous run (gunicorn's on_starting hook), so its
    counts are not added to this one's."""
    directory = multiprocess_dir()
    if directory is not None:
        for path in Path(directory).glob("*.db"):
            path.unlink(missing_ok=True)


def mark_process_dead(pid: int) -> None:
    """Forget a dead worker's live gauges (gunicorn's child_exit hook); its counters stay."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)


def metrics_open(settings: Settings) -> bool:
    """Whether /metrics is there at all: a token or METRICS_PUBLIC opens it; otherwise it
    answers every method as a path no rule matches does (even a 405 would say it exists)."""
    return bool(settings.metrics_token) or settings.metrics_public
