"""The article as plain text: wrapped, notes as [n] with the list at the end, links written out."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

from .article import Article, Heading, Image, ListBlock, Paragraph, Quote, Table
from .inline import Element, Inline, Node, NoteRef, Text
from .labels import labels_for
from .notes import Endnotes, note_label, number_notes
from .page import format_dateline
from .settings import Settings

WIDTH = 72


def inline_text(inline: Inline | None, endnotes: Endnotes | None) -> str:
    """Inline text as words: link targets in <angle brackets>, note references as [n]."""
    if inline is None:
        return ""
    return "".join(_words(inline.nodes, endnotes))


def _words(nodes: tuple[Node, ...], endnotes: Endnotes | None) -> Iterator[str]:
    for node in nodes:
        if isinstance(node, Text):
            yield node.value
        elif isinstance(node, NoteRef):
            if endnotes is not None:
                yield f"[{endnotes.get(node.note_id).label}]"
        elif node.name == "br":
            yield "\n"
        else:
            inner = "".join(_words(node.children, endnotes))
            yield _decorate(node, inner)


def _decorate(element: Element, inner: str) -> str:
    if element.name == "a":
        href = element.attr("href") or ""
        target = href.removeprefix("mailto:") if href.startswith("mailto:") else href
        return inner if inner.strip() in (href, target) else f"{inner} <{target}>"
    if element.name == "abbr" and element.attr("title"):
        return f"{inner} ({element.attr('title')})"
    if element.name == "q":
        return f"“{inner}”"
    return inner


def wrap(text: str, indent: str = "", hanging: str | None = None) -> str:
    """Wrap each line of `text`, keeping explicit line breaks from <br>."""
    lines = []
    first = indent
    rest = indent if hanging is None else hanging
    for line in text.split("\n"):
        filled = textwrap.fill(
            " ".join(line.split()),
            WIDTH,
            initial_indent=first,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines.append(filled or first.rstrip())
        first = rest
    return "\n".join(lines)


def _underline(title: str, mark: str) -> str:
    title = " ".join(title.split())
    return f"{title}\n{mark * min(len(title), WIDTH)}"


def render_text(article: Article, settings: Settings) -> str:
    endnotes = number_notes(article)
    labels = labels_for(article.language)
    parts = [_underline(article.headline.text, "=")]
    if article.standfirst:
        parts.append(wrap(inline_text(article.standfirst, None)))
    meta = []
    if article.authors:
        meta.append(f"{labels['by']} " + ", ".join(a.name for a in article.authors))
    meta.append(
        f"{labels['published']} {format_dateline(article.published_at, article.language).shown}"
    )
    if article.updated_at:
        meta.append(
            f"{labels['updated']} {format_dateline(article.updated_at, article.language).shown}"
        )
    parts.append("\n".join(meta))
    parts.extend(_blocks(article, endnotes, labels))
    if endnotes:
        parts.append(_underline(labels["notes"], "-"))
        parts.append("\n".join(_note_lines(endnotes)))
    publisher = article.publisher.name if article.publisher else settings.publisher_name
    canonical = article.canonical_url or settings.article_url(article.id)
    footer = [publisher, f"{labels['read_online']}: <{canonical}>"]
    if article.tags:
        footer.insert(1, ", ".join(article.tags))
    parts.append("-- \n" + "\n".join(footer))
    return "\n\n".join(part for part in parts if part) + "\n"


def _blocks(article: Article, endnotes: Endnotes, labels) -> Iterator[str]:
    for block in article.body:
        if isinstance(block, Paragraph):
            yield wrap(inline_text(block.text, endnotes))
        elif isinstance(block, Heading):
            yield _underline(inline_text(block.text, endnotes), "-" if block.level == 2 else "~")
        elif isinstance(block, Quote):
            quote = wrap(f"“{inline_text(block.text, endnotes)}”", indent="    ")
            if block.attribution:
                quote += "\n" + wrap(f"— {inline_text(block.attribution, endnotes)}", "    ")
            yield quote
        elif isinstance(block, ListBlock):
            items = []
            for number, item in enumerate(block.items, start=1):
                bullet = f"{number}. " if block.style == "numbered" else "- "
                items.append(
                    wrap(inline_text(item, endnotes), "  " + bullet, " " * (2 + len(bullet)))
                )
            yield "\n".join(items)
        elif isinstance(block, Image):
            yield _image(block, endnotes, labels)
        elif isinstance(block, Table):
            yield _table(block, endnotes)
        else:
            yield "* * *".center(WIDTH).rstrip()


def _image(block: Image, endnotes: Endnotes, labels) -> str:
    pieces = [] if block.decorative else [f"[{block.alt}]"]
    if block.caption:
        pieces.append(inline_text(block.caption, endnotes))
    if block.credit:
        pieces.append(f"({labels['photo']} {inline_text(block.credit, endnotes)})")
    return wrap(" ".join(pieces))


def _table(block: Table, endnotes: Endnotes) -> str:
    header = [" ".join(inline_text(cell, endnotes).split()) for cell in block.header]
    lines = [wrap(inline_text(block.caption, endnotes))]
    for row in block.rows:
        cells = [" ".join(inline_text(cell, endnotes).split()) for cell in row]
        lines.append(
            wrap("; ".join(f"{h}: {c}" for h, c in zip(header, cells, strict=True)), "  - ", "    ")
        )
    return "\n".join(lines)


def _note_lines(endnotes: Endnotes) -> Iterator[str]:
    for item in endnotes.notes:
        text = inline_text(item.note.text, None)
        if item.note.url:
            text += f" <{item.note.url}>"
        yield wrap(
            text, f"[{note_label(item.number, endnotes.style)}] ", " " * (len(item.label) + 3)
        )
