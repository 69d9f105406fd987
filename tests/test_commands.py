"""The commands: `broadsheet serve` answers on embedded defaults; `render` writes a file;
`edition` prints article files as one edition."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from unittest import mock

import pikepdf
import pytest
from pypdf import PdfReader

from .conftest import runtime_of
from .corpus import EXAMPLES, minimal


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ROOT = Path(__file__).resolve().parent.parent
BIKE_LANES = str(EXAMPLES / "bike-lanes.json")


def _environment(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")}
    env.update({f"BROADSHEET_{k}": v for k, v in settings.items()})
    return env


def test_make_serve_declares_development():
    recipe = (ROOT / "Makefile").read_text("utf-8").split("\nserve:", 1)[1].split("\n\n", 1)[0]
    assert "BROADSHEET_ENV=development $(BIN)/broadsheet serve" in recipe


def test_broadsheet_serve_answers(tmp_path):
    port = _free_port()
    # As `make serve` runs it: development, no SECRET_KEY, this checkout's code.
    env = _environment(ENV="development", DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}")
    server = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert json.load(r) == {"status": "ok", "database": "ok"}
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "server did not answer in 30 s"
                time.sleep(0.2)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/render/html",
            data=(EXAMPLES / "bike-lanes.json").read_bytes(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert response.read().startswith(b"<!DOCTYPE html>")
        # serve migrated its database itself, as development: the stored articles answer.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/articles", timeout=10) as r:
            assert json.load(r) == {"items": [], "next": None}
        # A link's token is never logged: werkzeug's own request line carried it whole.
        secret = "WzEsMTc5NjAxNTg3N10.aw0HIw.GVdycYt_roHTaQc7OG893jr73vk"
        for path in (f"/unsubscribe/{secret}", f"/subscribe/confirm/{secret}"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)
            refused.value.close()
            assert refused.value.code == 404
    finally:
        server.terminate()
        server.wait(timeout=10)
        output = server.stdout.read().decode()
        server.stdout.close()
    assert "/unsubscribe/<token>" in output
    assert secret.split(".")[0] not in output


@pytest.mark.parametrize(("host", "shown"), [("127.0.0.1", "127.0.0.1"), ("::1", "[::1]")])
def test_broadsheet_serve_names_the_address_it_listens_on(tmp_path, host, shown):
    """--port 0 was announced as port 0, and an IPv6 host without its brackets."""
    env = _environment(ENV="development", DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}")
    server = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--host", host, "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        banner = next(line for line in server.stdout if line.startswith("Broadsheet on"))
        url = banner.split()[2]
        assert url.startswith(f"http://{shown}:")
        assert not url.startswith(f"http://{shown}:0/")
        with urllib.request.urlopen(f"{url}healthz", timeout=10) as answer:
            assert answer.status == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()


def test_broadsheet_serve_drops_a_silent_connection(tmp_path):
    """A client that opens a connection and says nothing does not hold a thread for ever."""
    port = _free_port()
    env = _environment(
        ENV="development",
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        BODY_TIMEOUT="3",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "server did not answer in 30 s"
                time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /v1/render/text HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            assert sock.recv(1024) == b""
            assert time.monotonic() - started < 5
        # A body read whole leaves nothing to drop: the answer and the close come at once
        # (the development server's input has no end of its own, and a drain of it held
        # every POST's connection for the body timeout).
        body = EXAMPLES.joinpath("bike-lanes.json").read_bytes()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /v1/render/text HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            started = time.monotonic()
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200")
            assert time.monotonic() - started < 2  # BODY_TIMEOUT is 3 s
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()


def test_cli_renders_email(runner, tmp_path):
    out = tmp_path / "a.html"
    result = runner.invoke(
        args=["render", str(EXAMPLES / "bike-lanes.json"), "--to", "email", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert 'style="' in out.read_text("utf-8")


def test_cli_renders_pdf(runner, tmp_path):
    out = tmp_path / "a.pdf"
    result = runner.invoke(
        args=[
            "render",
            str(EXAMPLES / "bike-lanes.json"),
            "--to",
            "pdf",
            "--paper",
            "letter",
            "-o",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF-1.7")


@pytest.mark.parametrize(
    ("fmt", "expected"), [("html", "<!DOCTYPE html>"), ("text", "City\nCouncil")]
)
def test_render_command(runner, fmt, expected, tmp_path):
    out = tmp_path / f"out.{fmt}"
    result = runner.invoke(
        args=["render", str(EXAMPLES / "bike-lanes.json"), "--to", fmt, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text("utf-8").startswith(expected)


def test_render_command_to_stdout(runner, tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(minimal()), "utf-8")
    result = runner.invoke(args=["render", str(path), "--to", "text"])
    assert result.exit_code == 0
    assert "A minimal article" in result.output


def test_render_pdf_goes_through_the_printer_pool_and_its_cache(app, runner, tmp_path, monkeypatch):
    from service.print_pool import IsolatedPrinter

    printed = []
    pool_print = IsolatedPrinter.print

    def counting_print(self, *args, **kwargs):
        printed.append(self)
        return pool_print(self, *args, **kwargs)

    monkeypatch.setattr(IsolatedPrinter, "print", counting_print)
    outputs = [tmp_path / "first.pdf", tmp_path / "second.pdf"]
    for out in outputs:
        result = runner.invoke(args=["render", BIKE_LANES, "--to", "pdf", "-o", str(out)])
        assert result.exit_code == 0, result.output
    runtime = runtime_of(app)
    assert printed == [runtime.printer]  # once, in the pool; the second came from the cache
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    assert outputs[0].read_bytes().startswith(b"%PDF-")


def test_render_pdf_keeps_the_page_limit(make_app, tmp_path):
    path = tmp_path / "long.json"
    items = [f"item {n}" for n in range(300)]
    path.write_text(
        json.dumps(minimal(body=[{"type": "list", "style": "numbered", "items": items}])), "utf-8"
    )
    runner = make_app(PDF_MAX_PAGES=2, PDF_WORKERS=1).test_cli_runner()
    result = runner.invoke(args=["render", str(path), "--to", "pdf", "-o", str(tmp_path / "a")])
    assert result.exit_code == 1
    assert re.fullmatch(
        rf"{re.escape(str(path))}: The article would print on \d+ pages; the limit is 2\.\n",
        result.output,
    )
    assert not (tmp_path / "a").exists()


def test_a_pdf_is_not_written_to_a_terminal():
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "service", "render", BIKE_LANES, "--to", "pdf"],
            cwd=ROOT,
            env=_environment(ENV="development"),
            stdout=terminal,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 1
    assert result.stderr.decode() == (
        "Error: Not writing a PDF to the terminal: give -o FILE, "
        "or redirect standard output to a file.\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty: send a JSON object."),
        (b"{oops", "The file is not JSON: Expecting property name enclosed in double quotes"),
        (b"\xef\xbb\xbf{}", "The file starts with a byte order mark; use UTF-8 without one."),
        (b"\xff", "The file is not UTF-8 (byte 0)."),
    ],
)
def test_render_speaks_of_the_file(runner, tmp_path, content, message):
    path = tmp_path / "article.json"
    path.write_bytes(content)
    result = runner.invoke(args=["render", str(path), "--to", "text"])
    assert result.exit_code == 1
    assert result.output.startswith(f"{path}: {message}")
    assert "body" not in result.output


def test_render_lists_every_problem_of_the_article(runner):
    result = runner.invoke(
        args=["render", str(EXAMPLES / "bad" / "missing-alt.json"), "--to", "text"]
    )
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "  /body/0/alt: is required: describe the image, or mark it decorative"
    ]
    assert result.output.splitlines()[0].endswith(": the article has 1 problem:")


# broadsheet edition ----------------------------------------------------------------------------


@pytest.fixture
def edition_runner(make_app):
    def runner(**config):
        return make_app(PDF_WORKERS=1, PUBLISHER_NAME="Test Gazette", **config).test_cli_runner()

    return runner


def test_edition_command_prints_the_files_in_order(edition_runner, tmp_path):
    out = tmp_path / "edition.pdf"
    files = [str(EXAMPLES / "mercado-es.json"), str(EXAMPLES / "bike-lanes.json")]
    result = edition_runner().invoke(
        args=["edition", *files, "-o", str(out), "--title", "Weekend", "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    assert "Printing articles" in result.stderr
    assert "Wrote" in result.stderr
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    headlines = [json.loads((EXAMPLES / f).read_text())["headline"] for f in
                 ("mercado-es.json", "bike-lanes.json")]  # fmt: skip
    assert [i.title for i in reader.outline if not isinstance(i, list)] == headlines
    assert reader.metadata.title == "Weekend"
    assert list(reader.page_labels)[:2] == ["i", "1"]


@pytest.mark.parametrize(
    ("title", "says"),
    [("bad\x01\x1b[31mred", "U+0001"), ("Two\nlines", "single line"), ("x" * 301, "1 to 300")],
)
def test_edition_command_keeps_the_title_rules_of_the_route(edition_runner, tmp_path, title, says):
    """--title went into the cover and the PDF's metadata as given: controls, line breaks,
    any length; POST /v1/editions refuses them."""
    out = tmp_path / "edition.pdf"
    result = edition_runner().invoke(
        args=["edition", str(EXAMPLES / "bike-lanes.json"), "-o", str(out), "--title", title]
    )
    assert result.exit_code == 2, result.output
    assert "--title" in result.output
    assert says in result.output
    assert not out.exists()


def test_edition_command_for_press(edition_runner, tmp_path):
    out = tmp_path / "press.pdf"
    result = edition_runner().invoke(
        args=["edition", str(EXAMPLES / "bike-lanes.json"), "-o", str(out), "--for", "press"]
    )
    assert result.exit_code == 0, result.output
    with pikepdf.open(out) as pdf:
        assert pdf.Root.OutputIntents[0].S == "/GTS_PDFX"


def test_a_bad_file_is_named_with_its_pointer(edition_runner, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(minimal(body=[])))
    out = tmp_path / "edition.pdf"
    result = edition_runner().invoke(
        args=["edition", str(EXAMPLES / "bike-lanes.json"), str(bad), "-o", str(out)]
    )
    assert result.exit_code == 1
    assert f"{bad}: " in result.stderr
    assert "/body" in result.stderr
    assert not out.exists()


def test_too_many_files_for_the_limit_fail_before_printing(edition_runner, tmp_path):
    out = tmp_path / "edition.pdf"
    files = [str(EXAMPLES / "mercado-es.json"), str(EXAMPLES / "bike-lanes.json")]
    result = edition_runner(EDITION_MAX_ARTICLES=1).invoke(args=["edition", *files, "-o", str(out)])
    assert result.exit_code == 1
    assert "edition: The edition has 2 articles; the limit is 1." in result.stderr
    assert "Printing articles" not in result.stderr
    assert not out.exists()


def test_edition_command_prints_stored_articles_by_ids_and_by_date(stored_app, api, tmp_path):
    from .test_edition_routes import EVENING, MORNING, NEXT_DAY

    for article in (EVENING, NEXT_DAY, MORNING):
        assert api.put(article).status_code in (200, 201)
    runner = stored_app.test_cli_runner()
    by_ids = tmp_path / "ids.pdf"
    result = runner.invoke(args=["edition", "--ids", "next-day,morning", "-o", str(by_ids)])
    assert result.exit_code == 0, result.output
    reader = PdfReader(io.BytesIO(by_ids.read_bytes()))
    assert [i.title for i in reader.outline if not isinstance(i, list)] == [
        "Tomorrow",
        "Morning news",
    ]
    by_date = tmp_path / "date.pdf"
    result = runner.invoke(args=["edition", "--date", "2026-03-12", "-o", str(by_date)])
    assert result.exit_code == 0, result.output
    reader = PdfReader(io.BytesIO(by_date.read_bytes()))
    assert [i.title for i in reader.outline if not isinstance(i, list)] == [
        "Morning news",
        "Evening news",
    ]


def test_edition_command_refuses_unknown_ids_and_empty_days(stored_app, api, tmp_path):
    from .test_edition_routes import MORNING

    assert api.put(MORNING).status_code in (200, 201)
    runner = stored_app.test_cli_runner()
    out = tmp_path / "edition.pdf"
    unknown = runner.invoke(args=["edition", "--ids", "morning,nowhere", "-o", str(out)])
    assert unknown.exit_code == 1
    assert "edition: There is no stored article 'nowhere'." in unknown.stderr
    empty = runner.invoke(args=["edition", "--date", "2026-03-01", "-o", str(out)])
    assert empty.exit_code == 1
    assert "edition: No article was published on 2026-03-01 (UTC)." in empty.stderr
    neither = runner.invoke(args=["edition", "-o", str(out)])
    assert neither.exit_code == 2
    assert "Give --date, --ids or article files." in neither.stderr
    assert not out.exists()


def test_the_command_line_warns_of_a_left_out_image(runner, tmp_path):
    image = {"type": "image", "src": "https://images.example.org/a.png", "alt": "A map"}
    path = tmp_path / "hotlinked.json"
    path.write_text(json.dumps(minimal(body=[image])), "utf-8")
    result = runner.invoke(args=["render", str(path), "--to", "pdf", "-o", str(tmp_path / "a.pdf")])
    assert result.exit_code == 0, result.output
    assert f"{path}: warning: /body/0/src: image left out" in result.output


def test_the_edition_command_warns_of_each_left_out_image_by_article(edition_runner, tmp_path):
    """The edition command printed without an image and said nothing of it."""
    files = []
    for name, count in (("one", 2), ("two", 1)):
        body = [
            {"type": "image", "src": f"https://images.example.org/{name}-{n}.png", "alt": "A map"}
            for n in range(count)
        ]
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(minimal(id=name, body=body)), "utf-8")
    out = tmp_path / "edition.pdf"
    result = edition_runner().invoke(args=["edition", *map(str, files), "-o", str(out)])
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if "warning" in line]
    assert [line.split(": image left out")[0] for line in said] == [
        "edition: warning: article one at /body/0/src",
        "edition: warning: article one at /body/1/src",
        "edition: warning: article two at /body/0/src",
    ]
    assert out.read_bytes().startswith(b"%PDF-")


# Hostile files, folders and databases: one line, never a traceback or a hang ------------


def test_render_reads_only_a_regular_file_within_the_body_limit(make_app, tmp_path):
    runner = make_app(MAX_BODY_BYTES=2048).test_cli_runner()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # reading one with nobody writing waited for ever
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 3000)
    cases = [
        (fifo, "not a regular file"),
        (Path("/dev/zero"), "not a regular file"),  # read whole, it filled the memory
        (big, "larger than the limit of 2048 bytes (BROADSHEET_MAX_BODY_BYTES)"),
    ]
    for path, message in cases:
        started = time.monotonic()
        result = runner.invoke(args=["render", str(path), "--to", "text"])
        assert result.exit_code == 1, result.output
        assert result.output == f"Error: {path}: {message}\n"
        assert time.monotonic() - started < 10


def test_render_to_a_missing_folder_is_one_line(runner, tmp_path):
    out = tmp_path / "nowhere" / "article.txt"
    result = runner.invoke(
        args=["render", str(EXAMPLES / "bike-lanes.json"), "--to", "text", "-o", str(out)]
    )
    assert result.exit_code == 1
    assert result.output == f"Error: {out}: No such file or directory\n"


def test_an_edition_s_language_and_folder_are_checked_before_printing(edition_runner, tmp_path):
    files = [str(EXAMPLES / "bike-lanes.json")]
    bad_lang = edition_runner().invoke(
        args=["edition", *files, "-o", str(tmp_path / "e.pdf"), "--lang", "zz-invalid-!!"]
    )
    assert bad_lang.exit_code == 2
    assert "'zz-invalid-!!' is not a registered BCP 47 tag" in bad_lang.output
    nowhere = tmp_path / "nowhere" / "e.pdf"
    bad_folder = edition_runner().invoke(args=["edition", *files, "-o", str(nowhere)])
    assert bad_folder.exit_code == 2
    assert f"{nowhere.parent} is not a folder" in bad_folder.output
    for result in (bad_lang, bad_folder):
        assert "Printing articles" not in result.output


def test_a_database_that_cannot_be_opened_or_is_not_migrated_is_one_line(make_app, tmp_path):
    unreachable = make_app(DATABASE_URL="sqlite:////nonexistent/folder/x.sqlite3")
    result = unreachable.test_cli_runner().invoke(args=["db", "current"])
    assert result.exit_code == 1
    assert result.output.startswith("Could not read the database: (sqlite3.OperationalError)")
    assert len(result.output.splitlines()) == 1
    fresh = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}").test_cli_runner()
    for args in (["digest", "send"], ["digest", "preview", "-o", str(tmp_path)]):
        result = fresh.invoke(args=args)
        assert result.exit_code == 1, result.output
        assert len(result.output.splitlines()) == 1, result.output
        assert "broadsheet db upgrade" in result.output or "revision" in result.output
    bad = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}").test_cli_runner()
    result = bad.invoke(args=["db", "upgrade", "nosuchrev"])
    assert result.exit_code == 1
    assert result.output.startswith("Could not migrate the database: ")
    assert len(result.output.splitlines()) == 1


@pytest.fixture
def own_environ():
    """os.environ restored after the test: -e writes the file's settings into it, and
    monkeypatch restores only what it changed (delenv of an unset name records nothing)."""
    with mock.patch.dict(os.environ):
        yield


def test_an_env_file_that_is_not_utf8_is_one_line(tmp_path):
    from click.testing import CliRunner

    from service.cli import cli

    env_file = tmp_path / "latin1.env"
    env_file.write_bytes(b"BROADSHEET_PUBLISHER_NAME=Caf\xe9\n")
    result = CliRunner().invoke(cli, ["-e", str(env_file), "db", "current"])
    assert result.exit_code == 2
    assert result.output == f"{env_file} is not UTF-8 (byte 29)\n"


def test_an_env_file_with_a_line_it_cannot_read_is_refused(tmp_path, monkeypatch):
    """python-dotenv skipped the line with a warning naming no file, and the setting fell
    back to its default (exit 0): a mis-quoted MAIL_FROM sent from digest@localhost."""
    from click.testing import CliRunner

    from service.cli import cli

    monkeypatch.delenv("BROADSHEET_MAIL_FROM", raising=False)
    env_file = tmp_path / "quoted.env"
    # A line begun with ; is a comment to systemd, which reads the same file (and to us).
    env_file.write_text(
        '; settings\nBROADSHEET_ENV=development\nBROADSHEET_MAIL_FROM="news@example.org\n'
    )
    result = CliRunner().invoke(cli, ["-e", str(env_file), "db", "current"])
    assert result.exit_code == 2
    assert result.output == (
        f"{env_file}: line 3 cannot be read as NAME=value (a quote left open, or no =?)\n"
    )


def test_an_env_file_s_semicolon_lines_are_comments_only_between_settings(
    tmp_path, monkeypatch, own_environ
):
    """systemd reads the same file (EnvironmentFile=), and a line begun with ; is a comment
    to it; inside a quoted value, such a line is the value's own."""
    from click.testing import CliRunner

    from service.cli import cli

    for name in (
        "BROADSHEET_ENV",
        "BROADSHEET_RATELIMIT_SIGNUP_ADDRESS",
        "BROADSHEET_DATABASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / "systemd.env"
    env_file.write_text(
        "; the settings\nBROADSHEET_ENV=development\n\n  ; the database, after a blank line\n"
        f"BROADSHEET_DATABASE_URL=sqlite:///{tmp_path / 'db.sqlite3'}\n"
        'BROADSHEET_RATELIMIT_SIGNUP_ADDRESS="10 per minute\n; 200 per day"\n'
    )
    result = CliRunner().invoke(cli, ["-e", str(env_file), "db", "current"])
    assert "not valid" not in result.output, result.output
    assert "no schema" in result.output or "broadsheet db upgrade" in result.output, result.output
    assert os.environ["BROADSHEET_RATELIMIT_SIGNUP_ADDRESS"] == "10 per minute\n; 200 per day"


def test_an_env_file_is_read_as_systemd_reads_it_or_refused(tmp_path, monkeypatch, own_environ):
    """-e reads the file the units read with EnvironmentFile=, where an unquoted value keeps
    ' #…' and ${NAME} is not expanded: python-dotenv cut "Channel #4 News" to "Channel" and
    made "Price${HOME}Co" "Price/rootCo", so a digest sent by hand differed from the timer's."""
    from click.testing import CliRunner

    from service.cli import cli

    for name in ("BROADSHEET_ENV", "BROADSHEET_PUBLISHER_NAME", "BROADSHEET_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / "settings.env"
    database = f"BROADSHEET_DATABASE_URL=sqlite:///{tmp_path / 'db.sqlite3'}\n"
    env_file.write_text(
        f"BROADSHEET_ENV=development\n{database}\nBROADSHEET_PUBLISHER_NAME=Channel #4 News\n"
    )
    result = CliRunner().invoke(cli, ["-e", str(env_file), "db", "current"])
    assert result.exit_code == 2
    assert result.output.startswith(f"{env_file}: line 4 has a # that python-dotenv reads as")
    assert "BROADSHEET_PUBLISHER_NAME" not in os.environ
    # A comment after a quoted value, or as the whole of a value, is the value's to systemd.
    every_stand_in = "".join(map(chr, range(0xE000, 0xF900)))
    for line in (
        '"Channel #4 News" # our name', '"Channel"#4', " # none yet", "\t#x", f"{every_stand_in} #x"
    ):  # fmt: skip
        env_file.write_text(f"{database}BROADSHEET_PUBLISHER_NAME={line}\r\n")
        result = CliRunner().invoke(cli, ["-e", str(env_file), "db", "current"])
        assert result.exit_code == 2, line
        assert result.output.startswith(f"{env_file}: line 2 has a #"), result.output

    monkeypatch.setenv("HOME", "/root")
    env_file.write_text(
        f"BROADSHEET_ENV=development\n{database}"
        'BROADSHEET_PUBLISHER_NAME="Channel #4 News ${HOME}"\n'
        "BROADSHEET_SMTP_URL=Price${HOME}Co#1\n"
        "# a comment \ue000 on a line of its own\n"
        "BROADSHEET_A_NAME_ALONE\nexport BROADSHEET_ANOTHER\n"  # no value: skipped, as by systemd
    )
    monkeypatch.delenv("BROADSHEET_SMTP_URL", raising=False)
    CliRunner().invoke(cli, ["-e", str(env_file), "db", "current"])
    assert os.environ["BROADSHEET_PUBLISHER_NAME"] == "Channel #4 News ${HOME}"
    assert os.environ["BROADSHEET_SMTP_URL"] == "Price${HOME}Co#1"


def test_a_database_url_is_shown_without_any_password():
    from sqlalchemy import make_url

    from service.commands import shown_database

    for url in (
        "postgresql+psycopg://app:S3cret@db/news",
        "postgresql+psycopg://app@db/news?password=S3cret&sslmode=require",
        "postgresql+psycopg://app@db/news?sslpassword=S3cret",
    ):
        shown = shown_database(make_url(url))
        assert "S3cret" not in shown
        assert shown.startswith("postgresql+psycopg://app")
    assert "sslmode=require" in shown_database(make_url("postgresql://a@db/n?sslmode=require"))


@pytest.mark.parametrize("port", ["70000", "-1", "65536"])
def test_serve_refuses_a_port_that_is_not_one(runner, port):
    """70000 wrapped around to another port while the banner named it; -1 was a traceback."""
    result = runner.invoke(args=["serve", "--port", port])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--port'" in result.output


def test_db_upgrade_to_an_unknown_revision_is_one_line_with_or_without_sql(runner):
    for args in (["db", "upgrade", "nosuch"], ["db", "upgrade", "nosuch", "--sql"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        assert "nosuch" in result.output


def test_what_a_command_quotes_reaches_the_terminal_escaped(runner, edition_runner, tmp_path):
    """An article file's unknown key (its JSON Pointer), a file's name and a revision typed
    reached the terminal raw: ESC ] 0 ; … BEL set the window's title, ESC [ 2 J cleared it."""
    hostile = "x\x1b]0;pwned\x07\x1b[2J"
    document = json.loads((EXAMPLES / "bike-lanes.json").read_text())
    document[hostile] = 1
    keyed = tmp_path / "keyed.json"
    keyed.write_text(json.dumps(document))
    named = tmp_path / f"{hostile}.json"
    named.write_text(json.dumps(minimal(body=[])))
    results = [
        runner.invoke(args=["render", str(keyed), "--to", "text"]),
        runner.invoke(args=["render", str(named), "--to", "text"]),
        edition_runner().invoke(args=["edition", str(named), "-o", str(tmp_path / "e.pdf")]),
        runner.invoke(args=["db", "upgrade", "zz\x1b[2J\x1b]0;title\x07"]),
        runner.invoke(args=["db", "upgrade", "zz\x1b[2J\x1b]0;title\x07", "--sql"]),
    ]
    for result in results:
        assert result.exit_code == 1, result.output
        assert "\x1b" not in result.output, result.output
        assert "\x07" not in result.output, result.output
        assert "\\x1b" in result.output, result.output  # said, as an escape
    assert "/x\\x1b]0;pwned\\x07\\x1b[2J: is not a field of this object" in results[0].output


def test_what_a_command_quotes_is_otherwise_whole(runner, tmp_path):
    """Escaping the controls cut a long message (its reason, which comes last, lost) and
    doubled every backslash, in a file's name too: only the controls are escaped."""
    url = "https://example.org/a?" + "&".join(f"p{n}=v{n}" for n in range(150)) + " x"
    document = minimal(body=[{"type": "paragraph", "text": f'See <a href="{url}">this</a>.'}])
    named = tmp_path / "dossier été\\2026.json"
    named.write_text(json.dumps(document))
    result = runner.invoke(args=["render", str(named), "--to", "text"])
    assert result.exit_code == 1, result.output
    assert f"{named}: the article has 1 problem:" in result.output
    assert "must not contain white space" in result.output


@pytest.mark.parametrize("revision", ["head+1", "", "@"])
def test_db_upgrade_to_a_malformed_revision_is_one_line(runner, revision):
    """Alembic asserts on these (AssertionError): a 70-line traceback."""
    for args in (["db", "upgrade", revision], ["db", "upgrade", revision, "--sql"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        assert "is not a revision to upgrade to" in result.output


def _broadsheet(*args: str, tmp_path, **kw) -> subprocess.CompletedProcess:
    env = _environment(ENV="development", DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    kw.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        timeout=120,
        **kw,
    )


def test_a_pdf_that_cannot_be_written_whole_leaves_the_old_file_as_it_was(tmp_path):
    """A full disk or a quota (here a file size limit) truncated the good PDF already there
    and left its first 8 KB: a corrupt PDF under the old name."""
    import resource

    target = tmp_path / "good.pdf"
    first = _broadsheet("render", BIKE_LANES, "--to", "pdf", "-o", str(target), tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    good = target.read_bytes()
    target.chmod(0o640)

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

    on_letter = ("render", BIKE_LANES, "--paper", "letter", "--to", "pdf", "-o", str(target))
    again = _broadsheet(*on_letter, tmp_path=tmp_path, preexec_fn=small_files)
    assert again.returncode == 1
    assert again.stderr.decode().strip().splitlines()[-1] == f"Error: {target}: File too large"
    assert target.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    done = _broadsheet(*on_letter, tmp_path=tmp_path)
    assert done.returncode == 0
    assert target.read_bytes() != good
    assert target.stat().st_mode & 0o777 == 0o640  # the mode of the file it replaced


def test_settings_from_a_pipe_are_read(tmp_path):
    """`-e <(decrypt secrets.env)`: the file was read twice, and a pipe has nothing left the
    second time, so none of its settings applied and the command ran on the defaults."""
    script = (
        f"{sys.executable} -m service -e <(echo BROADSHEET_DIGEST_TIME=25:00) "
        f"render {BIKE_LANES} --to text"
    )
    env = _environment(ENV="development")
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout[:200]
    assert result.stderr.startswith("BROADSHEET_DIGEST_TIME=25:00 is not valid")


def test_settings_from_a_device_are_refused(tmp_path):
    result = _broadsheet("-e", "/dev/zero", "db", "current", tmp_path=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.decode() == "/dev/zero is not a file of settings (a regular file or a pipe)\n"
    )


@pytest.mark.parametrize(
    "args",
    [("db", "current"), ("db", "upgrade", "--sql"), ("render", BIKE_LANES, "--to", "text")],
)
def test_standard_output_on_a_full_disk_is_one_line(tmp_path, args):
    with open("/dev/full", "wb") as full:
        result = _broadsheet(*args, tmp_path=tmp_path, stdout=full)
    said = result.stderr.decode()
    assert result.returncode == 1, said
    assert "Traceback" not in said
    assert said.strip().splitlines()[-1].endswith("No space left on device")


@pytest.mark.parametrize(
    "args",
    [
        ("db", "current"),
        ("render", BIKE_LANES, "--to", "text"),
        ("render", BIKE_LANES, "--to", "pdf"),
    ],
)
def test_a_closed_standard_output_is_one_line(tmp_path, args):
    """Started with standard output closed (`>&-`), Python has no sys.stdout: a command
    writing to it failed with an AttributeError's traceback."""
    result = _broadsheet(*args, tmp_path=tmp_path, stdout=None, preexec_fn=lambda: os.close(1))
    said = result.stderr.decode()
    assert result.returncode == 1, said
    assert "Traceback" not in said
    assert said.strip().splitlines()[-1] == "Error: standard output: closed"


def test_a_database_that_stops_answering_mid_command_is_one_line(monkeypatch, capsys):
    """`digest send` with SQLite locked past its busy timeout: a traceback."""
    from sqlalchemy.exc import OperationalError

    from digests import commands as digest_commands
    from service import cli

    def locked():
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    monkeypatch.setattr(digest_commands, "_daily", locked)
    monkeypatch.setattr(sys, "argv", ["broadsheet", "digest", "send"])
    monkeypatch.setenv("BROADSHEET_ENV", "development")
    monkeypatch.setenv("BROADSHEET_DATABASE_URL", "sqlite://")
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 1
    said = capsys.readouterr().err
    assert said.startswith("Error: the database did not answer: ")
    assert "database is locked" in said
    assert "Traceback" not in said


def test_output_into_a_pipe_a_link_or_dev_stdout_goes_where_it_points(tmp_path):
    """Written beside and renamed over, -o replaced a named pipe with a file (its reader
    waited for ever), a symbolic link with a file, and /dev/stdout, as root, with a file."""
    import threading

    pipe = tmp_path / "out.fifo"
    os.mkfifo(pipe)
    read: list[bytes] = []
    reader = threading.Thread(target=lambda: read.append(pipe.read_bytes()), daemon=True)
    reader.start()
    into_pipe = _broadsheet(
        "render", BIKE_LANES, "--to", "text", "-o", str(pipe), tmp_path=tmp_path
    )
    reader.join(30)
    assert into_pipe.returncode == 0
    assert read
    assert read[0].startswith(b"City\n")
    assert pipe.is_fifo()

    real, link = tmp_path / "real.txt", tmp_path / "link.txt"
    real.write_text("old", "utf-8")
    link.symlink_to(real.name)
    through = _broadsheet("render", BIKE_LANES, "--to", "text", "-o", str(link), tmp_path=tmp_path)
    assert through.returncode == 0
    assert link.is_symlink()
    assert real.read_bytes() == read[0]

    dev_stdout = Path("/dev/stdout")
    try:
        stdout = _broadsheet(
            "render", BIKE_LANES, "--to", "text", "-o", str(dev_stdout), tmp_path=tmp_path
        )
        assert stdout.returncode == 0
        assert stdout.stdout == read[0]
        assert dev_stdout.is_symlink()  # as root it became a file, for every process here
    finally:
        if dev_stdout.exists() and not dev_stdout.is_symlink():  # put the machine right
            dev_stdout.unlink()
            dev_stdout.symlink_to("/proc/self/fd/1")
    # Standard output a shell opened on a file (`>> log`): written through its descriptor,
    # after what the file held, not over it by a new file of the same name.
    log = tmp_path / "log.txt"
    log.write_bytes(b"kept from before\n")
    script = (
        f"{sys.executable} -m service render {BIKE_LANES} --to text -o /dev/stdout >> {log}; "
        f"echo END >> {log}"
    )
    env = _environment(ENV="development")
    appended = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, timeout=120
    )
    assert appended.returncode == 0
    assert log.read_bytes() == b"kept from before\n" + read[0] + b"END\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
