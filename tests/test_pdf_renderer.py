"""The print-ready PDF: tagged PDF/UA-1, language, title, alt text, words, paper, outline, ETag."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import time

import pikepdf
import pytest
from pypdf import PdfReader

from service import create_app, pdf_renderer

from . import hostile
from .conftest import require_tool, runtime_of
from .corpus import LAM_ALEF, article_words, corpus, every_block, minimal
from .pdf_links import assert_one_clickable_link_each, link_annotations

ARTICLES = corpus()
PDF_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "x",
    "DATABASE_URL": "sqlite://",
    "PDF_WORKERS": 1,
    "BASE_URL": "https://news.example.org",
}


@pytest.fixture(scope="module")
def pdf_client():
    return create_app(PDF_CONFIG).test_client()


@pytest.fixture(scope="module")
def rendered(pdf_client):
    """name → PDF bytes, each article rendered once through the HTTP route."""
    cache = {}

    def get(name: str, paper: str = "a4") -> bytes:
        if (name, paper) not in cache:
            response = pdf_client.post(f"/v1/render/pdf?paper={paper}", json=ARTICLES[name])
            assert response.status_code == 200, response.get_data(as_text=True)[:500]
            assert response.mimetype == "application/pdf"
            cache[name, paper] = response.data
        return cache[name, paper]

    return get


def _struct_elements(node):
    kids = node.get("/K")
    if kids is None:
        return
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            yield kid
            yield from _struct_elements(kid)


@pytest.mark.parametrize("name", ARTICLES)
def test_pdf_is_tagged_pdf_ua_with_language_and_title(rendered, name):
    with pikepdf.open(io.BytesIO(rendered(name))) as pdf:
        assert "/StructTreeRoot" in pdf.Root
        assert pdf.Root.MarkInfo.Marked is True
        assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
        assert str(pdf.Root.Lang) == ARTICLES[name].get("language", "en")
        metadata = pdf.open_metadata()
        assert metadata["pdfuaid:part"] == "1"
        headline = re.sub(r"<[^>]+>", "", ARTICLES[name]["headline"]).replace("&amp;", "&")
        assert metadata["dc:title"] == headline
        assert str(pdf.docinfo["/Title"]) == headline


@pytest.mark.parametrize("name", ARTICLES)
def test_one_alt_per_described_figure_and_decorative_images_are_artifacts(rendered, name):
    described = [
        b["alt"] for b in ARTICLES[name]["body"] if b["type"] == "image" and not b.get("decorative")
    ]
    with pikepdf.open(io.BytesIO(rendered(name))) as pdf:
        figures = [e for e in _struct_elements(pdf.Root.StructTreeRoot) if e.S == "/Figure"]
        assert [str(f.Alt) for f in figures] == described
        # Each image as drawn, in order, with the marked content that holds it: a described
        # image inside its /Figure, a decorative one inside an /Artifact (page furniture,
        # also an artifact, draws no image and so cannot stand in for one).
        expected = [
            "/Artifact" if b.get("decorative") else "/Figure"
            for b in ARTICLES[name]["body"]
            if b["type"] == "image"
        ]
        assert _image_draws(pdf) == expected


@pytest.mark.parametrize("name", ARTICLES)
def test_each_figure_s_box_is_where_its_image_is_drawn(rendered, name):
    """ISO 32000-1 §14.8.5.4.3: a /BBox is in default user space. WeasyPrint wrote CSS pixels
    from the top left: a box past the page's right edge, upside down."""
    with pikepdf.open(io.BytesIO(rendered(name))) as pdf:
        figures = [e for e in _struct_elements(pdf.Root.StructTreeRoot) if e.S == "/Figure"]
        drawn = _images_placed(pdf)  # decorative images too: those have no /Figure
        for figure in figures:
            box = [float(v) for v in figure.A.BBox]
            on_its_page = [placed for page, placed in drawn if page.objgen == figure.Pg.objgen]
            assert any(box == pytest.approx(placed, abs=1.0) for placed in on_its_page), (
                box,
                on_its_page,
            )


def _images_placed(pdf) -> list[tuple]:
    """(page, [x1, y1, x2, y2]) of each image XObject drawn, in user space."""
    found = []
    for page in pdf.pages:
        matrix, stack = pikepdf.Matrix(), []
        images = {
            name for name, x in page.Resources.get("/XObject", {}).items() if x.Subtype == "/Image"
        }
        for operands, operator in pikepdf.parse_content_stream(page):
            if operator == pikepdf.Operator("q"):
                stack.append(matrix)
            elif operator == pikepdf.Operator("Q"):
                matrix = stack.pop()
            elif operator == pikepdf.Operator("cm"):
                matrix = pikepdf.Matrix(*[float(v) for v in operands]) @ matrix
            elif operator == pikepdf.Operator("Do") and str(operands[0]) in images:
                corners = [matrix.transform((x, y)) for x in (0, 1) for y in (0, 1)]
                xs, ys = [c[0] for c in corners], [c[1] for c in corners]
                found.append((page.obj, [min(xs), min(ys), max(xs), max(ys)]))
    return found


