"""How mail leaves: one interface, whatever carries the message.

`send(message)` answers with a `Delivery` and never raises for a refused or undelivered
message: the outcome says whether it went, may be tried again later, or never will. A
transport holds what it needs open (an SMTP connection) until `close()` or the end of a
`with` block, so a digest run sends many messages over one connection.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from ..messages import DkimSigner, serialise

if TYPE_CHECKING:
    import ssl


class Outcome(enum.StrEnum):
    SENT = "sent"
    TEMPORARY = "temporary"  # not sent; try again later (4xx, lost connection, timeout)
    PERMANENT = "permanent"  # refused for good (5xx); do not send it again


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one message: the outcome and the server's reply code and text."""

    outcome: Outcome
    code: int | None = None
    detail: str = ""
    # Recipients refused while others were accepted: address → (code, text).
    refused: Mapping[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def sent(self) -> bool:
        return self.outcome is Outcome.SENT

    def __str__(self) -> str:
        code = f" {self.code}" if self.code is not None else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.outcome}{code}{detail}"


@dataclass(frozen=True, slots=True)
class Envelope:
    """A message as it goes on the wire: envelope sender and recipients, and its bytes."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes

    @classmethod
    def of(cls, message: EmailMessage, signer: DkimSigner | None = None) -> Envelope:
        """Serialise `message` (DKIM-signed when a signer is given); addresses from its headers.

        The addresses are read from the headers' parsed form, never from display text.
        """
        senders = _addresses(message, "From")
        if len(senders) != 1:
            raise ValueError("a message needs exactly one From address")
        recipients = tuple(
            address for name in ("To", "Cc", "Bcc") for address in _addresses(message, name)
        )
        if not recipients:
            raise ValueError("a message needs at least one recipient")
        return cls(senders[0], recipients, serialise(message, signer))


def _addresses(message: EmailMessage, name: str) -> list[str]:
    return [
        address.addr_spec
        for header in message.get_all(name, [])
        for address in getattr(header, "addresses", ())
    ]


class Transport(ABC):
    """Carries messages away; use as a context manager, or call `close()`."""

    @abstractmethod
    def send(self, message: EmailMessage | Envelope) -> Delivery:
        """Hand one message on and say what became of it."""

    def close(self) -> None:  # noqa: B027 - most transports hold nothing open
        """Let go of anything held open; the transport may be used again afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def envelope_of(message: EmailMessage | Envelope) -> Envelope:
    return message if isinstance(message, Envelope) else Envelope.of(message)


class MemoryTransport(Transport):
    """Keeps every message in `sent`, for tests; `refuse` scripts outcomes by recipient."""

    def __init__(self, refuse: Mapping[str, Delivery] | None = None):
        self.refuse = dict(refuse or {})
        self.sent: list[Envelope] = []
        self.closed = False

    def send(self, message: EmailMessage | Envelope) -> Delivery:
        envelope = envelope_of(message)
        self.closed = False
        for recipient in envelope.recipients:
            if recipient in self.refuse:
                return self.refuse[recipient]
        self.sent.append(envelope)
        return Delivery(Outcome.SENT, 250, "kept in memory")

    def close(self) -> None:
        self.closed = True

    def __repr__(self) -> str:
        return f"MemoryTransport({len(self.sent)} sent)"


def open_transport(
    smtp_url: str | None,
    instance_path: str | Path,
    *,
    ssl_context: ssl.SSLContext | None = None,
) -> Transport:
    """SMTP when SMTP_URL is set, else the Maildir outbox in the instance folder (the default).

    Raises ValueError, naming SMTP_URL and what it accepts, when the URL is malformed.
    """
    from .maildir import MaildirTransport
    from .smtp import SmtpTransport, SmtpUrl

    if smtp_url:
        return SmtpTransport(SmtpUrl.parse(smtp_url), ssl_context=ssl_context)
    return MaildirTransport(Path(instance_path) / "outbox")
