"""The article page's structure: language, landmarks, headings, figures, tables, endnotes."""

from __future__ import annotations

import json
import re

import pytest
from lxml import html as lxml_html

from .corpus import (
    every_block,
    examples,
    hebrew,
    many_notes,
    minimal,
    right_to_left,
)


@pytest.fixture
def render(post_json):
    def go(article):
        response = post_json("/v1/render/html", article)
        assert response.status_code == 200, response.get_json()
        assert response.mimetype == "text/html"
        return lxml_html.document_fromstring(response.data)

    return go


def test_language_direction_and_title(render):
    doc = render(every_block())
    assert doc.get("lang") == "en"
    assert doc.get("dir") == "ltr"
    assert doc.findtext(".//title") == "Every block & every element — Test Gazette"


@pytest.mark.parametrize(("article", "lang"), [(right_to_left(), "ar"), (hebrew(), "he")])
def test_right_to_left_languages_set_dir(render, article, lang):
    doc = render(article)
    assert (doc.get("lang"), doc.get("dir")) == (lang, "rtl")


@pytest.mark.parametrize(
    ("tag", "direction"),
    [
        # Written in Arabic script by default, and no Babel locale says so: these were ltr.
        *[(tag, "rtl") for tag in ("arz", "pnb", "aeb", "arq", "ars", "glk", "khw", "ota")],
        *[(tag, "rtl") for tag in ("ar", "fa", "ur", "he", "yi", "dv", "ckb", "ug", "sd")],
        # CLDR has no likely script for these, and langcodes then guesses Latin: Arabic
        # varieties (through their macrolanguage), Arabic-script Azerbaijani and Uzbek,
        # Ancient Hebrew, Judeo-Arabic and Judeo-Persian, Syriac, and Aramaic (Armi).
        *[(tag, "rtl") for tag in ("acm", "afb", "ajp", "ayl", "acq", "azb", "uzs", "aii")],
        *[(tag, "rtl") for tag in ("hbo", "yih", "jrb", "jpr", "syc", "arc")],
        ("uz", "ltr"),
        # The region names the usual script where a language has two (CLDR likely subtags).
        *[(tag, "rtl") for tag in ("pa-PK", "az-IR", "uz-AF", "ky-CN", "ha-CM", "tg-PK")],
        *[(tag, "ltr") for tag in ("ug-KZ", "ug-MN", "en-PK")],
        ("acm-IQ", "rtl"),
        ("az-Arab", "rtl"),
        ("pa-Arab", "rtl"),
        ("ku", "ltr"),  # Kurmanji, Latin script by default
        ("pa", "ltr"),
        ("az", "ltr"),
        ("ar-Latn", "ltr"),
        ("en", "ltr"),
    ],
)
def test_the_direction_follows_the_language_s_usual_script(render, tag, direction):
    doc = render(minimal(language=tag))
    assert (doc.get("lang"), doc.get("dir")) == (tag, direction)


@pytest.mark.parametrize("tag", ["arz", "apc", "ary", "acm"])
def test_an_arabic_variety_reads_arabic_words_and_dates(render, tag):
    """Egyptian, Levantine, Moroccan and Iraqi Arabic pages were right to left with "By",
    "Published" and the date in English: they take Arabic's (a variety has no words of its
    own here), marked lang="ar"."""
    doc = render(minimal(language=tag, authors=[{"name": "سارة"}]))
    byline = doc.find_class("byline")[0]
    assert "بقلم" in byline.text_content()
    dateline = doc.find_class("dateline")[0]
    assert "نُشر" in dateline.text_content()
    assert not re.search("[A-Za-z]", dateline.text_content().replace("GMT", ""))
    assert byline.xpath("string(span[@lang='ar'])") == "بقلم"
    if tag in ("arz", "acm", "ary"):  # no dates of their own in Babel: Arabic's, marked so
        assert dateline.xpath("time/@lang") == ["ar"]


