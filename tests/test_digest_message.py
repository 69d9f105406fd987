"""Each recipient's copy, cut from one serialisation, is the message build_message would make."""

from __future__ import annotations

import base64
import email
import re
from datetime import UTC, date, datetime
from email import policy
from unittest.mock import patch

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from itsdangerous import TimestampSigner

from digests.message import (
    DigestComposer,
    digest_message_id,
    list_headers,
    run_tag,
    unsubscribe_url,
)
from service.email_renderer import EmailBody
from service.messages import DkimSigner, build_message, serialise
from service.settings import Settings
from service.tokens import Purpose, TokenSigner

SETTINGS = Settings(
    base_url="https://news.example.org",
    publisher_name="Northside Brief",
    mail_from="Northside Brief <digest@news.example.org>",
)
SIGNER = TokenSigner("test-secret")
MARKER = "https://unsubscribe.invalid/0123456789abcdef0123456789abcdef"
DAY = date(2026, 3, 12)
NOW = datetime(2026, 3, 12, 7, 0, 3, tzinfo=UTC)
JOINED = datetime(2026, 2, 1, 9, 30, 15, 250_000, tzinfo=UTC)  # when the subscriber signed up
# Links are signed with the time; both ways of making a message must sign in the same second.
FIXED_TIME = patch.object(TimestampSigner, "get_timestamp", lambda self: 1_773_300_000)
HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "List-Id", "List-Unsubscribe")


def body(prefix: str = "", html_prefix: str = "") -> EmailBody:
    return EmailBody(
        "Northside Brief: the digest for Thursday, March 12, 2026",
        f'<html><body><p>{html_prefix}<a href="{MARKER}">Unsubscribe</a>'
        "</p><p>Caf\u00e9 = good</p></body></html>",
        f"Quick reads\n{prefix}Unsubscribe: <{MARKER}>\nend \u2014 done\n",
        MARKER,
    )


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def direct(mail: EmailBody, subscriber_id: int, name: str, address: str) -> bytes:
    """The same message made the slow way: personalised, then built and serialised whole."""
    url = unsubscribe_url(SETTINGS, SIGNER, subscriber_id, JOINED)
    personal = mail.personalise(unsubscribe_url=url)
    return serialise(
        build_message(
            sender=("Northside Brief", "digest@news.example.org"),
            to=(name, address),
            subject=personal.subject,
            text=personal.text,
            html=personal.html,
            date=NOW,
            message_id=digest_message_id(
                DAY, subscriber_id, "news.example.org", SETTINGS.message_id_tag, run_tag(mail)
            ),
            list_headers=list_headers(SETTINGS, url, None),
        )
    )


def assert_same_message(fast: bytes, slow: bytes) -> None:
    a, b = parsed(fast), parsed(slow)
    for header in HEADERS:
        assert str(a[header]) == str(b[header]), header
    assert a["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert a.get_content_type() == "multipart/alternative"
    parts_a = [(p.get_content_type(), p.get_content()) for p in a.iter_parts()]
    parts_b = [(p.get_content_type(), p.get_content()) for p in b.iter_parts()]
    assert parts_a == parts_b
    assert [t for t, _ in parts_a] == ["text/plain", "text/html"]


def assert_lines_fit(raw: bytes) -> None:
    for line in raw.split(b"\r\n"):
        assert len(line) <= 998
    body_part = raw.split(b"\r\n\r\n", 1)[1]
    for line in body_part.split(b"\r\n"):
        assert len(line) <= 76, line


@pytest.mark.parametrize(
    ("name", "address"),
    [
        ("Reader One", "one@example.org"),
        ("Lectora Mu\u00f1oz", "munoz@example.es"),
        ("=?utf-8?q?Bcc:_x@evil.example?=", "two@example.org"),
        ("", "bare@example.org"),
        ('Doe, "Jane"', "jane@example.org"),
    ],
)
@FIXED_TIME
def test_each_copy_is_the_message_build_message_makes(name, address):
    composer = DigestComposer(SETTINGS, SIGNER)
    mail = body()
    fast = composer.compose(
        composer.template(mail),
        DAY,
        subscriber_id=42,
        created_at=JOINED,
        email=address,
        name=name,
        now=NOW,
    )
    assert_same_message(fast, direct(mail, 42, name, address))
    assert_lines_fit(fast)
    message = parsed(fast)
    tag = SETTINGS.message_id_tag
    assert re.fullmatch("[0-9a-f]{10}", tag)
    run = run_tag(mail)
    assert re.fullmatch("[0-9a-f]{8}", run)
    assert message["Message-ID"] == f"<digest.20260312.42.{tag}.{run}@news.example.org>"
    token = str(message["List-Unsubscribe"]).strip("<>").rsplit("/", 1)[1]
    assert SIGNER.read_unsubscribe(token) == (42, int(JOINED.timestamp()))


@settings(max_examples=60, deadline=None)
@given(
    prefix=st.text(alphabet="ab c=\u00e9.", max_size=150),
    html_prefix=st.text(alphabet="xy z=\u00e9", max_size=150),
    subscriber_id=st.integers(min_value=1, max_value=10**12),
)
@FIXED_TIME
def test_the_url_survives_any_column_in_quoted_printable(prefix, html_prefix, subscriber_id):
    composer = DigestComposer(SETTINGS, SIGNER)
    mail = body(prefix, html_prefix)
    fast = composer.compose(
        composer.template(mail),
        DAY,
        subscriber_id=subscriber_id,
        created_at=JOINED,
        email="reader@example.org",
        name="Reader",
        now=NOW,
    )
    assert_same_message(fast, direct(mail, subscriber_id, "Reader", "reader@example.org"))
    assert_lines_fit(fast)


def test_an_address_that_could_end_the_header_is_refused():
    composer = DigestComposer(SETTINGS, SIGNER)
    template = composer.template(body())
    for address in ("a@b.org\r\nBcc: x@evil.example", "a b@example.org", "<a@b.org>"):
        with pytest.raises(ValueError, match="address"):
            composer.compose(
                template, DAY, subscriber_id=1, created_at=JOINED, email=address, name="", now=NOW
            )


def test_each_copy_is_dkim_signed_and_verifies():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    composer = DigestComposer(SETTINGS, SIGNER, DkimSigner("sel", "news.example.org", pem))
    template = composer.template(body())
    for subscriber_id in (1, 2):
        signed = composer.compose(
            template,
            DAY,
            subscriber_id=subscriber_id,
            created_at=JOINED,
            email="r@example.org",
            name="R",
            now=NOW,
        )
        assert signed.startswith(b"DKIM-Signature:")
        assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: record)
        assert not dkim.verify(
            signed.replace(b"Unsubscribe", b"Unsubscrib3", 1), dnsfunc=lambda n, timeout=5: record
        )


