"""E-mail HTML: inlined, accessible, small, and the same words as the article."""

from __future__ import annotations

import logging
import re
import socket

import pytest
from lxml import html as lxml_html

from service.email_renderer import Inliner, render_email
from service.validation import validate_article

from .conftest import runtime_of
from .corpus import article_words, corpus, every_block, examples, minimal

ARTICLES = corpus()
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture
def email_html(post_json):
    def render(article) -> str:
        response = post_json("/v1/render/email", article)
        assert response.status_code == 200, response.get_json()
        assert response.mimetype == "text/html"
        return response.get_data(as_text=True)

    return render


def _body(app, article, **kwargs):
    runtime = runtime_of(app)
    return render_email(
        validate_article(article), runtime.env, runtime.settings, runtime.inliner, **kwargs
    )


@pytest.mark.parametrize("name", ARTICLES)
def test_every_text_element_has_inline_style(email_html, name):
    doc = lxml_html.document_fromstring(email_html(ARTICLES[name]))
    unstyled = [
        element.tag
        for element in doc.body.iter()
        if isinstance(element.tag, str)
        and (element.text or "").strip()
        and not element.get("style")
    ]
    assert unstyled == []


@pytest.mark.parametrize("name", ARTICLES)
def test_structure_language_tables_images_links(email_html, name):
    article = ARTICLES[name]
    doc = lxml_html.document_fromstring(email_html(article))
    lang = article.get("language", "en")
    assert doc.get("lang") == lang
    wrapper = doc.xpath("//div[@class='wrapper']")[0]
    assert (wrapper.get("lang"), wrapper.get("dir")) == (lang, doc.get("dir"))
    assert doc.findtext(".//title")
    assert len(doc.xpath("//h1")) == 1
    for table in doc.xpath("//table"):
        if "data" in table.get("class", ""):
            assert table.xpath("caption")
            assert table.xpath(".//th[@scope='col']")
        else:
            assert table.get("role") == "presentation"
    images = doc.xpath("//img")
    assert all(img.get("alt") is not None for img in images)
    assert len(images) == sum(1 for b in article["body"] if b["type"] == "image")
    for href in doc.xpath("//a/@href"):
        assert re.match(r"^(https?://|mailto:)", href), href
    body_sizes = [
        int(m)
        for m in re.findall(
            r"font-size:(\d+)px", doc.xpath("//td[@class='content']")[0].get("style")
        )
    ]
    assert body_sizes == [17]


def test_preheader_dark_mode_and_note_references(app, email_html):
    html = email_html(every_block())
    assert html.startswith("<!DOCTYPE html>")
    doc = lxml_html.document_fromstring(html)
    assert doc.xpath("//div[@class='preheader']")[0].text_content().startswith("A test of all")
    style = doc.xpath("//style")[0].text
    assert "@media (prefers-color-scheme: dark)" in style
    assert "!important" in style
    assert doc.xpath("//meta[@name='color-scheme']/@content") == ["light dark"]
    refs = doc.xpath("//a[@class='noteref']")
    assert [r.text for r in refs][:3] == ["[1]", "[2]", "[1]"]
    assert refs[0].get("href") == "https://news.example.org/articles/every-block#note-first"
    notes = [li.text_content() for li in doc.xpath("//div[@class='notes']//li")]
    assert notes[0].startswith("[1] The first source")
    assert notes[3].startswith("[4] A note no one references.")


@pytest.mark.parametrize("name", list(examples()))
def test_example_emails_are_under_gmail_clipping_size(email_html, name):
    assert len(email_html(ARTICLES[name]).encode("utf-8")) < 102 * 1024


@pytest.mark.browser
@pytest.mark.parametrize("name", ARTICLES)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_in_email(axe, email_html, name, scheme):
    violations = axe(email_html(ARTICLES[name]), AXE_TAGS, color_scheme=scheme)
    assert [(v["id"], [n["html"][:100] for n in v["nodes"][:3]]) for v in violations] == []