@pytest.mark.parametrize(("tag", "words"), [("azb", "en"), ("uzs", "en"), ("prs", "fa")])
def test_a_language_takes_its_macrolanguage_s_dates_only_in_the_same_script(tag, words):
    """South Azerbaijani and Southern Uzbek are written in Arabic script: Azerbaijani's and
    Uzbek's Latin dates are not theirs; Dari reads Persian's."""
    from service.language import locale_for

    assert locale_for(tag).language == words


def test_a_script_the_tag_names_is_kept_in_the_fallbacks():
    """arz-Latn (Egyptian Arabic in Latin letters), ar-Latn and ur-Latn took Arabic-script
    words or dates, and az-Arab Azerbaijani's Latin dates ("12 mart 2026")."""
    from service.labels import labels_for
    from service.language import locale_for

    for tag in (
        "arz-Latn",
        "ar-Latn",
        "ur-Latn",
        "fa-Latn",
        "ja-Latn",
    ):  # Babel reads ur-Latn as ur
        assert (labels_for(tag).language, locale_for(tag).language) == ("en", "en"), tag
    assert locale_for("az-Arab").script == "Arab"
    assert labels_for("arz").language == "ar"


@pytest.mark.parametrize(
    ("tag", "words"),
    [("ar-Aran", "ar"), ("ur-Aran", "ur"), ("ko-Hang", "ko"), ("ja-Hira", "ja"),
     ("zh-Hani", "zh"), ("de-Latf", "de"), ("ga-Latg", "ga"), ("syr-Syre", "syr"),
     ("zh-Hanb", "zh"), ("cmn-Hanb", "zh"), ("cmn-Hant-TW", "zh"), ("nan-Hant-TW", "zh"),
     ("iw", "he")],
)  # fmt: skip
def test_a_variant_of_a_script_reads_its_language_s_words(tag, words):
    """Compared code for code, Nastaliq (Aran) was not Arabic nor Hangul Korean: ar-Aran,
    ur-Aran, ko-Hang and the rest took English words and dates."""
    from service.labels import labels_for
    from service.language import direction_of, locale_for, written_as

    assert locale_for(tag).language == words
    assert labels_for(tag).language in (words, "en")  # labels exist for a few languages only
    assert labels_for("ar-Aran").language == "ar"
    assert labels_for("iw").language == "he"  # Hebrew's old code, still sent by old systems
    assert locale_for("cmn-Hant-TW").script == "Hant"
    assert labels_for("de-Latf").language == "de"
    assert written_as("arz-Aran") == "ar"
    assert direction_of("syr-Syre") == direction_of("syr-Syrj") == "rtl"


@pytest.mark.parametrize(
    ("tag", "slants"),
    [("yue", False), ("cmn", False), ("zh-yue", False), ("lzh", False), ("ko-Hang", False),
     ("JA", False), ("ar", False), ("en", True), ("ja-Latn", True), ("zh-Latn", True),
     ("zh-Hanb", False), ("zh-Bopo", False), ("cmn-Hanb", False)],
)  # fmt: skip
def test_type_slants_only_where_it_has_italics(tag, slants):
    """Decided by the first subtag alone, Cantonese and Mandarin (yue, cmn) were slanted."""
    from service.language import sets_italics

    assert sets_italics(tag) is slants


def test_inline_language_spans_are_kept(render):
    doc = render(right_to_left())
    span = doc.xpath("//main//span[@lang='en']")[0]
    assert (span.text, span.get("dir")) == ("library", "ltr")


def test_landmarks_skip_link_and_one_h1(render):
    doc = render(every_block())
    assert doc.xpath("//a[@class='skip-link']/@href") == ["#main"]
    assert len(doc.xpath("//body/header")) == 1
    assert len(doc.xpath("//main[@id='main']/article")) == 1
    assert len(doc.xpath("//body/footer")) == 1
    assert [h.text_content() for h in doc.xpath("//h1")] == ["Every block & every element"]


