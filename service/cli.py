"""The `broadsheet` command line: one group, the settings read once, a bad one in one line.

Each command lives with what it works on (`service.commands` today; storage, digests and
editions as they come) and is listed in COMMANDS, which also gives `flask --app wsgi` the
same commands. Commands read the app through `flask.cli.with_appcontext`; the group
builds the app only when a command runs, so `--help` never needs the settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

import click
from flask import Flask
from flask.cli import ScriptInfo

from digests.commands import COMMANDS as DIGEST_COMMANDS

from . import create_app
from .commands import db_group, edition_command, render_command, serve_command
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

        try:
            # A variable set but empty is unset to the settings: the file's value counts,
            # also in the file's ${references}, which otherwise read the environment first.
            for name in dotenv_values(env_file, interpolate=False, encoding="utf-8"):
                if name in os.environ and not os.environ[name].strip():
                    del os.environ[name]
            load_dotenv(env_file, override=False, encoding="utf-8")
        except UnicodeDecodeError as error:
            raise BadSettings(f"{env_file} is not UTF-8 (byte {error.start})") from None
    ctx.obj = ScriptInfo(create_app=app_or_exit, set_debug_flag=False)


for _command in COMMANDS:
    cli.add_command(_command)


def register_commands(app: Flask) -> None:
    """The same commands under `flask --app wsgi …`."""
    for command in COMMANDS:
        app.cli.add_command(command)


def main() -> None:
    cli.main(prog_name="broadsheet")