@pytest.mark.browser
@pytest.mark.parametrize("name", ARTICLES)
def test_every_word_is_in_the_email_html_and_text(app, visible_text, email_html, name):
    shown = " ".join(visible_text(email_html(ARTICLES[name])).split())
    text = " ".join(_body(app, ARTICLES[name]).text.split())
    words = article_words(ARTICLES[name])
    assert [w for w in words if w not in shown] == []
    assert [w for w in words if w not in text] == []


def test_inlining_logs_no_warnings(app, caplog):
    caplog.set_level(logging.DEBUG)
    for article in ARTICLES.values():
        _body(app, article)
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert noisy == []


def test_inliner_never_fetches_stylesheets():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    html = (
        f'<!DOCTYPE html><html><head><link rel="stylesheet" href="http://127.0.0.1:{port}/a.css">'
        f'<style>@import url("http://127.0.0.1:{port}/b.css"); p {{ color: red }}</style>'
        "</head><body><p>x</p></body></html>"
    )
    try:
        inlined = Inliner().inline(html)
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    assert 'style="color:red"' in inlined


def test_personalisation_is_escaped_and_premailer_runs_once(app, monkeypatch):
    calls = []
    runtime = runtime_of(app)
    original = runtime.inliner.inline
    monkeypatch.setattr(runtime.inliner, "inline", lambda html: calls.append(1) or original(html))
    body = _body(app, every_block(), for_subscriber=True)
    first = body.personalise(unsubscribe_url='https://x.org/u/a"><script>alert(1)</script>')
    second = body.personalise(unsubscribe_url="https://x.org/u/b")
    assert len(calls) == 1
    doc = lxml_html.document_fromstring(first.html)
    assert not doc.xpath("//script")
    assert doc.xpath("//td[@class='footer']//a/@href") == [
        'https://x.org/u/a"><script>alert(1)</script>'
    ]
    assert "https://x.org/u/b" in second.html
    assert "https://x.org/u/b" in second.text
    assert "placeholder" not in second.html


# The fixed marker personalise() used to replace everywhere: a valid https URL any article
# could carry, so each subscriber's own unsubscribe link reached a third-party host.
OLD_PLACEHOLDER = "https://unsubscribe.placeholder.invalid/bs-personal-7c1e"


def test_article_text_cannot_collide_with_the_unsubscribe_marker(app):
    tracker = f"https://tracker.example.net/pixel.png?u={OLD_PLACEHOLDER}"
    article = every_block()
    article["body"][0]["text"] += f' <a href="{OLD_PLACEHOLDER}">Manage</a>'
    article["body"][8]["src"] = tracker
    body = _body(app, article, for_subscriber=True)
    personal = "https://news.example.org/unsubscribe/reader-token"
    mail = body.personalise(unsubscribe_url=personal)
    doc = lxml_html.document_fromstring(mail.html)
    assert doc.xpath("//img/@src")[0] == tracker
    assert OLD_PLACEHOLDER in doc.xpath("//p//a/@href")
    holders = [
        (element.tag, name)
        for element in doc.iter()
        if isinstance(element.tag, str)
        for name, value in element.attrib.items()
        if personal in value
    ]
    assert holders == [("a", "href")]
    assert doc.xpath("//td[@class='footer']//a/@href") == [personal]
    assert mail.html.count(personal) == 1
    assert [line for line in mail.text.splitlines() if personal in line] == [
        f"Unsubscribe: <{personal}>"
    ]


def test_each_render_has_its_own_marker_and_nothing_is_left_behind(app):
    first = _body(app, every_block(), for_subscriber=True)
    second = _body(app, every_block(), for_subscriber=True)
    assert first.marker != second.marker
    assert first.marker in first.html
    assert first.marker not in second.html
    done = first.personalise(unsubscribe_url="https://x.org/u/c")
    assert first.marker not in done.html + done.text
    assert not _body(app, every_block()).marker


