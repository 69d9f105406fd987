"""The one Jinja environment: autoescaped, strict, shared by pages, PDF, e-mail and digests."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .print_budget import column_widths, lays_out_slowly

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def build_environment(templates_dir: Path = TEMPLATES_DIR) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(("html", "xml")),  # text templates are text, not HTML
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        keep_trailing_newline=True,
    )
    env.filters["wrapped"] = _wrapped  # text templates: a line filled to the text width
    env.filters["directed"] = _directed  # and each line read in the mail's direction
    env.tests["laid_out_slowly"] = lays_out_slowly  # a table print lays out in fixed columns
    env.filters["column_widths"] = column_widths  # and their widths, in percent
    return env


def _wrapped(text: str) -> str:
    from .text_renderer import wrap  # the renderers import this module

    return wrap(text)


def _directed(text: str, direction: str) -> str:
    from .text_renderer import signed_in_direction

    return signed_in_direction(text, direction)