def test_standfirst_byline_and_dates(render):
    doc = render(every_block())
    header = doc.xpath("//article/header")[0]
    assert header.xpath(".//p[@class='standfirst']")[0].text_content().startswith("A test of all")
    byline = " ".join(header.xpath(".//p[@class='byline']")[0].text_content().split())
    assert byline == "By Ada Lovelace, Grace Hopper, and Katherine Johnson"
    assert header.xpath(".//time/@datetime") == [
        "2026-03-12T08:00:00+01:00",
        "2026-03-12T10:15:00+01:00",
    ]


def test_figures_keep_alt_caption_and_credit(render):
    doc = render(every_block())
    figure = doc.xpath("//figure[@class='figure']")[0]
    assert figure.xpath("img/@alt") == ["A small test pattern"]
    caption = figure.xpath("figcaption")[0].text_content()
    assert "The caption" in caption
    assert "Photo: Test Agency" in " ".join(caption.split())
    decorative = doc.xpath("//div[contains(@class,'decorative')]")[0]
    assert decorative.xpath("img/@alt") == [""]
    assert not decorative.xpath(".//figcaption")


def test_quotes_and_tables(render):
    doc = render(every_block())
    quote = doc.xpath("//figure[@class='quote']")[0]
    assert quote.xpath("blockquote")
    assert "A speaker" in quote.xpath("figcaption")[0].text_content()
    assert doc.xpath("//blockquote[@lang='fr']")
    table = doc.xpath("//table")[0]
    assert table.xpath("caption")[0].text_content().startswith("Results")
    assert table.xpath("thead/tr/th/@scope") == ["col", "col"]


def test_endnotes_roles_numbers_and_backlinks(render):
    doc = render(every_block())
    refs = doc.xpath("//a[@role='doc-noteref']")
    assert [r.text_content() for r in refs] == [
        "Note 1",
        "Note 2",
        "Note 1",
        "Note 3",
        "Note 2",
        "Note 3",
    ]
    sections = doc.xpath("//section[@role='doc-endnotes']")
    assert len(sections) == 1
    heading_id = sections[0].get("aria-labelledby")
    assert doc.xpath(f"//*[@id='{heading_id}']")[0].text == "Notes"
    items = sections[0].xpath("ol/li")
    assert [li.get("id") for li in items] == [
        "note-first",
        "note-second",
        "note-third",
        "note-never",
    ]
    ids = set(doc.xpath("//@id"))
    for ref in refs:
        assert ref.get("href").removeprefix("#") in ids
        assert ref.get("id") in ids
    first_backlinks = items[0].xpath(".//a[@role='doc-backlink']")
    assert [a.get("href") for a in first_backlinks] == ["#ref-first-1", "#ref-first-2"]
    assert [a.text_content().split("↩")[-1] for a in first_backlinks] == [
        "\ufe0eaBack to reference 1, a",
        "\ufe0ebBack to reference 1, b",
    ]
    assert not items[3].xpath(".//a[@role='doc-backlink']")
    assert items[0].xpath(".//a[@class='note-url']/@href") == ["https://example.org/first"]


@pytest.mark.parametrize("numbering", ["lower-roman", "lower-alpha", "decimal"])
def test_every_backlink_has_a_name_of_its_own(render, numbering):
    """Note i cited nine times and note ii once: "Back to reference i" + "i" and
    "Back to reference ii" were one name for two places (lower-alpha, 28 notes: "ab")."""
    body = [{"type": "paragraph", "text": "Said often. [^one]"} for _ in range(9)]
    body += [{"type": "paragraph", "text": f"Once. [^n{n}]"} for n in range(2, 29)]
    notes = [{"id": "one", "text": "The first."}]
    notes += [{"id": f"n{n}", "text": f"Source {n}."} for n in range(2, 29)]
    doc = render(minimal(note_numbering=numbering, body=body, notes=notes))
    names = [
        (a.get("href"), a.xpath("string(span[@class='visually-hidden'])"))
        for a in doc.xpath("//a[@role='doc-backlink']")
    ]
    assert len(names) == 9 + 27
    assert len({name for _, name in names}) == len(names), names