def test_email_text_part_is_text_not_html(app):
    text = _body(app, every_block(), for_subscriber=True).text
    assert text.startswith("Science\nEvery block & every element\n")
    assert "a mail link <desk@example.org>" in text
    assert "&amp;" not in text
    assert "&lt;" not in text


def test_authors_links_and_tags_reach_both_parts_of_the_mail(app):
    """The page and the PDF link each author who has an address and list the tags; the
    mail named the authors as plain words in both parts and left the tags out."""
    article = minimal(
        authors=[{"name": "Ada Lovelace", "url": "https://example.org/ada"}, {"name": "Grace"}],
        tags=["transport", "city hall"],
    )
    mail = _body(app, article)
    doc = lxml_html.document_fromstring(mail.html)
    (ada,) = doc.xpath("//p[@class='meta']/a[text()='Ada Lovelace']")
    assert ada.get("href") == "https://example.org/ada"
    assert "Tags: transport, city hall" in [
        " ".join(p.text_content().split()) for p in doc.xpath("//p")
    ]
    assert "By Ada Lovelace <https://example.org/ada> and Grace" in mail.text  # as the page
    # The text part left the tags out; signed with them, as the text twin is.
    signature = mail.text.split("\n-- \n")[1].splitlines()
    assert signature[-2:] == ["Tags: transport, city hall", f"Read online: {signature[-1][13:]}"]


def test_email_frame_footer_in_html_and_text(app):
    mail = _body(app, every_block(), for_subscriber=True).personalise(
        unsubscribe_url="https://x.org/u/d"
    )
    doc = lxml_html.document_fromstring(mail.html)
    footer = [" ".join(p.text_content().split()) for p in doc.xpath("//td[@class='footer']/p")]
    assert footer == ["Test Gazette · Testville", "1 Test Street, Testville", "Unsubscribe"]
    signature = mail.text.split("\n-- \n")[1].splitlines()
    assert signature == [
        "Test Gazette · Testville",
        "1 Test Street, Testville",
        "Tags: testing, accessibility",
        "Read online: <https://example.org/every-block>",
        "Unsubscribe: <https://x.org/u/d>",
    ]


@pytest.mark.browser
@pytest.mark.parametrize("name", ["bike-lanes", "highlighted", "minimal"])
def test_the_email_reflows_on_a_narrow_screen(email_html, page_width, name):
    """The 600-pixel frame kept its width at 320 px: every line scrolled sideways."""
    assert page_width(email_html(ARTICLES[name])) <= 320


@pytest.mark.browser
@pytest.mark.parametrize("name", ["bike-lanes", "minimal"])
def test_the_email_reflows_without_its_style_block(email_html, page_width, name):
    """Gmail's apps drop <style> for other accounts' mail: the frame was fluid only by a
    rule in it, and stayed 600 pixels wide on a phone. Its inline style makes it fluid; the
    600 pixels are Outlook's alone, in a table only Outlook sees."""
    html = email_html(ARTICLES[name])
    bare = re.sub(r"<style>.*?</style>", "", html, flags=re.DOTALL)
    assert bare != html
    assert page_width(bare) <= 320
    assert page_width(bare, 1000) == 1000  # and no wider than its column on a wide screen
    assert '<!--[if mso]><table role="presentation" width="600"' in html


def test_the_text_of_tables_and_the_footer_has_its_own_font(email_html):
    """Outlook's Word engine passes no font from a table to its cells: a data table's
    caption, headers and cells and the footer's lines fell back to its serif."""
    doc = lxml_html.document_fromstring(email_html(ARTICLES["bike-lanes"]))
    cells = doc.xpath(
        "//table[@class='data']//caption | //table[@class='data']//th"
        " | //table[@class='data']//td | //td[@class='footer']/p"
    )
    assert len(cells) > 6
    for cell in cells:
        style = cell.get("style").replace(" ", "")
        assert "font-family:Arial" in style, (cell.tag, style)
        assert "font-size:16px" in style, (cell.tag, style)


