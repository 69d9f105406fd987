"""The commands: render one article file, print an edition, serve the app, migrate its database.

Each runs inside the app (`with_appcontext`) and reads the runtime, so `broadsheet …` and
`flask --app wsgi …` behave alike; the group that loads the app is in `service.cli`.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from datetime import date
from pathlib import Path

import click
from alembic.util.exc import CommandError
from flask import current_app
from flask.cli import with_appcontext
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import URL, Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.serving import WSGIRequestHandler, make_server

from .article import Article
from .days import day_from
from .edition_printer import EditionJob
from .edition_request import Title
from .editions import EditionLimits, plan_edition
from .errors import BadArticle, BroadsheetError, EmptyEdition
from .files import write_whole
from .formats import FORMATS, PAPERS, Rendering
from .labels import counted
from .language import is_valid_language_tag
from .logs import configure_logging, first_line, for_a_terminal, printable
from .runtime import Runtime, current_runtime
from .storage import schema
from .storage.editions import named, published_on
from .validation import article_from_bytes

# The title rules of POST /v1/editions, for --title.
_TITLE: TypeAdapter[str] = TypeAdapter(Title)


class _Day(click.ParamType):
    """A day as YYYY-MM-DD, read by the same rule as a day in a URL (service/days.py)."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        day = day_from(str(value))
        if day is None:
            self.fail(
                f"{value!r} is not a date as YYYY-MM-DD (0001-01-03 to 9999-12-30)", param, ctx
            )
        return day


DAY = _Day()
# Where a database URL may carry a password besides its user part (libpq reads these).
PASSWORD_QUERY_KEYS = ("password", "sslpassword", "passfile")


def shown_database(url: URL) -> str:
    """A database URL fit to print: its password hidden, the one in the user part (as
    SQLAlchemy does) and any in the query."""
    return url.difference_update_query(PASSWORD_QUERY_KEYS).render_as_string(hide_password=True)


@click.command("render")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", "fmt", type=click.Choice(tuple(FORMATS)), required=True, help="Format.")
@click.option(
    "--paper",
    type=click.Choice(PAPERS),
    default="a4",
    show_default=True,
    help="Paper size, for --to pdf.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write; standard output when omitted.",
)
@with_appcontext
def render_command(file: Path, fmt: str, paper: str, output: Path | None) -> None:
    """Render one article file, as the HTTP routes would."""
    if output is None and FORMATS[fmt].binary and sys.stdout.isatty():
        raise click.ClickException(
            f"Not writing a {fmt.upper()} to the terminal: give -o FILE, "
            "or redirect standard output to a file."
        )
    try:
        article = article_from_bytes(read_article_file(file), source="file")
        rendering = Rendering(article, fmt, current_runtime(), paper)
        data = rendering.produce()
    except OSError as error:
        raise click.ClickException(f"{_shown(file)}: {error.strerror or error}") from None
    except BroadsheetError as error:
        _refused(file, error)
    for warning in rendering.warnings:
        click.echo(f"{_shown(file)}: warning: {warning}", err=True)
    if output:
        _write(output, data)
        click.echo(f"Wrote {_shown(output)} ({len(data)} bytes)", err=True)
    else:
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except OSError as error:
            raise click.ClickException(f"standard output: {error.strerror or error}") from None


def read_article_file(file: Path) -> bytes:
    """An article file's bytes, read as the HTTP routes read a body: a regular file (not a
    pipe or a device, which could block or never end) of at most MAX_BODY_BYTES."""
    limit = current_runtime().settings.max_body_bytes
    with open(file, "rb", buffering=0, opener=_nonblocking) as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise click.ClickException(f"{_shown(file)}: not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise click.ClickException(
            f"{_shown(file)}: larger than the limit of {limit} bytes (BROADSHEET_MAX_BODY_BYTES)"
        )
    return data


def _nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NONBLOCK)


def _write(output: Path, data: bytes) -> None:
    try:
        write_whole(output, data)
    except OSError as error:
        raise click.ClickException(f"{_shown(output)}: {error.strerror or error}") from None


