"""Request bodies over a real socket: over the limit is 413 however framed; a stall is 408."""

from __future__ import annotations

import json
import time

import pytest

from .corpus import minimal
from .live_server import LiveServer, chunked, read_answer, request_head, send_quietly

LIMIT = 2 * 1024 * 1024
TIMEOUT = 1.5


@pytest.fixture(scope="module")
def server():
    from service import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": "sqlite://",
            "MAX_BODY_BYTES": LIMIT,
            "BODY_TIMEOUT": TIMEOUT,
        }
    )
    live = LiveServer(app)
    yield live
    live.close()


def padded_article(size: int) -> bytes:
    """A valid article of about `size` bytes: the padding is JSON whitespace."""
    body = json.dumps(minimal()).encode()
    return body[:-1] + b" " * max(0, size - len(body)) + b"}"


def post(server, headers: dict[str, str], body: bytes):
    started = time.monotonic()
    with server.connect() as sock:
        sock.sendall(request_head("/v1/render/text", headers))
        send_quietly(sock, body)
        return read_answer(sock, started)


JSON = {"Content-Type": "application/json"}


def test_chunked_body_over_the_limit_is_413(server):
    answer = post(
        server, {**JSON, "Transfer-Encoding": "chunked"}, chunked(padded_article(3_000_000))
    )
    assert answer.status == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert json.loads(answer.body)["status"] == 413


def test_content_length_body_over_the_limit_is_413(server):
    data = padded_article(3_000_000)
    answer = post(server, {**JSON, "Content-Length": str(len(data))}, data)
    assert answer.status == 413
    assert json.loads(answer.body)["status"] == 413


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_body_just_under_the_limit_is_read_whole(server, framing):
    data = padded_article(LIMIT - 10)
    if framing == "chunked":
        answer = post(server, {**JSON, "Transfer-Encoding": "chunked"}, chunked(data))
    else:
        answer = post(server, {**JSON, "Content-Length": str(len(data))}, data)
    assert answer.status == 200, answer.body[:300]
    assert b"A minimal article" in answer.body


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_a_stalled_body_is_answered_within_the_timeout(server, framing):
    started = time.monotonic()
    with server.connect(timeout=TIMEOUT + 8) as sock:
        if framing == "chunked":
            sock.sendall(request_head("/v1/render/text", {**JSON, "Transfer-Encoding": "chunked"}))
            sock.sendall(b"400\r\n" + b" " * 10)
        else:
            sock.sendall(request_head("/v1/render/text", {**JSON, "Content-Length": "1000"}))
            sock.sendall(b"{" + b" " * 9)
        answer = read_answer(sock, started)
    assert answer.status == 408
    assert json.loads(answer.body)["status"] == 408
    assert answer.seconds < TIMEOUT + 2


def test_a_dripping_body_is_cut_at_the_deadline(server):
    """One byte every 0.3 s never trips a per-read timeout; the whole body has a deadline."""
    started = time.monotonic()
    with server.connect(timeout=TIMEOUT + 8) as sock:
        sock.sendall(request_head("/v1/render/text", {**JSON, "Content-Length": "1000"}))
        sock.settimeout(0.3)
        answer = None
        while answer is None and time.monotonic() - started < TIMEOUT + 5:
            try:
                sock.sendall(b" ")
                answer = read_answer(sock, started)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        assert answer is not None, "no answer while the body dripped in"
    assert answer.status == 408
    assert answer.seconds < TIMEOUT + 2
