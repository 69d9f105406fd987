"""WeasyPrint, prepared once per process: stylesheets parsed, fonts configured, fetcher locked."""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pikepdf
import weasyprint
from weasyprint import CSS, HTML
from weasyprint.css import ColorProfile
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from . import pdf_languages
from .errors import PrintRefused
from .pdf_tags import finish_tagging
from .templating import TEMPLATES_DIR
from .url_fetcher import LeftOut, SafeURLFetcher

logger = logging.getLogger(__name__)


class _DecorativeImages(logging.Filter):
    """WeasyPrint logs an ERROR for every figure whose image has an empty alt: validation
    gives every image that is not decorative its alt text, and a decorative one is printed
    as an artifact (pdf_tags), so the line only ever said a valid article was printed, with
    the image's whole address, on every print of it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "has no required alt description" not in record.getMessage()


logging.getLogger("weasyprint").addFilter(_DecorativeImages())

SERVICE_DIR = Path(__file__).resolve().parent
# What, beside the engines, shapes the bytes of a PDF: the code, templates, stylesheets and
# colour profiles in this checkout.
_SHAPING = (".py", ".html", ".css", ".icc")


@cache
def source_digest() -> str:
    """A hash of everything that shapes a printed PDF: WeasyPrint's and pikepdf's (qpdf's)
    versions and every file of code, template, style and colour profile. A stored PDF
    printed by other code is printed again; an edition's ETag changes with any of it."""
    digest = hashlib.sha256(
        f"{weasyprint.__version__}\0{pikepdf.__version__}\0{pikepdf.__libqpdf_version__}".encode()
    )
    for root in (SERVICE_DIR, TEMPLATES_DIR):
        for path in sorted(root.rglob("*")):
            if path.suffix in _SHAPING and path.is_file():
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


pdf_languages.install()

PAPER_SIZES = {"a4": "A4", "letter": "letter"}
# A layout names the stylesheets over print.css and the PDF variant: a single article, an
# article or the front matter inside a reader's edition, or the same for the press.
LAYOUTS = {
    "article": ((), "pdf/ua-1"),
    "edition": (("editions/edition.css",), "pdf/ua-1"),
    "press": (("editions/edition.css", "editions/press.css"), "pdf/x-4"),
}
PRESS_PROFILE = TEMPLATES_DIR / "editions" / "press-cmyk.icc"


# The widths of a table in fixed columns, one class a percent (print_budget.column_widths;
# the header cells carry them, and a fixed layout takes its widths from the first row).
COLUMN_WIDTHS = 'th[class^="col-"] { box-sizing: border-box }\n' + "".join(
    f"th.col-{n} {{ width: {n}% }}\n" for n in range(1, 101)
)


@dataclass
class _Layout:
    stylesheets: list[CSS]
    variant: str
    color_profiles: dict = field(default_factory=dict)


class _FileProfile(ColorProfile):
    """An output profile embedded as its file's very bytes.

    WeasyPrint embeds what Pillow's `tobytes()` makes of the profile, and Pillow serialises
    it anew each time, differently once the profile's name has been read (as the first PDF
    does): a worker's first press PDF and its later ones differed under one ETag.
    """

    def __init__(self, original: ColorProfile, data: bytes):
        super().__init__(io.BytesIO(data), original.src, original.rendering_intent,
                         original.components)  # fmt: skip
        self.data = data

    @property
    def content(self) -> bytes:
        return self.data


class _BundledProfile(URLFetcher):
    """The press stylesheet may load its own output profile and nothing else."""

    def fetch(self, url, headers=None):
        if url != PRESS_PROFILE.as_uri():
            raise ValueError(f"{url} is not the bundled press profile")
        return URLFetcherResponse(url, body=PRESS_PROFILE.read_bytes())


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
        stylesheet += COLUMN_WIDTHS
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
        self._layouts: dict[str, _Layout] = {}

    def _layout(self, name: str) -> _Layout:
        """The stylesheets of a layout, parsed on first use and kept for the process."""
        if name not in self._layouts:
            names, variant = LAYOUTS[name]
            layout = _Layout([self.stylesheet], variant)
            for path in names:
                layout.stylesheets.append(
                    CSS(
                        string=(TEMPLATES_DIR / path).read_text("utf-8"),
                        base_url=(TEMPLATES_DIR / path).as_uri(),
                        font_config=self.fonts,
                        url_fetcher=_BundledProfile(),
                        color_profiles=layout.color_profiles,
                    )
                )
            profile = PRESS_PROFILE.read_bytes() if layout.color_profiles else b""
            for key, parsed in layout.color_profiles.items():
                layout.color_profiles[key] = _FileProfile(parsed, profile)
            self._layouts[name] = layout
        return self._layouts[name]

    def print(
        self,
        html: str,
        paper: str = "a4",
        link_labels: dict[str, str] | None = None,
        layout: str = "article",
        max_pages: int | None = None,
    ) -> Printed:
        """Print `html`; refused past `max_pages` pages (the printer's own cap by default)."""
        limit = max_pages or self.max_pages
        chosen = self._layout(layout)
        # No image cache outlives a render: decoded images are the bulk of a worker's memory,
        # and the PDF cache already answers a repeated article without printing it again.
        self.fetcher.begin_job()
        document = HTML(string=html, url_fetcher=self.fetcher).render(
            font_config=self.fonts,
            stylesheets=[*chosen.stylesheets, self.paper[paper]],
            color_profiles=chosen.color_profiles,
            pdf_variant=chosen.variant,
            presentational_hints=False,
        )
        if len(document.pages) > limit:
            raise PrintRefused(
                f"The article would print on {len(document.pages)} pages; the limit is {limit}."
            )
        # Written uncompressed: the tagging pass saves it once more and compresses it then.
        data = document.write_pdf(
            pdf_variant=chosen.variant,
            pdf_identifier=False,
            uncompressed_pdf=True,
        )
        return Printed(finish_tagging(data, link_labels or {}), tuple(self.fetcher.left_out))
