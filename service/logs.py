"""Logging for the entry points (wsgi.py and the CLI); library code only gets loggers.

Log lines carry words from requests (JSON keys, paths, URLs). Each record is written as
one line with every character that could end the line, start a forged record, drive the
terminal (ANSI escapes) or reorder what the reader sees escaped; a traceback's own lines
are indented, so none of them can pass for a record either. The JSON format writes one
object a line instead, with every control character escaped by the encoder.

While a request is handled, `request_id` holds its id; the handler's RequestIdFilter puts it
on every record, so each line of one request can be found by it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any, Literal

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(request_id)s: %(message)s"
LogFormat = Literal["text", "json"]
NO_REQUEST = "-"
# The id of the request this thread (or task) is handling; NO_REQUEST outside one.
request_id: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)
# The longest message (and traceback) one JSON record carries.
MESSAGE_LIMIT = 8000
# The access line's fields, from `extra={"access": {...}}`, in the JSON record.
ACCESS_FIELDS = ("method", "route", "path", "status", "duration_ms")
# Controls, line and paragraph separators, bidirectional controls and marks, and lone
# surrogates (which would stop the stream's encoder).
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


_OURS = "broadsheet_handler"


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    code = ord(character)
    return _SHORT_ESCAPES.get(character) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def _escape_unprintable(text: str) -> str:
    return _UNPRINTABLE.sub(_escape, text)


def first_line(error: BaseException) -> str:
    """An error's message without what follows its first line (SQLAlchemy appends its SQL,
    parameters and a link), for a one-line message; what it quotes (a revision typed, a
    database's words) is `for_a_terminal`."""
    return for_a_terminal((str(error).splitlines() or [type(error).__name__])[0])


def for_a_terminal(value: object) -> str:
    """`value` whole, its controls (escape sequences, bidirectional overrides, line breaks)
    written as escapes so that it cannot drive a terminal; the rest, backslashes and
    letters beyond ASCII included, as it is (a file's name stays one to copy)."""
    return _escape_unprintable(str(value))


def printable(value: object, limit: int = 300) -> str:
    """`value` as one unambiguous line for a log message, cut to `limit` characters."""
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return for_a_terminal(text.replace("\\", "\\\\"))


class RequestIdFilter(logging.Filter):
    """Puts the current request's id (or NO_REQUEST) on each record as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def _request_id_of(record: logging.LogRecord) -> str:
    value = getattr(record, "request_id", None)
    return value if isinstance(value, str) else request_id.get()


class OneLineFormatter(logging.Formatter):
    """One record, one line: unprintable characters escaped, traceback lines indented."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = _cut(record.getMessage(), MESSAGE_LIMIT)  # as the JSON lines are
        record.request_id = _request_id_of(record)
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


class JsonFormatter(logging.Formatter):
    """One record, one JSON object on one line: time, level, logger, message, request_id."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _cut(record.getMessage(), MESSAGE_LIMIT),
            "request_id": _request_id_of(record),
        }
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            entry.update({key: access[key] for key in ACCESS_FIELDS if key in access})
        if record.exc_info:
            entry["exception"] = _cut(self.formatException(record.exc_info), MESSAGE_LIMIT)
        elif record.exc_text:
            entry["exception"] = _cut(record.exc_text, MESSAGE_LIMIT)
        if record.stack_info:
            entry["stack"] = _cut(self.formatStack(record.stack_info), MESSAGE_LIMIT)
        # ASCII only: every control, separator, bidirectional mark and lone surrogate is
        # written as a \u escape, so no value can end the line or drive a terminal.
        return json.dumps(entry, ensure_ascii=True, default=str)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def formatter_for(log_format: LogFormat) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else OneLineFormatter(LOG_FORMAT)


def requested_format(environ: Mapping[str, str]) -> LogFormat:
    """BROADSHEET_LOG_FORMAT as the environment gives it, read before the settings are (so
    the lines written while they load are in that format too); the settings check it."""
    return "json" if environ.get("BROADSHEET_LOG_FORMAT", "").strip().lower() == "json" else "text"


def configure_logging(
    level: int = logging.INFO, stream: IO[str] | None = None, log_format: LogFormat = "text"
) -> logging.Handler:
    """Send records at `level` and above to `stream` (stderr) in `log_format`; return the
    handler added (it replaces one added before)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    setattr(handler, _OURS, True)
    handler.setFormatter(formatter_for(log_format))
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level)
    # WeasyPrint reports every layout step at INFO; only its warnings are news.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    # pikepdf announces its logger bridge at INFO on import, alembic its plugins each time
    # it loads: not progress of ours.
    logging.getLogger("pikepdf").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return handler
