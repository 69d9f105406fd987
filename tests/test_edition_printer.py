"""The print edition: three articles (Arabic, Spanish, English; two share note id `i`) printed
in parallel through the printer pool and merged into one tagged PDF, and its press variant.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import time
from datetime import date

import pikepdf
import pytest
from lxml import etree
from pypdf import PdfReader

from service import edition_printer, printing
from service.edition_printer import EditionJob, front_matter_pages, print_edition
from service.editions import EditionLimits, contents, front_matter_context, plan_edition
from service.errors import EditionTooLarge
from service.labels import labels_for
from service.pdf_merge import SRGB_PROFILE
from service.print_budget import EDITION_LIMIT, layout_cost
from service.print_pool import IsolatedPrinter
from service.printing import PRESS_PROFILE, Printer
from service.reading import read
from service.settings import Settings
from service.templating import build_environment
from service.validation import validate_article

from .conftest import require_tool
from .corpus import LAM_ALEF, article_words, every_block, examples, minimal, right_to_left
from .pdf_links import assert_one_clickable_link_each

TITLE = "Morning edition"
BLEED = 3 * 72 / 25.4  # 3 mm in points: 8.5039


def _note_renamed(article: dict, old: str, new: str) -> dict:
    """The same article with note `old` called `new`, in its references and its list."""
    data = json.loads(json.dumps(article).replace(f"[^{old}]", f"[^{new}]"))
    for note in data["notes"]:
        if note["id"] == old:
            note["id"] = new
    return data


ARABIC = _note_renamed(right_to_left(), "a", "i")
SPANISH = _note_renamed(examples()["mercado-es"], "a", "i")
ENGLISH = examples()["bike-lanes"]
ARTICLES = [ARABIC, SPANISH, ENGLISH]
HEADLINES = [re.sub(r"<[^>]+>", "", a["headline"]) for a in ARTICLES]
BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _edition(*, for_press: bool = False, articles=ARTICLES, title: str = TITLE):
    return plan_edition(
        [validate_article(a) for a in articles],
        publication="Test Gazette",
        limits=EditionLimits(),
        title=title,
        on=date(2026, 3, 12),
        language="en",
        for_press=for_press,
    )


@pytest.fixture(scope="module")
def pool():
    printer = IsolatedPrinter(workers=2, max_pages=60, time_limit=60)
    yield printer
    printer.close()


@pytest.fixture(scope="module")
def env():
    return build_environment()


@pytest.fixture(scope="module")
def edition_pdf(pool, env):
    return print_edition(_edition(), env, Settings(), pool)


@pytest.fixture(scope="module")
def press_pdf(pool, env):
    return print_edition(_edition(for_press=True), env, Settings(), pool)


def _pages_text(data: bytes) -> list[str]:
    """Each page's text as poppler extracts it: bidi marks dropped, white space folded."""
    require_tool(shutil.which("pdftotext") is not None, "pdftotext (Debian poppler-utils)")
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode("utf-8")
    pages = [BIDI_MARKS.sub("", re.sub("\u2010\n", "", p)) for p in text.split("\f")[:-1]]
    return [re.sub(r"\s+", " ", page).strip() for page in pages]


def _text_at(data: bytes, page_index: int, left: float, top: float, page_top: float) -> str:
    """The words in a band one line high just below (left, top) on a page, in PDF points."""
    result = subprocess.run(
        ["pdftotext", "-f", str(page_index + 1), "-l", str(page_index + 1), "-x",
         str(int(left)), "-y", str(int(page_top - top)), "-W", "480", "-H", "12", "-", "-"],
        input=data, capture_output=True, check=True,
    )  # fmt: skip
    return re.sub(r"\s+", " ", BIDI_MARKS.sub("", result.stdout.decode("utf-8"))).strip()


def _labels(data: bytes) -> list[str]:
    return list(PdfReader(io.BytesIO(data)).page_labels)


def _article_ranges(data: bytes) -> list[range]:
    """Page indexes of each article, from the contents' printed numbers."""
    labels = _labels(data)
    front = labels.index("1")
    starts = _contents_numbers(_pages_text(data))
    ends = [*starts[1:], len(labels) - front + 1]
    return [range(front + s - 1, front + e - 1) for s, e in zip(starts, ends, strict=True)]


def _contents(pages: list[str]) -> str:
    """The contents as printed on the cover: what follows its heading."""
    cover = next(p for p in pages if " Contents " in p)
    return cover.split(" Contents ", 1)[1]


def _contents_numbers(pages: list[str]) -> list[int]:
    return [int(n) for n in re.findall(r"(?<!\S)(\d+)(?!\S)", _contents(pages))]


# Text, contents, outline, labels ---------------------------------------------------------