def test_a_note_reference_is_raised_once(email_html):
    """<sup><a class="noteref"> with vertical-align: super on both raised the marker twice,
    13 pixels, into the line above."""
    doc = lxml_html.document_fromstring(email_html(ARTICLES["bike-lanes"]))
    references = doc.xpath("//sup/a[@class='noteref']")
    assert references
    for reference in references:
        assert "vertical-align" not in reference.get("style")
        assert "vertical-align:super" in reference.getparent().get("style").replace(" ", "")


@pytest.mark.browser
def test_long_words_in_the_email_break_on_a_narrow_screen(email_html, page_width):
    word = "Donaudampfschifffahrtsgesellschaftskapitänsmützenabzeichen"
    url = "https://example.org/a/very/long/path/to/the/source/of/this/figure/and/more"
    article = minimal(
        headline=f"The {word}",
        body=[
            {"type": "paragraph", "text": f"{url} and <code>{word}{word}</code>"},
            {
                "type": "table",
                "caption": f"Costs of the {word}",
                "header": ["Item", "Source", "A", "B", "C", "D"],
                "rows": [[word, url, "alpha", "beta", "gamma", "delta"]],
            },
        ],
    )
    assert page_width(email_html(article)) <= 320


def test_a_decorative_image_has_an_empty_alt_whatever_alt_it_was_sent(email_html):
    """`"decorative": true, "alt": " "` validates; the mail wrote alt=" ", which axe's
    image-alt refuses (not every screen reader ignores a space). The page wrote alt=""."""
    from lxml import html as lxml_html

    from .corpus import PNG

    image = {"type": "image", "src": PNG, "decorative": True, "alt": " "}
    doc = lxml_html.document_fromstring(email_html(minimal(body=[image])))
    assert doc.xpath("//img[@class='image']/@alt") == [""]


def test_right_to_left_mail_mirrors_its_sides(email_html):
    """Mail clients know no logical properties: list numbers were cut off at the right edge,
    the quote rule and table text sat on the left of an Arabic mail."""
    from lxml import html as lxml_html

    body = [
        {"type": "list", "style": "numbered", "items": [f"بند {n}" for n in range(12)]},
        {"type": "quote", "text": "قول", "attribution": "فلان"},
        {"type": "quote", "lang": "en", "text": "An English quote"},
        {"type": "table", "caption": "جدول", "header": ["أ", "ب"], "rows": [["1", "2"]]},
    ]
    doc = lxml_html.document_fromstring(email_html(minimal(language="ar", body=body)))

    def style(path):
        return dict(
            part.strip().split(":", 1)
            for part in doc.xpath(path)[0].get("style").split(";")
            if part.strip()
        )

    assert style("//td[@class='content']//ol")["padding"] == "0 28px 0 0"
    arabic = style("//blockquote[not(@lang)]")
    assert (arabic["border-right"], arabic["border-left"]) == ("4px solid #8a1c1c", "0")
    english = style("//blockquote[@lang='en']")
    assert (english["border-left"], english["border-right"]) == ("4px solid #8a1c1c", "0")
    assert english["text-align"] == "left"  # it was flush right, its rule on the left
    assert style("//table[@class='data']//th")["text-align"] == "right"
    assert style("//table[@class='data']/caption")["text-align"] == "right"
    assert style("//p[@class='attribution']")["margin"] == "-12px 20px 24px 0"


