"""Output formats: the one place that says which renderer makes each format, for HTTP and CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .article import Article
from .email_renderer import render_email
from .errors import PrintRefused
from .html_renderer import render_html
from .metrics import timed_render
from .pdf_renderer import PAPERS, PrintJob
from .runtime import Runtime
from .text_renderer import render_text

__all__ = ["FORMATS", "PAPERS", "Format", "Rendering"]


def _html(article: Article, runtime: Runtime) -> str:
    return render_html(article, runtime.env, runtime.settings)


def _email(article: Article, runtime: Runtime) -> str:
    return render_email(article, runtime.env, runtime.settings, runtime.inliner).html


def _text(article: Article, runtime: Runtime) -> str:
    return render_text(article, runtime.settings)


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    media_type: str
    suffix: str
    binary: bool
    # None for PDF, which is printed through the runtime's pool and cache instead.
    render: Callable[[Article, Runtime], str] | None


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("html", "text/html", ".html", False, _html),
        Format("pdf", "application/pdf", ".pdf", True, None),
        Format("email", "text/html", ".html", False, _email),
        Format("text", "text/plain", ".txt", False, _text),
    )
}


class Rendering:
    """One article in one format; a PDF goes through the runtime's printer pool and cache."""

    def __init__(self, article: Article, fmt: str, runtime: Runtime, paper: str = "a4"):
        self.article = article
        self.format = FORMATS[fmt]
        self.runtime = runtime
        self.job = PrintJob(article, runtime.env, runtime.settings, paper) if fmt == "pdf" else None
        self.warnings: list[str] = []  # what the output left out; known once produced

    @property
    def etag(self) -> str | None:
        """A name for the bytes, known before they are made (PDF only: they are costly)."""
        return self.job.etag if self.job else None

    @property
    def filename(self) -> str:
        return self.article.id + self.format.suffix

    def produce(self) -> bytes:
        if self.job is not None:  # timed by the cache, only when it prints
            refusals = self.runtime.print_refusals
            refusals.check(self.job.etag)
            try:
                printed = self.runtime.pdf_cache.render(self.job, self.runtime.printer)
            except PrintRefused as refusal:  # not a busy printer (503), nor a cheap refusal
                refusals.remember(self.job.etag, refusal)
                raise
            self.warnings = self.job.warnings(printed)
            return printed.data
        assert self.format.render is not None
        with timed_render(self.format.name):
            return self.format.render(self.article, self.runtime).encode("utf-8")