def test_every_article_is_in_the_pdf_in_order(edition_pdf):
    pages = _pages_text(edition_pdf)
    front = _labels(edition_pdf).index("1")
    text = " ".join(pages[front:])
    starts = [text.find("افتتاح"), text.find("El Mercado Central"), text.find("Council Approves")]
    assert -1 not in starts
    assert starts == sorted(starts)
    bounds = [*starts, len(text)]
    for index, article in enumerate(ARTICLES):
        own = text[bounds[index] : bounds[index + 1]]
        missing, position = [], 0
        for word in article_words(article):
            if article is ARABIC:
                if not LAM_ALEF.search(word) and word not in own:
                    missing.append(word)
                continue
            found = own.find(word, position)
            if found < 0:
                missing.append(word)
            else:
                position = found + len(word)
        assert missing == [], HEADLINES[index]


def test_contents_gives_the_page_each_headline_is_printed_on(edition_pdf):
    pages = _pages_text(edition_pdf)
    labels = _labels(edition_pdf)
    front = labels.index("1")
    contents = _contents(pages)
    assert pages[0].startswith("Test Gazette ")
    assert TITLE in pages[0]
    assert "March 12, 2026" in pages[0]
    assert [contents.find(h) for h in HEADLINES[1:]] == sorted(
        contents.find(h) for h in HEADLINES[1:]
    )
    numbers = _contents_numbers(pages)
    assert len(numbers) == 3
    assert numbers[0] == 1
    heads = ["افتتاح مكتبة جديدة", "El Mercado Central reabre", "Council Approves Protected Bike"]
    for number, head in zip(numbers, heads, strict=True):
        page = pages[front + number - 1]
        assert head in page
        # The folio printed at the foot of that page is the number the contents gave.
        assert page.split()[-1] == str(number)
        assert labels[front + number - 1] == str(number)
        if number > 1:  # …and not the page before, the end of the previous article
            assert head not in pages[front + number - 2]


def test_contents_links_lead_to_each_article_first_page(edition_pdf):
    ranges = _article_ranges(edition_pdf)
    with pikepdf.open(io.BytesIO(edition_pdf)) as pdf:
        index = {page.objgen: i for i, page in enumerate(pdf.pages)}
        contents_page = next(
            i for i, text in enumerate(_pages_text(edition_pdf)) if " Contents " in text
        )
        targets = [
            index[a.Dest[0].objgen]
            for a in pdf.pages[contents_page].get("/Annots", [])
            if isinstance(a.get("/Dest"), pikepdf.Array)
        ]
    # A link broken over several boxes has an annotation for each: one target per entry.
    distinct = [t for n, t in enumerate(targets) if n == 0 or targets[n - 1] != t]
    assert distinct == [r.start for r in ranges]


def test_outline_has_one_entry_per_article_with_its_headings(edition_pdf):
    reader = PdfReader(io.BytesIO(edition_pdf))
    ranges = _article_ranges(edition_pdf)
    top = [item for item in reader.outline if not isinstance(item, list)]
    assert [item.title for item in top] == HEADLINES
    assert [reader.get_destination_page_number(item) for item in top] == [r.start for r in ranges]
    children = [item for item in reader.outline if isinstance(item, list)]
    assert len(children) == 3
    assert [c.title for c in children[2]] == ["What the plan includes", "Notes"]
    for kids, pages in zip(children, ranges, strict=True):
        assert kids
        assert all(reader.get_destination_page_number(c) in pages for c in kids)


def test_page_labels_are_roman_then_arabic(edition_pdf):
    labels = _labels(edition_pdf)
    front = labels.index("1")
    assert front >= 1
    assert labels[:front] == ["i", "ii", "iii", "iv"][:front]
    assert labels[front:] == [str(n) for n in range(1, len(labels) - front + 1)]


# Links ----------------------------------------------------------------------------------


def _links(pdf: pikepdf.Pdf):
    """(page index, annotation, target page index, left, top) for every internal link."""
    index = {page.objgen: i for i, page in enumerate(pdf.pages)}
    for number, page in enumerate(pdf.pages):
        for annotation in page.get("/Annots", []):
            dest = annotation.get("/Dest")
            if dest is None:
                continue
            assert isinstance(dest, pikepdf.Array), "a named destination survived the merge"
            left = float(dest[2]) if dest[2] is not None else 0.0
            yield number, annotation, index[dest[0].objgen], left, float(dest[3])


def test_each_note_reference_leads_to_its_own_article_note(edition_pdf):
    ranges = _article_ranges(edition_pdf)
    checked = 0
    with pikepdf.open(io.BytesIO(edition_pdf)) as pdf:
        page_top = float(pdf.pages[0].MediaBox[3])
        for page, annotation, target, left, top in _links(pdf):
            owner = next(i for i, r in enumerate(ranges) if page in r or page < r.start)
            if page not in ranges[owner]:
                continue  # the contents page: checked above
            assert target in ranges[owner], "an internal link leaves its article"
            article = ARTICLES[owner]
            word = labels_for(article.get("language", "en"))["note"]
            label = str(annotation.get("/Contents", ""))
            if not label.startswith(word + " "):
                continue
            validated = validate_article(article)
            numbered = {n.label: n for n in read(validated).notes}
            note = numbered[label.removeprefix(word + " ")]
            expected = note.text.text
            found = _text_at(edition_pdf, target, left, top, page_top)
            assert " ".join(expected.split()[:2]) in found, (label, found)
            others = [n.text.text for n in numbered.values() if n is not note]
            assert not any(" ".join(o.split()[:2]) in found for o in others), (label, found)
            checked += 1
    # Arabic 3 references, Spanish 2, English 4.
    assert checked == 9


