"""Logging for the entry points (wsgi.py and the CLI); library code only gets loggers.

Log lines carry words from requests (JSON keys, paths, URLs). Each record is written as
one line with every character that could end the line, start a forged record, drive the
terminal (ANSI escapes) or reorder what the reader sees escaped; a traceback's own lines
are indented, so none of them can pass for a record either.
"""

from __future__ import annotations

import logging
import re
from typing import IO

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Controls, line and paragraph separators, bidirectional controls and marks, and lone
# surrogates (which would stop the stream's encoder).
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    code = ord(character)
    return _SHORT_ESCAPES.get(character) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def _escape_unprintable(text: str) -> str:
    return _UNPRINTABLE.sub(_escape, text)


def printable(value: object, limit: int = 300) -> str:
    """`value` as one unambiguous line for a log message, cut to `limit` characters."""
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return _escape_unprintable(text.replace("\\", "\\\\"))


class OneLineFormatter(logging.Formatter):
    """One record, one line: unprintable characters escaped, traceback lines indented."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        details = []
        # Formatted here, not taken from record.exc_text: another handler may have cached
        # its own, unescaped rendering there.
        if record.exc_info:
            details.append(self.formatException(record.exc_info))
        elif record.exc_text:
            details.append(record.exc_text)
        if record.stack_info:
            details.append(self.formatStack(record.stack_info))
        lines = [_escape_unprintable(self.formatMessage(record))]
        for detail in details:
            lines.extend("  " + _escape_unprintable(line) for line in detail.split("\n"))
        return "\n".join(lines)


def configure_logging(level: int = logging.INFO, stream: IO[str] | None = None) -> logging.Handler:
    """Send records at `level` and above to `stream` (stderr); return the handler added."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h.formatter, OneLineFormatter)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OneLineFormatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    # WeasyPrint reports every layout step at INFO; only its warnings are news.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    # pikepdf announces its logger bridge at INFO on import: not progress of ours.
    logging.getLogger("pikepdf").setLevel(logging.WARNING)
    return handler
