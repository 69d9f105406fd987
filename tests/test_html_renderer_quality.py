"""Every article renders as a page that axe-core and the Nu HTML Checker accept, words intact;
its e-mail, styles inlined, passes the Nu HTML Checker too."""

from __future__ import annotations

import re

import pytest
from lxml import html as lxml_html

from service.email_renderer import render_email
from service.html_renderer import render_html
from service.validation import validate_article

from .conftest import runtime_of
from .corpus import article_words, corpus, minimal

ARTICLES = corpus()
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


# Valid input the checker once refused in the output: links holding what a browser
# percent-encodes (| [ ] { } ^ ` and a stray %, a second #), and a moment with a fraction
# of a second (HTML's datetime takes at most three digits).
AWKWARD = minimal(
    id="awkward",
    published_at="2026-03-12T08:00:00.123456+01:00",
    authors=[{"name": "A. Writer", "url": "https://example.org/people/{writer}|1"}],
    body=[
        {
            "type": "paragraph",
            "text": '<a href="https://fonts.example.org/css?family=Roboto|Open+Sans">Fonts</a>, '
            '<a href="https://shop.example.org/list?filter[colour]=red#top#x">red</a> '
            "and a source. [^s]",
        },
        {"type": "image", "src": "https://images.example.org/a^b`c%zz.png", "alt": "A chart"},
    ],
    notes=[{"id": "s", "text": "A source.", "url": "https://example.org/a%zz?q={1}"}],
)


def _render(app, name: str) -> str:
    runtime = runtime_of(app)
    article = AWKWARD if name == "awkward" else ARTICLES[name]
    return render_html(validate_article(article), runtime.env, runtime.settings)


def _email(app, name: str) -> str:
    runtime = runtime_of(app)
    article = validate_article(AWKWARD if name == "awkward" else ARTICLES[name])
    body = render_email(
        article, runtime.env, runtime.settings, runtime.inliner, for_subscriber=True
    )
    return body.personalise(unsubscribe_url="https://news.example.org/unsubscribe/t").html


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def nu_results(nu_checker, tmp_path_factory):
    from service import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": "sqlite://",
            "BASE_URL": "https://news.example.org",
        }
    )
    documents = {name: _render(app, name) for name in [*ARTICLES, "awkward"]}
    documents.update({f"email-{name}": _email(app, name) for name in [*ARTICLES, "awkward"]})
    documents["error-page"] = _error_page(app)
    documents["rate-limited-page"] = _rate_limited_page()
    return nu_checker(documents, tmp_path_factory.mktemp("nu"))


def _error_page(app) -> str:
    response = app.test_client().get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert ">Skip to the message</a>" in page  # there is no article to skip to
    return page


def _rate_limited_page() -> str:
    """The 429 page a browser gets once a page budget is spent."""
    from service import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": "sqlite://",
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_PAGES": "1 per hour",
        }
    )
    client = app.test_client()
    client.get("/subscribe")
    response = client.get("/subscribe", headers={"Accept": "text/html"})
    assert response.status_code == 429
    return response.get_data(as_text=True)


@pytest.mark.browser
@pytest.mark.parametrize("name", ARTICLES)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations(app, axe, name, scheme):
    violations = axe(_render(app, name), AXE_TAGS, color_scheme=scheme)
    summary = [(v["id"], v["help"], [n["html"][:120] for n in v["nodes"][:3]]) for v in violations]
    assert summary == []


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_error_page_is_accessible(app, axe, scheme):
    assert axe(_error_page(app), AXE_TAGS, color_scheme=scheme) == []


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_rate_limited_page_is_accessible(axe, scheme):
    assert axe(_rate_limited_page(), AXE_TAGS, color_scheme=scheme) == []


@pytest.mark.parametrize("name", [*ARTICLES, "awkward", "error-page", "rate-limited-page"])
def test_nu_html_checker_finds_no_errors(nu_results, name):
    errors = [(m.get("lastLine"), m["message"]) for m in nu_results[name]]
    assert errors == []


@pytest.mark.parametrize("name", [*ARTICLES, "awkward"])
def test_the_e_mail_passes_the_nu_html_checker(nu_results, name):
    """premailer copies styles into legacy attributes; only those HTML defines stay."""
    errors = [(m.get("lastLine"), m["message"]) for m in nu_results[f"email-{name}"]]
    assert errors == []


@pytest.mark.browser
@pytest.mark.parametrize("name", ARTICLES)
def test_every_word_is_visible_in_the_page(app, visible_text, name):
    shown = _squash(visible_text(_render(app, name)))
    missing = [word for word in article_words(ARTICLES[name]) if word not in shown]
    assert missing == []


