"""How much layout an article asks of a printer process, estimated before any layout.

WeasyPrint's time grows with the boxes it lays out as much as with the text: a 40 KB
article of one note referenced 10,000 times, or a 2,000 by 50 table, held a printer for its
whole time limit. Each part of an article is weighed in characters of running text that
would take as long to lay out (measured on the reference machine: a character 0.017 ms, a
list item 3.3 ms, a table cell 2 to 7 ms as its table narrows, a note reference 4.5 ms, a
pull quote 1.3 ms, 2.2 ms with its attribution, 3 ms in a language of its own),
and an article heavier than LIMIT is refused before layout, naming where it passed the
limit. LIMIT is about 2.5 s of layout there, an eighth of the default PDF_TIME_LIMIT, so
the time limit stays a backstop for what the estimate misses, not the common way out. The
budgets of service/budgets.py allow heavier articles, which every other format renders.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import regex

from .characters import BIDI_CONTROLS
from .errors import FieldError, RenderRefused
from .images import MAX_IMAGE_PIXELS, embedded_pixels
from .inline import Inline
from .page import PUBLISHER_HEAD_COLUMNS, running_head
from .reading import ImagePart, ListPart, QuotePart, Reading, TablePart

BLOCK = 60
QUOTE = 180  # more than a block: 2,000 one-word quotes weighed 124,000 and laid out 6 s
LIST_ITEM = 200
TABLE_CELL = 150
TABLE_CELL_PER_COLUMN = 5  # narrower columns wrap their cells onto more lines
NOTE_REFERENCE = 300
ELEMENT = 100
NOTE = 200
# Letters beyond Latin are shaped and broken into lines at three times the cost of
# English words (measured: Japanese 3.0 times, fifteen scripts taking turns 3.5 times,
# letters under 30 combining marks each 3.1 times): each such character weighs this much
# more than one. Latin-1 and Latin Extended (French, Spanish, Polish…) cost as English.
BEYOND_LATIN = 2
# Decoding and embedding an image: 40 megapixels of PNG held a printer 2.4 s, so a
# character's worth of layout is about 300 pixels. An image fetched at print time has no
# size before it arrives: it weighs a megapixel here, and the fetcher's pixel cap and the
# time limit bound the rest. The same image twice is decoded once.
IMAGE_PIXELS = 300
# A pictograph drawn from the colour emoji font is a bitmap to decode, scale and embed, at
# every place it is drawn: about 2 ms each even one emoji repeated (measured: 2,000 😀 4.5
# s, 2,000 ⭐ 2.2 s, 1,000 flags 1.9 s), over a hundred characters of text, where it weighed
# three. Pango draws a character so when Unicode gives it emoji presentation, when it may
# take a skin tone, or when a VS16 or a zero-width joiner asks for it; the symbols a text
# font draws (★ ✓ ☀ ▶, 2,000 of them 0.06 s) cost as text.
# The running heads print the headline's and the publisher's (an edition's title) on every
# page: their emoji weigh as many times more as a PDF's default page cap.
EMOJI = 130
RUNNING_HEAD_PAGES = 60
FETCHED_IMAGE = 1_000_000 // IMAGE_PIXELS
# Bidirectional embeddings and isolates split a paragraph into runs that each line break
# goes over again: one paragraph's layout grows with the square of their number or faster
# (measured: 2,920 of them 0.19 s, 5,840 0.78 s, 11,680 4.4 s). A field with n of them
# weighs n * n / BIDI_CONTROLS_SQUARED more, which is about right at ten thousand, generous
# below (the few around names in another script weigh next to nothing).
BIDI_CONTROLS_SQUARED = 400
LIMIT = 150_000
# An edition prints its articles in parallel on the printers, each within LIMIT; together
# they may weigh this much, about 50 s of layout on the reference machine (25 s on two
# printers), or 20 articles at the limit. Each article also costs its own start, about a
# tenth of a second of a printer whatever its weight: 300 quick reads of 5,000 to 10,000
# weigh half of this and still took 42 s, past an edition request's deadline (twice
# PDF_TIME_LIMIT), which is why EDITION_MAX_ARTICLES is 200 (about 28 s).
EDITION_LIMIT = 20 * LIMIT

_ELEMENT = re.compile(r"<[A-Za-z]")
_BEYOND_LATIN = re.compile("[^\x00-\u024f]")
_EMOJI = regex.compile(
    r"\p{Emoji_Presentation}|\p{Emoji_Modifier_Base}"  # ☝ 🕵: drawn in colour all the same
    r"|\p{Emoji}(?=[\ufe0f\u200d])|(?<=\u200d)\p{Emoji}"  # asked for by a VS16 or a joiner
)


def check_print_budget(
    reading: Reading, limit: int = LIMIT, *, publisher_head: str | None = None
) -> int:
    """The article's weight; RenderRefused, pointing where it passes `limit`, if too heavy.
    `publisher_head`: what the running head prints in the publisher's place (an edition's
    title), when not the publisher's name."""
    total = 0
    for pointer, cost in layout_costs(reading, publisher_head):
        total += cost
        if total > limit:
            raise RenderRefused(
                f"The article asks for more layout than one PDF may take: it passes the "
                f"print budget of {limit:,} (characters of text; a list item counts "
                f"{LIST_ITEM}, a table cell {TABLE_CELL} and {TABLE_CELL_PER_COLUMN} more for each "
                f"column of its table, a note reference {NOTE_REFERENCE}, "
                f"an inline element {ELEMENT}, a block {BLOCK} and a pull quote {QUOTE} more, "
                f"a note {NOTE}, a character "
                f"beyond Latin {1 + BEYOND_LATIN}, an emoji {1 + BEYOND_LATIN + EMOJI} "
                f"({RUNNING_HEAD_PAGES} times more in a running head), an image one for each "
                f"{IMAGE_PIXELS} "
                f"pixels, a field's bidirectional controls the square of their number over "
                f"{BIDI_CONTROLS_SQUARED}) at {pointer}.",
                [FieldError(pointer, f"passes the print budget of {limit:,} here")],
            )
    return total


