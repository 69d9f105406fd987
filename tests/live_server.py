"""The app behind werkzeug's real server in a thread, and raw HTTP over loopback sockets."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

from werkzeug.serving import make_server


class LiveServer:
    """`app` served by werkzeug's threaded server on a free loopback port."""

    def __init__(self, app, **handler_options):
        self.server = make_server("127.0.0.1", 0, app, threaded=True, **handler_options)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def connect(self, timeout: float = 10.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


def request_head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def chunked(data: bytes, size: int = 64 * 1024) -> bytes:
    parts = [
        b"%x\r\n%s\r\n" % (len(data[i : i + size]), data[i : i + size])
        for i in range(0, len(data), size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"


def send_quietly(sock: socket.socket, data: bytes) -> None:
    """Send what the server will take; a server that answered early may close on us."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def read_answer(sock: socket.socket, started: float) -> Answer:
    """Read one HTTP/1.1 response (Content-Length framed, or until the server closes)."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError(f"the server closed without an answer: {buffer[:200]!r}")
        buffer += data
    head, _, body = buffer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        body += data
    return Answer(int(status_line.split()[1]), headers, body, time.monotonic() - started)