def test_the_two_notes_called_i_are_two_targets(edition_pdf):
    ranges = _article_ranges(edition_pdf)
    with pikepdf.open(io.BytesIO(edition_pdf)) as pdf:
        firsts = {}
        for _page, annotation, target, _left, top in _links(pdf):
            label = str(annotation.get("/Contents", ""))
            if label in ("ملاحظة 1", "Nota a"):
                firsts[label] = (target, top)
    assert set(firsts) == {"ملاحظة 1", "Nota a"}
    assert firsts["ملاحظة 1"][0] in ranges[0]
    assert firsts["Nota a"][0] in ranges[1]


def test_note_backlinks_return_within_their_article(edition_pdf):
    ranges = _article_ranges(edition_pdf)
    back = 0
    with pikepdf.open(io.BytesIO(edition_pdf)) as pdf:
        for page, annotation, target, _left, _top in _links(pdf):
            owner = next((i for i, r in enumerate(ranges) if page in r), None)
            if owner is None:
                continue
            words = labels_for(ARTICLES[owner].get("language", "en"))["back_to"]
            if str(annotation.get("/Contents", "")).startswith(words):
                assert target in ranges[owner]
                back += 1
    assert back == 9


def test_every_link_is_one_link_with_an_area_to_click(edition_pdf):
    """The contents' entries and the notes' back-links had an annotation for each box inside
    the link as well, named by the bare anchor ("article-1"), and note references none to
    click."""
    with pikepdf.open(io.BytesIO(edition_pdf)) as pdf:
        assert assert_one_clickable_link_each(pdf) > 20


# Structure ------------------------------------------------------------------------------


def _kids(element):
    kids = element.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids]


def _walk(node, parent=None):
    """Every structure element under `node`, checking each one's /P on the way."""
    for kid in _kids(node):
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            assert kid.P.objgen == node.objgen
            yield kid
            yield from _walk(kid, node)


def _parent_tree(root) -> dict[int, object]:
    return {int(k): v for k, v in pikepdf.NumberTree(root.ParentTree).items()}


def _page_mcids(page) -> set[int]:
    return {
        int(operands[1].MCID)
        for operands, operator in pikepdf.parse_content_stream(page)
        if str(operator) == "BDC"
        and len(operands) == 2
        and isinstance(operands[1], pikepdf.Dictionary)
        and "/MCID" in operands[1]
    }


def test_structure_tree_holds_every_article_with_its_language(edition_pdf):
    with pikepdf.open(io.BytesIO(edition_pdf)) as pdf:
        assert pdf.pdf_version == "1.7"
        assert pdf.Root.MarkInfo.Marked is True
        assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
        assert str(pdf.Root.Lang) == "en"
        meta = pdf.open_metadata()
        assert meta["pdfuaid:part"] == "1"
        assert meta["dc:title"] == TITLE
        root = pdf.Root.StructTreeRoot
        (document,) = _kids(root)
        assert document.S == "/Document"
        articles = [k for k in _kids(document) if k.get("/S") == "/Art"]
        assert [str(a.Lang) for a in articles] == ["ar", "es", "en"]
        assert [str(a.T) for a in articles] == HEADLINES
        # The front matter's elements come first, then the three articles, nothing after.
        assert _kids(document)[-3:] == articles
        headings = [
            [e for e in _walk(a) if e.S == "/H1"] for a in articles
        ]  # each article has exactly its own headline
        assert [len(h) for h in headings] == [1, 1, 1]


def test_the_contents_declare_each_article_s_language(edition_pdf):
    """The contents' links are read by their /Alt (headline, page), which had no /Lang: an
    Arabic headline was announced as English; a Spanish section label was English too."""
    with pikepdf.open(io.BytesIO(edition_pdf)) as pdf:
        (document,) = _kids(pdf.Root.StructTreeRoot)
        front = [k for k in _kids(document) if k.get("/S") != "/Art"]
        links = [e for k in front for e in _walk(k) if e.get("/S") == "/Link"]
        languages = {str(link.Alt).rsplit(", ", 1)[0]: str(link.get("/Lang")) for link in links}
        assert languages == dict(zip(HEADLINES, ["ar", "es", "en"], strict=True))


def test_a_headline_s_markup_and_languages_are_kept_in_the_contents(env):
    """The contents wrote each headline as plain text: a French phrase in an English
    headline lost its lang (PDF/UA declares each change); a link is written as its words."""
    headline = (
        'Council says <span lang="fr">déjà vu</span> on <a href="https://x.example">lanes</a>'
    )
    edition = _edition(articles=[{**ENGLISH, "headline": headline}, SPANISH])
    entries = contents(edition, [1, 1])
    html = env.get_template("editions/front.html").render(front_matter_context(edition, entries))
    assert 'Council says <span lang="fr">déjà vu</span> on lanes</span>' in html
    assert "x.example" not in html