def test_an_image_keeps_its_own_size_in_the_mail_no_wider_than_the_column(email_html):
    """Every image was 552 pixels wide with no height: a 120-pixel logo blown up 4.6 times,
    and no client could keep the room for a picture before it loaded."""
    from lxml import html as lxml_html

    from .corpus import PNG

    body = [
        {"type": "image", "src": PNG, "alt": "A small logo", "width": 120, "height": 40},
        {"type": "image", "src": PNG, "alt": "A wide photo", "width": 1600, "height": 900},
        # Embedded without a size: its header's (16 by 8), not the column's 552.
        {"type": "image", "src": PNG, "alt": "No size given"},
        # From elsewhere without a size: unknown, so the column's (Outlook would show a
        # photo at its full size, past the column).
        {"type": "image", "src": "https://images.example.org/p.jpg", "alt": "Unknown size"},
        {"type": "image", "src": PNG, "alt": "A hairline rule", "width": 2000, "height": 1},
        # A height alone was dropped, and the image stretched to the column's width; now
        # the width follows from the header's shape (16 by 8).
        {"type": "image", "src": PNG, "alt": "An icon", "height": 8},
        {"type": "image", "src": PNG, "alt": "An icon drawn larger", "height": 40},
        # From elsewhere with a height alone: its shape is unknown, so the column's width
        # (it kept its own, and Outlook showed a 3,000-pixel photo past the column).
        {"type": "image", "src": "https://images.example.org/t.jpg", "alt": "Tall", "height": 3000},
    ]
    doc = lxml_html.document_fromstring(email_html(minimal(body=body)))
    sizes = [(img.get("width"), img.get("height")) for img in doc.xpath("//img[@class='image']")]
    assert sizes == [
        ("120", "40"),
        ("552", "310"),
        ("16", "8"),
        ("552", None),
        ("552", "1"),
        ("16", "8"),
        ("80", "40"),
        ("552", None),
    ]
    for img in doc.xpath("//img[@class='image']"):
        assert "max-width:100%" in img.get("style").replace(" ", "")
        assert "width:100%" not in img.get("style").replace(" ", "").replace("max-width", "")


def test_an_embedded_image_whose_header_says_zero_high_renders(email_html):
    """A height given alone is scaled by the header's shape: a header 0 pixels high (which
    validation lets through) divided by zero, a 500 on every such request."""
    import base64
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 16, 0, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
    src = "data:image/png;base64," + base64.b64encode(png).decode()
    image = {"type": "image", "src": src, "alt": "A flat image", "height": 8}
    doc = lxml_html.document_fromstring(email_html(minimal(body=[image])))
    (img,) = doc.xpath("//img[@class='image']")
    assert (img.get("width"), img.get("height")) == ("552", None)


def test_the_table_header_rule_shows_in_dark_mode(email_html):
    """The header's rule was #1b1b1b on the dark #1a1a1a background: invisible."""
    table = {"type": "table", "caption": "Votes", "header": ["Ward", "Votes"], "rows": [["N", "1"]]}
    html = email_html(minimal(body=[table]))
    dark = html.split("prefers-color-scheme: dark", 1)[1].split("@media", 1)[0]
    rule = dark.split(".data th {", 1)[1].split("}", 1)[0]
    assert "border-bottom-color: #ece9e4 !important" in rule


@pytest.mark.browser
def test_words_marked_up_inside_a_link_keep_its_colour_in_dark_mode(browser, email_html):
    """The dark rule for em, span, sup… won over the colour they inherit from their link:
    half a digest headline's words were off-white, the rest link blue. On a highlight the
    link keeps the dark blue, and a highlight inside a link the dark text (the light link
    blue is 1.5:1 on its yellow)."""
    text = (
        'See <a href="https://x.example/1">the <em>new</em> CO<sub>2</sub> <q>plan</q></a>, '
        '<mark><a href="https://x.example/2">the <em>marked</em> one</a></mark> and '
        '<a href="https://x.example/3">a <mark><em>highlight</em></mark> in one</a>.'
    )
    article = minimal(id="dark-link", body=[{"type": "paragraph", "text": text}])
    html = email_html(article)
    context = browser.new_context(color_scheme="dark")
    context.route("**/*", lambda route: route.abort())
    page = context.new_page()
    try:
        page.set_content(html, wait_until="load")
        colours = page.evaluate(
            """() => Object.fromEntries(['1', '2', '3'].map(n => {
                const link = document.querySelector(`a[href="https://x.example/${n}"]`);
                return [n, [link, ...link.querySelectorAll('*')].map(
                    e => getComputedStyle(e).color)];
            }))"""
        )
    finally:
        context.close()
    light_blue, dark_blue, dark_text = "rgb(156, 192, 250)", "rgb(11, 87, 208)", "rgb(27, 27, 27)"
    assert colours["1"] == [light_blue] * 4
    assert colours["2"] == [dark_blue] * 2
    assert colours["3"] == [light_blue, dark_text, dark_text]