def _image_draws(pdf) -> list[str]:
    """The innermost marked-content tag around each image XObject drawn, page by page."""
    draws = []
    for page in pdf.pages:
        open_tags: list[str] = []
        for operands, operator in pikepdf.parse_content_stream(page):
            name = str(operator)
            if name in ("BMC", "BDC"):
                open_tags.append(str(operands[0]))
            elif name == "EMC":
                open_tags.pop()
            elif name == "Do" and page.Resources.XObject[operands[0]].Subtype == "/Image":
                draws.append(open_tags[-1] if open_tags else "none")
            elif name == "INLINE IMAGE":
                draws.append(open_tags[-1] if open_tags else "none")
    return draws


def test_notes_are_note_and_reference_with_readable_links(rendered):
    with pikepdf.open(io.BytesIO(rendered("every-block"))) as pdf:
        elements = list(_struct_elements(pdf.Root.StructTreeRoot))
        notes = [e for e in elements if e.S == "/Note"]
        assert [str(n.ID) for n in notes] == [f"endnote-{n}" for n in range(1, 5)]
        references = [e for e in elements if e.S == "/Reference"]
        assert len(references) == 6
        alts = [str(e.Alt) for e in elements if e.S == "/Link" and "/Alt" in e]
        assert alts[:3] == ["Note 1", "Note 2", "Note 1"]
        assert "Back to reference 1, b" in alts
        contents = {str(a.Contents) for p in pdf.pages for a in p.get("/Annots", [])}
        assert "Note 3" in contents


@pytest.mark.parametrize("name", ARTICLES)
def test_every_link_is_one_link_with_an_area_to_click(rendered, name):
    """A note reference's link had no height (the superscript's line-height 0), and each box
    inside a link (the two spans of a back-link) had an annotation of its own, tagged as a
    span and named by the bare anchor: a second stop on the same spot."""
    with pikepdf.open(io.BytesIO(rendered(name))) as pdf:
        assert_one_clickable_link_each(pdf)


def test_the_notes_links_are_counted_once(rendered):
    with pikepdf.open(io.BytesIO(rendered("every-block"))) as pdf:
        contents = [str(a.Contents) for _, a, _ in link_annotations(pdf)]
    assert contents.count("Back to reference 1, a") == 1
    assert contents.count("Back to reference 1, b") == 1


def test_a_table_taller_than_the_page_starts_where_the_text_ends(pdf_client):
    """Kept whole, a long table was pushed past a page holding only the header and a page
    holding only its caption; it now breaks between rows, its caption with its first rows."""
    table = {
        "type": "table",
        "caption": "Votes by ward",
        "header": ["Ward", "Votes"],
        "rows": [[f"Ward {n}", str(1000 + n)] for n in range(1, 61)],
    }
    article = minimal(body=[{"type": "paragraph", "text": "Turnout rose in every ward."}, table])
    response = pdf_client.post("/v1/render/pdf", json=article)
    assert response.status_code == 200
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages]
    assert len(pages) == 2
    assert "Votes by ward" in pages[0]
    assert "Ward 1\n" in pages[0] or "Ward 1 " in pages[0]
    assert "Ward 60" in pages[1]
    assert "Ward" in pages[1].split("Ward 3", 1)[0]  # the header is repeated


def test_chinese_and_japanese_print_in_a_font_that_has_them(pdf_client):
    """Without a CJK font every Han character printed as an empty box."""
    article = minimal(
        language="zh-Hans",
        headline="市议会批准自行车道",
        body=[{"type": "paragraph", "text": "市议会以七票对两票通过了这项计划。日本語の文も。"}],
    )
    response = pdf_client.post("/v1/render/pdf", json=article)
    assert response.status_code == 200
    with pikepdf.open(io.BytesIO(response.data)) as pdf:
        fonts = {
            str(font.get("/BaseFont"))
            for page in pdf.pages
            for font in page.Resources.get("/Font", {}).values()
        }
    assert any("CJK" in font for font in fonts), fonts


def test_prefixed_anchors_keep_references_notes_and_link_labels(app):
    """An article set among others (ids a1-…) is tagged as it is alone on its page."""
    from service.page import article_context, link_labels
    from service.printing import Printer
    from service.validation import validate_article

    runtime = runtime_of(app)
    context = article_context(validate_article(every_block()), runtime.settings, prefix="a1-")
    context["paper"] = "a4"
    html = runtime.env.get_template("rendering/print.html").render(context)
    labels = link_labels(context["reading"], context["labels"])
    assert set(labels) == {
        *(f"a1-note-{n}" for n in ("first", "second", "third", "never")),
        *(f"a1-ref-{n}-{k}" for n in ("first", "second", "third") for k in (1, 2)),
        "/Lang",  # the labels' own language, declared on each link
    }
    data = Printer(max_pages=10).print(html, "a4", labels).data
    with pikepdf.open(io.BytesIO(data)) as pdf:
        elements = list(_struct_elements(pdf.Root.StructTreeRoot))
        assert len([e for e in elements if e.S == "/Note"]) == 4
        assert len([e for e in elements if e.S == "/Reference"]) == 6
        alts = [str(e.Alt) for e in elements if e.S == "/Link" and "/Alt" in e]
        assert alts[:6] == ["Note 1", "Note 2", "Note 1", "Note 3", "Note 2", "Note 3"]
        assert "Back to reference 1, b" in alts


def _pdf_text(data: bytes) -> str:
    require_tool(shutil.which("pdftotext") is not None, "pdftotext (Debian poppler-utils)")
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode("utf-8")
    # Undo WeasyPrint's automatic hyphenation (U+2010 at a line end), then fold white space.
    return re.sub(r"\s+", " ", re.sub("\u2010\n", "", text))