def test_a_section_label_in_the_contents_is_in_its_article_s_language(env):
    edition = _edition(articles=[{**SPANISH, "section": "Economía"}, ENGLISH])
    entries = contents(edition, [1, 1])
    html = env.get_template("editions/front.html").render(front_matter_context(edition, entries))
    assert '<span class="entry-section" lang="es" dir="ltr">Economía</span>' in html


def test_every_marked_content_reference_resolves_through_the_parent_tree(edition_pdf):
    with pikepdf.open(io.BytesIO(edition_pdf)) as pdf:
        root = pdf.Root.StructTreeRoot
        elements = list(_walk(root))
        known = {e.objgen for e in elements}
        pages = {page.objgen: page for page in pdf.pages}
        tree = _parent_tree(root)
        assert int(root.ParentTreeNextKey) > max(tree)
        # Tree → content: every MCID an element claims is on its page, and maps back to it.
        claimed: dict[tuple, set[int]] = {}
        for element in elements:
            for kid in _kids(element):
                if isinstance(kid, int):
                    page, mcid = element.Pg, int(kid)
                elif isinstance(kid, pikepdf.Dictionary) and "/MCID" in kid:
                    page, mcid = kid.get("/Pg", element.get("/Pg")), int(kid.MCID)
                else:
                    continue
                assert page.objgen in pages
                claimed.setdefault(page.objgen, set()).add(mcid)
                assert tree[int(page.StructParents)][mcid].objgen == element.objgen
        # Content → tree: every MCID on every page resolves to a live element that claims it.
        keys = []
        total = 0
        for page in pdf.pages:
            mcids = _page_mcids(page)
            if not mcids:
                continue
            key = int(page.StructParents)
            keys.append(key)
            for mcid in mcids:
                element = tree[key][mcid]
                assert element is not None
                assert element.objgen in known
                total += 1
            assert mcids == claimed[page.objgen]
        # Annotations: each /StructParent leads to the element whose OBJR names it.
        for page in pdf.pages:
            for annotation in page.get("/Annots", []):
                if annotation.get("/Subtype") != "/Link":
                    continue
                key = int(annotation.StructParent)
                keys.append(key)
                element = tree[key]
                assert element.objgen in known
                objrs = [k for k in _kids(element) if isinstance(k, pikepdf.Dictionary)]
                assert any(k.get("/Obj") is not None and k.Obj.objgen == annotation.objgen
                           for k in objrs)  # fmt: skip
        assert len(keys) == len(set(keys)), "two pages or annotations share a parent-tree key"
        assert total > 100


def test_element_ids_are_unique_and_in_the_id_tree(edition_pdf):
    with pikepdf.open(io.BytesIO(edition_pdf)) as pdf:
        root = pdf.Root.StructTreeRoot
        with_ids = [e for e in _walk(root) if "/ID" in e]
        ids = [str(e.ID) for e in with_ids]
        assert len(ids) == len(set(ids))
        # Both the Arabic and the Spanish article have a first endnote; both survive.
        assert {"a1-endnote-1", "a2-endnote-1", "a3-endnote-1"} <= set(ids)
        tree = dict(pikepdf.NameTree(root.IDTree).items())
        assert set(tree) == set(ids)
        assert all(tree[str(e.ID)].objgen == e.objgen for e in with_ids)
        # Data cells name their header cells by ID: each resolves to a header cell of the
        # same table, in the same article (the English one has the table).
        english = [k for k in _kids(root.K[0]) if k.get("/S") == "/Art"][2]
        own = {e.objgen for e in _walk(english)}
        cells = [e for e in _walk(english) if e.S == "/TD"]
        assert cells
        for cell in cells:
            for header in cell.A.Headers:
                assert tree[str(header)].S == "/TH"
                assert tree[str(header)].objgen in own


# Reproducible ---------------------------------------------------------------------------


def test_second_run_is_byte_identical_with_the_same_etag(edition_pdf, pool, env):
    again = EditionJob(_edition(), env, Settings())
    assert again.print_with(pool) == edition_pdf
    assert again.etag == EditionJob(_edition(), env, Settings()).etag
    # …and so is a run on another printer, in this process.
    assert print_edition(_edition(), env, Settings(), Printer(max_pages=60)) == edition_pdf


def test_etag_changes_with_the_articles_and_the_variant(env):
    base = EditionJob(_edition(), env, Settings()).etag
    edited = [ARABIC, SPANISH, {**ENGLISH, "headline": "Council Approves Bike Lanes"}]
    assert EditionJob(_edition(articles=edited), env, Settings()).etag != base
    assert EditionJob(_edition(articles=ARTICLES[::-1]), env, Settings()).etag != base
    assert EditionJob(_edition(for_press=True), env, Settings()).etag != base