@pytest.mark.browser
def test_a_long_word_in_a_table_does_not_widen_the_page(app, page_width):
    word = "Donaudampfschifffahrtsgesellschaftskapitänsmützenabzeichen"
    table = {
        "type": "table",
        "caption": f"Costs of the {word}",
        "header": ["Item", "Source"],
        "rows": [[word, "https://example.org/a/very/long/path/to/the/source/of/this/figure"]],
    }
    runtime = runtime_of(app)
    html = render_html(validate_article(minimal(body=[table])), runtime.env, runtime.settings)
    assert page_width(html) <= 320


@pytest.mark.browser
def test_a_table_of_many_columns_scrolls_alone(app, page_width):
    """20 columns widened the whole page to 578 px at 320: the header, the text and the
    footer panned with the table. The table scrolls in a region a keyboard can reach."""
    table = {
        "type": "table",
        "caption": "Results by ward",
        "header": [f"Ward {n}" for n in range(20)],
        "rows": [[str(10 + n) for n in range(20)]],
    }
    runtime = runtime_of(app)
    html = render_html(validate_article(minimal(body=[table])), runtime.env, runtime.settings)
    assert page_width(html) <= 320
    region = lxml_html.document_fromstring(html).xpath("//div[@class='table-scroll']")[0]
    assert (region.get("role"), region.get("tabindex")) == ("region", "0")
    assert region.xpath(f"string(.//caption[@id='{region.get('aria-labelledby')}'])") == (
        "Results by ward"
    )


@pytest.mark.browser
@pytest.mark.parametrize("language", ["de", "he"])
def test_a_long_tag_does_not_widen_the_page(app, page_width, language):
    """A flex item keeps its word's width: one long tag scrolled the whole page sideways
    (515 px at a 375 px viewport; WCAG 1.4.10)."""
    tag = "Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz"
    runtime = runtime_of(app)
    article = validate_article(minimal(language=language, tags=[tag, "x" * 200]))
    assert page_width(render_html(article, runtime.env, runtime.settings)) <= 320


def test_odd_but_valid_hosts_pass_the_nu_checker(client, nu_checker, tmp_path):
    """The host rules refuse what no URL parser reads as written (tests/test_validation.py),
    and nothing a checker accepts: an IDN, an IPv6 address, an underscore, a root dot."""
    from .corpus import minimal

    hosts = [
        "bücher.de",
        "[2001:db8::1]",
        "a_b.example.com",
        "example.org.",
        "例え.テスト",
        "i❤.ws",  # UTS 46 as browsers map it, not the stricter IDNA 2008
        "xn--n3h.net",
        "1עברית.example",
        "ab--ü.example",
        "m%C3%BCnchen.de",  # percent-decoded first
        "１２７.０.０.１",  # full-width digits: 127.0.0.1
        "نامه\u200cای.ir",  # a joiner where Persian writes one
        "faß.de",
    ]
    links = " ".join(f'<a href="https://{host}/x">{n}</a>' for n, host in enumerate(hosts))
    article = minimal(
        canonical_url="https://xn--bcher-kva.de/a",
        authors=[{"name": "Ada", "url": "https://192.0.2.1/ada"}],
        body=[
            {"type": "paragraph", "text": f'See {links}, <span lang="en-x-house">ours</span>.'},
            {"type": "image", "src": "https://[2001:db8::2]/a.png", "alt": "A photo"},
        ],
    )
    documents = {}
    for route in ("html", "email"):
        response = client.post(f"/v1/render/{route}", json=article)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        documents[route] = response.get_data(as_text=True)
    results = nu_checker(documents, tmp_path)
    assert {name: [m["message"] for m in messages] for name, messages in results.items()} == {
        "html": [],
        "email": [],
    }


@pytest.mark.browser
@pytest.mark.parametrize("route", ["html", "email"])
def test_note_references_with_no_words_around_them_are_big_enough_targets(client, axe, route):
    """A "Sources" cell of references alone failed axe's target-size (WCAG 2.2 AA): each
    reference, 9 by 15 pixels with no running text around it, was a target of its own."""
    from .corpus import minimal

    article = minimal(
        body=[
            {
                "type": "table",
                "caption": "Claims and sources",
                "header": ["Claim", "Sources"],
                # Punctuation between them is no running text either: "[^a], [^b]".
                "rows": [["Turnout rose", "[^a], [^b]"], ["Rents fell", "[^b]"]],
            },
            {"type": "paragraph", "text": "[^a] [^b]"},
            {"type": "paragraph", "text": "In running text they stay small.[^a][^b]"},
        ],
        notes=[{"id": "a", "text": "Electoral roll."}, {"id": "b", "text": "Council minutes."}],
    )
    response = client.post(f"/v1/render/{route}", json=article)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count('class="notes-only"') == 3  # the two cells and the paragraph
    tags = AXE_TAGS if route == "html" else [t for t in AXE_TAGS if t != "best-practice"]
    for scheme in ("light", "dark"):
        violations = axe(html, tags, color_scheme=scheme)
        assert [(v["id"], [n["html"][:100] for n in v["nodes"][:2]]) for v in violations] == []