def test_note_numbering_style_matches_in_refs_and_list(render):
    doc = render(many_notes(12))
    labels = [r.text_content().removeprefix("Note ") for r in doc.xpath("//a[@role='doc-noteref']")]
    assert labels[:5] == ["i", "ii", "iii", "iv", "v"]
    assert labels[-2:] == ["i", "xii"]
    assert doc.xpath("//section[@role='doc-endnotes']/ol/@class") == ["notes notes-lower-roman"]


def test_spanish_page_uses_spanish_labels(render):
    doc = render(examples()["mercado-es"])
    assert doc.xpath("//h2[@id='notes-heading']")[0].text == "Notas"
    assert doc.xpath("//a[@role='doc-noteref']")[0].text_content() == "Nota a"


def test_unknown_language_labels_are_marked_english(render):
    doc = render(
        minimal(
            language="sw",
            body=[{"type": "paragraph", "text": "Habari [^a]"}],
            notes=[{"id": "a", "text": "Chanzo."}],
        )
    )
    assert doc.get("lang") == "sw"
    assert doc.xpath("//h2[@id='notes-heading']/@lang") == ["en"]


def test_json_ld_and_open_graph(render):
    doc = render(every_block())
    data = json.loads(doc.xpath("//script[@type='application/ld+json']")[0].text)
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == "Every block & every element"
    assert data["datePublished"] == "2026-03-12T08:00:00+01:00"
    assert [a["name"] for a in data["author"]] == [
        "Ada Lovelace",
        "Grace Hopper",
        "Katherine Johnson",
    ]
    og = {m.get("property"): m.get("content") for m in doc.xpath("//meta[@property]")}
    assert og["og:title"] == "Every block & every element"
    assert og["og:url"] == "https://example.org/every-block"
    assert doc.xpath("//link[@rel='canonical']/@href") == ["https://example.org/every-block"]


def test_the_head_quotes_as_the_language_quotes(render):
    """The title, description, Open Graph and JSON-LD put a French <q> in English marks
    ("“non”") where the page's own <q> shows « »."""
    article = minimal(
        language="fr", headline="La ville dit <q>non</q>", standfirst="Elle dit <q>assez</q>."
    )
    doc = render(article)
    assert doc.findtext(".//title").startswith("La ville dit «non» — ")
    data = json.loads(doc.xpath("//script[@type='application/ld+json']")[0].text)
    assert (data["headline"], data["description"]) == ("La ville dit «non»", "Elle dit «assez».")
    og = {m.get("property"): m.get("content") for m in doc.xpath("//meta[@property]")}
    assert (og["og:title"], og["og:description"]) == ("La ville dit «non»", "Elle dit «assez».")
    assert doc.xpath("//meta[@name='description']/@content") == ["Elle dit «assez»."]


def test_json_ld_cannot_close_its_script(render):
    doc = render(minimal(headline="&lt;/script&gt;&lt;script&gt;alert(1)"))
    scripts = doc.xpath("//script")
    assert len(scripts) == 1
    assert json.loads(scripts[0].text)["headline"] == "</script><script>alert(1)"


def test_canonical_falls_back_to_our_page(render):
    doc = render(minimal())
    assert doc.xpath("//link[@rel='canonical']/@href") == [
        "https://news.example.org/articles/minimal"
    ]


def test_css_has_dark_mode_focus_motion_forced_colors_and_print(render):
    css = render(minimal()).xpath("//style")[0].text
    for feature in (
        "prefers-color-scheme: dark",
        ":focus-visible",
        "prefers-reduced-motion",
        "forced-colors: active",
        "@media print",
        "max-width: var(--measure)",
    ):
        assert feature in css