def test_etag_changes_with_any_code_or_profile_that_shapes_the_bytes(env, monkeypatch, tmp_path):
    """The ETag hashed seven templates and a hand-bumped number: a change to folios.py (or
    pdf_tags.py, the colour profiles, pikepdf) changed the bytes under the same strong ETag."""
    service_copy = shutil.copytree(printing.SERVICE_DIR, tmp_path / "service")
    templates_copy = shutil.copytree(printing.TEMPLATES_DIR, tmp_path / "templates")
    monkeypatch.setattr(printing, "SERVICE_DIR", service_copy)
    monkeypatch.setattr(printing, "TEMPLATES_DIR", templates_copy)
    printing.source_digest.cache_clear()
    try:
        etags = [EditionJob(_edition(), env, Settings()).etag]
        for changed in (
            service_copy / "folios.py",
            service_copy / "pdf_tags.py",
            templates_copy / "editions" / "press-cmyk.icc",
        ):
            changed.write_bytes(changed.read_bytes() + b"\n")
            printing.source_digest.cache_clear()
            etags.append(EditionJob(_edition(), env, Settings()).etag)
        assert len(set(etags)) == len(etags)
    finally:
        printing.source_digest.cache_clear()


def test_the_press_edition_is_the_same_bytes_from_a_printer_new_or_used(press_pdf, env):
    """A printer's first press PDF embedded its profile as Pillow re-serialised it, and its
    later ones differently: one ETag, two files, depending on which worker answered."""
    printer = Printer(max_pages=60)
    first = print_edition(_edition(for_press=True), env, Settings(), printer)
    assert print_edition(_edition(for_press=True), env, Settings(), printer) == first
    assert first == press_pdf


def test_the_press_edition_embeds_its_output_profile_once_as_the_file_is(press_pdf):
    """The output intent held a copy of its own beside the one the pages share (136 KB)."""
    with pikepdf.open(io.BytesIO(press_pdf)) as pdf:
        profiles = [
            o
            for o in pdf.objects
            if isinstance(o, pikepdf.Stream) and o.read_bytes()[36:40] == b"acsp"  # ICC magic
        ]
        cmyk = [p for p in profiles if p.read_bytes()[16:20] == b"CMYK"]
        assert len(cmyk) == 1
        assert cmyk[0].read_bytes() == PRESS_PROFILE.read_bytes()
        assert pdf.Root.OutputIntents[0].DestOutputProfile.objgen == cmyk[0].objgen
        # And one sRGB profile, which every page's RGB is (the next test).
        assert [p.read_bytes() for p in profiles if p not in cmyk] == [SRGB_PROFILE.read_bytes()]


def test_the_press_edition_s_rgb_is_colour_managed(press_pdf):
    """PDF/X-4 takes no DeviceRGB of itself: the photos and the crop marks were DeviceRGB
    beside a CMYK output intent, which preflight refuses. Every page and every form they
    are drawn in says that its RGB is sRGB (DefaultRGB, an ICC-based space)."""
    with pikepdf.open(io.BytesIO(press_pdf)) as pdf:
        holders, images = [], 0
        stack = [page.obj for page in pdf.pages]
        while stack:
            holder = stack.pop()
            holders.append(holder)
            for xobject in holder.Resources.get("/XObject", {}).values():
                if xobject.Subtype == "/Form":
                    stack.append(xobject)
                elif xobject.get("/ColorSpace") == "/DeviceRGB":
                    images += 1
        assert images >= 1  # the photo is there, as DeviceRGB
        for holder in holders:
            space = holder.Resources.ColorSpace.DefaultRGB
            assert space[0] == "/ICCBased"
            assert int(space[1].N) == 3
            assert space[1].read_bytes() == SRGB_PROFILE.read_bytes()


# Press ----------------------------------------------------------------------------------


def test_press_variant_is_pdf_x4_with_its_output_intent(press_pdf):
    with pikepdf.open(io.BytesIO(press_pdf)) as pdf:
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFX"
        assert int(intent.DestOutputProfile.N) == 4  # a CMYK printing condition
        assert "FOGRA39" in str(intent.OutputConditionIdentifier)
        assert pdf.open_metadata()["pdfx:GTS_PDFXVersion"] == "PDF/X-4"
        assert pdf.pdf_version == "1.6"  # PDF/X-4 is PDF 1.6
        assert str(pdf.docinfo["/Trapped"]) == "/False"


def test_press_trim_box_is_bleed_box_less_3mm_each_side(press_pdf):
    with pikepdf.open(io.BytesIO(press_pdf)) as pdf:
        assert len(pdf.pages) >= 5
        for page in pdf.pages:
            trim = [float(v) for v in page.TrimBox]
            bleed = [float(v) for v in page.BleedBox]
            media = [float(v) for v in page.MediaBox]
            assert trim[0] - bleed[0] == pytest.approx(BLEED, abs=1e-3)
            assert trim[1] - bleed[1] == pytest.approx(BLEED, abs=1e-3)
            assert bleed[2] - trim[2] == pytest.approx(BLEED, abs=1e-3)
            assert bleed[3] - trim[3] == pytest.approx(BLEED, abs=1e-3)
            assert media[0] <= bleed[0]
            assert media[2] >= bleed[2]
            assert trim[2] - trim[0] == pytest.approx(595.28, abs=0.01)  # A4 once trimmed


