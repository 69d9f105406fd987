"""SMTP delivery: one connection for many messages, TLS, login, a rate cap, honest outcomes.

SMTP_URL reads `smtp://[user:password@]host[:port][?options]` (STARTTLS when the server
offers it; port 25 by default) or `smtps://…` (TLS from the first byte; port 465). Options:
`starttls=auto|require|never`, `timeout=<seconds>` (30), `rate=<messages per second>`
(no cap), `helo=<name>`. User name and password are percent-decoded.

The reply decides the outcome: 250 is sent; a 4xx reply, a lost connection or a timeout is
temporary; a 5xx reply is permanent, with its code and text. A failure before a message is
offered (greeting, TLS, login; a refused sender, which every message would meet, but for a
552 to its size) is the transport's, not the message's: temporary and not offered, so the
message waits, using up none of its attempts, until the server or the settings are mended.
The login tries one mechanism, the first of PLAIN, LOGIN, CRAM-MD5 the server offers.
A connection lost after the message's data, before its reply, is
unconfirmed: the server may have it, and it is never sent again (a dropped connection is
reopened once only before the data) — unless the server plainly did not take all of it (it
reset the connection, went away with the message's end still unacknowledged, or stalled
before the end was even on the wire): that message is temporary, and sent again, and the
connection is aborted so its queued end never arrives. Each reply
must arrive whole within the timeout (a server sending one line of a long reply at a time
cannot hold a sender past it), and the data within it too. The password never appears in a
repr, a log line or an outcome.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import logging
import re
import smtplib
import socket
import ssl
import struct
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, AnyStr
from urllib.parse import parse_qsl, unquote, urlsplit

from ..characters import fit_for_a_page
from .transport import WITHDRAWN, Delivery, Envelope, Outcome, Transport

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
# The waits (one `?timeout=` each) of opening a connection: connect, greeting, EHLO, HELO
# when EHLO is refused, STARTTLS, EHLO and HELO again, and the login (one mechanism: two).
_OPEN_WAITS = 9
# The waits of one message once the connection is open: MAIL, RCPT, DATA, the data, its reply.
_MESSAGE_WAITS = 5
# The most a message may wait from being taken (its MAIL on the wire) to being recorded (the
# next message's MAIL on the wire): its MAIL and RCPT on a connection that then drops, a new
# connection and the message again, and a new connection for the next one, which may find
# this one's closed (an unconfirmed reply, a 421).
_EXCHANGE_WAITS = 2 + _OPEN_WAITS + _MESSAGE_WAITS + _OPEN_WAITS
_STOP_WAITS = 2 + _OPEN_WAITS + _MESSAGE_WAITS + 1  # the message in hand, then QUIT
# The login's mechanisms, best first; only the first the server offers is tried (smtplib
# would try each in turn, three or four more waits, and a refused password fails them all).
_LOGIN_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5")
STARTTLS_MODES = ("auto", "require", "never")
_ACCEPTS = (
    "SMTP_URL must look like smtp://[user:password@]host[:port][?starttls=auto|require|never"
    "&timeout=seconds&rate=messages-per-second&helo=name] or smtps://…"
)


class BadSmtpUrl(ValueError):
    """SMTP_URL that cannot be used; `reason` is the short why, the message says it all."""

    def __init__(self, reason: str = ""):
        super().__init__(f"{_ACCEPTS}; {reason}" if reason else _ACCEPTS)
        self.reason = reason


_PRINTABLE_ASCII = re.compile(r"[ -~]+")
# What EHLO names (RFC 5321 §4.1.3): a domain, or an address literal such as [192.0.2.1].
_HELO_NAME = re.compile(
    r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?"
    r"|\[(?:[0-9.]{7,15}|IPv6:[0-9A-Fa-f:.]{2,45})\]"
)


@dataclass(frozen=True, slots=True)
class SmtpUrl:
    """SMTP_URL, parsed and checked once; its repr and `redacted` leave the password out."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: str = "auto"
    timeout: float = 30.0
    rate: float | None = None
    helo: str | None = None

    @classmethod
    def parse(cls, url: str) -> SmtpUrl:
        """Parse `url`, or raise BadSmtpUrl saying what SMTP_URL accepts (never echoing it)."""
        try:
            parts = urlsplit(url.strip())
        except ValueError:  # urlsplit's one refusal: an IPv6 address not closed by "]"
            raise BadSmtpUrl("its host is not a valid address ([ without ])") from None
        try:
            port = parts.port
        except ValueError:
            raise BadSmtpUrl("its port is not a number from 1 to 65535") from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise BadSmtpUrl("it needs smtp:// or smtps://")
        if not parts.hostname:
            raise BadSmtpUrl("the host is missing")
        if parts.path not in ("", "/") or parts.fragment:
            raise BadSmtpUrl("it has no path")
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = set(options) - {"starttls", "timeout", "rate", "helo"}
        if unknown:
            raise BadSmtpUrl(f"unknown option {sorted(unknown)[0]!r}")
        starttls = options.get("starttls", "auto")
        if starttls not in STARTTLS_MODES:
            raise BadSmtpUrl("starttls is auto, require or never")
        if scheme == "smtps" and "starttls" in options:
            raise BadSmtpUrl("starttls applies to smtp:// only")
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if password is not None and not username:
            raise BadSmtpUrl("a password needs a user name")
        if not all(_PRINTABLE_ASCII.fullmatch(value) for value in (username, password) if value):
            # smtplib sends AUTH in ASCII only: a "päss" failed every send with a traceback.
            raise BadSmtpUrl("the user name and password must be printable ASCII")
        helo = options.get("helo") or None
        if helo is not None and not _HELO_NAME.fullmatch(helo):
            raise BadSmtpUrl("helo is a host name (mail.example.org) or an address in [ ]")
        if username and starttls == "never" and not _is_loopback(parts.hostname):
            # The transport would refuse every connection (see _open): say so at start.
            raise BadSmtpUrl(
                "with a user and starttls=never it could only log in unencrypted, which "
                "is refused beyond this machine; use starttls=require or smtps://"
            )
        return cls(
            scheme=scheme,
            host=parts.hostname,
            port=port or DEFAULT_PORTS[scheme],
            username=username,
            password=password,
            starttls=starttls,
            timeout=_positive(options.get("timeout", "30"), "timeout", 3600),
            rate=_positive(options["rate"], "rate", 1_000_000) if "rate" in options else None,
            helo=helo,
        )

    @property
    def redacted(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"


def _positive(value: str, name: str, most: float) -> float:
    """A number above 0 and at most `most`, and not too small to be a number of seconds
    (1e-320 would make its reciprocal infinite)."""
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0.001 <= number <= most:
        raise BadSmtpUrl(f"{name} must be a number from 0.001 to {most:g}")
    return number


class _NotSent(Exception):
    """A connection that could not be made ready; carries the outcome to report."""

    def __init__(self, delivery: Delivery):
        super().__init__(delivery.detail)
        self.delivery = delivery


class SmtpTransport(Transport):
    """Sends over one SMTP connection, opened on first use and reopened once if it drops."""

    def __init__(
        self,
        url: SmtpUrl | str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.url = SmtpUrl.parse(url) if isinstance(url, str) else url
        # The waits of _EXCHANGE_WAITS, one timeout each, and the rate cap's before this
        # message and before the next.
        rate_wait = 2.0 / self.url.rate if self.url.rate else 0.0
        self.longest_exchange = timedelta(seconds=_EXCHANGE_WAITS * self.url.timeout + rate_wait)
        # A stop lets the message in hand finish (up to the next one's connection, which is
        # not opened) and says QUIT: what a service manager must wait before it kills.
        self.longest_stop = timedelta(seconds=_STOP_WAITS * self.url.timeout + rate_wait / 2)
        self.ssl_context = ssl_context or ssl.create_default_context()
        # An end without close_notify reads as an end, with no alert of ours queued after
        # it (the queue tells whether the server took the message: see _Connection._lost).
        self.ssl_context.options |= ssl.OP_IGNORE_UNEXPECTED_EOF
        self._clock = clock
        self._sleep = sleep
        self._next_send = 0.0
        self._connection: _Connection | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SmtpTransport({self.url.redacted})"

    def send(self, envelope: Envelope) -> Delivery:
        return self.send_overlapping(envelope, _nothing)

    def send_overlapping(
        self,
        envelope: Envelope,
        meanwhile: Callable[[], None],
        go_ahead: Callable[[], bool] = lambda: True,
    ) -> Delivery:
        gate, later = _Once(go_ahead, False), _Once(meanwhile, None)
        try:
            with self._lock:
                self._keep_rate()
                delivery = self._send(envelope, gate, later)
        finally:
            gate()  # now, if the message never reached its MAIL command
            later()  # now, if it never reached its data
        for error in (gate.error, later.error):
            if error is not None:
                raise error
        if delivery is WITHDRAWN:
            return delivery
        if not delivery.sent:
            logger.warning(
                "Mail to %d recipient(s) via %s: %s",
                len(envelope.recipients),
                self.url.redacted,
                delivery.for_the_log,
            )
        return delivery

    def close(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
            if connection is not None:
                try:
                    connection.quit()
                except (OSError, smtplib.SMTPException):
                    connection.close()

    # One message ---------------------------------------------------------------------

    def _send(self, envelope: Envelope, gate: _Once, meanwhile: _Once) -> Delivery:
        if not all(address.isascii() for address in (envelope.sender, *envelope.recipients)):
            # Addresses enter as checked ASCII (addresses.py); SMTPUTF8 is not spoken.
            return Delivery(Outcome.PERMANENT, None, "an address is not ASCII (needs SMTPUTF8)")
        for attempt in (1, 2):
            try:
                connection = self._connection or self._open()
            except _NotSent as failure:
                return replace(failure.delivery, offered=False)
            self._connection = connection
            connection.gate, connection.meanwhile = gate, meanwhile
            try:
                refused = connection.sendmail(
                    envelope.sender, list(envelope.recipients), envelope.data
                )
            except _Withdrawn:
                try:
                    connection.rset()
                except (OSError, smtplib.SMTPException):
                    self._drop()
                return WITHDRAWN
            except smtplib.SMTPRecipientsRefused as error:
                return _refusal(error.recipients)
            except smtplib.SMTPSenderRefused as error:
                if error.smtp_code == 421:  # the server is closing this connection
                    self._drop()
                if error.smtp_code == 552:
                    # Too large for this server (RFC 1870: MAIL carries the SIZE): the message's.
                    return _reply(error.smtp_code, error.smtp_error)
                # The sender refused (no login, MAIL_FROM not allowed, a full queue, a
                # throttle): every message would be; the transport's, as a refused login is.
                detail = f"the server refused the sender: {_text(error.smtp_error)}"
                return Delivery(Outcome.TEMPORARY, error.smtp_code, detail, offered=False)
            except smtplib.SMTPResponseException as error:
                if error.smtp_code == 421:  # the server is closing this connection
                    self._drop()
                return _reply(error.smtp_code, error.smtp_error)
            except (smtplib.SMTPServerDisconnected, OSError) as error:
                # smtplib reports a reply that timed out as a disconnection.
                self._drop()
                if connection.data_sent and connection.not_taken:
                    detail = f"the server did not take the whole message: {error}"
                    return Delivery(Outcome.TEMPORARY, None, detail)
                if connection.data_sent:
                    detail = f"no reply after the data, so it may have arrived: {error}"
                    return Delivery(Outcome.UNCONFIRMED, None, detail)
                if isinstance(error, TimeoutError | ssl.SSLError):
                    return Delivery(Outcome.TEMPORARY, None, f"connection failed: {error}")
                if attempt == 1:
                    continue  # a connection dropped before the data is reopened once
                return Delivery(Outcome.TEMPORARY, None, f"connection lost: {error}")
            finally:
                connection.gate, connection.meanwhile = _always, _nothing
            refusals = {address: (code, _text(text)) for address, (code, text) in refused.items()}
            return Delivery(Outcome.SENT, 250, "accepted", refusals)
        raise AssertionError("unreachable")  # pragma: no cover

    def _keep_rate(self) -> None:
        if self.url.rate is None:
            return
        now = self._clock()
        if self._next_send > now:
            self._sleep(self._next_send - now)
            now = self._next_send
        self._next_send = now + 1.0 / self.url.rate

    # The connection -----------------------------------------------------------------

    def _open(self) -> _Connection:
        url = self.url
        connection: _Connection | None = None
        try:
            if url.scheme == "smtps":
                connection = _SslConnection(
                    url.host,
                    url.port,
                    local_hostname=url.helo,
                    timeout=url.timeout,
                    context=self.ssl_context,
                )
            else:
                connection = _Connection(
                    url.host, url.port, local_hostname=url.helo, timeout=url.timeout
                )
            _greet(connection)
            encrypted = url.scheme == "smtps"
            if url.starttls != "never" and not encrypted:
                if connection.has_extn("starttls"):
                    connection.starttls(context=self.ssl_context)
                    _greet(connection)
                    encrypted = True
                elif url.starttls == "require":
                    raise _NotSent(
                        Delivery(
                            Outcome.TEMPORARY,
                            None,
                            "the server does not offer STARTTLS, which SMTP_URL requires",
                        )
                    )
            if url.username:
                if not encrypted and not _is_loopback(url.host):
                    raise _NotSent(
                        Delivery(
                            Outcome.TEMPORARY,
                            None,
                            "refused to send the SMTP password over an unencrypted connection",
                        )
                    )
                connection.login(url.username, url.password or "")
            return connection
        except _NotSent:
            _discard(connection)
            raise
        except smtplib.SMTPResponseException as error:
            _discard(connection)
            raise _NotSent(
                Delivery(Outcome.TEMPORARY, error.smtp_code, _text(error.smtp_error))
            ) from None
        except (OSError, smtplib.SMTPException) as error:
            _discard(connection)
            raise _NotSent(
                Delivery(Outcome.TEMPORARY, None, f"could not connect: {error}")
            ) from None

    def _drop(self) -> None:
        _discard(self._connection)
        self._connection = None


def _nothing() -> None:
    pass


def _always() -> bool:
    return True


class _Once:
    """Calls its function on the first call only and keeps its answer, or the error it
    raised (for later, so that an error never leaves a reply unread on the connection)."""

    def __init__(self, function: Callable[[], Any], failed: Any):
        self._function: Callable[[], Any] | None = function
        self._failed = failed
        self.answer: Any = None
        self.error: Exception | None = None

    def __call__(self) -> Any:
        function, self._function = self._function, None
        if function is not None:
            try:
                self.answer = function()
            except Exception as error:
                self.error, self.answer = error, self._failed
        return self.answer


class _Withdrawn(Exception):
    """The sender's go-ahead said no: the message's data must not go."""


class _Connection(smtplib.SMTP):
    """smtplib's client, with two waits put to use: `gate` is asked while the MAIL command
    is on the wire (its answer decides whether the data goes), and `meanwhile` is called
    between the message's last byte and its reply."""

    def __init__(self, *args: Any, **kwargs: Any):
        self.gate: Callable[[], bool] = _always
        self.meanwhile: Callable[[], None] = _nothing
        self._on_reply: Callable[[], Any] | None = None
        self.data_sent = False  # the message's data went: it must not be sent again
        self.not_taken = False  # …but the server plainly did not take all of it
        self._inbox = bytearray()  # what the server sent that no reply has read yet
        super().__init__(*args, **kwargs)

    def mail(self, sender: str, options: Any = ()) -> tuple[int, bytes]:
        self.data_sent = False
        self.not_taken = False
        self._on_reply = self.gate
        try:
            return super().mail(sender, options)
        finally:
            self._on_reply = None

    def login(self, user: str, password: str, *, initial_response_ok: bool = True) -> Any:
        """smtplib's login with the first of _LOGIN_MECHANISMS the server offers alone."""
        offered = self.esmtp_features.get("auth", "").upper().split()
        chosen = next((name for name in _LOGIN_MECHANISMS if name in offered), None)
        if chosen is not None:
            self.esmtp_features["auth"] = chosen
        return super().login(user, password, initial_response_ok=initial_response_ok)

    def getreply(self) -> tuple[int, bytes]:
        hook, self._on_reply = self._on_reply, None
        if hook is not None:
            hook()  # the command is sent; its reply is on its way
        return self._reply_within(self.timeout)

    def _reply_within(self, seconds: float) -> tuple[int, bytes]:
        """smtplib's getreply, with the whole reply due within `seconds`: smtplib's timeout
        is per read, and a server sending a line of a long reply every so often held a
        sender past its lease (another sender then sent the message again)."""
        deadline = time.monotonic() + seconds
        lines: list[bytes] = []
        kept = 0  # bytes of reply text kept: the rest is read, to stay in step, and dropped
        sock = self.sock
        if sock is None:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        try:
            while True:
                try:
                    line = self._line_by(sock, deadline, seconds)
                except OSError as error:
                    self._lost(error)
                    raise smtplib.SMTPServerDisconnected(
                        f"Connection unexpectedly closed: {error}"
                    ) from error
                if not line:
                    self._lost(None)
                    raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
                if len(line) > smtplib._MAXLINE:  # type: ignore[attr-defined]
                    self.close()
                    raise smtplib.SMTPResponseException(500, b"Line too long.")
                if kept < REPLY_KEPT:
                    text = word_cut(line[4:].strip(b" \t\r\n"), REPLY_KEPT - kept)
                    lines.append(text)
                    kept += len(text) + 1
                try:
                    code = int(line[:3])
                except ValueError:
                    code = -1
                    break
                if line[3:4] != b"-":
                    break
        finally:
            if self.sock is not None:
                self.sock.settimeout(self.timeout)
        return code, b"\n".join(lines)

    def _line_by(self, sock: socket.socket, deadline: float, seconds: float) -> bytes:
        """The next reply line (through its LF; at most _MAXLINE + 1 bytes), b"" at the
        server's end, or TimeoutError once `deadline` passes: each read waits only what is
        left, so a line sent a byte at a time cannot outlast it (a buffered readline waits
        the whole timeout for each byte)."""
        limit = smtplib._MAXLINE + 1  # type: ignore[attr-defined]
        while True:
            end = self._inbox.find(b"\n", 0, limit)
            if end >= 0 or len(self._inbox) >= limit:
                size = end + 1 if end >= 0 else limit
                line = bytes(self._inbox[:size])
                del self._inbox[:size]
                return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no whole reply within {seconds:g} s")
            sock.settimeout(remaining)
            chunk = sock.recv(4096)
            if not chunk:
                self._inbox.clear()  # a line the server never finished is no reply
                return b""
            self._inbox += chunk

    def starttls(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        reply = super().starttls(*args, **kwargs)
        # Whatever came in the clear after the 220 is not the encrypted server's (RFC 3207
        # §5: a command injected before TLS must not be taken as an answer after it).
        self._inbox.clear()
        return reply

    def close(self) -> None:
        self._inbox.clear()
        super().close()

    def _lost(self, error: OSError | None) -> None:
        """The connection is gone or stalled: say whether the server plainly did not take
        the whole message (only then may it be sent again), then close it.

        - A stall says so only while the message's end is not yet on the wire; all of it
          sent once, what is in flight may still be taken whole (RFC 5321 §4.5.3.2.6: no
          resend after the dot).
        - A reset says so (a peer resets for data it never read; TLS reads one as an end).
        - The server's end says so with the message's end still unacknowledged: a closed
          socket reads nothing more. (OpenSSL would queue an alert of its own on that end
          and draw a reset; the transport's TLS context is told not to.)

        A message not taken is aborted (a reset: the kernel drops what it had not sent),
        so the end never arrives, even at a server that only half-closed."""
        sock = self.sock
        if self.data_sent and sock is not None:
            if isinstance(error, TimeoutError):
                self.not_taken = _not_yet_sent(sock) > 0
            elif isinstance(error, ConnectionResetError | BrokenPipeError):
                self.not_taken = True
            else:
                self.not_taken = _pending_error(sock) or _unacknowledged(sock) > 0
            if self.not_taken:
                _abort(sock)
        self.close()

    def data(self, msg: Any) -> tuple[int, bytes]:
        if not self.gate():
            raise _Withdrawn
        if not isinstance(msg, bytes):
            return super().data(msg)
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            # The transaction is still open: without RSET the next message's MAIL would be
            # refused as nested (503), a permanent failure of an innocent reader's mail
            # (RFC 5321 §4.1.4). smtplib's sendmail resets only after a refused message.
            if code == 421:
                self.close()
            else:
                try:
                    self.rset()
                except smtplib.SMTPServerDisconnected:
                    pass  # gone: the next message opens a new connection
            raise smtplib.SMTPDataError(code, reply)
        quoted = re.sub(rb"(?m)^\.", b"..", msg)  # a line's leading dot doubled (RFC 5321)
        if not quoted.endswith(b"\r\n"):
            quoted += b"\r\n"
        self.send(quoted + b".\r\n")
        self.data_sent = True  # all of it, with its final dot: the server may now deliver it
        self.meanwhile()
        return self.getreply()


# Linux's SIOCOUTNSQ: bytes in the send queue never yet put on the wire.
_SIOCOUTNSQ = 0x894B


def _not_yet_sent(sock: socket.socket) -> int:
    return _queued(sock, _SIOCOUTNSQ)


def _abort(sock: socket.socket) -> None:
    """Close with a reset: the kernel drops what it had not sent, so it never arrives."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _unacknowledged(sock: socket.socket) -> int:
    """Bytes sent that the server's side has not acknowledged (Linux's SIOCOUTQ)."""
    return _queued(sock, termios.TIOCOUTQ)


def _queued(sock: socket.socket, request: int) -> int:
    """A count of the send queue's bytes the kernel gives, or 0 where it gives none."""
    try:
        raw = fcntl.ioctl(sock.fileno(), request, b"\0\0\0\0")
    except (OSError, ValueError):
        return 0
    return int(struct.unpack("i", raw)[0])


def _pending_error(sock: socket.socket) -> bool:
    """Whether the server reset the connection (a reset is what a peer sends for data it
    never read) though the read that found it gone saw only its end."""
    try:
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    except OSError:
        return False
    return code != 0


def _greet(connection: smtplib.SMTP) -> None:
    """EHLO, or HELO from a server that refuses EHLO (RFC 5321 §3.2): smtplib remembers the
    refusal as a greeting and would never say HELO, so every MAIL would be refused (503)."""
    code, _ = connection.ehlo()
    if 200 <= code < 300:
        return
    code, reply = connection.helo()
    if not 200 <= code < 300:
        detail = f"the server refused both EHLO and HELO: {_text(reply)}"
        raise _NotSent(Delivery(Outcome.TEMPORARY, code, detail))


class _SslConnection(_Connection, smtplib.SMTP_SSL):
    """The same, over TLS from the first byte (smtps)."""


def _discard(connection: smtplib.SMTP | None) -> None:
    if connection is not None:
        connection.close()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# What is kept of a server's reply (its first lines): a reply of any number of 8 KB lines
# was kept whole, 1.2 GB for one of 40,000, then scanned for addresses to mask in the log.
REPLY_KEPT = 2000


def _text(reply: bytes | str) -> str:
    """A server's reply text as one line, each control character in it U+FFFD: a NUL, which
    no PostgreSQL text holds, failed the reply's record, and the sender with it; the message
    went out again at each lease's end, for ever. At most REPLY_KEPT characters."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return fit_for_a_page(" ".join(word_cut(text, REPLY_KEPT).split()))


def word_cut(text: AnyStr, limit: int) -> AnyStr:
    """At most `limit` of `text`, cut before the word the limit falls in rather than inside
    it: a cut address ("Refused for <jane.doe.s") kept no @ to be masked by in the log."""
    if len(text) <= limit or text[limit : limit + 1].isspace():
        return text[:limit]
    head = text[:limit]
    if head[-1:].isspace():
        return head
    words = head.rsplit(maxsplit=1)
    return words[0] if len(words) == 2 else head[:0]


def _reply(code: int, text: bytes | str) -> Delivery:
    outcome = Outcome.PERMANENT if 500 <= code < 600 else Outcome.TEMPORARY
    return Delivery(outcome, code, _text(text))


def _refusal(recipients: dict) -> Delivery:
    """Every recipient refused: permanent only when every refusal was permanent."""
    replies = [_reply(code, text) for code, text in recipients.values()]
    worst = next((r for r in replies if r.outcome is Outcome.TEMPORARY), replies[0])
    refused = {address: (code, _text(text)) for address, (code, text) in recipients.items()}
    return Delivery(worst.outcome, worst.code, worst.detail, refused)
