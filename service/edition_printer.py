"""Printing an edition: every article at once through the printer pool, then one PDF.

WeasyPrint holds a whole document in memory and uses one core, so an edition is never laid
out as one long flow. Each article is printed on its own, in parallel on every printer
worker, and spooled to a temporary file as it arrives; once every page count is known the
front matter (cover and contents, with the true page numbers) is printed, and
`pdf_merge` joins the parts, structure trees and all.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FutureTimeout
from contextvars import copy_context
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Protocol

import pikepdf
from jinja2 import Environment

from .article import Article
from .editions import (
    Edition,
    article_anchor,
    contents,
    front_link_labels,
    front_matter_context,
)
from .errors import EditionTooLarge, EditionTooSlow, RenderRefused
from .metrics import timed_render
from .page import PUBLISHER_HEAD_COLUMNS, article_context, link_labels, running_head
from .pdf_merge import EditionMerge, PartFile
from .pdf_renderer import (
    image_pointers,
    left_out_lines,
    prepare_for_print,
    with_exact_text,
    with_quotation_marks,
)
from .print_budget import EDITION_LIMIT, check_print_budget
from .printing import Printed, source_digest
from .reading import prefix_for
from .settings import Settings
from .templating import TEMPLATES_DIR
from .url_fetcher import LeftOut

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class EditionPrinterLike(Protocol):
    max_pages: int

    def print(
        self,
        html: str,
        paper: str = ...,
        link_labels: dict[str, str] | None = ...,
        layout: str = ...,
        max_pages: int | None = ...,
    ) -> Printed: ...


@dataclass(frozen=True, slots=True)
class PartJob:
    """One article as its edition prints it: print HTML, its link words, its hash."""

    position: int
    article: Article
    html: str
    link_labels: dict[str, str]
    etag: str
    layout: int  # its weight in the print budget
    images: dict[str, list[str]]  # its images' pointers by digest (what it may leave out)


_carriers: dict[tuple[str, str], bytes] = {}
_carriers_lock = threading.Lock()


def _folio_carrier(printer: EditionPrinterLike, paper: str, layout: str) -> bytes:
    """The one-line page whose font sets the folios; printed once per process and layout."""
    with _carriers_lock:
        cached = _carriers.get((paper, layout))
    if cached is None:
        html = (TEMPLATES_DIR / "editions" / "folio.html").read_text("utf-8")
        cached = printer.print(html, paper, None, layout).data
        with _carriers_lock:
            _carriers[paper, layout] = cached
    return cached


class EditionJob:
    """What the printer needs for one edition, and the hash that names its PDF."""

    def __init__(self, edition: Edition, env: Environment, settings: Settings):
        self.edition = edition
        self.env = env
        # Cut as a headline's running head is, to the width its corner of the page has:
        # whole, an 80-letter title ran off the sheet over the article's running head.
        running_title = running_head(
            f"{edition.publication} · {edition.title}", PUBLISHER_HEAD_COLUMNS
        )
        self.parts: list[PartJob] = []
        self.left_out: list[LeftOut] = []  # the images the parts printed without
        layout = 0
        for position, article in enumerate(edition.articles, start=1):
            part = self._part(position, article, settings, running_title)
            layout += part.layout
            if layout > EDITION_LIMIT:
                raise EditionTooLarge(
                    f"The edition asks for more layout than one edition may take: it passes "
                    f"the edition's print budget of {EDITION_LIMIT:,} at article {position} "
                    f"({article.id}). Print it as several editions.",
                    position=position,
                )
            self.parts.append(part)
        fields = "\0".join(
            (
                source_digest(),  # any code, style or engine that shapes the bytes
                edition.layout,
                edition.paper,
                edition.title,
                edition.date.isoformat(),
                edition.language,
                edition.publication,
                *(part.etag for part in self.parts),
            )
        )
        self.etag = hashlib.sha256(fields.encode("utf-8")).hexdigest()[:32]

    def _part(
        self, position: int, article: Article, settings: Settings, running_title: str
    ) -> PartJob:
        # Each part is printed alone, but its ids carry its prefix as in any shared document;
        # the same prefix names its structure IDs after the merge.
        context = article_context(article, settings, prefix=prefix_for(position))
        context["paper"] = self.edition.paper
        context["running_title"] = running_title
        # The guards a single PDF has: addresses kept whole, long runs made breakable, and the
        # print budget (an article over it would hold a printer for the whole time limit).
        html = prepare_for_print(self.env.get_template("editions/part.html").render(context))
        reading = context["reading"]
        try:
            layout = check_print_budget(reading, publisher_head=running_title)
        except RenderRefused as refusal:
            raise EditionTooLarge(
                f"Article {position} ({article.id}): {refusal.detail}", position=position
            ) from None
        etag = hashlib.sha256(
            f"{source_digest()}\0{self.edition.layout}\0{self.edition.paper}\0".encode()
            + html.encode("utf-8")
        ).hexdigest()
        labels = link_labels(reading, context["labels"])
        images = image_pointers(reading, where=f"article {article.id} at ")
        return PartJob(position, article, html, labels, etag, layout, images)

    def warnings(self, left_out: Sequence[LeftOut]) -> list[str]:
        """What the edition printed without, by article and pointer: a URL in two articles
        is named in both (each part printed without it)."""
        pointers: dict[str, list[str]] = {}
        for part in self.parts:
            for digest, found in part.images.items():
                pointers.setdefault(digest, []).extend(found)
        return left_out_lines(left_out, pointers)

    def print_with(
        self,
        printer: EditionPrinterLike,
        progress: Progress | None = None,
        time_limit: float | None = None,
    ) -> bytes:
        """Print every part in parallel, merging each as it comes, then the front matter.

        With `time_limit`, the parts not printed within that many seconds are given up and
        the edition refused: the print budget is an estimate, and a request must end (the
        parts already on a printer finish within the printer's own time limit)."""
        with timed_render("edition"):
            return self._print_with(printer, progress, time_limit)

    def _print_with(
        self, printer: EditionPrinterLike, progress: Progress | None, time_limit: float | None
    ) -> bytes:
        edition = self.edition
        workers = max(1, int(getattr(printer, "size", 1)))
        with (
            TemporaryDirectory(prefix="broadsheet-edition-") as folder,
            EditionMerge(press=edition.for_press, identifier=self.etag) as merge,
            ThreadPoolExecutor(workers, thread_name_prefix="edition") as pool,
        ):
            # Each task runs in a copy of this thread's context: its log lines carry the
            # request's id, as the lines of the request's own thread do.
            carrier = pool.submit(
                copy_context().run, _folio_carrier, printer, edition.paper, edition.layout
            )
            futures = [
                pool.submit(copy_context().run, self._print_part, printer, part, Path(folder))
                for part in self.parts
            ]
            counts = self._merge_as_printed(futures, merge, Path(folder), progress, time_limit)
            entries = contents(edition, counts)
            front_html = with_quotation_marks(  # the contents' headlines quote as their pages
                with_exact_text(  # and read as they are written
                    self.env.get_template("editions/front.html").render(
                        front_matter_context(edition, entries)
                    )
                )
            )
            try:
                front = printer.print(
                    front_html,
                    edition.paper,
                    front_link_labels(entries),
                    edition.layout,
                    front_matter_pages(printer.max_pages, len(entries)),
                ).data
            except RenderRefused as refusal:
                raise EditionTooLarge(
                    f"The cover and contents of {len(entries)} articles: {refusal.detail}"
                ) from None
            data = merge.finish(front, carrier.result())
        logger.info("Printed an edition of %d articles, %d pages", len(self.parts), sum(counts))
        return data

    def _merge_as_printed(
        self,
        futures: Sequence[Future[int]],
        merge: EditionMerge,
        folder: Path,
        progress: Progress | None,
        time_limit: float | None,
    ) -> list[int]:
        """Wait for every part, merging them in order as they come; the first failure, or
        the time limit, stops the rest. Returns each part's page count."""
        index_of = {future: index for index, future in enumerate(futures)}
        counts: list[int | None] = [None] * len(futures)
        merged = 0
        try:
            for done, future in enumerate(as_completed(futures, time_limit), start=1):
                counts[index_of[future]] = future.result()
                if progress is not None:
                    progress(done, len(futures))
                while merged < len(futures) and counts[merged] is not None:
                    part = self.parts[merged]
                    file = PartFile(
                        _part_path(folder, part.position),
                        part.article.headline.plain_in(part.article.language),
                        part.article.language,
                        article_anchor(part.position),
                    )
                    merge.add(file, part.position)
                    merged += 1
        except BaseException as error:
            for pending in futures:
                pending.cancel()
            if isinstance(error, FutureTimeout):
                printed = sum(count is not None for count in counts)
                raise EditionTooSlow(
                    f"The edition took longer than {time_limit:g} s to print ({printed} of "
                    f"{len(futures)} articles printed). Print it as several editions."
                ) from None
            raise
        return [count or 0 for count in counts]

    def _print_part(self, printer: EditionPrinterLike, part: PartJob, folder: Path) -> int:
        """Print one article to a file in `folder`; return its page count."""
        try:
            printed = printer.print(
                part.html, self.edition.paper, part.link_labels, self.edition.layout
            )
            data = printed.data
            self.left_out.extend(printed.left_out)
        except RenderRefused as refusal:
            raise EditionTooLarge(
                f"Article {part.position} ({part.article.id}): {refusal.detail}",
                position=part.position,
            ) from None
        path = _part_path(folder, part.position)
        path.write_bytes(data)
        with pikepdf.open(path) as pdf:
            return len(pdf.pages)


def front_matter_pages(max_pages: int, articles: int) -> int:
    """The cover and contents may take a page for the cover and one for each entry, however
    low PDF_MAX_PAGES is set: the contents grows with the edition (about 35 entries a page),
    which EDITION_MAX_ARTICLES bounds, and PDF_MAX_PAGES caps each article, not the edition."""
    return max(max_pages, 1 + articles)


def _part_path(folder: Path, position: int) -> Path:
    return folder / f"{position:05d}.pdf"


def print_edition(
    edition: Edition,
    env: Environment,
    settings: Settings,
    printer: EditionPrinterLike,
    progress: Progress | None = None,
) -> bytes:
    return EditionJob(edition, env, settings).print_with(printer, progress)