# WeasyPrint's automatic table layout finds each cell's narrowest width by breaking its text
# once for every word in it, so a cell costs about the square of its length (measured: 1,000
# characters 1.9 s, 5,000 characters 53 s), which no weight per character can follow. A
# table whose cells' squared lengths add up past this (about half a second of that work) is
# laid out in fixed columns instead (print.css, column_widths), in time linear in its text; the
# common table of short figures keeps columns sized to what they hold.
AUTO_LAYOUT_LIMIT = 250_000


def lays_out_slowly(table: TablePart) -> bool:
    """Whether automatic layout of `table` would cost more than AUTO_LAYOUT_LIMIT."""
    cells = [*table.header, *(cell for row in table.rows for cell in row)]
    return sum(len(cell.text) ** 2 for cell in cells) > AUTO_LAYOUT_LIMIT


def column_widths(table: TablePart) -> list[int]:
    """Percentages of the width for the columns of a table laid out in fixed columns: as
    its longest cell asks (its longest word at least, so that no word is broken, and two
    lines' worth at most), with room for the cell's padding, so a column of figures stays
    narrow beside one of long answers. They add up to 100."""
    columns = list(zip(table.header, *table.rows, strict=True))  # validation: as wide
    weights = [_column_weight([cell.text for cell in column]) for column in columns]
    # One percent each (fifty columns at most), the rest as they weigh, rounded so that the
    # whole is 100: the largest remainders get the percents the rounding down left.
    spare, total = 100 - len(weights), sum(weights)
    shares = [spare * weight / total for weight in weights]
    widths = [1 + int(share) for share in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: int(shares[i]) - shares[i])
    for i in by_remainder[: 100 - sum(widths)]:
        widths[i] += 1
    return widths