def test_a_back_link_s_arrow_and_letter_stay_one_unit_in_right_to_left_text(app):
    """In an RTL article "↩︎a ↩︎b ↩︎c" was one left-to-right run: the first back-link was drawn
    in two pieces, its arrow by the note and its letter at the far end."""
    runtime = runtime_of(app)
    article = minimal(
        language="fa",
        body=[{"type": "paragraph", "text": "یک[^a] دو[^a] سه[^a]"}],
        notes=[{"id": "a", "text": "منبع."}],
    )
    html = render_html(validate_article(article), runtime.env, runtime.settings)
    arrows = lxml_html.document_fromstring(html).xpath("//a[@class='backlink']/span[1]")
    assert len(arrows) == 3
    assert {span.get("dir") for span in arrows} == {"ltr"}


def test_references_with_only_a_filler_between_are_big_targets(app):
    """A Hangul filler is a letter to a regular expression and blank to the rules: the
    quick check took it for running text."""
    runtime = runtime_of(app)
    article = minimal(
        body=[{"type": "paragraph", "text": "[^a]\u3164[^b]"}],
        notes=[{"id": "a", "text": "One."}, {"id": "b", "text": "Two."}],
    )
    html = render_html(validate_article(article), runtime.env, runtime.settings)
    assert html.count('class="notes-only"') == 1


@pytest.fixture
def laid_out(browser):
    """Run a script over a document as Chromium lays it out: its answer."""

    def run(html, script, arg=None, *, width=800, scheme="light", media="screen"):
        context = browser.new_context(viewport={"width": width, "height": 640}, color_scheme=scheme)
        context.route("**/*", lambda route: route.abort())
        page = context.new_page()
        try:
            page.set_content(html, wait_until="load")
            page.emulate_media(media=media)
            return page.evaluate(script, arg)
        finally:
            context.close()

    return run


def _page(app, article: dict) -> str:
    runtime = runtime_of(app)
    return render_html(validate_article(article), runtime.env, runtime.settings)


# Where each paragraph's reference is drawn against the word it follows (one word for each
# paragraph): "after" in the paragraph's reading direction, or "before".
_REFERENCE_SIDES = """words => [...document.querySelectorAll('.article-body p')].map((p, i) => {
  const walker = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
  let range = null;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(words[i]);
    if (at >= 0) { range = document.createRange(); range.setStart(node, at);
                   range.setEnd(node, at + words[i].length); }
  }
  const w = range.getBoundingClientRect();
  const s = p.querySelector('sup.noteref').getBoundingClientRect();
  const rtl = getComputedStyle(p).direction === 'rtl';
  return (rtl ? s.right <= w.left + 1 : s.left >= w.right - 1) ? 'after' : 'before';
})"""


@pytest.mark.browser
@pytest.mark.parametrize(
    ("language", "paragraphs"),
    [
        ("ar", [("أطلقت الشركة هاتف iPhone [^a] في دبي.", "iPhone"),
                ("أطلقت الشركة هاتف iPhone. [^a]", "iPhone"),
                ('قال المدير: <span lang="en">library</span> [^a] للجميع.', "library")]),
        ("en", [("The sign read مرحبا [^a] in green.", "مرحبا"),
                ('The minister said <span lang="ar">شكرا</span>. [^a]', "شكرا")]),
    ],
)  # fmt: skip
def test_a_note_reference_is_drawn_after_its_word_in_either_direction(
    app, laid_out, language, paragraphs
):
    """The number joined the run of a word in the other direction (iPhone in Arabic) and was
    drawn on its far side: an Arabic reader met the reference before the brand name."""
    body = [{"type": "paragraph", "text": text} for text, _ in paragraphs]
    html = _page(app, minimal(language=language, body=body, notes=[{"id": "a", "text": "N."}]))
    words = [word for _, word in paragraphs]
    assert laid_out(html, _REFERENCE_SIDES, words) == ["after"] * len(paragraphs)


@pytest.mark.browser
def test_a_note_s_address_reads_left_to_right_on_a_right_to_left_page(app, laid_out):
    """https://example.org/reports/ was shown as /https://example.org/reports."""
    note = {"id": "a", "text": "التقرير.", "url": "https://example.org/reports/"}
    body = [{"type": "paragraph", "text": "نص. [^a]"}]
    html = _page(app, minimal(language="ar", body=body, notes=[note]))
    ends = laid_out(
        html,
        """() => { const a = document.querySelector('a.note-url'), t = a.firstChild;
          const at = i => { const r = document.createRange(); r.setStart(t, i);
                            r.setEnd(t, i + 1); return r.getBoundingClientRect().left; };
          return [at(0) < at(t.data.length - 1), t.data[t.data.length - 1]]; }""",
    )
    assert ends == [True, "/"]