@pytest.mark.parametrize("name", ARTICLES)
def test_every_word_and_note_is_in_the_pdf_in_order(rendered, name):
    text = _pdf_text(rendered(name))
    rtl = ARTICLES[name].get("language") in ("ar", "he")
    position = 0
    missing = []
    for word in article_words(ARTICLES[name]):
        if rtl:
            if not LAM_ALEF.search(word) and word not in text:
                missing.append(word)
            continue
        found = text.find(word, position)
        if found < 0:
            missing.append(word)
        else:
            position = found + len(word)
    assert missing == []


def test_note_urls_are_written_out(rendered):
    assert "https://example.org/first" in _pdf_text(rendered("every-block"))


def test_an_abbreviation_s_expansion_is_written_out_on_paper(pdf_client):
    """A screen shows an abbreviation's title on hover; paper showed nothing of it, and
    the PDF's structure carried no /E either: "RCC" alone, as the text twin never was."""
    text = (
        '<abbr title="Riverside Community Center">RCC</abbr> met '
        '<abbr title="NASA">NASA</abbr> and <abbr title=" BBC ">BBC</abbr>.'
    )
    article = minimal(body=[{"type": "paragraph", "text": text}])
    response = pdf_client.post("/v1/render/pdf", json=article)
    assert response.status_code == 200
    printed = _pdf_text(response.data)
    assert "RCC (Riverside Community Center) met NASA and BBC." in printed


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("zh-Hant", "他說「不行」，"),
        ("pt-PT", "Ele disse «não»,"),
        ("fr-CH", "Il a dit «oui ‹non›»,"),
        ("en", "He said “no”,"),
    ],
)
def test_a_quotation_prints_the_marks_of_its_language(pdf_client, language, said):
    """WeasyPrint looks a tag up as written ("zh-Hant" among keys such as "zh_Hant"): a
    Traditional Chinese, a Portugal Portuguese or a Swiss French <q> printed English or
    the bare language's marks, where the text twin shows the language's own."""
    words = {
        "zh-Hant": "他說<q>不行</q>，",
        "pt-PT": "Ele disse <q>não</q>,",
        "fr-CH": "Il a dit <q>oui <q>non</q></q>,",
        "en": "He said <q>no</q>,",
    }[language]
    text = words + ' then <span lang="de"><q>ja</q></span>.'
    article = minimal(language=language, body=[{"type": "paragraph", "text": text}])
    response = pdf_client.post("/v1/render/pdf", json=article)
    assert response.status_code == 200
    printed = _pdf_text(response.data)
    assert said in printed
    assert "„ja“" in printed  # a phrase in its own language's


def test_every_link_of_the_article_s_text_prints_its_target(pdf_client):
    """Paper has no links. Only body links whose scheme was written in lower case printed
    their target: not those of the headline, the standfirst or a note's words, nor
    HTTPS:// or MAILTO: links, which the contract accepts."""
    article = minimal(
        headline='Head <a href="https://example.org/hl">link</a>',
        standfirst='Stand <a href="https://example.org/sf">link</a>',
        body=[
            {
                "type": "paragraph",
                "text": 'Body <a href="HTTPS://EXAMPLE.ORG/UP">upper</a>, '
                '<a href="MAILTO:desk@example.org">mail</a>, '
                '<a href="https://example.org/low">lower</a>.[^n]',
            }
        ],
        notes=[
            {
                "id": "n",
                "text": 'See <a href="https://example.org/report">the report</a>.',
                "url": "https://example.org/source",
            }
        ],
    )
    response = pdf_client.post("/v1/render/pdf", json=article)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    text = _pdf_text(response.data)
    compact = text.replace(" ", "")  # a target breaks anywhere at a line's end
    for target in (
        "https://example.org/hl",
        "https://example.org/sf",
        "HTTPS://EXAMPLE.ORG/UP",
        "MAILTO:desk@example.org",
        "https://example.org/low",
        "https://example.org/report",
    ):
        assert f"<{target}>" in compact, target
    assert compact.count("https://example.org/source") == 1  # the note's url: its own words
    assert "<#" not in text  # note references and back-links are the document's own


@pytest.mark.parametrize(("paper", "size"), [("a4", (595, 842)), ("letter", (612, 792))])
def test_paper_size(rendered, paper, size):
    reader = PdfReader(io.BytesIO(rendered("bike-lanes", paper)))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == size


def test_default_paper_is_a4(pdf_client):
    response = pdf_client.post("/v1/render/pdf", json=minimal())
    box = PdfReader(io.BytesIO(response.data)).pages[0].mediabox
    assert round(float(box.width)) == 595


def test_unknown_paper_is_a_problem_about_the_parameter(pdf_client):
    response = pdf_client.post("/v1/render/pdf?paper=a3", json=minimal())
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"].endswith("/bad-parameter")
    assert problem["title"] == "A query parameter is not valid"
    assert problem["detail"] == "The query parameter paper must be one of a4, letter."
    assert problem["parameter"] == "paper"


def test_outline_lists_headings_and_notes(rendered):
    reader = PdfReader(io.BytesIO(rendered("every-block")))

    def titles(outline):
        for item in outline:
            if isinstance(item, list):
                yield from titles(item)
            else:
                yield item.title

    assert list(titles(reader.outline)) == [
        "Every block & every element",
        "Second level",
        "Third level",
        "Fourth level",
        "Notes",
    ]


