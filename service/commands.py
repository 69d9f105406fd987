"""The `broadsheet` command group (SPEC §4); `flask --app wsgi …` reaches the same commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from werkzeug.serving import WSGIRequestHandler, run_simple

from .email_renderer import render_email
from .errors import BroadsheetError
from .html_renderer import render_html
from .logs import configure_logging
from .pdf_renderer import PAPERS, render_pdf
from .printing import Printer
from .text_renderer import render_text
from .validation import article_from_bytes

FORMATS = ("html", "pdf", "email", "text")


def _render(article, fmt: str, paper: str) -> str | bytes:
    runtime = current_app.extensions["broadsheet"]
    if fmt == "html":
        return render_html(article, runtime.env, runtime.settings)
    if fmt == "email":
        return render_email(article, runtime.env, runtime.settings, runtime.inliner).html
    if fmt == "pdf":
        printer = Printer(
            runtime.settings.image_hosts, max_pages=int(current_app.config["PDF_MAX_PAGES"])
        )
        return render_pdf(article, runtime.env, runtime.settings, printer, paper)
    return render_text(article, runtime.settings)


@click.command("render")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", "fmt", type=click.Choice(FORMATS), required=True, help="Output format.")
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
    """Render one article file."""
    try:
        article = article_from_bytes(file.read_bytes())
        result = _render(article, fmt, paper)
    except BroadsheetError as error:
        click.echo(f"{file}: {error.detail}", err=True)
        for item in getattr(error, "errors", []):
            click.echo(f"  {item.pointer or '/'}: {item.message}", err=True)
        sys.exit(1)
    data = result.encode("utf-8") if isinstance(result, str) else result
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
    click.echo(f"Broadsheet on http://{host}:{port}/ (database: {app.config['DATABASE_URL']})")
    # A client silent for BODY_TIMEOUT (headers, body or between requests) is dropped, so a
    # stalled connection does not hold a thread; the body's own deadline is in request_body.
    handler = type(
        "TimedRequestHandler", (WSGIRequestHandler,), {"timeout": app.config["BODY_TIMEOUT"]}
    )
    run_simple(
        host,
        port,
        app,
        threaded=True,
        use_reloader=False,
        use_debugger=False,
        request_handler=handler,
    )


def register_commands(app: Flask) -> None:
    for command in (render_command, serve_command):
        app.cli.add_command(command)


def _create_app():
    from . import create_app

    return create_app()


cli = FlaskGroup(
    create_app=_create_app,
    add_default_commands=False,
    add_version_option=False,
    help="Broadsheet: render and mail news articles.",
)