@pytest.mark.parametrize(
    ("language", "quote_language", "style"),
    [("ar", None, "normal"), ("ja", None, "normal"), ("en", None, "italic"),
     ("ar", "en", "italic"), ("ja", "en", "italic"), ("en", "ja", "normal"),
     ("en", "ar", "normal"), ("JA", None, "normal"), ("en", "Ko", "normal"),
     ("Ja-JP", "EN", "italic")],
)  # fmt: skip
def test_pull_quotes_are_slanted_only_in_scripts_that_slant(
    email_html, language, quote_language, style
):
    """Arabic and Japanese quotes were drawn in a slanted upright face, as on the page; then
    a tag in capitals ("JA"), which premailer's attribute selectors did not match."""
    quote = {"type": "quote", "text": "Words quoted.", "attribution": "A. Person"}
    if quote_language:
        quote["lang"] = quote_language
    html = email_html(minimal(language=language, body=[quote]))
    inline_style = lxml_html.document_fromstring(html).xpath("//blockquote/@style")[0]
    assert re.findall(r"font-style:\s*(\w+)", inline_style)[-1] == style


def test_the_e_mail_s_dateline_and_tags_say_their_language(email_html):
    """English words of a Samoan article's date were read as Samoan (the page marks them);
    the tags were a bare line."""
    doc = lxml_html.document_fromstring(email_html(minimal(language="sm", tags=["malaga"])))
    (published,) = doc.xpath("//time")
    assert published.get("lang") == "en"
    (line,) = [p for p in doc.xpath("//p") if "malaga" in p.text_content()]
    assert line.text_content() == "Tags: malaga"
    assert line.xpath("span/@lang") == ["en"]


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("ar", "الوسوم: مكتبات، ثقافة"),
        ("ja", "Tags: 図書館、文化"),
        ("en", "Tags: libraries, culture"),
    ],
)
def test_tags_are_joined_as_their_language_joins_a_list(app, email_html, language, line):
    """A Latin ", " joined Arabic and Japanese tags (the authors' line had the right marks)."""
    tags = {"ar": ["مكتبات", "ثقافة"], "ja": ["図書館", "文化"], "en": ["libraries", "culture"]}
    article = minimal(language=language, tags=tags[language])
    doc = lxml_html.document_fromstring(email_html(article))
    assert line in [" ".join(p.text_content().split()) for p in doc.xpath("//p")]
    runtime = runtime_of(app)
    body = render_email(validate_article(article), runtime.env, runtime.settings, runtime.inliner)
    marked = "\u200f" if language == "ar" else ""  # each line in the article's direction
    assert marked + line in body.text.splitlines()


def test_the_masthead_shows_the_name_as_written(email_html):
    """Uppercased in the article's language, a Turkish article's masthead read CİTY DAİLY."""
    doc = lxml_html.document_fromstring(email_html(minimal(language="tr")))
    (masthead,) = doc.find_class("masthead")
    assert "text-transform" not in (masthead.get("style") or "")


