"""The `broadsheet` command line: one group, the settings read once, a bad one in one line.

Each command lives with what it works on (`service.commands` today; storage, digests and
editions as they come) and is listed in COMMANDS, which also gives `flask --app wsgi` the
same commands. Commands read the app through `flask.cli.with_appcontext`; the group
builds the app only when a command runs, so `--help` never needs the settings.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
from pathlib import Path
from typing import IO, Any

import click
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy.exc import InterfaceError, OperationalError

from digests.commands import COMMANDS as DIGEST_COMMANDS

from . import create_app
from .commands import db_group, edition_command, render_command, serve_command
from .logs import first_line
from .settings import SettingsError

COMMANDS: tuple[click.Command, ...] = (
    render_command,
    serve_command,
    db_group,
    edition_command,
    *DIGEST_COMMANDS,
)


class BadSettings(click.ClickException):
    """A setting the service cannot start with: one line per variable, exit status 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.message, err=True)


def app_or_exit() -> Flask:
    try:
        return create_app()
    except SettingsError as error:
        raise BadSettings(str(error)) from None


@click.group(help="Broadsheet: render news articles as HTML, PDF, e-mail and text.")
@click.option(
    "-e",
    "--env-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read BROADSHEET_* settings from this file; the environment still wins.",
)
@click.pass_context
def cli(ctx: click.Context, env_file: Path | None) -> None:
    if env_file is not None:
        from dotenv import dotenv_values, load_dotenv

        text = _settings_text(env_file, _read_env_file(env_file))
        # A variable set but empty is unset to the settings: the file's value counts.
        for name in dotenv_values(stream=io.StringIO(text), interpolate=False):
            if name in os.environ and not os.environ[name].strip():
                del os.environ[name]
        # ${NAME} is kept as written: systemd, reading the same file, expands nothing.
        load_dotenv(stream=io.StringIO(text), override=False, interpolate=False)
    ctx.obj = ScriptInfo(create_app=app_or_exit, set_debug_flag=False)


ENV_FILE_LIMIT = 1 << 20


def _read_env_file(path: Path) -> str:
    """The settings file's text, read once: a pipe (`-e <(decrypt secrets.env)`) has nothing
    left for a second read, which left every setting unread. A regular file or a pipe of at
    most a MiB; a device (/dev/zero) is refused, not ignored."""
    try:
        with open(path, "rb", buffering=0, opener=_nonblocking_unless_pipe) as handle:
            kind = os.fstat(handle.fileno()).st_mode
            if not (stat.S_ISREG(kind) or stat.S_ISFIFO(kind)):
                raise BadSettings(f"{path} is not a file of settings (a regular file or a pipe)")
            data = b""
            while len(data) <= ENV_FILE_LIMIT and (chunk := handle.read(ENV_FILE_LIMIT + 1)):
                data += chunk
    except OSError as error:
        raise BadSettings(f"{path}: {error.strerror or error}") from None
    if len(data) > ENV_FILE_LIMIT:
        raise BadSettings(f"{path} is larger than a settings file may be ({ENV_FILE_LIMIT} bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadSettings(f"{path} is not UTF-8 (byte {error.start})") from None


def _settings_text(path: Path, text: str) -> str:
    """The file as python-dotenv is to read it, in one walk over its statements.

    A line begun with ; is a comment to systemd, whose EnvironmentFile= reads the same file
    (deploy/systemd), and an error to dotenv: it gets a # (only between settings: a quoted
    value's own lines are the value's). Any other statement dotenv cannot read refuses the
    file, naming its lines: dotenv skipped it with a warning that named no file, and the
    setting fell back to its default (a mis-quoted MAIL_FROM sent from digest@localhost)."""
    from dotenv.parser import parse_stream

    kept: list[str] = []
    unreadable: list[str] = []
    cut: list[str] = []
    for binding in parse_stream(io.StringIO(text)):
        statement = binding.original.string
        # After the blank lines the parser takes into the statement.
        blank = len(statement) - len(statement.lstrip())
        if binding.error:
            if statement[blank:].startswith(";"):
                statement = statement[:blank] + "#" + statement[blank:]
            else:
                unreadable.append(str(binding.original.line))
        elif binding.key is not None and _a_comment_to_dotenv(statement, binding.value):
            cut.append(str(binding.original.line + statement[:blank].count("\n")))
        kept.append(statement)
    if unreadable:
        raise BadSettings(
            f"{path}: line {', '.join(unreadable[:10])} cannot be read as "
            "NAME=value (a quote left open, or no =?)"
        )
    if cut:
        raise BadSettings(
            f"{path}: line {', '.join(cut[:10])} has a # that python-dotenv reads as a "
            "comment and systemd keeps in the value: put comments on lines of their own, "
            "and quote a value holding ' #'"
        )
    return "".join(kept)


def _a_comment_to_dotenv(statement: str, value: str | None) -> bool:
    """Whether python-dotenv takes a # of this NAME=value statement for a comment's start
    (after the value and a space, or after its closing quote): systemd's EnvironmentFile=
    takes # for a comment only at a line's start, and keeps it in the value. Seen by
    reading the statement again with each # a character it does not hold: the value then
    differs."""
    from dotenv.parser import parse_stream

    if value is None or "#" not in statement:  # no value (a line of a name alone), or no #
        return False
    stand_in = next((c for c in map(chr, range(0xE000, 0xF900)) if c not in statement), None)
    if stand_in is None:  # every one of them written in the statement: taken as cut
        return True
    read_again = list(parse_stream(io.StringIO(statement.replace("#", stand_in))))
    return (
        len(read_again) != 1
        or read_again[0].value is None
        or read_again[0].value.replace(stand_in, "#") != value
    )


def _nonblocking_unless_pipe(path: str, flags: int) -> int:
    """Open without blocking (a device cannot hold the command), then read a pipe blocking:
    its writer may be slower than this reader."""
    descriptor = os.open(path, flags | os.O_NONBLOCK)
    if stat.S_ISFIFO(os.fstat(descriptor).st_mode):
        os.set_blocking(descriptor, True)
    return descriptor


for _command in COMMANDS:
    cli.add_command(_command)


def register_commands(app: Flask) -> None:
    """The same commands under `flask --app wsgi …`."""
    for command in COMMANDS:
        app.cli.add_command(command)


def main() -> None:
    """`broadsheet`. What is wrong around a command, not in it (standard output on a full
    disk, a database that stops answering mid-command), is one line and exit status 1,
    never a traceback; a command handles what it can say better itself."""
    if sys.stdout is None:  # started with standard output closed (`>&-`)
        sys.stdout = _ClosedOutput()
    try:
        code = cli.main(prog_name="broadsheet", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except (OperationalError, InterfaceError) as error:
        click.echo(f"Error: the database did not answer: {first_line(error)}", err=True)
        sys.exit(1)
    except OSError as error:
        if error.errno == errno.EPIPE:  # the reader left (`| head`): nothing to say to it
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        where = f"{error.filename}: " if error.filename else ""
        click.echo(f"Error: {where}{error.strerror or error}", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)  # --help and ctx.exit(n) return theirs


class _ClosedOutput(io.TextIOBase):
    """Standard output for a process started without one: Python leaves sys.stdout None, and
    a command writing to it failed with a traceback. Writing fails as it would on a closed
    descriptor (EBADF), which main() says in one line."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "closed", "standard output")

    @property
    def buffer(self) -> _ClosedOutput:
        return self