def _shown(where: object) -> str:
    """A file's name as a line says it: a name is anyone's text (a publisher's file)."""
    return for_a_terminal(where)


def _refused(where: object, error: BroadsheetError) -> None:
    """One line per problem; a file's name, a pointer made of the article's own keys, and
    what a message quotes are the article's author's text: escaped, never sent raw to the
    terminal (an escape sequence in a key set the window's title and cleared the screen)."""
    where = _shown(where)
    if isinstance(error, BadArticle):
        count = len(error.errors)
        click.echo(f"{where}: the article has {count} problem{'s' * (count != 1)}:", err=True)
        for item in error.errors:
            pointer, message = for_a_terminal(item.pointer or "/"), for_a_terminal(item.message)
            click.echo(f"  {pointer}: {message}", err=True)
    else:
        click.echo(f"{where}: {for_a_terminal(error.detail)}", err=True)
    sys.exit(1)


@click.command("edition")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--ids", help="Stored articles to print, in this order: a,b,c.")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDF."
)
@click.option(
    "--for",
    "audience",
    type=click.Choice(("readers", "press")),
    default="readers",
    show_default=True,
    help="press: PDF/X-4 with 3 mm bleed and crop marks.",
)
@click.option("--title", help="The edition's title on the cover.")
@click.option(
    "--date",
    "on",
    type=DAY,
    help="The edition's date; alone, print every stored article published that day.",
)
@click.option("--lang", "language", help="Language of the cover and contents (BCP 47).")
@click.option("--paper", type=click.Choice(PAPERS), default="a4", show_default=True)
@with_appcontext
def edition_command(
    files: tuple[Path, ...],
    ids: str | None,
    output: Path,
    audience: str,
    title: str | None,
    on: date | None,
    language: str | None,
    paper: str,
) -> None:
    """Print a print edition: the stored articles published on --date, those named by
    --ids, or the article FILES, in order."""
    if files and ids:
        raise click.UsageError("Give article files or --ids, not both.")
    if not files and ids is None and on is None:
        raise click.UsageError("Give --date, --ids or article files.")
    if language is not None and not is_valid_language_tag(language):
        raise click.BadParameter(
            f"{language!r} is not a registered BCP 47 tag", param_hint="--lang"
        )
    if title is not None:
        try:
            title = _TITLE.validate_python(title)
        except ValidationError as error:
            reason = error.errors(include_url=False)[0]["msg"]
            raise click.BadParameter(f"the title {reason}", param_hint="--title") from None
    if not output.parent.is_dir():
        raise click.BadParameter(f"{_shown(output.parent)} is not a folder", param_hint="-o")
    runtime = current_runtime()
    articles = []
    for file in files:
        try:
            articles.append(article_from_bytes(read_article_file(file), source="file"))
        except OSError as error:
            raise click.ClickException(f"{_shown(file)}: {error.strerror or error}") from None
        except BroadsheetError as error:
            _refused(file, error)
    try:
        if not files:
            articles = _stored_articles(ids, on)
        edition = plan_edition(
            articles,
            publication=runtime.settings.publisher_name,
            limits=EditionLimits(
                max_articles=runtime.settings.edition_max_articles,
                max_pages_per_article=runtime.settings.pdf_max_pages,
            ),
            title=title,
            on=on,
            zone=runtime.settings.timezone,
            language=language,
            paper=paper,
            for_press=audience == "press",
        )
        job = EditionJob(edition, runtime.env, runtime.settings)
        with click.progressbar(
            length=len(articles), label="Printing articles", file=sys.stderr
        ) as bar:
            data = job.print_with(
                runtime.printer, progress=lambda done, total: bar.update(done - bar.pos)
            )
    except BroadsheetError as error:
        _refused("edition", error)
    for warning in job.warnings(job.left_out):  # as `render` says them, and the route
        click.echo(f"edition: warning: {warning}", err=True)
    _write(output, data)
    click.echo(
        f"Wrote {_shown(output)} ({counted(len(articles), 'article')}, {len(data)} bytes)",
        err=True,
    )


def _stored_articles(ids: str | None, day: date | None) -> list[Article]:
    """The stored articles named in `ids`, or else all those published on `day`."""
    runtime = current_runtime()
    try:
        with runtime.database.reading() as session:
            if ids is not None:
                return named(session, [i.strip() for i in ids.split(",") if i.strip()])
            assert day is not None
            articles = published_on(
                session,
                day,
                runtime.settings.timezone,
                at_most=runtime.settings.edition_max_articles,
            )
    except SQLAlchemyError as error:
        raise click.ClickException(
            f"The articles could not be read from the database ({type(error).__name__}); "
            "is it reachable, and up to date (broadsheet db upgrade)?"
        ) from None
    if not articles:
        raise EmptyEdition(f"No article was published on {day} ({runtime.settings.timezone.key}).")
    return articles


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
# 0 is any free port; 70000 wrapped around to another port while the banner named it.
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """Serve the app with the development server."""
    configure_logging(log_format=current_runtime().settings.log_format)
    # Flask refuses app.run() inside its own CLI; run werkzeug's server directly.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    prepare_database(current_runtime())
    database = shown_database(current_runtime().engine.url)
    # A client silent for BODY_TIMEOUT (in its headers, its body or between requests) is
    # dropped, so a stalled connection does not hold a thread; the body's own deadline is
    # in request_body.
    timeout = current_runtime().settings.body_timeout
    handler = type(
        "TimedRequestHandler",
        (WSGIRequestHandler,),
        # The app writes one access line per request, tokens hidden; werkzeug's own line
        # would carry the whole path: a confirm or unsubscribe link, token and all.
        {"timeout": timeout, "log_request": lambda self, code="-", size="-": None},
    )
    # werkzeug says itself why it cannot listen (a port in use), and exits 1.
    server = make_server(host, port, app, threaded=True, request_handler=handler)
    # The address bound, so --port 0 names the port chosen; an IPv6 host in brackets.
    bound = f"[{host}]" if ":" in host else host
    click.echo(f"Broadsheet on http://{bound}:{server.server_port}/ (database: {database})")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@click.group("db")
def db_group() -> None:
    """Database migrations."""


def _engine() -> Engine:
    return current_runtime().engine


@db_group.command("upgrade")
@click.argument("revision", default="head")
@click.option("--sql", is_flag=True, help="Print the SQL instead of running it.")
@with_appcontext
def upgrade_command(revision: str, sql: bool) -> None:
    """Apply the database migrations (up to REVISION, by default all)."""
    if sql:
        try:
            schema.upgrade_sql(_engine().url.render_as_string(hide_password=False), revision)
        except CommandError as error:
            click.echo(f"Could not write the SQL: {first_line(error)}", err=True)
            sys.exit(1)
        except AssertionError:  # Alembic asserts on some malformed ranges (head+1, 0005:)
            click.echo(_NOT_A_REVISION.format(revision=printable(revision, 80)), err=True)
            sys.exit(1)
        return
    try:
        state = schema.schema_state(_engine())
        if not state.can_upgrade:
            click.echo(state.describe(), err=True)
            sys.exit(1)
        if schema.is_before(revision, state.current):
            click.echo(
                f"The database is at revision {', '.join(state.current)}, past "
                f"{printable(revision, 80)}: db upgrade never goes back, and Broadsheet has "
                "no downgrade; to go back, restore the backup taken before the upgrade "
                "(docs/deploy.md).",
                err=True,
            )
            sys.exit(1)
        state = schema.upgrade(_engine(), revision)
    except (SQLAlchemyError, CommandError) as error:
        click.echo(f"Could not migrate the database: {first_line(error)}", err=True)
        sys.exit(1)
    except AssertionError:  # Alembic asserts on some malformed revisions: nothing was changed
        click.echo(_NOT_A_REVISION.format(revision=printable(revision, 80)), err=True)
        sys.exit(1)
    click.echo(state.describe())


_NOT_A_REVISION = (
    "Could not migrate the database: {revision!r} is not a revision to upgrade to "
    "(head, a revision id, or +N steps from the current one)"
)


