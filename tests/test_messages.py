"""The MIME message every mail is built with: headers that say only what we meant them to."""

from __future__ import annotations

import email
from email import policy

import pytest

from service.messages import ListHeaders, build_message, serialise

INJECTION = "Votes =?utf-8?q?=0D=0ABcc:_x@evil.example=0D=0A?= on lanes"
EXPECTED_HEADERS = [
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "mime-version",
    "content-type",
]


def _header_names(raw: bytes) -> list[str]:
    """Header names as a receiving parser sees them, in order, read from the wire bytes."""
    parsed = email.message_from_bytes(raw, policy=policy.default)
    return [name.lower() for name in parsed.keys()]


def _head_lines(raw: bytes) -> list[bytes]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r" not in head.replace(b"\r\n", b""), "bare CR in the header block"
    assert b"\n" not in head.replace(b"\r\n", b""), "bare LF in the header block"
    return head.split(b"\r\n")


@pytest.mark.parametrize("field", ["subject", "sender", "to", "list_id"])
def test_an_encoded_word_cannot_add_a_header(field):
    values = {
        "subject": "Council approves bike lanes",
        "sender": "Northside Brief <digest@news.example.org>",
        "to": "Reader <reader@example.org>",
        "list_id": "Daily digest <daily.news.example.org>",
    }
    if field in ("sender", "to"):
        values[field] = f"{INJECTION} <{values[field].split('<')[1]}"
    else:
        values[field] = INJECTION
    message = build_message(
        sender=values["sender"],
        to=values["to"],
        subject=values["subject"],
        text="Plain words.",
        html="<p>HTML words.</p>",
        list_headers=ListHeaders(values["list_id"], "https://news.example.org/unsubscribe/tok"),
    )
    raw = serialise(message)
    starts = [line.split(b":")[0].lower() for line in _head_lines(raw) if line[:1] not in b" \t"]
    assert starts == [name.encode() for name in EXPECTED_HEADERS]
    assert _header_names(raw) == EXPECTED_HEADERS


def test_a_neutralised_subject_still_reads_as_written():
    message = build_message(
        sender="a@news.example.org", to="b@example.org", subject=INJECTION, text="t", html="h"
    )
    parsed = email.message_from_bytes(serialise(message), policy=policy.default)
    assert "=?" not in parsed["Subject"]
    assert parsed["Subject"].replace("\u2060", "") == INJECTION