def test_fonts_are_embedded(rendered):
    reader = PdfReader(io.BytesIO(rendered("every-block")))
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def test_second_render_is_byte_identical_without_the_cache():
    first = create_app({**PDF_CONFIG, "PDF_CACHE_SIZE": 0}).test_client()
    second = create_app({**PDF_CONFIG, "PDF_CACHE_SIZE": 0}).test_client()
    a = first.post("/v1/render/pdf", json=every_block())
    b = second.post("/v1/render/pdf", json=every_block())
    assert a.data == b.data
    assert a.headers["ETag"] == b.headers["ETag"]


def test_the_etag_names_the_code_that_printed_as_well_as_the_html(pdf_client, monkeypatch):
    """It hashed print.css and a hand-kept constant: a change to pdf_tags.py (or pikepdf, a
    colour profile) gave other bytes under the same strong ETag."""
    before = pdf_client.post("/v1/render/pdf", json=every_block()).headers["ETag"]
    monkeypatch.setattr(pdf_renderer, "source_digest", lambda: "other code")
    after = pdf_client.post("/v1/render/pdf", json=every_block(), headers={"If-None-Match": before})
    assert after.status_code == 200
    assert after.headers["ETag"] != before


def test_etag_and_if_none_match(pdf_client):
    first = pdf_client.post("/v1/render/pdf", json=every_block())
    etag = first.headers["ETag"]
    again = pdf_client.post("/v1/render/pdf", json=every_block(), headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    other = pdf_client.post(
        "/v1/render/pdf?paper=letter", json=every_block(), headers={"If-None-Match": etag}
    )
    assert other.status_code == 200
    assert other.headers["ETag"] != etag


@pytest.mark.parametrize(
    "header",
    ["W/{etag}", '"other", {etag}', 'W/"other", W/{etag}'],
)
def test_if_none_match_uses_weak_comparison(pdf_client, header):
    etag = pdf_client.post("/v1/render/pdf", json=every_block()).headers["ETag"]
    again = pdf_client.post(
        "/v1/render/pdf", json=every_block(), headers={"If-None-Match": header.format(etag=etag)}
    )
    assert again.status_code == 304
    assert again.headers["ETag"] == etag


def test_if_match_naming_another_pdf_is_412_before_printing(pdf_client):
    """RFC 9110 §13.1.1: If-Match is evaluated; a PDF is tagged before it is printed, so a
    request for another version costs no print."""
    from service import metrics

    def looked_up() -> float:
        return sum(
            metrics.registry.get_sample_value("broadsheet_pdf_cache_total", {"result": r}) or 0
            for r in ("hit", "miss")
        )

    before = looked_up()
    refused = pdf_client.post(
        "/v1/render/pdf", json=every_block(), headers={"If-Match": '"not-this-version"'}
    )
    assert refused.status_code == 412
    assert refused.mimetype == "application/problem+json"
    assert looked_up() == before  # neither printed nor looked for
    etag = pdf_client.post("/v1/render/pdf", json=every_block()).headers["ETag"]
    held = pdf_client.post("/v1/render/pdf", json=every_block(), headers={"If-Match": etag})
    assert held.status_code == 200
    assert held.data.startswith(b"%PDF-")


def test_if_none_match_star_on_a_post_is_a_412_not_an_empty_304(pdf_client):
    """ "*" asks that no version exist (RFC 9110 §13.1.2); a rendering always exists, and
    for a POST a false condition is a 412. It was a 304 to a client that held nothing."""
    response = pdf_client.post("/v1/render/pdf", json=every_block(), headers={"If-None-Match": "*"})
    assert response.status_code == 412
    assert response.mimetype == "application/problem+json"
    assert "If-None-Match" in response.get_json()["detail"]


def test_if_none_match_with_other_tags_renders(pdf_client):
    response = pdf_client.post(
        "/v1/render/pdf", json=every_block(), headers={"If-None-Match": 'W/"other", "else"'}
    )
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF-")


def test_repeat_requests_are_served_from_the_cache(pdf_client):
    app = pdf_client.application
    cache = runtime_of(app).pdf_cache
    before = len(cache)
    article = minimal(id="cache-me", headline="Cached once")
    assert pdf_client.post("/v1/render/pdf", json=article).status_code == 200
    assert len(cache) == before + 1
    assert pdf_client.post("/v1/render/pdf", json=article).status_code == 200
    assert len(cache) == before + 1


def test_page_cap_is_a_clear_problem():
    client = create_app({**PDF_CONFIG, "PDF_MAX_PAGES": 2}).test_client()
    # Few characters, many lines: passes the pre-flight bound, then meets the page cap.
    article = minimal(
        body=[{"type": "list", "style": "numbered", "items": [f"item {n}" for n in range(300)]}]
    )
    response = client.post("/v1/render/pdf", json=article)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["type"].endswith("/render-limit")
    assert "would print on" in problem["detail"]
    assert "the limit is 2." in problem["detail"]


def test_oversized_article_is_refused_before_layout():
    client = create_app({**PDF_CONFIG, "PDF_MAX_PAGES": 2}).test_client()
    text = ("council budget transport river housing " * 500)[:18000]
    article = minimal(body=[{"type": "paragraph", "text": text}] * 2)
    started = time.monotonic()
    response = client.post("/v1/render/pdf", json=article)
    assert response.status_code == 422
    assert "more than 2 pages can hold" in response.get_json()["detail"]
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("name", ["every-block", "long-article"])
def test_every_marked_content_belongs_to_the_tree_or_is_an_artifact(rendered, name):
    """Running heads and page numbers are pagination artifacts, not orphaned spans."""
    with pikepdf.open(io.BytesIO(rendered(name))) as pdf:
        root = pdf.Root.StructTreeRoot
        reachable = {e.objgen for e in _struct_elements(root)}
        tree = {int(k): v for k, v in pikepdf.NumberTree(root.ParentTree).items()}
        pagination = 0
        for page in pdf.pages:
            for operands, op in pikepdf.parse_content_stream(page):
                if str(op) != "BDC" or not isinstance(operands[1], pikepdf.Dictionary):
                    continue
                if operands[0] == "/Artifact":
                    pagination += operands[1].get("/Type") == "/Pagination"
                    continue
                element = tree[int(page.StructParents)][int(operands[1].MCID)]
                assert element is not None
                assert element.objgen in reachable
        # Each page has a page number; each page after the first two running heads.
        assert pagination >= 3 * len(pdf.pages) - 2


def test_note_ids_are_listed_in_the_id_tree(rendered):
    """A structure element with an /ID must be reachable through the tree's /IDTree."""
    with pikepdf.open(io.BytesIO(rendered("every-block"))) as pdf:
        root = pdf.Root.StructTreeRoot
        with_ids = {str(e.ID): e.objgen for e in _struct_elements(root) if "/ID" in e}
        # The notes' IDs, and those WeasyPrint gives header cells for their data cells.
        assert {f"endnote-{n}" for n in range(1, 5)} < set(with_ids)
        tree = {key: element.objgen for key, element in pikepdf.NameTree(root.IDTree).items()}
        assert tree == with_ids


# Left-out images are named ------------------------------------------------------------------


def test_a_remote_image_from_a_host_not_allowed_is_named(warning_client, caplog):
    """It was dropped silently; its alt text still stands in, and the answer says so."""
    image = {"type": "image", "src": "https://images.example.org/a.png", "alt": "A map"}
    article = minimal(id="hotlinked", body=[{"type": "paragraph", "text": "Hi."}, image])
    for _ in range(2):  # the second answer comes from the cache, and warns the same
        response = warning_client.post("/v1/render/pdf", json=article)
        assert response.status_code == 200
        warnings = re.findall(r'"((?:[^"\\]|\\.)*)"', response.headers["Broadsheet-Warnings"])
        assert len(warnings) == 1
        assert warnings[0].startswith("/body/1/src: image left out, its alt text stands in")
        assert "IMAGE_HOSTS" in warnings[0]
    logged = [r.getMessage() for r in caplog.records if r.name == "service.views.rendering"]
    assert len(logged) == 2
    assert all("/body/1/src" in line for line in logged)


def test_many_images_left_out_keep_the_header_small_and_the_log_names_them(warning_client, caplog):
    """40 images from 40 long host names made a 12 KB header: past what proxies take."""
    hosts = [f"{n:02d}{'a' * 61}.{n:02d}{'b' * 61}.example" for n in range(40)]
    body = [{"type": "image", "src": f"https://{host}/p.png", "alt": "A photo"} for host in hosts]
    response = warning_client.post("/v1/render/pdf", json=minimal(id="many-images", body=body))
    assert response.status_code == 200
    header = response.headers["Broadsheet-Warnings"]
    assert len(header) < 4096
    warnings = re.findall(r'"((?:[^"\\]|\\.)*)"', header)
    assert len(warnings) == 11
    assert warnings[-1] == "and 30 more left out, each named in the log"
    (logged,) = [r.getMessage() for r in caplog.records if r.name == "service.views.rendering"]
    assert logged.count("image left out") == 40


def test_a_pdf_with_every_image_has_no_warnings(warning_client):
    image = {"type": "image", "src": hostile.png(20, 10), "alt": "A swatch"}
    response = warning_client.post("/v1/render/pdf", json=minimal(id="all-in", body=[image]))
    assert response.status_code == 200
    assert "Broadsheet-Warnings" not in response.headers


@pytest.fixture(scope="module")
def warning_client():
    return create_app(PDF_CONFIG).test_client()


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/v1/render/html?foo=1", "foo"),
        ("/v1/render/text?paper=a4", "paper"),
        ("/v1/render/pdf?paper=a4&paper=letter", "paper"),
        ("/v1/render/pdf?paper=a4&x=1", "x"),
    ],
)
def test_a_query_parameter_a_render_route_does_not_take_is_400(pdf_client, path, name):
    response = pdf_client.post(path, json=minimal())
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"].endswith("/bad-parameter")
    assert problem["parameter"] == name


