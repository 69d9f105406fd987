"""WeasyPrint, prepared once per process: stylesheets parsed, fonts configured, fetcher locked."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from .errors import RenderRefused
from .pdf_tags import finish_tagging
from .templating import TEMPLATES_DIR
from .url_fetcher import LeftOut, SafeURLFetcher

logger = logging.getLogger(__name__)

PAPER_SIZES = {"a4": "A4", "letter": "letter"}


@dataclass(frozen=True, slots=True)
class Printed:
    """A PDF, and the images it had to leave out (their alt text stands in)."""

    data: bytes
    left_out: tuple[LeftOut, ...] = ()


class Printer:
    """Turns print HTML into a tagged PDF/UA-1 file; build one per process and reuse it."""

    def __init__(
        self,
        image_hosts: Iterable[str] = (),
        *,
        max_pages: int,
        fetcher: SafeURLFetcher | None = None,
    ):
        self.fonts = FontConfiguration()
        self.fetcher = fetcher or SafeURLFetcher(image_hosts)
        stylesheet = (TEMPLATES_DIR / "rendering" / "print.css").read_text("utf-8")
        self.stylesheet = CSS(string=stylesheet, font_config=self.fonts, url_fetcher=self.fetcher)
        # Wide tables go on pages of their own, turned to landscape (print.css: table.wide).
        self.paper = {
            name: CSS(
                string=f"@page {{ size: {size} }} @page wide {{ size: {size} landscape }}",
                font_config=self.fonts,
            )
            for name, size in PAPER_SIZES.items()
        }
        self.max_pages = max_pages

    def print(
        self, html: str, paper: str = "a4", link_labels: dict[str, str] | None = None
    ) -> Printed:
        # No image cache outlives a render: decoded images are the bulk of a worker's memory,
        # and the PDF cache already answers a repeated article without printing it again.
        self.fetcher.begin_job()
        document = HTML(string=html, url_fetcher=self.fetcher).render(
            font_config=self.fonts,
            stylesheets=[self.stylesheet, self.paper[paper]],
            pdf_variant="pdf/ua-1",
            presentational_hints=False,
        )
        if len(document.pages) > self.max_pages:
            raise RenderRefused(
                f"The article would print on {len(document.pages)} pages; "
                f"the limit is {self.max_pages}."
            )
        # Written uncompressed: the tagging pass saves it once more and compresses it then.
        data = document.write_pdf(
            pdf_variant="pdf/ua-1", pdf_identifier=False, uncompressed_pdf=True
        )
        return Printed(finish_tagging(data, link_labels or {}), tuple(self.fetcher.left_out))
