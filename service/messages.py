"""The one message builder for every mail Broadsheet sends: MIME parts, headers, DKIM.

multipart/alternative with the plain text first and the HTML second. Every header value
built from article or subscriber text is made one line with no RFC 2047 encoded-word in
it: Python's email package (before the CVE-2024-6923 fix) decodes an encoded-word such as
`=?utf-8?q?=0D=0ABcc:_x?=` and writes the CR/LF it holds back out, starting a new header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import dkim

from .addresses import Mailbox, checked_address

# Controls, and what str.splitlines() (and so the email package) takes for a line break.
_LINE_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_LONE_SURROGATES = re.compile("[\ud800-\udfff]")
# "=?" opens every encoded-word; a word joiner between the two keeps the text as it reads.
_ENCODED_WORD_START = "=?"
_ENCODED_WORD_BROKEN = "=\u2060?"
_MACHINE_VALUE = re.compile(r"[!-~]+")
# 76, not 78: the quoted-printable bodies are folded to this length too (RFC 2045 §6.7).
SMTP_POLICY = policy.SMTP.clone(max_line_length=76)
SIGNED_HEADERS = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"MIME-Version",
    b"Content-Type",
    b"List-Id",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
)


def header_text(value: str) -> str:
    """Text for a header (subject, display name, list name): one line, no encoded-word."""
    line = " ".join(_LINE_BREAKS.sub(" ", _LONE_SURROGATES.sub("\ufffd", value)).split())
    return line.replace(_ENCODED_WORD_START, _ENCODED_WORD_BROKEN)


def _machine_value(value: str, what: str) -> str:
    """A URL, address or id for a header: printable ASCII with no space and no encoded-word."""
    if not _MACHINE_VALUE.fullmatch(value) or _ENCODED_WORD_START in value:
        raise ValueError(f"{what} must be printable ASCII without spaces or '=?': {value!r}")
    return value


def _as_mailbox(value: Mailbox | tuple[str, str]) -> Mailbox:
    return value if isinstance(value, Mailbox) else Mailbox(*value)


def _address_header(mailbox: Mailbox) -> Address:
    return Address(display_name=header_text(mailbox.name), addr_spec=mailbox.address)


@dataclass(frozen=True, slots=True)
class ListHeaders:
    """What makes a message a list message: its id and how to leave it (RFC 2369, 8058)."""

    list_id: str
    unsubscribe_url: str
    unsubscribe_mailto: str | None = None


def build_message(
    *,
    sender: Mailbox | tuple[str, str],
    to: Mailbox | tuple[str, str],
    subject: str,
    text: str,
    html: str,
    date: datetime | None = None,
    message_id: str | None = None,
    list_headers: ListHeaders | None = None,
) -> EmailMessage:
    """A message from `sender` to `to`, each a Mailbox or a (name, address) pair.

    Raises BadAddress for an address that cannot be used, ValueError for a bad URL or id.
    """
    from_box, to_box = _as_mailbox(sender), _as_mailbox(to)
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = _address_header(from_box)
    message["To"] = _address_header(to_box)
    message["Subject"] = header_text(subject)
    message["Date"] = format_datetime(date or datetime.now(UTC))
    if message_id:
        message["Message-ID"] = _machine_value(message_id, "a Message-ID")
    else:
        message["Message-ID"] = make_msgid(domain=from_box.address.rpartition("@")[2])
    if list_headers is not None:
        url = _machine_value(list_headers.unsubscribe_url, "the List-Unsubscribe URL")
        if not url.startswith("https://"):
            raise ValueError("List-Unsubscribe needs an https URL (RFC 8058)")
        message["List-Id"] = header_text(list_headers.list_id)
        targets = [f"<{url}>"]
        if list_headers.unsubscribe_mailto:
            targets.append(f"<mailto:{checked_address(list_headers.unsubscribe_mailto)}>")
        message["List-Unsubscribe"] = ", ".join(targets)
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    for part in message.iter_parts():
        del part["MIME-Version"]  # belongs on the message only
    return message


@dataclass(frozen=True, slots=True)
class DkimSigner:
    """Signs serialised messages for `domain` with `selector` (dkimpy, relaxed/relaxed)."""

    selector: str
    domain: str
    private_key: bytes

    def sign(self, data: bytes) -> bytes:
        signature = dkim.sign(
            data,
            self.selector.encode(),
            self.domain.encode(),
            self.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[h for h in SIGNED_HEADERS if _has_header(data, h)],
        )
        return signature + data


def _has_header(data: bytes, name: bytes) -> bool:
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    return head.startswith(name.lower() + b":") or b"\r\n" + name.lower() + b":" in head


def signer_from_config(
    selector: str | None, domain: str | None, key_file: str | None
) -> DkimSigner | None:
    """A DKIM signer when BROADSHEET_DKIM_SELECTOR, _DOMAIN and _KEY_FILE are all set."""
    if not (selector and domain and key_file):
        return None
    with open(key_file, "rb") as handle:
        return DkimSigner(selector, domain, handle.read())


def serialise(message: EmailMessage, signer: DkimSigner | None = None) -> bytes:
    """The message as it goes on the wire (CRLF), DKIM-signed when a signer is given."""
    data = message.as_bytes(policy=SMTP_POLICY)
    return signer.sign(data) if signer else data