def _column_weight(texts: list[str]) -> int:
    longest_word = max((len(word) for text in texts for word in text.split()), default=0)
    longest = max(len(text) for text in texts)
    return 2 + max(min(longest_word, 30), min(longest, 60), 3)  # 2: the padding's worth


def layout_cost(reading: Reading, publisher_head: str | None = None) -> int:
    return sum(cost for _, cost in layout_costs(reading, publisher_head))


def layout_costs(reading: Reading, publisher_head: str | None = None) -> Iterator[tuple[str, int]]:
    """The weight of each part of the article, in reading order, with its pointer."""
    article = reading.article
    publisher = article.publisher
    running = _emoji(running_head(reading.headline.plain))
    if publisher_head is not None:  # in the publisher's corner of each page instead
        running += _emoji(publisher_head)
    yield "/headline", _inline(reading.headline.source) + running * EMOJI * RUNNING_HEAD_PAGES
    if publisher is not None:  # printed in the byline and, cut short, the running head
        running = 0
        if publisher_head is None:
            running = _emoji(running_head(publisher.name, PUBLISHER_HEAD_COLUMNS))
        yield "/publisher/name", _plain(publisher.name) + running * EMOJI * RUNNING_HEAD_PAGES
        for name in ("description", "location"):
            if (value := getattr(publisher, name)) is not None:
                yield f"/publisher/{name}", _plain(value)
    for index, author in enumerate(article.authors):
        yield f"/authors/{index}/name", _plain(author.name)
    if article.section is not None:
        yield "/section", _plain(article.section)
    for index, tag in enumerate(article.tags):
        yield f"/tags/{index}", _plain(tag)
    if reading.standfirst:
        yield "/standfirst", _inline(reading.standfirst.source)
    images: set[str] = set()
    for index, part in enumerate(reading.body):
        cost = BLOCK + sum(_inline(field.source) for field in part.fields())
        if isinstance(part, ImagePart):
            cost += _plain(part.source.alt or "")  # a figure's text where it is missing
            if part.source.src not in images:
                images.add(part.source.src)
                cost += _image(part.source.src)
        elif isinstance(part, QuotePart):
            cost += QUOTE
        elif isinstance(part, ListPart):
            cost += LIST_ITEM * len(part.items)
        elif isinstance(part, TablePart):
            cells = len(part.header) + sum(len(row) for row in part.rows)
            cost += (TABLE_CELL + TABLE_CELL_PER_COLUMN * len(part.header)) * cells
        yield f"/body/{index}", cost
    for note in reading.notes:
        pointer = note.text.pointer.rpartition("/")[0]  # /notes/3/text -> /notes/3
        yield pointer, NOTE + _inline(note.text.source) + len(note.source.url or "")


def _image(src: str) -> int:
    if src.startswith("data:"):
        return min(embedded_pixels(src), MAX_IMAGE_PIXELS) // IMAGE_PIXELS
    return FETCHED_IMAGE


def _inline(text: Inline) -> int:
    """Characters as printed (link targets are written out), elements and note references;
    a character beyond Latin weighs more."""
    source = text.source
    cost = (
        len(source) + ELEMENT * len(_ELEMENT.findall(source)) + NOTE_REFERENCE * source.count("[^")
    )
    if not source.isascii():
        cost += _beyond_latin(source)
    controls = len(BIDI_CONTROLS.findall(text.text))  # written or as references
    return cost + controls * controls // BIDI_CONTROLS_SQUARED


def _plain(text: str) -> int:
    """A field of plain text printed once: its characters."""
    return len(text) + (0 if text.isascii() else _beyond_latin(text))


def _beyond_latin(text: str) -> int:
    return BEYOND_LATIN * len(_BEYOND_LATIN.findall(text)) + EMOJI * _emoji(text)


def _emoji(text: str) -> int:
    return 0 if text.isascii() else len(_EMOJI.findall(text))
