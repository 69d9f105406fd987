"""The transport interface: envelopes from messages, the in-memory double, the factory."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage

import pytest

from service.mail.maildir import MaildirTransport
from service.mail.smtp import SmtpTransport
from service.mail.transport import (
    Delivery,
    Envelope,
    MemoryTransport,
    Outcome,
    open_transport,
)


def _message(**headers: str) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    for name, value in headers.items():
        message[name] = value
    message.set_content("Words.\n")
    return message


def test_an_envelope_takes_addresses_from_parsed_headers():
    message = _message(
        From='"Desk, Night" <desk@news.example.org>',
        To='"Jane: x@evil.example" <jane@example.org>, bob@example.org',
        Cc="carol@example.org",
        Subject="Hello",
    )
    envelope = Envelope.of(message)
    assert envelope.sender == "desk@news.example.org"
    assert envelope.recipients == ("jane@example.org", "bob@example.org", "carol@example.org")
    assert envelope.data.startswith(b"From: ")
    assert b"\r\n\r\nWords.\r\n" in envelope.data


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"To": "a@example.org"}, "From"),
        ({"From": "desk@news.example.org"}, "recipient"),
    ],
)
def test_an_envelope_needs_a_sender_and_a_recipient(headers, problem):
    with pytest.raises(ValueError, match=problem):
        Envelope.of(_message(**headers))


def test_the_memory_transport_keeps_messages_and_scripts_refusals():
    gone = Delivery(Outcome.PERMANENT, 550, "5.1.1 No such user")
    with MemoryTransport(refuse={"gone@example.org": gone}) as transport:
        sent = transport.send(_message(From="d@news.example.org", To="a@example.org"))
        refused = transport.send(_message(From="d@news.example.org", To="gone@example.org"))
    assert sent.sent
    assert refused is gone
    assert not refused.sent
    assert [e.recipients for e in transport.sent] == [("a@example.org",)]
    assert transport.closed


def test_the_factory_builds_the_maildir_outbox_by_default(tmp_path):
    transport = open_transport(None, tmp_path)
    assert isinstance(transport, MaildirTransport)
    assert transport.path == tmp_path / "outbox"
    assert transport.send(_message(From="d@news.example.org", To="a@example.org")).sent
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == 1


def test_the_factory_builds_smtp_from_the_url_and_hides_the_password(tmp_path):
    transport = open_transport("smtps://desk:hunter2@mail.example.org?rate=5", tmp_path)
    assert isinstance(transport, SmtpTransport)
    assert (transport.url.host, transport.url.port, transport.url.rate) == (
        "mail.example.org",
        465,
        5.0,
    )
    assert repr(transport) == "SmtpTransport(smtps://desk@mail.example.org:465)"
    assert not (tmp_path / "outbox").exists()


def test_the_factory_refuses_a_bad_url_without_echoing_it(tmp_path):
    with pytest.raises(ValueError, match="SMTP_URL") as raised:
        open_transport("smtp://desk:hunter2@mail.example.org?starttls=yes", tmp_path)
    assert "hunter2" not in str(raised.value)
