"""Reading a request body: never more than the limit, never for longer than the deadline.

Werkzeug's own reading stops a chunked body silently at the limit (so an oversized body is
cut, not refused) and waits on a stalled client for ever. Here the body is read in slices:
one byte past the limit is a 413 however the body is framed, and at the deadline a
watchdog shuts the socket's read side, so a read blocked on a silent or dripping client
returns at once and the client gets a 408. The socket is the one the server puts in the
WSGI environ (werkzeug's and gunicorn's both do); under a server that gives none, the
deadline is checked between slices and the server's own timeout bounds each read.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from typing import Any

from .errors import PayloadTooLarge, RequestTimeout, UnreadableBody

SLICE = 64 * 1024
SOCKET_KEYS = ("werkzeug.socket", "gunicorn.socket")


def read_body(environ: dict[str, Any], *, limit: int, timeout: float) -> bytes:
    """The whole body of the request in `environ`, within `limit` bytes and `timeout` s."""
    length = _content_length(environ)
    if length is not None and length > limit:
        raise _too_large(limit)
    if length is None and not environ.get("wsgi.input_terminated"):
        return b""  # neither a length nor a server that ends the stream: no body to read
    wanted = length if length is not None else limit + 1
    stream = environ["wsgi.input"]
    deadline = time.monotonic() + timeout
    parts: list[bytes] = []
    received = 0
    with WATCHDOG.watch(_socket_of(environ), deadline) as watch:
        while received < wanted:
            if time.monotonic() >= deadline:
                raise _too_slow(timeout)
            try:
                data = stream.read(min(SLICE, wanted - received))
            except (OSError, ValueError):
                if watch.fired or time.monotonic() >= deadline:
                    raise _too_slow(timeout) from None
                raise UnreadableBody("The connection broke before the body was complete.") from None
            if not data:
                break
            parts.append(data)
            received += len(data)
            environ[RECEIVED] = received
        if watch.fired and received < wanted and length is not None:
            raise _too_slow(timeout)
    if received > limit:
        raise _too_large(limit)
    if length is not None and received < length:
        raise UnreadableBody(f"The body ended after {received} of {length} bytes.")
    environ[WHOLE] = True
    return b"".join(parts)


# What is read and dropped of a body left unread by an answer given before it (a refusal);
# past it, or past the body deadline, the connection ends instead.
DRAIN_LIMIT = 1 << 20
RECEIVED = "broadsheet.body_received"  # bytes read_body took, in the WSGI environ
WHOLE = "broadsheet.body_whole"  # read_body took the body to its end


def left_unread(environ: dict[str, Any]) -> int | None:
    """What of the declared body no one read: 0 for none (no body, read whole, or a
    connection the server closes after this answer, reading nothing more); a number of
    bytes for a declared length; None for chunks, which end when they end."""
    if environ.get(WHOLE):
        return 0
    connection = environ.get("HTTP_CONNECTION", "").lower()
    if "close" in connection or (
        environ.get("SERVER_PROTOCOL") == "HTTP/1.0" and "keep-alive" not in connection
    ):
        return 0
    if _chunked(environ):
        return None
    try:
        length = _content_length(environ)
    except UnreadableBody:
        return 0  # refused for it, before any of the body was read: nothing to go on
    return max(0, (length or 0) - environ.get(RECEIVED, 0))


def drain_rest(environ: dict[str, Any], stream: Any, left: int | None, *, timeout: float) -> None:
    """After the answer: read and drop the `left` bytes of the body no one read (None: to
    its last chunk), within `timeout` and DRAIN_LIMIT bytes, so the connection can carry the
    client's next request; past either, shut the socket's read side, which ends the
    connection. An answer given before the body was read (a 401, a 413 on its declared
    length) otherwise left the server to read the rest itself before the next request, in a
    worker thread and with no deadline: a dozen clients dripping a byte a second held every
    thread of a gunicorn."""
    sock = _socket_of(environ)
    deadline = time.monotonic() + timeout
    dropped = 0
    with WATCHDOG.watch(sock, deadline) as watch:
        while left is None or dropped < left:
            if dropped > DRAIN_LIMIT or time.monotonic() >= deadline:
                watch.fire()
                return
            wanted = SLICE if left is None else min(SLICE, left - dropped)
            try:
                data = stream.read(wanted)
            except (OSError, ValueError):
                return  # the client left, or the watchdog shut the read side
            if not data:
                return
            dropped += len(data)


def _content_length(environ: dict[str, Any]) -> int | None:
    """The declared length, or None for a chunked body or none declared."""
    if _chunked(environ):
        return None
    declared = environ.get("CONTENT_LENGTH", "").strip()
    if not declared:
        return None
    if not (declared.isascii() and declared.isdigit()):
        raise UnreadableBody(f"The Content-Length {declared[:40]!r} is not a number of bytes.")
    return int(declared)


def _chunked(environ: dict[str, Any]) -> bool:
    """Whether the body comes in chunks (a coding's name is in any case, RFC 9112 §7)."""
    return "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes.")


