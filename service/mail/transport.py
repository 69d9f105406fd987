"""How mail leaves: one interface, whatever carries the message.

`send(envelope)` answers with a `Delivery` and never raises for a refused or undelivered
message: the outcome says whether it went, may be tried again later, or never will. A
transport holds what it needs open (an SMTP connection) until `close()` or the end of a
`with` block, so a digest run sends many messages over one connection.
"""

from __future__ import annotations

import enum
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from ..addresses import Mailbox, checked_address
from ..messages import DkimSigner, serialise

if TYPE_CHECKING:
    import ssl


class Outcome(enum.StrEnum):
    SENT = "sent"
    TEMPORARY = "temporary"  # not sent; try again later (4xx, lost connection, timeout)
    PERMANENT = "permanent"  # refused for good (5xx); do not send it again
    # The data went but its reply never came: it may well have arrived, and sending it
    # again could deliver it twice, so it counts as sent, with this said in the record.
    UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one message: the outcome and the server's reply code and text."""

    outcome: Outcome
    code: int | None = None
    detail: str = ""
    # Recipients refused while others were accepted: address → (code, text).
    refused: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    # False when the message never reached a server (no connection, TLS or login; a full
    # disk): the transport's failure, not the message's, so it uses up none of its attempts.
    offered: bool = True

    @property
    def sent(self) -> bool:
        return self.outcome is Outcome.SENT

    @property
    def gone(self) -> bool:
        """Sent, or possibly sent: never to be sent again."""
        return self.outcome in (Outcome.SENT, Outcome.UNCONFIRMED)

    @property
    def no_such_mailbox(self) -> bool:
        """Refused for good because the address does not exist, as its server says in an
        enhanced status code (RFC 3463): 5.1.1 no such mailbox, 5.1.2 no such domain, 5.1.3
        not an address, 5.1.6 moved, 5.1.10 a domain that takes no mail (RFC 7505). A bare
        550, or a refusal of policy (5.7.x), says nothing of the address."""
        return self.outcome is Outcome.PERMANENT and bool(_NO_SUCH_MAILBOX.match(self.detail))

    def __str__(self) -> str:
        code = f" {self.code}" if self.code is not None else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.outcome}{code}{detail}"

    @property
    def for_the_log(self) -> str:
        """As str(), with any e-mail address in the server's words masked: servers name the
        recipient they refuse ("550 5.1.1 <reader@example.org>: …"), and the log names
        subscribers and outbox rows by id, never by address."""
        return without_addresses(str(self))


_NO_SUCH_MAILBOX = re.compile(r"5\.1\.(?:1|2|3|6|10)(?![0-9.])")

# A local part of any atext (RFC 5322: letters, digits and !#$%&'*+-/=?^_`{|}~, dots
# between), or quoted; then a domain or an address literal.
# Each part bounded, as RFC 5321 bounds them (a local part of 64 octets, a domain of 255):
# unbounded, a run of 8,000 characters without an @ was tried from each of its characters to
# its end, 1.5 s of a web process's CPU (GIL held) for one line of a server's reply.
_ADDRESS = re.compile(
    r"(?:\"[^\"\r\n]{0,64}\"|[^\s<>\"(),;:@\[\]]{1,64})"  # a local part: atext, or quoted
    r"@(?:\[[^\]\s]{0,255}\]|[^\s<>\"'(),;@\[\]]{1,255})"  # a domain, or an address literal
)


def without_addresses(text: str) -> str:
    return _ADDRESS.sub("[an address]", text)


@dataclass(frozen=True, slots=True)
class Envelope:
    """A message as it goes on the wire: envelope sender and recipients, and its bytes."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes

    @classmethod
    def of(
        cls,
        message: EmailMessage,
        *,
        sender: Mailbox | str,
        recipients: Iterable[Mailbox | str],
        signer: DkimSigner | None = None,
    ) -> Envelope:
        """`message` serialised (DKIM-signed when a signer is given) with its envelope.

        The addresses are given, never read back out of the headers' display text; text
        addresses are checked here as a Mailbox's are (BadAddress).
        """
        to = tuple(_address(recipient) for recipient in recipients)
        if not to:
            raise ValueError("a message needs at least one recipient")
        return cls(_address(sender), to, serialise(message, signer))


# What `send_overlapping` answers when `go_ahead` said no: nothing of the message was sent.
WITHDRAWN = Delivery(Outcome.TEMPORARY, None, "withdrawn before its data was sent")


def _address(who: Mailbox | str) -> str:
    return who.address if isinstance(who, Mailbox) else checked_address(who)


class Transport(ABC):
    """Carries messages away; use as a context manager, or call `close()`."""

    # The longest one message may take, from its MAIL command to the next message's (its
    # replies, a rate-cap wait, a reconnection): a sender's lease on a message is never
    # shorter, or a live sender's message could be taken over and sent twice.
    longest_exchange: timedelta = timedelta(0)

    @abstractmethod
    def send(self, envelope: Envelope) -> Delivery:
        """Hand one message on and say what became of it."""

    def send_overlapping(
        self,
        envelope: Envelope,
        meanwhile: Callable[[], None],
        go_ahead: Callable[[], bool] = lambda: True,
    ) -> Delivery:
        """`send`, asking `go_ahead` once before the message's data goes (a false answer
        withdraws it unsent) and calling `meanwhile` once while it is on its way.

        A transport that waits on replies (SMTP) asks while its MAIL command is on the wire
        and calls `meanwhile` while the server takes the data, so a sender can do its own
        work in those waits; this one asks first and calls `meanwhile` after.
        """
        if not go_ahead():
            meanwhile()
            return WITHDRAWN
        delivery = self.send(envelope)
        meanwhile()
        return delivery

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


class MemoryTransport(Transport):
    """Keeps every message in `sent`, for tests; `refuse` scripts outcomes by recipient."""

    def __init__(self, refuse: Mapping[str, Delivery] | None = None):
        self.refuse = dict(refuse or {})
        self.sent: list[Envelope] = []
        self.closed = False

    def send(self, envelope: Envelope) -> Delivery:
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


class NoMailServer(Transport):
    """Production with no SMTP_URL: every message waits (the server is "away"), said in its
    reply, rather than go to a Maildir no reader's mail comes from, recorded as sent."""

    REPLY = (
        "BROADSHEET_SMTP_URL is unset: in production no mail is written to the Maildir "
        "outbox, where no reader gets it; it waits until SMTP_URL is set"
    )

    def send(self, envelope: Envelope) -> Delivery:
        return Delivery(Outcome.TEMPORARY, None, self.REPLY, offered=False)


def open_transport(
    smtp_url: str | None,
    instance_path: str | Path,
    *,
    ssl_context: ssl.SSLContext | None = None,
    production: bool = False,
) -> Transport:
    """SMTP when SMTP_URL is set, else the Maildir outbox in the instance folder (the default
    outside production; in production, NoMailServer).

    Raises ValueError, naming SMTP_URL and what it accepts, when the URL is malformed.
    """
    from .maildir import MaildirTransport
    from .smtp import SmtpTransport, SmtpUrl

    if smtp_url:
        return SmtpTransport(SmtpUrl.parse(smtp_url), ssl_context=ssl_context)
    if production:
        return NoMailServer()
    return MaildirTransport(Path(instance_path) / "outbox")