def test_press_pages_carry_crop_marks_outside_the_trim(press_pdf, tmp_path):
    require_tool(shutil.which("pdftoppm") is not None, "pdftoppm (Debian poppler-utils)")
    path = tmp_path / "press.pdf"
    path.write_bytes(press_pdf)
    with pikepdf.open(io.BytesIO(press_pdf)) as pdf:
        count = len(pdf.pages)
        media = [float(v) for v in pdf.pages[0].MediaBox]
        trim = [float(v) for v in pdf.pages[0].TrimBox]
    scale = 2  # 144 dpi
    for number in (1, count):
        pgm = subprocess.run(
            ["pdftoppm", "-gray", "-r", "144", "-f", str(number), "-l", str(number), path],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        header = pgm.split(b"\n", 3)
        width, height = (int(v) for v in header[1].split())
        pixels = header[3]
        margin_x = int((trim[0] - media[0]) * scale) - 1
        margin_y = int((media[3] - trim[3]) * scale) - 1

        def ink(x0, x1, y0, y1, pixels=pixels, width=width):
            return sum(
                1 for y in range(y0, y1) for x in range(x0, x1) if pixels[y * width + x] < 200
            )

        # Ink in each strip of the bleed, outside the trimmed page: the crop marks.
        strips = [
            ink(0, width, 0, margin_y),
            ink(0, width, height - margin_y, height),
            ink(0, margin_x, 0, height),
            ink(width - margin_x, width, 0, height),
        ]
        assert all(count > 0 for count in strips), strips


def test_press_variant_keeps_outline_labels_and_folios(press_pdf, edition_pdf):
    assert _labels(press_pdf) == _labels(edition_pdf)
    reader = PdfReader(io.BytesIO(press_pdf))
    assert [i.title for i in reader.outline if not isinstance(i, list)] == HEADLINES
    pages = _pages_text(press_pdf)
    front = _labels(press_pdf).index("1")
    assert [p.split()[-1] for p in pages[front:]] == [
        str(n) for n in range(1, len(pages) - front + 1)
    ]


def _colour_operators(data: bytes) -> set[str]:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return {
            str(operator)
            for page in pdf.pages
            for _operands, operator in pikepdf.parse_content_stream(page)
            if str(operator) in ("rg", "RG", "g", "G", "k", "K", "cs", "CS")
        }


def test_press_pages_paint_in_cmyk_only(press_pdf, edition_pdf):
    """Type, rules and folios on the press's plates; the reader's edition stays in RGB."""
    assert _colour_operators(press_pdf).isdisjoint({"rg", "RG", "g", "G"})
    assert "k" in _colour_operators(press_pdf)  # the stamped folios
    assert "rg" in _colour_operators(edition_pdf)


def test_every_inline_element_prints_on_the_press_s_plates(pool, env):
    """WeasyPrint's own stylesheet gives <mark> RGB black: the highlighted words were the
    only ones printed on all four plates."""
    from service.inline import ALLOWED_ATTRIBUTES

    words = " ".join(
        f"<{name}>word</{name}>" for name in ALLOWED_ATTRIBUTES if name not in ("a", "br")
    )
    text = f'{words} <a href="https://example.org/">link</a> <abbr title="t">T</abbr>'
    article = minimal(id="inline", body=[{"type": "paragraph", "text": text}])
    press = print_edition(_edition(for_press=True, articles=[article]), env, Settings(), pool)
    assert _colour_operators(press).isdisjoint({"rg", "RG", "g", "G"})


@pytest.mark.parametrize("language", ["en", "he"])
def test_every_block_prints_on_the_press_s_plates_either_way(pool, env, language):
    """print.css draws a right-to-left quote's rule on its right with a selector of its
    own, more specific than press.css's: the rule of every Arabic or Hebrew quote was RGB."""
    article = {**every_block(), "language": language}
    press = print_edition(_edition(for_press=True, articles=[article]), env, Settings(), pool)
    assert _colour_operators(press).isdisjoint({"rg", "RG", "g", "G"})


def _subset_files_by_name(data: bytes) -> dict[str, set[str]]:
    files: dict[str, set[str]] = {}
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for font in pdf.objects:
            if not isinstance(font, pikepdf.Dictionary) or "/FontFile2" not in font:
                continue  # a font descriptor with its font file
            digest = hashlib.sha256(font.FontFile2.read_bytes()).hexdigest()
            files.setdefault(str(font.FontName), set()).add(digest)
    return files


def test_no_two_font_subsets_of_an_edition_share_a_name(edition_pdf, press_pdf):
    """Each part, the front matter and the folios are printed apart, and WeasyPrint tags
    subsets apart only within one document: one edition held four different Noto Sans
    subsets under one name (ISO 32000-1 §9.6.4 forbids it; a RIP may mix their glyphs)."""
    for data in (edition_pdf, press_pdf):
        files = _subset_files_by_name(data)
        assert len(files) >= 4  # serif, sans, Arabic, the folios' digits…
        assert {name: len(f) for name, f in files.items() if len(f) > 1} == {}
        assert all(re.match(r"/[A-Z]{6}\+", name) for name in files)


def _shown_trim_sizes(data: bytes) -> list[tuple[int, int]]:
    """Each page's trimmed size as it is shown and bound: turned by its /Rotate."""
    sizes = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            left, bottom, right, top = (float(v) for v in page.obj.get("/TrimBox", page.mediabox))
            size = (round(right - left), round(top - bottom))
            sizes.append(size[::-1] if int(page.obj.get("/Rotate", 0)) % 180 else size)
    return sizes


def test_a_wide_table_s_page_is_turned_onto_the_press_s_one_trim_size(pool, env):
    """The press edition mixed a landscape trim box among portrait ones: a press binds one
    trim size. The page is shown turned (/Rotate 270, its top to the left), its folio under
    the portrait page; the reader's edition keeps its landscape page."""
    header = [f"Column {n}" for n in range(10)]
    table = {"type": "table", "caption": "Ten columns", "header": header, "rows": [header] * 3}
    articles = [ENGLISH, minimal(id="wide", body=[table])]
    press = print_edition(_edition(for_press=True, articles=articles), env, Settings(), pool)
    readers = print_edition(_edition(articles=articles), env, Settings(), pool)
    assert set(_shown_trim_sizes(press)) == {(595, 842)}
    shown = _shown_trim_sizes(readers)
    assert (842, 595) in shown
    turned = shown.index((842, 595))
    # Shown turned, as a press's software shows it (72 dpi: a pixel a point): portrait,
    # with its folio at its foot, centred and upright (poppler places words as shown).
    pgm = subprocess.run(
        ["pdftoppm", "-gray", "-r", "72", "-f", str(turned + 1), "-l", str(turned + 1), "-"],
        input=press, capture_output=True, check=True,
    ).stdout  # fmt: skip
    _, size, _, _ = pgm.split(b"\n", 3)
    columns, rows = (int(v) for v in size.split())
    assert columns < rows
    folio = str(turned - _labels(press).index("1") + 1)
    bbox = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(turned + 1), "-l", str(turned + 1), "-", "-"],
        input=press, capture_output=True, check=True,
    ).stdout  # fmt: skip
    page = etree.fromstring(bbox, etree.XMLParser(recover=True)).find(".//{*}page")
    (word,) = [
        w for w in page.iter("{*}word") if w.text == folio and float(w.get("yMin")) > rows * 0.9
    ]
    left, top, right, bottom = (float(word.get(k)) for k in ("xMin", "yMin", "xMax", "yMax"))
    assert abs((left + right) / 2 - columns / 2) < 5
    assert bottom - top < 15  # one line high


