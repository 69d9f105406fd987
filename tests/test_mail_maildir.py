"""The Maildir outbox: each message written whole, readable by any mail reader."""

from __future__ import annotations

import mailbox

from service.mail.maildir import MaildirTransport
from service.mail.transport import Envelope, Outcome
from service.messages import build_message

SENDER = ("Broadsheet", "digest@news.example.org")


def _mail(subject: str) -> Envelope:
    message = build_message(
        sender=SENDER,
        to=("Reader", "reader@example.org"),
        subject=subject,
        text="Plain words.",
        html="<p>HTML words.</p>",
    )
    return Envelope.of(message, sender=SENDER[1], recipients=["reader@example.org"])


def test_messages_are_written_to_new_and_read_back(tmp_path):
    outbox = tmp_path / "outbox"
    with MaildirTransport(outbox) as transport:
        deliveries = [transport.send(_mail(f"Digest {n}")) for n in range(2)]
    assert [d.outcome for d in deliveries] == [Outcome.SENT, Outcome.SENT]
    files = sorted((outbox / "new").iterdir())
    assert len(files) == 2
    assert {d.detail.removeprefix("written to ") for d in deliveries} == {str(f) for f in files}
    box = mailbox.Maildir(str(outbox), create=False)
    assert sorted(message["Subject"] for message in box) == ["Digest 0", "Digest 1"]
    parsed = next(iter(box))
    assert parsed["To"] == "Reader <reader@example.org>"
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.get_payload()] == ["text/plain", "text/html"]


def test_the_file_is_the_wire_form_with_unix_line_ends(tmp_path):
    envelope = _mail("Exact")
    MaildirTransport(tmp_path / "outbox").send(envelope)
    (written,) = (tmp_path / "outbox" / "new").iterdir()
    data = written.read_bytes()
    assert b"\r" not in data
    assert data.replace(b"\n", b"\r\n") == envelope.data


def test_an_outbox_that_cannot_be_written_is_temporary(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the outbox should be")
    delivery = MaildirTransport(blocked).send(_mail("Nowhere"))
    assert delivery.outcome is Outcome.TEMPORARY
    assert "outbox" in delivery.detail
    assert not delivery.offered  # a full or broken disk is the transport's, not the message's
