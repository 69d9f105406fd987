"""A real SMTP server for the tests (aiosmtpd), scripted per recipient and per message."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    peer: tuple
    tls: bool
    login: bytes | None


@dataclass
class Recorder:
    """aiosmtpd handler: keeps what it accepts; `rcpt_replies` and `data_replies` refuse."""

    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_replies: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    servers: list = field(default_factory=list)  # the SMTP protocol object of each connection
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if server not in self.servers:
            self.servers.append(server)
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.data_replies:
                return self.data_replies.pop(0)
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    envelope.original_content or b"",
                    session.peer,
                    server.transport.get_extra_info("ssl_object") is not None,
                    getattr(session.auth_data, "login", None),
                )
            )
        return "250 2.0.0 Message accepted"


def authenticator(user: bytes, password: bytes):
    """An aiosmtpd authenticator that accepts one user name and password."""

    def check(server, session, envelope, mechanism, auth_data):
        good = isinstance(auth_data, LoginPassword) and (
            auth_data.login == user and auth_data.password == password
        )
        return AuthResult(success=good, handled=False, auth_data=auth_data if good else None)

    return check


def start(handler: Recorder, **kwargs) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller
