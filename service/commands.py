"""The commands of SPEC §4: render one article file, serve the app.

Each runs inside the app (`with_appcontext`) and reads the runtime, so `broadsheet …` and
`flask --app wsgi …` behave alike; the group that loads the app is in `service.cli`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import WSGIRequestHandler, run_simple

from .errors import BadArticle, BroadsheetError
from .formats import FORMATS, PAPERS, Rendering
from .logs import configure_logging
from .runtime import current_runtime
from .validation import article_from_bytes


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
        article = article_from_bytes(file.read_bytes(), source="file")
        rendering = Rendering(article, fmt, current_runtime(), paper)
        data = rendering.produce()
    except OSError as error:
        raise click.ClickException(f"{file}: {error.strerror or error}") from None
    except BadArticle as error:
        count = len(error.errors)
        click.echo(f"{file}: the article has {count} problem{'s' * (count != 1)}:", err=True)
        for item in error.errors:
            click.echo(f"  {item.pointer or '/'}: {item.message}", err=True)
        sys.exit(1)
    except BroadsheetError as error:
        click.echo(f"{file}: {error.detail}", err=True)
        sys.exit(1)
    for warning in rendering.warnings:
        click.echo(f"{file}: warning: {warning}", err=True)
    if output:
        output.write_bytes(data)
        click.echo(f"Wrote {output} ({len(data)} bytes)", err=True)
    else:
        sys.stdout.buffer.write(data)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """Serve the app with the development server."""
    configure_logging()
    # Flask refuses app.run() inside its own CLI; run werkzeug's server directly.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    database = current_runtime().engine.url  # printed with its password hidden
    click.echo(f"Broadsheet on http://{host}:{port}/ (database: {database})")
    # A client silent for BODY_TIMEOUT (in its headers, its body or between requests) is
    # dropped, so a stalled connection does not hold a thread; the body's own deadline is
    # in request_body.
    timeout = current_runtime().settings.body_timeout
    handler = type("TimedRequestHandler", (WSGIRequestHandler,), {"timeout": timeout})
    run_simple(
        host,
        port,
        app,
        threaded=True,
        use_reloader=False,
        use_debugger=False,
        request_handler=handler,
    )
