"""`broadsheet edition`: article files in, one print edition PDF out, with a progress bar."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from .edition_printer import print_edition
from .editions import EditionLimits, plan_edition
from .errors import BroadsheetError
from .formats import PAPERS
from .runtime import current_runtime
from .validation import article_from_bytes


def _fail(where: str, error: BroadsheetError) -> None:
    click.echo(f"{where}: {error.detail}", err=True)
    for item in getattr(error, "errors", []):
        click.echo(f"  {item.pointer or '/'}: {item.message}", err=True)
    sys.exit(1)


@click.command("edition")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
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
@click.option("--date", "on", type=click.DateTime(("%Y-%m-%d",)), help="The edition's date.")
@click.option("--lang", "language", help="Language of the cover and contents (BCP 47).")
@click.option("--paper", type=click.Choice(PAPERS), default="a4", show_default=True)
@with_appcontext
def edition_command(
    files: tuple[Path, ...],
    output: Path,
    audience: str,
    title: str | None,
    on: datetime | None,
    language: str | None,
    paper: str,
) -> None:
    """Print the articles in FILES, in that order, as one edition."""
    runtime = current_runtime()
    articles = []
    for file in files:
        try:
            articles.append(article_from_bytes(file.read_bytes()))
        except BroadsheetError as error:
            _fail(str(file), error)
    try:
        edition = plan_edition(
            articles,
            publication=runtime.settings.publisher_name,
            limits=EditionLimits(
                max_articles=runtime.settings.edition_max_articles,
                max_pages_per_article=runtime.settings.pdf_max_pages,
            ),
            title=title,
            on=on.date() if on else None,
            language=language,
            paper=paper,
            for_press=audience == "press",
        )
        with click.progressbar(
            length=len(articles), label="Printing articles", file=sys.stderr
        ) as bar:
            data = print_edition(
                edition,
                runtime.env,
                runtime.settings,
                runtime.printer,
                progress=lambda done, total: bar.update(done - bar.pos),
            )
    except BroadsheetError as error:
        _fail("edition", error)
    output.write_bytes(data)
    click.echo(f"Wrote {output} ({len(articles)} articles, {len(data)} bytes)", err=True)
