"""The one MIME message builder: parts, headers that cannot be injected, DKIM that verifies."""

from __future__ import annotations

import base64
import email
import re
from email import policy

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from service.messages import DkimSigner, ListHeaders, build_message, serialise


def _message(subject="Council approves bike lanes", **kwargs):
    return build_message(
        sender="Northside Brief <digest@news.example.org>",
        to="Reader <reader@example.org>",
        subject=subject,
        text="Plain words.",
        html="<p>HTML words.</p>",
        list_headers=ListHeaders(
            "Daily digest <daily.news.example.org>",
            "https://news.example.org/unsubscribe/tok",
            "unsubscribe@news.example.org",
        ),
        **kwargs,
    )


def test_message_parses_back_into_parts_and_headers():
    parsed = email.message_from_bytes(serialise(_message()), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["From"] == "Northside Brief <digest@news.example.org>"
    assert parsed["To"] == "Reader <reader@example.org>"
    assert parsed["Subject"] == "Council approves bike lanes"
    assert parsed["Date"]
    assert parsed["Message-ID"].endswith("@news.example.org>")
    assert parsed["List-Id"] == "Daily digest <daily.news.example.org>"
    assert parsed["List-Unsubscribe"] == (
        "<https://news.example.org/unsubscribe/tok>, <mailto:unsubscribe@news.example.org>"
    )
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = (p.get_content() for p in parsed.iter_parts())
    assert text.strip() == "Plain words."
    assert html.strip() == "<p>HTML words.</p>"


def test_line_breaks_in_a_headline_make_no_new_header():
    raw = serialise(_message(subject="Breaking\r\nBcc: spy@evil.example\r\n\r\nbody"))
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Breaking Bcc: spy@evil.example body"
    names = [name.lower() for name in parsed.keys()]
    assert names.count("subject") == 1
    assert "bcc" not in names


def test_non_ascii_subject_is_encoded():
    raw = serialise(_message(subject="El Mercado Central reabre tras dos años"))
    assert b"a=C3=B1os" in raw or b"=?utf-8?" in raw
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "El Mercado Central reabre tras dos años"


def test_unsubscribe_url_must_be_https():
    with pytest.raises(ValueError, match="https"):
        build_message(
            sender="a@b.org",
            to="c@d.org",
            subject="s",
            text="t",
            html="h",
            list_headers=ListHeaders("<l.b.org>", "http://b.org/u"),
        )


def test_dkim_signature_covers_list_unsubscribe_and_verifies():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    signed = serialise(_message(), DkimSigner("s1", "news.example.org", pem))
    assert signed.startswith(b"DKIM-Signature:")
    header = signed.split(b"\r\n\r\n")[0].decode()
    signed_names = re.search(r"h=([^;]+);", header.replace("\r\n", "").replace(" ", "")).group(1)
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject"} <= set(
        signed_names.lower().split(":")
    )
    assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: record)
    tampered = signed.replace(b"Subject: Council", b"Subject: Counci1")
    assert not dkim.verify(tampered, dnsfunc=lambda name, timeout=5: record)