def test_a_moment_with_a_fraction_of_a_second_is_a_valid_datetime_attribute(render, api):
    """RFC 3339 allows any fraction; HTML's datetime at most three digits (Nu refused
    "08:00:00.500000+01:00" on the page, in the mail and on the list)."""
    article = minimal(id="fraction", kind="quick-read", published_at="2026-03-12T08:00:00.5+01:00")
    (moment,) = render(article).xpath("//time/@datetime")
    assert moment == "2026-03-12T08:00:00.500+01:00"
    assert api.put(article).status_code == 201
    listed = lxml_html.document_fromstring(api.client.get("/articles").data)
    assert listed.xpath("//time/@datetime") == ["2026-03-12T07:00:00.500+00:00"]
    whole = render(minimal(published_at="2026-03-12T08:00:00Z")).xpath("//time/@datetime")
    assert whole == ["2026-03-12T08:00:00+00:00"]


def test_a_note_reference_s_hidden_word_is_in_the_labels_language(render):
    """Inside a Spanish quote in an English article the hidden "Note" took the quote's
    language (read by a Spanish voice); in an Arabic article with an English passage, the
    hidden ملاحظة was read by an English one."""
    quote = {"type": "quote", "text": "Es un buen día [^a]", "lang": "es"}
    notes = [{"id": "a", "text": "A note."}]
    doc = render(minimal(body=[quote], notes=notes))
    (hidden,) = doc.xpath("//blockquote//a[@role='doc-noteref']/span[@class='visually-hidden']")
    assert (hidden.text, hidden.get("lang")) == ("Note ", "en")
    passage = {"type": "paragraph", "text": '<span lang="en">The word [^a]</span> هنا.'}
    doc = render(minimal(language="ar", body=[passage], notes=notes))
    (hidden,) = doc.xpath("//a[@role='doc-noteref']/span[@class='visually-hidden']")
    assert (hidden.text, hidden.get("lang")) == ("ملاحظة ", "ar")
    # The page's own variant, not the labels' bare language (pt-BR's "Nota" was "pt").
    doc = render(minimal(language="pt-BR", body=[passage], notes=notes))
    (hidden,) = doc.xpath("//a[@role='doc-noteref']/span[@class='visually-hidden']")
    assert hidden.get("lang") == "pt-BR"


def test_the_tags_are_named(render):
    """A bare list after the notes: a screen reader heard two words, filed under "Notes"."""
    doc = render(minimal(tags=["transport", "city council"]))
    (tags,) = doc.find_class("tags")
    heading = tags.getprevious()
    assert (heading.tag, heading.text, heading.get("class")) == ("h2", "Tags", "visually-hidden")
    doc = render(minimal(language="ja", tags=["交通"]))
    assert doc.find_class("tags")[0].getprevious().get("lang") == "en"  # no Japanese words


@pytest.mark.parametrize("field", ["heading", "caption"])
@pytest.mark.parametrize("text", ["[^a]", "&nbsp;[^a]", "<em> </em>[^a][^a]"])
def test_a_heading_or_caption_of_note_references_alone_is_refused(post_json, field, text):
    """ "[^a]" passed: a heading named "Note 1" (and an empty outline entry), a table so
    named. A heading that may stand alone ("?!", "§") may take a reference too."""
    block = (
        {"type": "heading", "level": 2, "text": text}
        if field == "heading"
        else {"type": "table", "caption": text, "header": ["Source"], "rows": [["[^a]"]]}
    )
    article = minimal(body=[block], notes=[{"id": "a", "text": "A note."}])
    response = post_json("/v1/render/html", article)
    assert response.status_code == 422
    (error,) = response.get_json()["errors"]
    assert error["pointer"] == ("/body/0/text" if field == "heading" else "/body/0/caption")
    assert error["message"] == "must have visible text besides note references"
    for standing in ("?![^a]", "§ 3[^a]", "#\ufe0f\u20e3[^a]"):  # may stand alone: may take one
        block = {"type": "heading", "level": 2, "text": standing}
        article = minimal(body=[block], notes=[{"id": "a", "text": "A note."}])
        assert post_json("/v1/render/html", article).status_code == 200, standing