# The guards of a single PDF hold in an edition, and the edition has a budget of its own -----


def _table_article(article_id: str, rows: int) -> dict:
    header = [f"Column {n}" for n in range(10)]
    return minimal(
        id=article_id,
        body=[{"type": "table", "caption": "Figures", "header": header, "rows": [header] * rows}],
    )


def test_an_edition_s_title_weighs_in_every_part_s_running_head(env):
    """The title prints in each page's corner, in place of the publisher's name: its emoji
    (about 2 ms each, on every page) were not weighed, so one part of 50 pages took three
    times as long under a title of 22 emoji."""
    from service.print_budget import EMOJI, RUNNING_HEAD_PAGES

    def layout(title: str) -> int:
        return sum(part.layout for part in EditionJob(_edition(title=title), env, Settings()).parts)

    assert layout("Morning 😀😀") - layout("Morning xx") == (
        2 * EMOJI * RUNNING_HEAD_PAGES * len(ARTICLES)
    )


def test_an_article_over_the_print_budget_is_refused_before_anything_is_printed(env):
    heavy = _table_article("big-table", 100)  # 1,100 cells of a 10-column table
    with pytest.raises(EditionTooLarge) as refused:
        EditionJob(_edition(articles=[ENGLISH, heavy]), env, Settings())
    assert refused.value.detail.startswith("Article 2 (big-table): ")
    assert "print budget" in refused.value.detail


def test_a_long_run_of_characters_gets_its_breaks_in_an_edition_too(env):
    word = "x" * 5000
    joined = "a\u00a0" * 500  # no-break spaces join a run as much as letters do
    article = minimal(id="long-words", body=[{"type": "paragraph", "text": f"{word} {joined}"}])
    (part,) = EditionJob(_edition(articles=[article]), env, Settings()).parts
    assert word not in part.html
    assert joined not in part.html
    assert part.html.count('<span class="long-word">') == 2


def test_the_edition_as_a_whole_has_a_print_budget(env, monkeypatch):
    articles = [ENGLISH, SPANISH, ARABIC]
    weights = [layout_cost(read(validate_article(a))) for a in articles]
    monkeypatch.setattr(edition_printer, "EDITION_LIMIT", sum(weights[:2]))
    EditionJob(_edition(articles=articles[:2]), env, Settings())  # exactly at the budget
    with pytest.raises(EditionTooLarge) as refused:
        EditionJob(_edition(articles=articles), env, Settings())
    assert "passes the edition's print budget" in refused.value.detail
    assert "at article 3 (" in refused.value.detail


