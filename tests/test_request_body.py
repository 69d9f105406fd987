"""Request bodies over a real socket: over the limit is 413 however framed; a stall is 408."""

from __future__ import annotations

import json
import re
import socket
import threading
import time

import pytest

from service.request_body import Watchdog
from service.storage.schema import upgrade

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
    upgrade(app.extensions["broadsheet"].engine)  # the sign-up form's subscribers
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


# The sign-up form is read as a JSON body is: werkzeug's own form reading cut a chunked body
# at the limit and signed up what was left, and waited on a dripping client for ever.

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def form_session(server) -> tuple[str, str]:
    """The form's cookie and CSRF token, as a browser holds them after opening the form."""
    client = server.server.app.test_client()
    page = client.get("/subscribe").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    cookie = client.get_cookie("broadsheet_form")
    assert token is not None
    assert cookie is not None
    return f"broadsheet_form={cookie.value}", token.group(1)


def post_form(server, headers: dict[str, str], body: bytes):
    started = time.monotonic()
    with server.connect(timeout=TIMEOUT + 8) as sock:
        sock.sendall(request_head("/subscribe", {**FORM, **headers}))
        send_quietly(sock, body)
        return read_answer(sock, started)


def sign_up_form(token: str, email: str, padding: int = 0) -> bytes:
    return f"csrf_token={token}&email={email}&name=Ann".encode() + b"&pad=" + b"x" * padding


def test_a_sign_up_form_over_the_limit_is_413_even_in_chunks(server):
    cookie, token = form_session(server)
    data = sign_up_form(token, "big%40example.org", padding=LIMIT + 1000)
    answer = post_form(server, {"Cookie": cookie, "Transfer-Encoding": "chunked"}, chunked(data))
    assert answer.status == 413, answer.body[:300]
    small = sign_up_form(token, "small%40example.org")
    answer = post_form(server, {"Cookie": cookie, "Content-Length": str(len(small))}, small)
    assert answer.status == 200, answer.body[:300]
    assert b"Check your inbox" in answer.body


def test_a_chunked_form_of_too_many_parts_is_413_saying_so(server):
    """Within the size limit, the form is refused for its parts: a chunked body has no
    Content-Length, and the answer said it was larger than the limit."""
    boundary = "b0undary"
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{n}"\r\n\r\nx\r\n'
        for n in range(1500)
    )
    data = (parts + f"--{boundary}--\r\n").encode()
    head = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Transfer-Encoding": "chunked",
    }
    answer = post_form(server, head, chunked(data))
    assert answer.status == 413
    assert json.loads(answer.body)["detail"] == (
        "The form has more parts, or a larger field, than a form may have."
    )


def test_a_stalled_sign_up_form_is_answered_within_the_timeout(server):
    cookie, token = form_session(server)
    data = sign_up_form(token, "slow%40example.org")
    started = time.monotonic()
    with server.connect(timeout=TIMEOUT + 8) as sock:
        head = {**FORM, "Cookie": cookie, "Content-Length": str(len(data))}
        sock.sendall(request_head("/subscribe", head))
        sock.sendall(data[:10])
        answer = read_answer(sock, started)
    assert answer.status == 408
    assert answer.seconds < TIMEOUT + 2


@pytest.mark.parametrize(
    "headers",
    [{"Content-Encoding": "br"}, {"Content-Type": f"{FORM['Content-Type']}; charset=iso-8859-1"}],
)
def test_a_sign_up_form_in_a_coding_or_another_charset_is_415(server, headers):
    cookie, token = form_session(server)
    data = sign_up_form(token, "coded%40example.org")
    answer = post_form(
        server, {"Cookie": cookie, "Content-Length": str(len(data)), **headers}, data
    )
    assert answer.status == 415, answer.body[:300]


# The watchdog on its own, over socket pairs: a read blocked on a silent peer returns when
# its watch fires, a finished watch never fires, and finished watches do not pile up.


def _blocked_read(sock, results):
    def read():
        started = time.monotonic()
        data = sock.recv(1)
        results.append((data, time.monotonic() - started))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def test_the_watchdog_frees_a_blocked_read_at_its_deadline():
    dog = Watchdog()
    here, there = socket.socketpair()
    with here, there:
        results: list = []
        reader = _blocked_read(here, results)
        dog.watch(here, time.monotonic() + 0.3)
        reader.join(3)
        assert results, "the read was never freed"
        data, waited = results[0]
        assert data == b""
        assert 0.25 <= waited <= 0.3 + Watchdog.TICK + 0.3


def test_an_earlier_deadline_wakes_a_watchdog_asleep_on_a_later_one():
    dog = Watchdog()
    late_here, late_there = socket.socketpair()
    early_here, early_there = socket.socketpair()
    with late_here, late_there, early_here, early_there:
        dog.watch(late_here, time.monotonic() + 30)
        time.sleep(0.1)  # the thread is now asleep until the late deadline
        results: list = []
        reader = _blocked_read(early_here, results)
        dog.watch(early_here, time.monotonic() + 0.2)
        reader.join(3)
        assert results
        assert results[0][0] == b""


def test_a_finished_watch_never_fires_and_finished_watches_do_not_pile_up():
    dog = Watchdog()
    dog.COMPACT_FROM = 64
    dog._compact_at = 64
    here, there = socket.socketpair()
    with here, there:
        with dog.watch(here, time.monotonic() + 0.2) as finished:
            pass
        for _ in range(1000):  # a long timeout: none of these is due during the test
            with dog.watch(here, time.monotonic() + 600):
                pass
        assert dog.pending() <= 128
        time.sleep(0.2 + Watchdog.TICK + 0.2)
        assert not finished.fired
        there.sendall(b"x")
        assert here.recv(1) == b"x"  # the read side was never shut