def test_raised_figures_read_true_in_the_outline_and_the_running_header(pdf_client):
    """The h1's bookmark and running header took its markup's text: CO2 at 106 tonnes."""
    body = [{"type": "heading", "level": 2, "text": "Area in m<sup>2</sup>"}]
    body += [{"type": "paragraph", "text": "word " * 300} for _ in range(8)]
    article = minimal(headline="CO<sub>2</sub> at 10<sup>6</sup> tonnes", body=body)
    response = pdf_client.post("/v1/render/pdf", json=article)
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.data))
    headline, headings = reader.outline
    assert (headline.title, [h.title for h in headings]) == ("CO₂ at 10⁶ tonnes", ["Area in m²"])
    assert "CO₂ at 10⁶ tonnes" in reader.pages[1].extract_text()


def _image_boxes(pdf: pikepdf.Pdf, page: pikepdf.Page) -> list[tuple[float, float]]:
    """The bottom and top (in points) of each image drawn on `page`, transforms composed."""
    ctm, stack, boxes = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0], [], []
    images = {
        str(name)
        for name, xobject in page.resources.get("/XObject", {}).items()
        if xobject.get("/Subtype") == "/Image"
    }
    for operands, operator in pikepdf.parse_content_stream(page):
        op = str(operator)
        if op == "q":
            stack.append(ctm)
        elif op == "Q":
            ctm = stack.pop()
        elif op == "cm":
            a, b, c, d, e, f = (float(x) for x in operands)
            A, B, C, D, E, F = ctm
            ctm = [a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D,
                   e * A + f * C + E, e * B + f * D + F]  # fmt: skip
        elif op == "Do" and str(operands[0]) in images:
            bottom, top = sorted((ctm[5], ctm[5] + ctm[3]))
            boxes.append((bottom, top))
    return boxes


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_a_tall_picture_keeps_to_one_page_with_its_caption(pdf_client, paper):
    """A portrait photo declared 1200 by 1800 was drawn the measure wide, ran past the
    sheet over the footer, and left its caption on the next page."""
    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (400, 600), (30, 120, 200)).save(picture, "PNG")
    src = "data:image/png;base64," + base64.b64encode(picture.getvalue()).decode()
    image = {"type": "image", "src": src, "alt": "The mayor", "caption": "At her desk.",
             "width": 1200, "height": 1800}  # fmt: skip
    before, after = ({"type": "paragraph", "text": words} for words in ("Before.", "After."))
    body = [before, image, after]
    response = pdf_client.post(f"/v1/render/pdf?paper={paper}", json=minimal(body=body))
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.data))
    with pikepdf.open(io.BytesIO(response.data)) as pdf:
        drawn = [(index, _image_boxes(pdf, page)) for index, page in enumerate(pdf.pages)]
        ((index, [(bottom, top)]),) = [(i, boxes) for i, boxes in drawn if boxes]
        height = float(pdf.pages[index].MediaBox[3])
    margin_bottom, margin_top = 24 * 72 / 25.4, 22 * 72 / 25.4  # print.css's page margins
    assert margin_bottom - 0.5 <= bottom < top <= height - margin_top + 0.5
    assert "At her desk." in reader.pages[index].extract_text()