def test_tags_stay_apart_whatever_they_hold(app, email_html):
    """Thai's list mark is a space (three tags read as one run), a Japanese tag holding 、
    read as two, and two Arabic tags in an English line ran together and swapped places."""
    runtime = runtime_of(app)
    cases = [
        ("th", ["Elon Musk", "Tesla"], "Tags: Elon Musk, Tesla"),
        ("ja", ["図書館", "文化、芸術"], "Tags: 図書館 · 文化、芸術"),
        (
            "en",
            ["سياسة", "اقتصاد", "Python"],
            "Tags: \u2068سياسة\u2069, \u2068اقتصاد\u2069, Python",
        ),
    ]
    for language, tags, line in cases:
        article = minimal(language=language, tags=tags)
        body = render_email(
            validate_article(article), runtime.env, runtime.settings, runtime.inliner
        )
        assert line in body.text.splitlines(), language
    doc = lxml_html.document_fromstring(email_html(minimal(tags=["سياسة", "اقتصاد"])))
    assert doc.xpath("//p/bdi/text()") == ["سياسة", "اقتصاد"]


def test_the_subject_quotes_as_its_language_quotes(app):
    """A German headline's <q> was put in English marks in the subject ("Stadt sagt “nein”"),
    where the page and the PDF show „nein“."""
    article = minimal(language="de", headline="Stadt sagt <q>nein</q>")
    body = _body(app, article)
    assert body.subject == "Stadt sagt „nein“"
    assert "Stadt sagt „nein“" in body.text


ARABIC = minimal(
    language="ar",
    headline="عنوان الخبر",
    body=[{"type": "paragraph", "text": "نص الخبر."}],
    publisher={"name": "Test Gazette", "location": "Testville"},
)


def test_the_signature_of_an_arabic_article_reads_right_to_left(app):
    """The HTML part's footer is dir="rtl"; the text part's signature had no mark, and its
    lines opening with the Latin publisher's name and address were shown left to right.
    Wholly Latin, each is set apart in an isolate after the mark, as the HTML part's span
    dir does: after a mark alone, an address's opening number was shown after its street."""
    mail = _body(app, ARABIC, for_subscriber=True).personalise(unsubscribe_url="https://x.org/u")
    signature = mail.text.split("\n-- \n")[1].splitlines()
    assert signature[:2] == [
        "\u200f\u2066Test Gazette · Testville\u2069",
        "\u200f\u20661 Test Street, Testville\u2069",
    ]
    for line in signature[2:]:  # Arabic labels: the line opens with an Arabic letter
        assert "\u0600" <= line[0] <= "\u06ff", line


def test_english_labels_under_an_urdu_article_are_set_apart(app):
    """Labels exist for seven languages; Urdu takes the English ones. After a mark alone,
    the link's closing ">" was shown at the far end of the line: "<Read online: <https…"."""
    urdu = {**ARABIC, "language": "ur"}
    mail = _body(app, urdu, for_subscriber=True).personalise(unsubscribe_url="https://x.org/u")
    signature = mail.text.split("\n-- \n")[1].splitlines()
    assert "\u200f\u2066Unsubscribe: <https://x.org/u>\u2069" in signature
    assert any(line.startswith("\u200f\u2066Read online: <") for line in signature)


def test_a_link_with_an_urdu_host_under_an_english_label_is_set_apart_too(post_json):
    urdu = {**ARABIC, "language": "ur", "canonical_url": "https://خبریں.example/x"}
    text = post_json("/v1/render/text", urdu).get_data(as_text=True)
    signature = text.split("\n-- \n")[1].splitlines()
    assert "\u200f\u2066Read online: <https://خبریں.example/x>\u2069" in signature


def test_the_text_rendering_signs_in_the_article_s_direction(post_json):
    text = post_json("/v1/render/text", ARABIC).get_data(as_text=True)
    signature = text.split("\n-- \n")[1].splitlines()
    assert signature[0] == "\u200f\u2066Test Gazette · Testville\u2069"