def test_the_edition_budget_admits_the_largest_edition_of_typical_quick_reads():
    typical = layout_cost(read(validate_article(ENGLISH)))
    assert EDITION_LIMIT >= Settings().edition_max_articles * typical


def test_articles_not_printed_within_the_time_limit_are_given_up(env):
    """The budget is an estimate: a request for an edition still ends, and says why."""
    from service.printing import Printed

    class Slow:
        max_pages = 60
        size = 1
        calls = 0

        def print(self, html, paper="a4", link_labels=None, layout="reader", max_pages=None):
            self.calls += 1
            time.sleep(1.0)  # each print outlasts the edition's limit: none is merged
            return Printed(b"never merged")

    articles = [minimal(id=f"slow-{n}") for n in range(10)]
    job = EditionJob(_edition(articles=articles), env, Settings())
    printer = Slow()
    started = time.perf_counter()
    with pytest.raises(EditionTooLarge) as refused:
        job.print_with(printer, time_limit=0.5)
    assert time.perf_counter() - started < 3  # not the 10 s that ten articles would take
    assert refused.value.detail.startswith("The edition took longer than 0.5 s to print")
    assert printer.calls < 5  # the rest were given up before they reached a printer


def test_language_changes_inside_articles_are_declared_in_the_edition(edition_pdf):
    """Each article's own /Lang, and the languages inside it (an English word in the
    Arabic article), survive the merge (PDF/UA-1 §7.2)."""
    from .test_pdf_renderer import _languages

    found = set(_languages(edition_pdf))
    assert {("/Art", "ar"), ("/Art", "es"), ("/Art", "en")} <= found
    assert ("/Span", "en") in found


def test_the_cover_and_contents_are_not_held_to_the_page_cap_of_an_article(env):
    """PDF_MAX_PAGES caps each article: an edition of one-page articles printed with a cap
    of one page was refused for its cover and contents (two pages), after every article
    had been printed."""
    articles = [minimal(id=f"short-{n}", headline=f"Short piece {n}") for n in range(40)]
    printer = IsolatedPrinter(workers=1, max_pages=1, time_limit=60)
    try:
        data = print_edition(_edition(articles=articles), env, Settings(), printer)
    finally:
        printer.close()
    labels = _labels(data)
    assert labels[:2] == ["i", "ii"]  # the cover and the contents: two pages
    assert labels[2:] == [str(n) for n in range(1, 41)]  # then one page per article
    assert front_matter_pages(1, 40) == 41
    assert front_matter_pages(60, 40) == 60


@pytest.mark.parametrize("edition_language", ["en", "ar"])
def test_an_entry_s_section_reads_before_its_title_on_one_line(pool, env, edition_language):
    """The title alone was set right to left, as a block: an Arabic entry's section stayed
    at the left, a line above its title, and read after it; in an Arabic edition, an English
    entry's section was read after its title."""
    section, word = "سياسة", "الميزانية"
    arabic = minimal(id="ar", language="ar", headline=f"عنوان عن {word}", section=section)
    english = minimal(id="en", headline="Council approves the budget", section="Politics")
    edition = plan_edition(
        [validate_article(english), validate_article(arabic)],
        publication="Test Gazette",
        limits=EditionLimits(),
        on=date(2026, 3, 12),
        language=edition_language,
    )
    pdf = print_edition(edition, env, Settings(), pool)
    bbox = subprocess.run(
        ["pdftotext", "-bbox", "-f", "1", "-l", "1", "-", "-"],
        input=pdf, capture_output=True, check=True,
    ).stdout  # fmt: skip
    page = etree.fromstring(bbox, etree.XMLParser(recover=True)).find(".//{*}page")

    def at(text: str) -> tuple[float, float]:  # poppler may give Arabic in visual order
        (found,) = [w for w in page.iter("{*}word") if w.text in (text, text[::-1])]
        return float(found.get("xMin")), float(found.get("yMax"))

    (section_x, section_y), (title_x, title_y) = at(section), at(word)
    assert abs(section_y - title_y) < 10  # one line (the next is 21 pt below)
    assert section_x > title_x > float(page.get("width")) / 2  # from the right: section first
    (section_x, section_y), (title_x, title_y) = at("POLITICS"), at("Council")
    assert abs(section_y - title_y) < 10
    assert section_x < title_x < float(page.get("width")) / 2  # from the left: section first


def test_the_contents_quote_a_headline_as_its_page_does(pool, env):
    """The contents page printed a Portugal Portuguese headline's <q> in WeasyPrint's marks
    (“olá”), its own page in the language's («olá»)."""
    portuguese = minimal(language="pt-PT", headline="A cidade diz <q>olá</q>")
    edition = _edition(articles=[portuguese, ENGLISH])
    pages = _pages_text(print_edition(edition, env, Settings(), pool))
    contents_page = next(page for page in pages if "A cidade diz" in page)
    assert "A cidade diz «olá»" in contents_page
    assert "“olá”" not in " ".join(pages)