@pytest.mark.browser
@pytest.mark.parametrize(
    ("width", "rows"),
    [
        (1280, [[str(1000 + n) for n in range(12)]]),
        (320, [["State grant", "3,100,000", "3,250,000", "3,400,000"]]),
    ],
)
def test_figures_in_a_table_stay_whole_on_screen(app, laid_out, page_width, width, rows):
    """Cells could shrink to one character: "1000" broken as "100 / 0" in a 12-column table
    at 1280 px, 3,100,000 as "3,100, / 000" at 320, and the table never needed to scroll."""
    header = [f"Ward {n}" for n in range(len(rows[0]))]
    table = {"type": "table", "caption": "Figures", "header": header, "rows": rows}
    html = _page(app, minimal(body=[table]))
    lines = laid_out(
        html,
        """() => [...document.querySelectorAll('tbody td')].filter(td => /\\d/.test(td.textContent))
          .map(td => { const r = document.createRange(); r.selectNodeContents(td);
            return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; })""",
        width=width,
    )
    assert len(lines) == sum(any(c.isdigit() for c in cell) for cell in rows[0])
    assert set(lines) == {1}
    assert page_width(html, width) <= width  # the table scrolls alone, not the page


def _contrast(colour: str) -> float:
    red, green, blue = (int(v) / 255 for v in re.findall(r"\d+", colour)[:3])

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    return 1.05 / (luminance + 0.05)  # against white paper


@pytest.mark.browser
def test_a_page_printed_in_the_dark_scheme_prints_dark_ink(app, laid_out):
    """Chromium prints with the reader's dark scheme: the standfirst came out #e8e6e3 and the
    byline, dateline and captions #b9b6b0 on white paper (3:1 at best)."""
    html = _page(app, ARTICLES["every-block"])
    colours = laid_out(
        html,
        """() => Object.fromEntries(['.standfirst', '.byline', '.dateline', '.section',
          'figcaption', '.site-footer', 'h1'].filter(s => document.querySelector(s))
          .map(s => [s, getComputedStyle(document.querySelector(s)).color]))""",
        scheme="dark",
        media="print",
    )
    assert len(colours) >= 4
    assert {name: c for name, c in colours.items() if _contrast(c) < 4.5} == {}


@pytest.mark.browser
@pytest.mark.parametrize(
    ("language", "quote_language", "style"),
    [("ar", None, "normal"), ("he", None, "normal"), ("ja", None, "normal"),
     ("zh-Hans", None, "normal"), ("en", None, "italic"), ("ar", "en", "italic"),
     ("en", "ja", "normal"), ("en", "ar", "normal"), ("JA", None, "normal")],
)  # fmt: skip
def test_pull_quotes_are_slanted_only_in_scripts_that_slant(
    app, laid_out, language, quote_language, style
):
    """Arabic, Hebrew, Chinese and Japanese quotes were drawn in a slanted upright face."""
    quote = {"type": "quote", "text": "Words quoted.", "attribution": "A. Person"}
    if quote_language:
        quote["lang"] = quote_language
    html = _page(app, minimal(language=language, body=[quote]))
    shown = laid_out(html, "() => getComputedStyle(document.querySelector('blockquote')).fontStyle")
    assert shown == style


# Whether each date is drawn, on its label's line, wholly after the label in the line's
# direction.
_DATES_AFTER_LABELS = """() => [...document.querySelectorAll('time')].map(time => {
  const label = time.previousElementSibling;
  const rtl = getComputedStyle(time.parentElement).direction === 'rtl';
  const l = label.getBoundingClientRect();
  return [...time.getClientRects()].filter(r => Math.abs(r.top - l.top) < 2)  // its line
    .every(r => rtl ? r.right <= l.left + 1 : r.left >= l.right - 1);
})"""


@pytest.mark.browser
@pytest.mark.parametrize("language", ["ur", "fa"])
def test_a_borrowed_label_keeps_its_date_whole_beside_it(app, laid_out, language):
    """Urdu and Persian datelines read "Published" in English: unisolated, the date's first
    number joined the English run and was drawn on the label's far side, the time split."""
    article = minimal(
        language=language,
        published_at="2026-03-12T09:00:00+03:00",
        updated_at="2026-03-12T11:30:00+03:00",
    )
    runtime = runtime_of(app)
    page = _page(app, article)
    mail = (
        render_email(
            validate_article(article),
            runtime.env,
            runtime.settings,
            runtime.inliner,
            for_subscriber=True,
        )
        .personalise(unsubscribe_url="https://news.example.org/unsubscribe/t")
        .html
    )
    assert laid_out(page, _DATES_AFTER_LABELS) == [True, True]
    assert laid_out(mail, _DATES_AFTER_LABELS) == [True, True]
