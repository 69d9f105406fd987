"""The one message builder for every mail Broadsheet sends: MIME parts, headers, DKIM.

multipart/alternative with the plain text first and the HTML second. Broadsheet writes its
own header values, as ASCII folded to 78 columns, and the email package stores them
verbatim: Python 3.11's header folder is not safe with untrusted text. It decodes an
RFC 2047 encoded-word such as `=?utf-8?q?=0D=0ABcc:_x?=` and writes the CR/LF back out
(CVE-2024-6923), drops the quotes of a long display name so its words read as an address,
and turns a long List-Unsubscribe URL into an encoded-word no mail client follows.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, make_msgid

import dkim

from .addresses import Mailbox, checked_address

# Controls, and what str.splitlines() (and so the email package) takes for a line break.
_LINE_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_LONE_SURROGATES = re.compile("[\ud800-\udfff]")
# "=?" opens every encoded-word; a word joiner between the two keeps the text as it reads,
# also for a reader that decodes our header and writes it out again.
_ENCODED_WORD_START = "=?"
_ENCODED_WORD_BROKEN = "=\u2060?"
# Words written as they are: any printable ASCII in unstructured text (a Subject), atoms in
# a phrase (a display name), where other printable ASCII ("J. R. R. Tolkien", a comma) is a
# quoted-string: RFC 5322 §4 forbids generating the obsolete dotted phrase. Anything else
# makes the whole text encoded-words.
_TEXT_WORD = re.compile(r"[!-~]{1,60}")
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,60}")
_ENCODED_WORD_BYTES = 36  # 48 base64 characters: a 60-character encoded-word
_WORDS = re.compile(r"\S+ *| +")  # a word with the spaces after it
_MACHINE_VALUE = re.compile(r"[!-~]{1,900}")
_LIST_ID = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+")
# RFC 5322 §2.1.1 asks 78; a line holding an encoded-word, 76 (RFC 2047 §2): 76 for all.
LINE_LENGTH = 76
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


class _Folded(str):
    """A header value build_message encoded and folded itself; stored and written as is."""


class _SmtpPolicy(EmailPolicy):
    """policy.SMTP, except that header values build_message wrote are never parsed again."""

    def header_store_parse(self, name, value):
        if isinstance(value, _Folded):
            return (name, str(value))
        return super().header_store_parse(name, value)


# Headers build_message folds itself at LINE_LENGTH; the policy's length applies to what the
# email package writes, the quoted-printable bodies among it, whose lines RFC 2045 §6.7
# limits to 76 characters.
SMTP_POLICY = _SmtpPolicy(linesep="\r\n", max_line_length=76, refold_source="none")


def header_text(value: str) -> str:
    """Text for a header (subject, display name, list name): one line, no encoded-word."""
    line = " ".join(_LINE_BREAKS.sub(" ", _LONE_SURROGATES.sub("\ufffd", value)).split())
    return line.replace(_ENCODED_WORD_START, _ENCODED_WORD_BROKEN)


def _header_words(text: str, plain_word: re.Pattern[str]) -> list[str]:
    """`text` as header words: as written if every word is plain, else all encoded-words."""
    text = header_text(text)
    words = text.split(" ")
    if not text or all(plain_word.fullmatch(word) for word in words):
        return [word for word in words if word]
    return _encoded_words(text)


def _phrase_words(text: str) -> list[str]:
    """`text` as the words of a phrase: atoms as written; printable ASCII otherwise as one
    quoted-string (a space in it may fold); anything else all encoded-words."""
    text = header_text(text)
    words = text.split(" ")
    if not text or all(_ATOM.fullmatch(word) for word in words):
        return [word for word in words if word]
    if not all(_TEXT_WORD.fullmatch(word) for word in words):
        return _encoded_words(text)
    quoted = [word.replace("\\", "\\\\").replace('"', '\\"') for word in words]
    quoted[0] = f'"{quoted[0]}'
    quoted[-1] = f'{quoted[-1]}"'
    return quoted


def _encoded_words(text: str) -> list[str]:
    """`text` as encoded-words, each ending after a space where a word fits whole in one:
    decoders join them anyway, but some (Python's address parser, gh-128110) put a space
    between two, and then split a name in the middle of a word ("van der Waa ls")."""
    chunks: list[bytes] = [b""]
    for word in _WORDS.findall(text):
        data = word.encode("utf-8")
        if len(chunks[-1]) + len(data) <= _ENCODED_WORD_BYTES:
            chunks[-1] += data
            continue
        if len(data) <= _ENCODED_WORD_BYTES:
            chunks.append(data)
            continue
        for character in word:  # longer than an encoded-word holds
            piece = character.encode("utf-8")
            if len(chunks[-1]) + len(piece) > _ENCODED_WORD_BYTES:
                chunks.append(b"")
            chunks[-1] += piece
    return [f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=" for chunk in chunks if chunk]


def _folded(name: str, words: list[str]) -> _Folded:
    """`words` joined by spaces, a line break before any word that would pass 78 columns."""
    lines = [""]
    used = len(name) + 2
    for word in words:
        if lines[-1] and used + 1 + len(word) > LINE_LENGTH:
            lines.append(word)
            used = 1 + len(word)
        else:
            used += len(word) + (1 if lines[-1] else 0)
            lines[-1] = f"{lines[-1]} {word}" if lines[-1] else word
    return _Folded("\r\n ".join(lines))


def _machine_value(value: str, what: str) -> str:
    """A URL, address or id for a header: printable ASCII with no space and no encoded-word."""
    if not _MACHINE_VALUE.fullmatch(value) or _ENCODED_WORD_START in value:
        raise ValueError(
            f"{what} must be printable ASCII without spaces or '=?', at most 900 characters:"
            f" {value!r}"
        )
    return value


def _as_mailbox(value: Mailbox | tuple[str, str]) -> Mailbox:
    return value if isinstance(value, Mailbox) else Mailbox(*value)


def _mailbox_header(name: str, mailbox: Mailbox) -> _Folded:
    return _address_header(name, mailbox.name, mailbox.address)


def _address_header(name: str, display_name: str, address: str) -> _Folded:
    if not header_text(display_name):
        return _folded(name, [address])
    return _folded(name, [*_phrase_words(display_name), f"<{address}>"])


@dataclass(frozen=True, slots=True)
class ListHeaders:
    """What makes a message a list message: its id and how to leave it (RFC 2919, 2369, 8058).

    `list_id` is the bare id ("daily.news.example.org"); `list_name` the words shown with it.
    """

    list_id: str
    unsubscribe_url: str
    unsubscribe_mailto: str | None = None
    list_name: str = ""


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
    message["From"] = _mailbox_header("From", from_box)
    message["To"] = _mailbox_header("To", to_box)
    message["Subject"] = _folded("Subject", _header_words(subject, _TEXT_WORD))
    message["Date"] = _Folded(format_datetime(date or datetime.now(UTC)))
    if message_id:
        message["Message-ID"] = _Folded(_machine_value(message_id, "a Message-ID"))
    else:
        message["Message-ID"] = _Folded(make_msgid(domain=from_box.address.rpartition("@")[2]))
    if list_headers is not None:
        message["List-Id"] = _list_id_header(list_headers)
        message["List-Unsubscribe"] = _list_unsubscribe_header(list_headers)
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    for part in message.iter_parts():
        del part["MIME-Version"]  # belongs on the message only
    return message


def mailbox_header(name: str, display_name: str, checked_address: str) -> str:
    """The value build_message writes in header `name` (From, To) for a mailbox whose
    address was checked already (a Mailbox's, or one stored after checking it)."""
    return str(_address_header(name, display_name, _machine_value(checked_address, "an address")))


def _list_id_header(headers: ListHeaders) -> _Folded:
    if not _LIST_ID.fullmatch(headers.list_id) or len(headers.list_id) > 255:
        raise ValueError(
            f"a List-Id is a dotted name such as daily.example.org: {headers.list_id!r}"
        )
    words = _phrase_words(headers.list_name)
    return _folded("List-Id", [*words, f"<{headers.list_id}>"])


def _list_unsubscribe_header(headers: ListHeaders) -> _Folded:
    url = _machine_value(headers.unsubscribe_url, "the List-Unsubscribe URL")
    if not url.startswith("https://"):
        raise ValueError("List-Unsubscribe needs an https URL (RFC 8058)")
    if not headers.unsubscribe_mailto:
        return _folded("List-Unsubscribe", [f"<{url}>"])
    mailto = f"<mailto:{checked_address(headers.unsubscribe_mailto)}>"
    return _folded("List-Unsubscribe", [f"<{url}>,", mailto])


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
