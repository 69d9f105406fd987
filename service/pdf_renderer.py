"""The print-ready PDF of an article: print HTML, a content hash for ETags, a bounded cache."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Protocol

import weasyprint
from jinja2 import Environment

from .article import Article
from .errors import RenderRefused
from .notes import reading_order
from .page import article_context
from .printing import PAPER_SIZES
from .settings import Settings
from .templating import TEMPLATES_DIR

PAPERS = tuple(PAPER_SIZES)
# A page of this design holds about 4,500 characters of running text; no page can hold
# 8,000. An article with more than that per allowed page is refused before layout, so an
# oversized article costs a printer process nothing.
MAX_CHARS_PER_PAGE = 8_000
# Anything that changes the bytes of a PDF for the same HTML: engine and stylesheet.
_ENGINE = hashlib.sha256(
    weasyprint.__version__.encode()
    + (TEMPLATES_DIR / "rendering" / "print.css").read_bytes()
    + b"pdf/ua-1;tagging-v1"
).hexdigest()


class PrinterLike(Protocol):
    max_pages: int

    def print(
        self, html: str, paper: str = ..., link_labels: dict[str, str] | None = ...
    ) -> bytes: ...


class PrintJob:
    """What the printer needs for one article, and the hash that names its PDF."""

    def __init__(self, article: Article, env: Environment, settings: Settings, paper: str):
        context = article_context(article, settings)
        context["paper"] = paper
        self.article = article
        self.paper = paper
        self.html = env.get_template("rendering/print.html").render(context)
        self.link_labels: dict[str, str] = context["link_labels"]
        self.text_length = sum(len(inline.text) for inline in _all_text(article))
        self.etag = hashlib.sha256(
            f"{_ENGINE}\0{paper}\0".encode() + self.html.encode("utf-8")
        ).hexdigest()[:32]

    def print_with(self, printer: PrinterLike) -> bytes:
        if self.text_length > printer.max_pages * MAX_CHARS_PER_PAGE:
            raise RenderRefused(
                f"The article has {self.text_length} characters of text, more than "
                f"{printer.max_pages} pages can hold; the limit is {printer.max_pages} pages."
            )
        return printer.print(self.html, self.paper, self.link_labels)


def _all_text(article: Article):
    yield article.headline
    if article.standfirst:
        yield article.standfirst
    yield from reading_order(article)
    for note in article.notes:
        yield note.text


def render_pdf(
    article: Article, env: Environment, settings: Settings, printer: PrinterLike, paper: str = "a4"
) -> bytes:
    return PrintJob(article, env, settings, paper).print_with(printer)


class PdfCache:
    """Rendered PDFs by ETag, least recently used first out, bounded in count and bytes."""

    def __init__(self, max_items: int, max_bytes: int = 128 * 1024 * 1024):
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: str, data: bytes) -> bytes:
        if self.max_items <= 0 or len(data) > self.max_bytes:
            return data
        with self._lock:
            if key in self._items:
                return data
            self._items[key] = data
            self._bytes += len(data)
            while len(self._items) > self.max_items or self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)
        return data

    def __len__(self) -> int:
        return len(self._items)

    def render(self, job: PrintJob, printer: PrinterLike) -> bytes:
        cached = self.get(job.etag)
        return cached if cached is not None else self.put(job.etag, job.print_with(printer))