@FIXED_TIME  # the token is dated: a second ticking between the two made them differ
def test_a_mailto_unsubscribe_goes_with_the_url():
    composer = DigestComposer(SETTINGS, SIGNER, unsubscribe_mailto="leave@news.example.org")
    fast = parsed(
        composer.compose(
            composer.template(body()),
            DAY,
            subscriber_id=7,
            created_at=JOINED,
            email="r@example.org",
            name="",
            now=NOW,
        )
    )
    url = unsubscribe_url(SETTINGS, SIGNER, 7, JOINED)
    assert str(fast["List-Unsubscribe"]) == f"<{url}>, <mailto:leave@news.example.org>"


def test_tokens_are_what_itsdangerous_itself_signs_and_reads(monkeypatch):
    from itsdangerous import URLSafeTimedSerializer

    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: 1_773_300_000)
    for purpose in Purpose:
        made = SIGNER.sign(purpose, 42, "2026-03-12T07:00:00+00:00")
        reference = URLSafeTimedSerializer("test-secret", salt=purpose.value)
        assert made == reference.dumps([42, "2026-03-12T07:00:00+00:00"])
        assert reference.loads(made) == [42, "2026-03-12T07:00:00+00:00"]


def test_message_ids_differ_between_installations_on_one_mail_domain():
    other = SETTINGS.model_copy(update={"base_url": "https://sport.example.org"})
    rekeyed = SETTINGS.model_copy(update={"secret_key": "another-secret-" + "k" * 32})
    tags = {SETTINGS.message_id_tag, other.message_id_tag, rekeyed.message_id_tag}
    assert len(tags) == 3
    ids = {digest_message_id(DAY, 1, "example.org", tag, "0123abcd") for tag in tags}
    assert len(ids) == 3
    # A run opened again for the same date (a database rebuilt from nothing) has new ids.
    assert digest_message_id(DAY, 1, "example.org", SETTINGS.message_id_tag, "0123abcd") != (
        digest_message_id(DAY, 1, "example.org", SETTINGS.message_id_tag, "4567ef01")
    )


@pytest.mark.parametrize(
    ("base_url", "mail_from", "list_id"),
    [
        ("https://news.example.org", "digest@news.example.org", "digest.news.example.org"),
        # The root dot a settings file may keep (news.example.org. is the same host).
        ("https://news.example.org.", "digest@news.example.org", "digest.news.example.org"),
        # An IP address is no name: the sender's domain names the list.
        ("https://[2001:db8::1]", "digest@mail.example.org", "digest.mail.example.org"),
        ("https://192.0.2.7:8443", "digest@example.org", "digest.example.org"),
        ("https://intranet", "digest@example.org", "digest.intranet.localdomain"),
    ],
)
def test_every_accepted_base_url_gives_a_list_id_a_message_can_carry(base_url, mail_from, list_id):
    """A List-Id the message builder refused stopped every digest after its run opened."""
    settings = Settings(
        base_url=base_url, mail_from=mail_from, secret_key="k" * 32, database_url="sqlite://"
    )
    headers = list_headers(settings, base_url + "/unsubscribe/t", None)
    assert headers.list_id == list_id
    message = build_message(
        sender=("Broadsheet", mail_from),
        to=("Reader", "reader@example.org"),
        subject="Digest",
        text="Words.",
        html="<p>Words.</p>",
        list_headers=headers,
    )
    assert f"<{list_id}>" in message["List-Id"]
