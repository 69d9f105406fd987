"""Log lines say what happened, one record to a line, whatever the request held."""

from __future__ import annotations

import io
import logging
import re

import pytest

from service.logs import configure_logging

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
