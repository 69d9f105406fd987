"""The embedded default: mail written to a Maildir outbox, for reading or relaying later."""

from __future__ import annotations

import logging
import mailbox
import threading
from pathlib import Path

from .transport import Delivery, Envelope, Outcome, Transport

logger = logging.getLogger(__name__)


class MaildirTransport(Transport):
    """Writes each message, exactly as it would go on the wire, into `path`/new."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._box: mailbox.Maildir | None = None

    def send(self, envelope: Envelope) -> Delivery:
        try:
            with self._lock:
                if self._box is None:
                    self._box = mailbox.Maildir(str(self.path), create=True)
                # Maildir files end lines the Unix way; a relay restores CRLF on the wire.
                key = self._box.add(envelope.data.replace(b"\r\n", b"\n"))
        except OSError as error:
            logger.error("Could not write a message to the outbox %s: %s", self.path, error)
            detail = f"could not write to the outbox: {error}"
            return Delivery(Outcome.TEMPORARY, None, detail, offered=False)
        return Delivery(Outcome.SENT, None, f"written to {self.path / 'new' / key}")

    def __repr__(self) -> str:
        return f"MaildirTransport({str(self.path)!r})"