@db_group.command("current")
@with_appcontext
def current_command() -> None:
    """Say which revision the database is at, and whether it is the one this code needs."""
    try:
        state = schema.schema_state(_engine())
    except SQLAlchemyError as error:
        click.echo(f"Could not read the database: {first_line(error)}", err=True)
        sys.exit(1)
    click.echo(state.describe())
    # A newer schema is served (a rolling upgrade under way): not a failure of this node.
    sys.exit(0 if state.serves_this_code else 1)


@db_group.command("backup")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(destination: Path) -> None:
    """Copy a SQLite database, while it serves, to DESTINATION (a new file)."""
    engine = _engine()
    if engine.dialect.name != "sqlite" or not engine.url.database:
        click.echo(
            "db backup copies a SQLite database; back up PostgreSQL with its own tools "
            "(pg_dump), as docs/deploy.md says.",
            err=True,
        )
        sys.exit(1)
    if destination.exists():
        click.echo(f"{printable(str(destination), 200)} exists: name a new file.", err=True)
        sys.exit(1)
    import sqlite3
    from contextlib import closing
    from urllib.parse import quote

    # SQLite's online backup: a consistent copy of a database in WAL mode while writers
    # go on (copying the file alone may miss what the WAL still holds).
    # Quoted: a path holding # or % was read as a URI's fragment or an escape, and an empty
    # database beside it backed up (exit 0).
    source_uri = f"file:{quote(engine.url.database)}?mode=ro"
    # Copied beside DESTINATION, then linked to its name: a backup stopped part way (a
    # timer's SIGTERM) left a file of that name, an empty database with a hot journal
    # that a restore took for the backup. The link, unlike a rename, never replaces a
    # file made there meanwhile.
    # Cut short, in bytes as the file system counts: a name as long as a file's may be
    # still has room for the marks.
    short = os.fsdecode(os.fsencode(destination.name)[:200])
    part = destination.with_name(f".{short}.{secrets.token_hex(4)}.part")
    try:
        try:
            with closing(sqlite3.connect(source_uri, uri=True)) as source:
                with closing(sqlite3.connect(part)) as copy:
                    # No rollback journal beside the part: a copy cut short is thrown away.
                    copy.execute("PRAGMA journal_mode=OFF")
                    source.backup(copy)
            try:
                os.link(part, destination)
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links (a network share)
                if destination.exists():
                    raise FileExistsError(destination) from None
                os.rename(part, destination)
        finally:
            part.unlink(missing_ok=True)
    except FileExistsError:
        click.echo(f"{printable(str(destination), 200)} exists: name a new file.", err=True)
        sys.exit(1)
    except (sqlite3.Error, OSError) as error:
        click.echo(f"Could not back up the database: {first_line(error)}", err=True)
        sys.exit(1)
    click.echo(
        f"Backed up {printable(engine.url.database, 200)} to {printable(str(destination), 200)}"
    )


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does.")
@click.option("--autogenerate", is_flag=True, help="Write the difference from the models.")
@with_appcontext
def revision_command(message: str, autogenerate: bool) -> None:
    """Write the next migration script (run `db upgrade` first when autogenerating)."""
    try:
        written = schema.new_revision(_engine(), message, autogenerate)
    except (SQLAlchemyError, CommandError) as error:
        click.echo(f"Could not write a revision: {first_line(error)}", err=True)
        sys.exit(1)
    click.echo(f"Wrote {written}")


def prepare_database(runtime: Runtime) -> None:
    """Before serving: migrate in development; in production, refuse a schema behind in one
    line. A newer schema is served, with a line saying so (a rolling upgrade)."""
    engine = runtime.engine
    try:
        state = schema.schema_state(engine)
        if not state.is_current and state.can_upgrade and runtime.settings.env != "production":
            state = schema.upgrade(engine)
    except SQLAlchemyError as error:
        click.echo(f"Broadsheet cannot use its database: {first_line(error)}", err=True)
        sys.exit(1)
    if not state.serves_this_code:
        click.echo(f"Broadsheet will not serve: {state.describe()}", err=True)
        sys.exit(1)
    if state.is_newer:
        click.echo(state.serving_newer(), err=True)
