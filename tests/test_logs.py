"""Log lines say what happened, one record to a line, whatever the request held."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from service.logs import MESSAGE_LIMIT, configure_logging

from .corpus import minimal

RECORD_START = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} [A-Z]+ ")
FORGED = "\n2026-03-12 08:00:00,000 ERROR service.problems: the database is gone"


@pytest.fixture
def log_output():
    """The text the configured handler writes, captured from a real request or record."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(logging.INFO, stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _records(text: str) -> list[str]:
    """Physical lines that start a record; continuation lines of a traceback do not."""
    return [line for line in text.splitlines() if RECORD_START.match(line)]


def _without_access(lines: list[str]) -> list[str]:
    """The lines other than each request's one access line (tests/test_access.py has those)."""
    access = [line for line in lines if " INFO service.access " in line]
    assert len(access) <= 1, lines
    return [line for line in lines if line not in access]


def test_a_key_holding_a_forged_line_is_one_escaped_line(post_json, log_output):
    article = minimal(**{f"colour{FORGED}": "red"})
    response = post_json("/v1/render/html", article)
    assert response.status_code == 422
    text = log_output.getvalue()
    lines = _without_access(text.splitlines())
    assert len(lines) == 1, text
    assert lines[0].split(" ")[2] == "WARNING"
    assert "\\n2026-03-12 08:00:00,000 ERROR" in lines[0]


def test_ansi_escapes_are_not_written_raw(post_json, log_output):
    post_json("/v1/render/html", minimal(**{"\x1b[2J\x1b[31mred\x1b[0m": 1}))
    text = log_output.getvalue()
    assert "\x1b" not in text
    assert "\\x1b[2J" in text
    assert len(_without_access(text.splitlines())) == 1


@pytest.mark.parametrize(
    "hostile",
    [FORGED, "\r" + FORGED[1:], "a\u2028b", "a\x85b", "\u202eevil", "lone \ud800 surrogate"],
)
def test_any_message_is_one_printable_line(log_output, hostile):
    logging.getLogger("service.test").warning("Refused %s and %r", hostile, hostile)
    text = log_output.getvalue()
    assert len(_records(text)) == 1
    assert text.endswith("\n")
    assert text.count("\n") == 1
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", text[:-1])
    assert not re.search("[\ud800-\udfff]", text)


def test_a_traceback_keeps_its_lines_but_cannot_start_a_record(log_output):
    try:
        raise ValueError(f"bad key{FORGED}\x1b[31m")
    except ValueError:
        logging.getLogger("service.test").exception("Unexpected error on POST /x")
    text = log_output.getvalue()
    assert len(_records(text)) == 1, text
    assert "Traceback (most recent call last):" in text
    assert "\x1b" not in text
    assert all(line.startswith("  ") for line in text.splitlines()[1:])


def test_request_values_are_escaped_where_they_are_logged(app, log_output):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.before_request
    def fail():
        raise RuntimeError("an unexpected failure")

    response = app.test_client().get("/a%0A2026-03-12%2008:00:00,000%20ERROR%20x:%20forged")
    assert response.status_code == 500
    text = log_output.getvalue()
    assert len(_without_access(_records(text))) == 1, text
    assert "a\\n2026-03-12 08:00:00,000 ERROR x: forged" in text.splitlines()[0]


def test_problems_escape_the_pointers_they_log(post_json, caplog):
    post_json("/v1/render/html", minimal(**{f"colour{FORGED}\x1b[31m": "red"}))
    (record,) = [r for r in caplog.records if r.name == "service.problems"]
    message = record.getMessage()
    assert "\n" not in message
    assert "\x1b" not in message
    assert "/colour\\n2026-03-12 08:00:00,000 ERROR" in message


def test_the_fetcher_escapes_the_urls_it_logs(caplog):
    from service.url_fetcher import FetchRefused, SafeURLFetcher

    with pytest.raises(FetchRefused):
        SafeURLFetcher([]).fetch(f"https://evil.example/a{FORGED}\x1b[2J")
    (record,) = [r for r in caplog.records if r.name == "service.url_fetcher"]
    message = record.getMessage()
    assert "\n" not in message
    assert "\x1b" not in message
    assert "https://evil.example/a\\n2026" in message


# The JSON format ------------------------------------------------------------------------


@pytest.fixture
def json_output():
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(logging.INFO, stream, log_format="json")
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.parametrize(
    "hostile",
    [FORGED, "\r" + FORGED[1:], "a\u2028b", "a\x85b", "\u202eevil", "lone \ud800 surrogate", '"}'],
)
def test_a_json_record_is_one_ascii_line_that_reads_back(json_output, hostile):
    logging.getLogger("service.test").warning("Refused %s", hostile)
    text = json_output.getvalue()
    assert text.count("\n") == 1
    assert text.isascii()
    assert not re.search("[\x00-\x1f\x7f]", text[:-1])
    record = json.loads(text)
    assert set(record) == {"time", "level", "logger", "message", "request_id"}
    assert record["message"] == f"Refused {hostile}"
    assert (record["level"], record["logger"]) == ("WARNING", "service.test")
    assert datetime.fromisoformat(record["time"]).utcoffset() == timedelta(0)


def test_a_json_traceback_is_a_field_of_the_one_line(json_output):
    try:
        raise ValueError(f"bad key{FORGED}\x1b[31m")
    except ValueError:
        logging.getLogger("service.test").exception("Unexpected error")
    text = json_output.getvalue()
    assert text.count("\n") == 1
    record = json.loads(text)
    assert record["exception"].startswith("Traceback (most recent call last):")
    assert f"bad key{FORGED}\x1b[31m" in record["exception"]


def test_a_json_message_is_bounded(json_output):
    logging.getLogger("service.test").warning("%s", "x" * 100_000)
    record = json.loads(json_output.getvalue())
    assert len(record["message"]) <= MESSAGE_LIMIT + 1


def test_a_text_message_is_bounded_too(log_output):
    logging.getLogger("service.test").warning("%s", "x" * 100_000)
    (line,) = log_output.getvalue().splitlines()
    assert "x" * MESSAGE_LIMIT + "…" in line
    assert len(line) < MESSAGE_LIMIT + 200


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_wsgi_entry_point_logs_in_the_format_the_settings_name(tmp_path, log_format):
    root = Path(__file__).resolve().parent.parent
    script = (
        "import logging, wsgi\n"
        "from service.storage.schema import upgrade\n"
        "upgrade(wsgi.app.extensions['broadsheet'].engine)\n"
        "wsgi.app.test_client().get('/healthz', headers={'X-Request-Id': 'wsgi-1'})\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    env |= {
        "PYTHONPATH": str(root),
        "BROADSHEET_ENV": "test",
        "BROADSHEET_DATABASE_URL": f"sqlite:///{tmp_path / 'wsgi.sqlite3'}",
        "BROADSHEET_LOG_FORMAT": log_format,
        "BROADSHEET_MAIL_RELAY": "false",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "service.access" in line]
    if log_format == "json":
        record = json.loads(line)
        assert (record["logger"], record["request_id"], record["status"]) == (
            "service.access",
            "wsgi-1",
            200,
        )
    else:
        assert RECORD_START.match(line)
        assert " INFO service.access wsgi-1: GET /healthz 200 " in line
