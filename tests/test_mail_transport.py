"""The transport interface: envelopes from messages, the in-memory double, the factory."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from service.addresses import BadAddress, Mailbox
from service.mail.maildir import MaildirTransport
from service.mail.smtp import SmtpTransport
from service.mail.transport import (
    Delivery,
    Envelope,
    MemoryTransport,
    Outcome,
    open_transport,
)
from service.messages import build_message, serialise
from service.settings import Settings, SettingsError

from .conftest import runtime_of

DESK = Mailbox("Desk, Night", "desk@news.example.org")


def _message(to: str = "jane@example.org"):
    return build_message(
        sender=DESK, to=("Jane: x@evil.example", to), subject="Hello", text="Words.", html="<p/>"
    )


def test_an_envelope_carries_the_given_addresses_and_the_wire_bytes():
    message = _message()
    envelope = Envelope.of(
        message, sender=DESK, recipients=[Mailbox("Jane", "jane@example.org"), "bob@example.org"]
    )
    assert envelope.sender == "desk@news.example.org"
    assert envelope.recipients == ("jane@example.org", "bob@example.org")
    assert envelope.data == serialise(message)


@pytest.mark.parametrize(
    ("recipients", "error"),
    [
        ([], ValueError),
        (["Jane: x@evil.example <jane@example.org>"], BadAddress),
        (["josé@example.org"], BadAddress),
    ],
)
def test_an_envelope_needs_checked_recipients(recipients, error):
    with pytest.raises(error):
        Envelope.of(_message(), sender=DESK, recipients=recipients)


def test_the_memory_transport_keeps_messages_and_scripts_refusals():
    gone = Delivery(Outcome.PERMANENT, 550, "5.1.1 No such user")
    with MemoryTransport(refuse={"gone@example.org": gone}) as transport:
        sent = transport.send(Envelope.of(_message(), sender=DESK, recipients=["a@example.org"]))
        refused = transport.send(
            Envelope.of(_message(), sender=DESK, recipients=["gone@example.org"])
        )
    assert sent.sent
    assert refused is gone
    assert not refused.sent
    assert [e.recipients for e in transport.sent] == [("a@example.org",)]
    assert transport.closed


def test_the_factory_builds_the_maildir_outbox_by_default(tmp_path):
    transport = open_transport(None, tmp_path)
    assert isinstance(transport, MaildirTransport)
    assert transport.path == tmp_path / "outbox"
    assert transport.send(Envelope.of(_message(), sender=DESK, recipients=["a@example.org"])).sent
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


def test_the_runtime_opens_the_transport_its_settings_describe(make_app, tmp_path):
    app = make_app()
    transport = runtime_of(app).transport()
    assert isinstance(transport, MaildirTransport)
    assert transport.path == Path(app.instance_path) / "outbox"
    smtp = make_app(SMTP_URL="smtp://mail.example.org:2525?starttls=require")
    transport = runtime_of(smtp).transport()
    assert isinstance(transport, SmtpTransport)
    assert (transport.url.port, transport.url.starttls) == (2525, "require")


def test_a_bad_smtp_url_stops_the_settings_with_its_reason_and_no_password():
    with pytest.raises(SettingsError) as raised:
        Settings.load(
            {
                "BROADSHEET_ENV": "test",
                "BROADSHEET_SMTP_URL": "smtp://u:hunter2@m.example.org?rate=0",
            }
        )
    assert "BROADSHEET_SMTP_URL is not valid (rate must be a number from 0.001" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_production_without_a_mail_server_writes_no_mail_to_the_maildir(tmp_path):
    """In production with SMTP_URL unset (or misspelt), every digest and confirmation went
    to instance/outbox, no reader got one, and the ledger said sent."""
    from digests.runs import daily_digest_for
    from service import create_app
    from service.errors import DigestUnsendable

    app = create_app(
        {
            "TESTING": True,
            "ENV": "production",
            "SECRET_KEY": "k" * 32,
            "BASE_URL": "https://news.example.org",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        }
    )
    runtime = app.extensions["broadsheet"]
    envelope = Envelope("digest@news.example.org", ("reader@example.org",), b"Subject: x\r\n\r\nx")
    outbox = Path(app.instance_path) / "outbox" / "new"
    before = set(outbox.glob("*"))
    transport = runtime.transport()
    reply = transport.send(envelope)
    assert (reply.outcome, reply.offered) == (Outcome.TEMPORARY, False)  # waits, not lost
    assert "BROADSHEET_SMTP_URL is unset" in reply.detail
    assert set(outbox.glob("*")) == before
    daily = daily_digest_for(runtime)
    with pytest.raises(DigestUnsendable, match="BROADSHEET_SMTP_URL is unset"):
        daily.send(date(2026, 3, 12), transport)  # refused before a copy is claimed