@pytest.mark.parametrize("headline", ["市议会周二以七比二的投票结果批准了" * 17, "WWW MMM " * 37])
def test_a_long_headline_keeps_the_running_head_on_the_sheet(pdf_client, headline):
    """300 characters wrapped upwards from the running head's baseline, past the sheet's top."""
    body = [{"type": "paragraph", "text": "word " * 300} for _ in range(6)]
    article = minimal(headline=headline.strip()[:300], body=body, language="zh-Hans")
    response = pdf_client.post("/v1/render/pdf", json=article)
    assert response.status_code == 200
    with pikepdf.open(io.BytesIO(response.data)) as pdf:
        assert len(pdf.pages) > 1
    boxes = subprocess.run(
        ["pdftotext", "-f", "2", "-l", "2", "-bbox", "-", "-"],
        input=response.data, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    tops = [float(top) for top in re.findall(r'yMin="([-0-9.]+)"', boxes)]
    assert min(tops) >= 0
    assert "…" in boxes  # cut, with an ellipsis


def test_the_running_head_is_cut_at_a_word_within_its_columns():
    from service.page import running_head

    assert running_head("Short headline") == "Short headline"
    cut = running_head("word " * 40)
    assert cut.endswith("word…")
    assert len(cut) <= 91
    assert running_head("中" * 100) == "中" * 45 + "…"
    from service.characters import bidi_problem

    assert bidi_problem(running_head("\u202eturned " * 30)) is None  # what it cut is closed
    assert running_head("A" * 89 + "e\u0301" + "tail" * 10) == "A" * 89 + "…"  # é whole
    france = "\U0001f1eb\U0001f1f7"
    assert running_head("A" * 89 + france * 3) == "A" * 89 + "…"  # no half flag


def test_a_list_holds_list_items_only_tags_included(pdf_client):
    """Printed inline, the tags' white space became text beside each item: /Span in /L."""
    article = minimal(tags=["transport", "council", "cycling"], body=[
        {"type": "list", "style": "bulleted", "items": ["one", "two"]},
    ])  # fmt: skip
    response = pdf_client.post("/v1/render/pdf", json=article)
    with pikepdf.open(io.BytesIO(response.data)) as pdf:
        elements = list(_struct_elements(pdf.Root.StructTreeRoot))
        lists = {e.objgen for e in elements if e.S == "/L"}
        found = [str(e.S) for e in elements if "/P" in e and e.P.objgen in lists]
    assert len(found) == 5  # two items, three tags
    assert set(found) == {"/LI"}


def _languages(data: bytes) -> list[tuple[str, str]]:
    """(structure type, /Lang) of every structure element that declares a language."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return [
            (str(e.S), str(e.Lang))
            for e in _struct_elements(pdf.Root.StructTreeRoot)
            if "/Lang" in e
        ]


def test_every_change_of_language_is_declared_in_the_structure(pdf_client):
    """PDF/UA-1 §7.2: WeasyPrint declared the document's language only, so a screen reader
    read a Hebrew quote and French words with the English voice."""
    body = [
        {"type": "paragraph",
         "text": 'He said <span lang="fr">je ne sais quoi</span>, and <q>Schadenfreude</q>.'},
        {"type": "quote", "lang": "he", "text": "בְּרֵאשִׁית בָּרָא אֱלֹהִים"},
    ]  # fmt: skip
    response = pdf_client.post("/v1/render/pdf", json=minimal(body=body))
    assert response.status_code == 200
    assert set(_languages(response.data)) == {("/Span", "fr"), ("/BlockQuote", "he")}
    # A label Broadsheet has no words for in the article's language is English, and says so.
    response = pdf_client.post("/v1/render/pdf", json=minimal(language="yo"))
    assert ("/Span", "en") in set(_languages(response.data))


def test_an_article_a_printer_refused_is_refused_at_once_when_sent_again(make_app, monkeypatch):
    """Each try of an article past the time limit held a printer for the whole limit: the
    same article sent again is now refused at once for a while, as an edition is."""
    from service.errors import PrinterUnavailable, PrintTimedOut

    from .conftest import CountingPrinter

    app = make_app()
    runtime = runtime_of(app)
    slow = CountingPrinter(fail_with=PrintTimedOut("The article took longer than 20 s."))
    monkeypatch.setattr(type(runtime), "printer", property(lambda _: slow))
    client = app.test_client()
    article = minimal(id="too-slow")
    answers = [client.post("/v1/render/pdf", json=article) for _ in range(3)]
    assert [a.status_code for a in answers] == [422, 422, 422]
    assert len(slow.jobs) == 1  # printed once, then refused without a printer
    assert "Refused a moment ago" in answers[1].get_json()["detail"]
    # Another article is its own print.
    other = minimal(id="other", headline="Another article")
    assert client.post("/v1/render/pdf", json=other).status_code == 422
    assert len(slow.jobs) == 2
    # A printer that was only busy (503) says nothing about the article: tried again.
    busy = CountingPrinter(fail_with=PrinterUnavailable("Every printer is busy."))
    monkeypatch.setattr(type(runtime), "printer", property(lambda _: busy))
    for _ in range(2):
        busy_article = minimal(id="busy", headline="Busy")
        assert client.post("/v1/render/pdf", json=busy_article).status_code == 503
    assert len(busy.jobs) == 2


@pytest.mark.parametrize(
    ("language", "text", "declared"),
    [("zh-Hant-TW", "文字[^a]。", "en"), ("es", "Texto [^a].", "es"),
     ("en", '<span lang="es">Es un buen día [^a]</span>', "en")],
)  # fmt: skip
def test_a_note_link_s_alt_declares_the_language_of_its_words(pdf_client, language, text, declared):
    """PDF/UA-1 §7.2: a Chinese article's note links read "Note 1" and "Back to reference 1"
    (the English labels, for want of Chinese ones) in the Chinese voice: nothing on their
    path said English. Then a reference inside a Spanish passage of an English article: its
    "Note 1" took the passage's language. Every labelled link declares its words' own."""
    article = minimal(
        language=language,
        body=[{"type": "paragraph", "text": text}],
        notes=[{"id": "a", "text": "來源。"}],
    )
    response = pdf_client.post("/v1/render/pdf", json=article)
    assert response.status_code == 200
    with pikepdf.open(io.BytesIO(response.data)) as pdf:
        links = [
            e for e in _struct_elements(pdf.Root.StructTreeRoot) if e.S == "/Link" and "/Alt" in e
        ]
        assert len(links) == 2  # the reference and its way back
        assert [str(e.Lang) if "/Lang" in e else None for e in links] == [declared] * 2


def test_a_wide_table_has_its_landscape_page_to_itself(pdf_client):
    """What followed a seven-column table printed on its landscape page (a paragraph, a
    heading, the endnotes); the page turns back after it, and none is left blank after a
    wide table that ends the article."""
    header = [f"C{n}" for n in range(7)]
    table = {"type": "table", "caption": "Seven columns", "header": header, "rows": [header] * 3}
    after = {"type": "paragraph", "text": "After the table."}
    shapes = {}
    for name, body in (("between", [{"type": "paragraph", "text": "Before."}, table, after]),
                       ("last", [{"type": "paragraph", "text": "Before."}, table])):  # fmt: skip
        response = pdf_client.post("/v1/render/pdf", json=minimal(body=body))
        assert response.status_code == 200
        with pikepdf.open(io.BytesIO(response.data)) as pdf:
            shapes[name] = [
                "landscape" if float(p.MediaBox[2]) > float(p.MediaBox[3]) else "portrait"
                for p in pdf.pages
            ]
        if name == "between":
            require_tool(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils)")
            pages = (
                subprocess.run(
                    ["pdftotext", "-", "-"], input=response.data, capture_output=True, check=True
                )
                .stdout.decode("utf-8")
                .split("\f")
            )
            assert "Seven columns" in pages[1]
            assert "After the table." not in pages[1]
            assert "After the table." in pages[2]
    assert shapes == {
        "between": ["portrait", "landscape", "portrait"],
        "last": ["portrait", "landscape"],
    }


FI_WORDS = "The final figures were filed by fifty officials."


def _with_fi_after(first_paragraph: str) -> dict:
    return minimal(
        id="ligatures",
        headline="Budget",
        body=[
            {"type": "paragraph", "text": first_paragraph},
            {"type": "paragraph", "text": FI_WORDS},
        ],
    )


def test_a_long_address_broken_inside_a_ligature_keeps_the_pdf_text_whole(pdf_client):
    """break_long_words put its zero-width space between "f" and "i": the ligature drawn
    across it mapped to no text, and every later "fi" of the PDF read as nothing."""
    address = (
        "https://data.example.org/releases/2026/03/municipal-budget-final-approved-version.csv"
    )
    response = pdf_client.post("/v1/render/pdf", json=_with_fi_after(f"From {address} today."))
    assert response.status_code == 200
    text = _pdf_text(response.data)
    assert FI_WORDS in text
    assert "budget-final" in text.replace(" ", "")


@pytest.mark.parametrize("invisible", ["\u00ad", "&shy;", "\u200d", "\u2060", "\u034f"], ids=repr)
def test_an_invisible_character_inside_a_word_keeps_the_pdf_text_whole(pdf_client, invisible):
    article = _with_fi_after(f"Download the f{invisible}ile today.")
    response = pdf_client.post("/v1/render/pdf", json=article)
    assert response.status_code == 200
    text = _pdf_text(response.data)
    assert FI_WORDS in text
    assert "Download the f" in text


def test_only_a_word_with_an_invisible_character_turns_ligatures_off():
    from service.pdf_renderer import with_exact_text

    page = "<html><head></head><body><p>{}</p></body></html>"
    for kept in (
        "final figures",
        "emoji \u2764\ufe0f here",
        "a &amp;shy; b",
        "\u00ad lone",
        '<img alt="The of&shy;fice" src="data:,">',  # an attribute never printed
    ):
        assert with_exact_text(page.format(kept)) == page.format(kept)
    for changed in (
        "f\u00adile",
        "f&shy;ile",
        "f&#x200D;i",
        "f<b>\u2060</b>i",
        "f\ufff0ile",
        '<abbr title="Pro f&shy;ile">PFF</abbr>',  # attributes the page prints
        '<a href="https://x.org/f\u2060ile">the data</a>',
    ):
        assert "no-common-ligatures" in with_exact_text(page.format(changed)), changed


def test_a_printed_attribute_or_a_running_head_keeps_the_pdf_text_whole(pdf_client):
    """An abbreviation's title is printed after it, and the headline at the head of every
    page after the first: a ligature drawn across an invisible character in either read
    as nothing there and in every later "fi" (the margin boxes took no rule from <body>)."""
    long_text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 60
    article = minimal(
        id="heads",
        headline="A f\u00adine profile",
        body=[
            {
                "type": "paragraph",
                "text": 'The <abbr title="Pro f\u00adile format">PFF</abbr> file.',
            },
            *[{"type": "paragraph", "text": long_text} for _ in range(4)],
            {"type": "paragraph", "text": FI_WORDS},
        ],
    )
    response = pdf_client.post("/v1/render/pdf", json=article)
    assert response.status_code == 200
    text = _pdf_text(response.data)
    assert "PFF (Pro file format)" in text
    assert FI_WORDS in text
    second_page = subprocess.run(
        ["pdftotext", "-f", "2", "-l", "2", "-", "-"],
        input=response.data,
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "A fine profile" in second_page


def test_a_link_whose_words_are_its_address_prints_it_once(pdf_client):
    text = (
        'Read <a href="https://example.org/y">https://example.org/y</a>, write to '
        '<a href="mailto:desk@example.org">desk@example.org</a>, or see '
        '<a href="https://example.org/report">the report</a>.'
    )
    article = minimal(id="addresses", body=[{"type": "paragraph", "text": text}])
    response = pdf_client.post("/v1/render/pdf", json=article)
    assert response.status_code == 200
    words = _pdf_text(response.data)
    assert words.count("https://example.org/y") == 1
    assert words.count("desk@example.org") == 1
    # Other links still print their address after their words (a line may break in it).
    assert "thereport<https://example.org/report>" in re.sub(r"[\s\u2066\u2069]", "", words)


def test_the_web_page_printed_shows_a_link_s_own_address_once(pdf_client):
    """The page's own print styles (base.css, @media print) write addresses out as print.css
    does, and skip those the link's words already are."""
    from pathlib import Path

    import weasyprint

    text = (
        'Read <a href="https://example.org/y">https://example.org/y</a> or '
        '<a href="https://example.org/report">the report</a>.'
    )
    article = minimal(id="page-addresses", body=[{"type": "paragraph", "text": text}])
    page = pdf_client.post("/v1/render/html", json=article).get_data(as_text=True)
    styles = weasyprint.CSS(string=(Path(__file__).parents[1] / "templates/base.css").read_text())
    printed = weasyprint.HTML(string=page, base_url="https://news.example.org/").write_pdf(
        stylesheets=[styles]
    )
    words = _pdf_text(printed)
    assert words.count("https://example.org/y") == 1
    assert "thereport<https://example.org/report>" in re.sub(r"[\s\u2066\u2069]", "", words)