def _too_slow(timeout: float) -> RequestTimeout:
    return RequestTimeout(f"The request body did not arrive within {timeout:g} s.")


def _socket_of(environ: dict[str, Any]) -> socket.socket | None:
    for key in SOCKET_KEYS:
        candidate = environ.get(key)
        if isinstance(candidate, socket.socket):
            return candidate
    return None


class Watch:
    """One body being read: cancelled when done, fired (read side shut) at its deadline."""

    def __init__(self, sock: socket.socket | None):
        self.sock = sock
        self.fired = False
        self.done = False
        self._lock = threading.Lock()

    def fire(self) -> None:
        with self._lock:
            if self.done or self.sock is None:
                return
            self.fired = True
            try:
                self.sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass  # already closed by the client or the server

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self.done = True
            self.sock = None  # the heap keeps a finished watch until its deadline


class Watchdog:
    """One thread for the whole process that fires each watch at its deadline.

    A finished watch stays in the heap until its deadline (or until the heap is compacted)
    rather than being taken out when its body is read: taking it out would wake the thread
    for every request, and under load those wake-ups cost the requests a tenth of their
    time. The thread wakes once per deadline reached, late by at most `TICK`, and fires
    every watch due by then in one go.
    """

    TICK = 0.1  # seconds a watch may fire after its deadline, so wake-ups come in batches
    COMPACT_FROM = 4096  # the heap is rebuilt without finished watches past this size

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._compact_at = self.COMPACT_FROM

    def watch(self, sock: socket.socket | None, deadline: float) -> Watch:
        watch = Watch(sock)
        if sock is None:
            return watch
        with self._wake:
            if len(self._heap) >= self._compact_at:
                self._compact()
            heapq.heappush(self._heap, (deadline, next(self._order), watch))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="broadsheet-body-watchdog", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is watch:
                self._wake.notify()  # the earliest deadline now: the thread sleeps too long
        return watch

    def _compact(self) -> None:
        """Drop finished watches; the next compaction waits until the heap doubles again,
        so the cost per request stays constant however long the body timeout is."""
        self._heap = [entry for entry in self._heap if not entry[2].done]
        heapq.heapify(self._heap)
        self._compact_at = max(self.COMPACT_FROM, 2 * len(self._heap))

    def pending(self) -> int:
        """Watches in the heap, finished or not (for tests)."""
        with self._wake:
            return len(self._heap)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap:
                    self._wake.wait()
                now = time.monotonic()
                if now < self._heap[0][0]:
                    self._wake.wait(self._heap[0][0] - now + self.TICK)
                    continue
                due = []
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
            for watch in due:
                watch.fire()  # a finished watch does nothing


WATCHDOG = Watchdog()
