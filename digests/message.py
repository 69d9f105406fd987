"""One recipient's copy of the digest: personalised parts, list headers, a stable Message-ID.

The message is built once per run with `build_message`, with stand-ins where recipients
differ (To, Date, Message-ID, the unsubscribe URL), and serialised. Each copy is then that
serialisation with the stand-ins swapped for the recipient's own values: no MIME building
or quoted-printable encoding per recipient, which would cost more than the SMTP exchange.
In the quoted-printable bodies the URL is set on lines of its own joined by soft line
breaks, so the decoded text is exactly what `build_message` would have produced.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from email.utils import format_datetime
from functools import cached_property
from urllib.parse import urlsplit

from service.addresses import Mailbox
from service.email_renderer import EmailBody
from service.messages import (
    LINE_LENGTH,
    DkimSigner,
    ListHeaders,
    build_message,
    mailbox_header,
    serialise,
)
from service.settings import Settings, is_ip_address
from service.tokens import TokenSigner

_STAND_IN_TO = "recipient@example.com"
_STAND_IN_ID = "<stand-in.message-id@example.com>"
_STAND_IN_DATE = datetime(2000, 1, 1, tzinfo=UTC)
_PERSONAL = ("to", "date", "message-id", "list-unsubscribe")
_URL = re.compile(r"https://[!-~]+")
_QP_LINE = 74  # characters of URL per line, plus "=" for the soft break: within RFC 2045's 76


def digest_message_id(day: date, subscriber_id: int, domain: str, tag: str, run: str) -> str:
    """The same for every attempt at one subscriber's digest of one date, so a copy sent
    twice (a sender killed before it could record the reply) is recognisably one message;
    `tag` (Settings.message_id_tag) keeps it apart from another installation's, and `run`
    (run_tag) from another run of the same date, after a database rebuilt from nothing,
    whose subscriber numbers name other people."""
    return f"<digest.{day:%Y%m%d}.{subscriber_id}.{tag}.{run}@{domain}>"


def run_tag(body: EmailBody) -> str:
    """Eight hex digits naming one run: from its unsubscribe marker, random for each run and
    the same for every sender of it."""
    return hashlib.sha256(body.marker.encode()).hexdigest()[:8]


def list_headers(settings: Settings, url: str, mailto: str | None) -> ListHeaders:
    """List-Id digest.<host of BASE_URL>, named after the publisher, and how to leave.

    A List-Id is a dotted name (RFC 2919): a host written with its root dot loses it, and a
    host that is an IP address gives way to the domain of MAIL_FROM."""
    host = (urlsplit(settings.base_url).hostname or "localhost").rstrip(".")
    if is_ip_address(host):
        host = settings.mail_from.address.rpartition("@")[2].rstrip(".")
    if "." not in host:
        host += ".localdomain"
    list_id = f"digest.{host}"
    if not _DOTTED.fullmatch(list_id):  # a domain literal, say, or one not in its xn-- form
        list_id = "digest.localdomain"
    return ListHeaders(list_id, url, mailto, f"{settings.publisher_name} digest")


_DOTTED = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+")


def unsendable_because(settings: Settings) -> str | None:
    """Why no digest can be written with these settings, or None: the one-click unsubscribe
    link (RFC 8058) every copy carries must be https, in printable ASCII."""
    if not _URL.fullmatch(settings.base_url + "/unsubscribe/x"):
        return (
            f"BROADSHEET_BASE_URL is {settings.base_url!r}: a digest's one-click unsubscribe "
            "link (RFC 8058) must be https and printable ASCII (an internationalised host as "
            "its xn-- form), so no digest is sent until it is"
        )
    return None


def list_mail_warnings(settings: Settings) -> list[str]:
    """What the digests go out without that list mail is asked to have."""
    warnings = []
    if not settings.publisher_address.strip():
        warnings.append(
            "BROADSHEET_PUBLISHER_ADDRESS is empty: digests go out without a postal address, "
            "which CAN-SPAM and most mail providers ask of list mail"
        )
    if not settings.dkim_selector:
        # RFC 8058 §4: one-click needs a DKIM signature covering both List-Unsubscribe
        # headers; the mail server may sign on its way out, which this process cannot see.
        warnings.append(
            "no DKIM key is set (BROADSHEET_DKIM_*): digests offer one-click unsubscribe, "
            "which a receiver honours only with a DKIM signature covering List-Unsubscribe "
            "and List-Unsubscribe-Post (RFC 8058); unless the mail server signs them, set one"
        )
    return warnings


def unsubscribe_url(
    settings: Settings, signer: TokenSigner, subscriber_id: int, created_at: datetime
) -> str:
    return f"{settings.base_url}/unsubscribe/{signer.unsubscribe(subscriber_id, created_at)}"


def _soft_broken(text: str) -> re.Pattern[bytes]:
    """`text` as it may stand in a quoted-printable body: a soft break between any two bytes."""
    return re.compile(b"(?:=\r\n)?".join(re.escape(bytes([c])) for c in text.encode("ascii")))


def _header_lines(head: bytes) -> list[bytes]:
    """The header block as one entry per header, continuation lines kept with their header."""
    lines: list[bytes] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and lines:
            lines[-1] += b"\r\n" + line
        else:
            lines.append(line)
    return lines


def to_header(name: str | None, address: str) -> bytes:
    """The To header line exactly as build_message writes it. The address was checked when
    its subscriber signed up; here it need only be one printable token, with nothing in it
    that could end the header or the mailbox."""
    if "<" in address or ">" in address or "@" not in address:
        raise ValueError(f"not a mailable address: {address!r}")
    return b"To: " + mailbox_header("To", name or "", address).encode("ascii")


class DigestTemplate:
    """A run's message, serialised once, from which each recipient's copy is cut."""

    def __init__(self, body: EmailBody, *, sender: Mailbox, lists: ListHeaders):
        self.mailto = lists.unsubscribe_mailto
        self.run = run_tag(body)
        message = build_message(
            sender=sender,
            to=("", _STAND_IN_TO),
            subject=body.subject,
            text=body.text,
            html=body.html,
            date=_STAND_IN_DATE,
            message_id=_STAND_IN_ID,
            list_headers=replace(lists, unsubscribe_url=body.marker),
        )
        head, _, rest = serialise(message).partition(b"\r\n\r\n")
        self.headers = _header_lines(head)
        self.slots = {
            name: next(
                i
                for i, line in enumerate(self.headers)
                if line.lower().startswith(name.encode() + b":")
            )
            for name in _PERSONAL
        }
        if not _URL.fullmatch(body.marker):
            raise ValueError("the digest has no unsubscribe marker to personalise")
        self.pieces = _soft_broken(body.marker).split(rest)
        expected = body.text.count(body.marker) + body.html.count(body.marker)
        if len(self.pieces) - 1 != expected:
            raise ValueError("the unsubscribe stand-in was encoded where it cannot be replaced")

    def render(
        self,
        *,
        name: str | None,
        address: str,
        when: datetime,
        message_id: str,
        unsubscribe_url: str,
    ) -> bytes:
        if not _URL.fullmatch(unsubscribe_url):
            raise ValueError("the unsubscribe URL must be https and printable ASCII")
        headers = list(self.headers)
        headers[self.slots["to"]] = to_header(name, address)
        headers[self.slots["date"]] = b"Date: " + format_datetime(when).encode()
        headers[self.slots["message-id"]] = b"Message-ID: " + message_id.encode("ascii")
        targets = f"<{unsubscribe_url}>"
        if self.mailto:
            mailto = f"<mailto:{self.mailto}>"
            fits = len("List-Unsubscribe: ") + len(targets) + 2 + len(mailto) <= LINE_LENGTH
            targets += (", " if fits else ",\r\n ") + mailto
        headers[self.slots["list-unsubscribe"]] = b"List-Unsubscribe: " + targets.encode()
        url = unsubscribe_url.encode("ascii")
        lines = [url[i : i + _QP_LINE] for i in range(0, len(url), _QP_LINE)]
        # "=" ends the line before, so the URL starts a line; each URL line ends softly too.
        inset = b"=\r\n" + b"=\r\n".join(lines) + b"=\r\n"
        return b"\r\n".join(headers) + b"\r\n\r\n" + inset.join(self.pieces)


@dataclass(frozen=True)
class DigestComposer:
    """Builds each recipient's message from the run's rendered digest."""

    settings: Settings
    signer: TokenSigner
    dkim: DkimSigner | None = None
    unsubscribe_mailto: str | None = None

    @property
    def sender(self) -> Mailbox:
        return self.settings.mail_from

    @property
    def sender_address(self) -> str:
        return self.sender.address

    @cached_property
    def _message_id_parts(self) -> tuple[str, str]:
        """The mail domain and the installation's tag, the same in every copy: made once."""
        domain = self.sender_address.rpartition("@")[2] or "localhost"
        return domain, self.settings.message_id_tag

    def template(self, body: EmailBody) -> DigestTemplate:
        return DigestTemplate(
            body,
            sender=self.sender,
            lists=list_headers(self.settings, body.marker, self.unsubscribe_mailto),
        )

    def compose(
        self,
        template: DigestTemplate,
        day: date,
        *,
        subscriber_id: int,
        created_at: datetime,
        email: str,
        name: str | None,
        now: datetime,
    ) -> bytes:
        domain, tag = self._message_id_parts
        data = template.render(
            name=name,
            address=email,
            when=now,
            message_id=digest_message_id(day, subscriber_id, domain, tag, template.run),
            unsubscribe_url=unsubscribe_url(self.settings, self.signer, subscriber_id, created_at),
        )
        return self.dkim.sign(data) if self.dkim else data
