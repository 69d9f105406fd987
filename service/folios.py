"""Page numbers stamped on an edition's pages once the merge knows where each article falls.

Articles are printed in parallel, before anyone knows on which page each one will start, so
their pages carry no numbers. The digits come from a one-line page printed by the same
printer (`templates/editions/folio.html`): its embedded font subset holds the ten digits,
and its ToUnicode map says which glyph is which, so the stamped numbers are real text that
extracts as digits. Each number is an /Artifact (pagination), outside the structure tree,
as the running heads are (see pdf_tags).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name

FONT_NAME = "BroadsheetFolio"
SIZE = 8  # points, as the running heads
# Where print.css centres its page numbers: the middle of the 24 mm bottom margin.
BASELINE_ABOVE_TRIM = 12 * 72 / 25.4 - SIZE / 3
_BFCHAR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")


class FolioFontMissing(ValueError):
    """The digits page did not yield a font holding all ten digits."""


@dataclass(frozen=True, slots=True)
class FolioFont:
    """An embedded font subset and, for each digit, its glyph code and advance (1/1000 em)."""

    font: Any
    codes: dict[str, int]
    widths: dict[str, float]

    @classmethod
    def from_pdf(cls, carrier: pikepdf.Pdf) -> FolioFont:
        for font in carrier.pages[0].Resources.Font.values():
            codes = _digit_codes(font)
            if len(codes) == 10:
                widths = _widths(font.DescendantFonts[0])
                return cls(font, codes, {d: widths.get(code, 600.0) for d, code in codes.items()})
        raise FolioFontMissing("The folio page has no font with all ten digits.")

    def copied_into(self, pdf: pikepdf.Pdf) -> FolioFont:
        return FolioFont(pdf.copy_foreign(self.font), self.codes, self.widths)

    def stamp(
        self, pdf: pikepdf.Pdf, page: pikepdf.Page, number: int, *, cmyk: bool, turned: bool
    ) -> None:
        """Draw `number` centred under the trimmed page's text block; on a `turned` page (a
        landscape page shown turned a quarter counterclockwise, /Rotate 270) under the
        portrait page it is shown as: along the landscape page's left edge, upright once
        turned."""
        digits = str(number)
        width = sum(self.widths[d] for d in digits) * SIZE / 1000
        left, bottom, right, top = (float(v) for v in page.obj.get("/TrimBox", page.mediabox))
        if turned:  # the text runs down the left edge: read left to right once turned
            place = f"0 -1 1 0 {left + BASELINE_ABOVE_TRIM:.3f} {(bottom + top + width) / 2:.3f} Tm"
        else:
            place = f"{(left + right - width) / 2:.3f} {bottom + BASELINE_ABOVE_TRIM:.3f} Td"
        glyphs = "".join(f"{self.codes[d]:04x}" for d in digits)
        colour = "0 0 0 0.8 k" if cmyk else "0.267 0.267 0.267 rg"
        content = (
            "/Artifact << /Type /Pagination /Subtype /Footer >> BDC\n"
            f"q {colour} BT /{FONT_NAME} {SIZE} Tf {place} <{glyphs}> Tj ET Q\n"
            "EMC\n"
        )
        resources = page.obj.get("/Resources")
        if resources is None:
            resources = page.obj.Resources = Dictionary()
        fonts = resources.get("/Font")
        if fonts is None:
            fonts = resources.Font = Dictionary()
        fonts[Name("/" + FONT_NAME)] = self.font
        # The page's own content is wrapped in q…Q so no state it leaves can move the number.
        page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
        page.contents_add(pdf.make_stream(b"Q\n" + content.encode("ascii")))


def _digit_codes(font: Any) -> dict[str, int]:
    if font.get("/Subtype") != Name.Type0 or "/ToUnicode" not in font:
        return {}
    cmap = font.ToUnicode.read_bytes()
    codes: dict[str, int] = {}
    for section in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        for code, unicode in _BFCHAR.findall(section):
            char = bytes.fromhex(unicode.decode()).decode("utf-16-be", "replace")
            if char.isdigit() and char.isascii() and char not in codes:
                codes[char] = int(code, 16)
    return codes


def _widths(cid_font: Any) -> dict[int, float]:
    """The /W array of a CIDFont: `c [w1 w2 …]` runs and `first last w` ranges."""
    widths: dict[int, float] = {}
    items = list(cid_font.get("/W", Array()))
    i = 0
    while i < len(items):
        first = int(items[i])
        if isinstance(items[i + 1], Array):
            for offset, width in enumerate(items[i + 1]):
                widths[first + offset] = float(Decimal(str(width)))
            i += 2
        else:
            for code in range(first, int(items[i + 1]) + 1):
                widths[code] = float(Decimal(str(items[i + 2])))
            i += 3
    return widths
