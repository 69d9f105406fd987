"""The plain-text rendering: wrapped, notes as [n], links written out, every word kept."""

from __future__ import annotations

import textwrap
import time
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.text_renderer import WIDTH, render_text, wrap
from service.validation import validate_article

from .conftest import runtime_of
from .corpus import article_words, bad_examples, corpus, every_block, minimal

ARTICLES = corpus()


def test_text_rendering(post_json):
    response = post_json("/v1/render/text", every_block())
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert text.startswith("Science\nEvery block & every element\n===")  # section, title
    assert "mail link <desk@example.org>" in text
    assert "[1]" in text
    notes = text.split("\nNotes\n-----\n\n")[1]
    assert notes.startswith("[1] The first source, Journal. <https://example.org/first>")
    assert "[4] A note no one references." in notes
    assert max(len(line) for line in text.splitlines()) <= 80


def test_bad_examples_do_not_render(post_json):
    for raw in bad_examples().values():
        assert post_json("/v1/render/text", raw).status_code == 422


@pytest.mark.parametrize("name", ARTICLES)
def test_every_word_is_in_the_text_rendering(app, name):
    settings = runtime_of(app).settings
    text = " ".join(render_text(validate_article(ARTICLES[name]), settings).split())
    missing = [word for word in article_words(ARTICLES[name]) if word not in text]
    assert missing == []


# Line filling: what textwrap would do, without its cost.

_WORD = st.text(st.sampled_from("abcdeé-/.,:«»ßنص"), min_size=1, max_size=90)
_GAP = st.sampled_from([" ", "  ", "\t", " \u00a0", "\u00a0", "\u202f ", "\u2003"])
_LINE = st.lists(st.tuples(_GAP, _WORD), max_size=40).map(
    lambda pairs: "".join(map("".join, pairs))
)
_TEXT = st.lists(_LINE, min_size=1, max_size=4).map("\n".join)


_NO_BREAK = "\u00a0\u2007\u202f"


def _breaking_words(line: str) -> list[str]:
    """Words between white space, a no-break space binding (textwrap breaks at ASCII
    white space only, so the words are joined with plain spaces for it)."""
    words, word = [], ""
    for character in line:
        if character.isspace() and character not in _NO_BREAK:
            words.append(word)
            word = ""
        else:
            word += character
    return [w for w in [*words, word] if w]


def _textwrap(text: str, indent: str, hanging: str | None) -> str:
    rest = indent if hanging is None else hanging
    lines, first = [], indent
    for line in text.split("\n"):
        filled = textwrap.fill(
            " ".join(_breaking_words(line)),
            WIDTH,
            initial_indent=first,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines.append(filled or first.rstrip())
        first = rest
    return "\n".join(lines)


@given(
    text=_TEXT,
    indent=st.sampled_from(["", "    ", "  - ", "[iv] "]),
    hanging=st.sampled_from([None, "", "    ", "      "]),
)
def test_wrap_fills_lines_as_textwrap_does(text, indent, hanging):
    assert wrap(text, indent, hanging) == _textwrap(text, indent, hanging)


def test_a_no_break_space_holds_its_neighbours_on_one_line():
    """French and numbers: '3 100 000 €' was parted at the line's end, and the no-break
    spaces written as plain ones."""
    paragraph = (
        "Le conseil municipal a finalement approuvé hier un budget total de "
        "3\u00a0100\u00a0000\u00a0€ pour les pistes cyclables. "
        "Le maire a déclaré : « Nous avons tenu parole\u202f! »"
    )
    wrapped = wrap(paragraph)
    assert "3\u00a0100\u00a0000\u00a0€" in wrapped.split("\n")[1]
    assert "parole\u202f!" in wrapped
    assert wrapped.replace("\n", " ") == paragraph


def test_text_breaks_lines_only_where_the_page_does(post_json):
    """A line feed in a paragraph is white space on the page and in the mail's HTML: the text
    part broke the line there too, leaving a ragged paragraph."""
    source = (
        "The city council voted on Tuesday to fund protected bike lanes along the\n"
        "Riverside Drive corridor, ending a two-year debate over parking, safety and\n"
        "the cost of the concrete curbs that will separate cyclists from traffic."
    )
    article = minimal(
        body=[
            {"type": "paragraph", "text": source},
            {"type": "paragraph", "text": "One line<br>and another."},
        ]
    )
    text = post_json("/v1/render/text", article).get_data(as_text=True)
    assert wrap(source.replace("\n", " ")) in text
    assert "One line\nand another." in text


def test_every_line_of_words_fits_the_width(post_json):
    """Headline, headings, byline and tags were written on one line however long."""
    title = "Council approves protected bike lanes along Riverside Drive after a two year debate"
    article = minimal(
        headline=title,
        authors=[
            {"name": n}
            for n in [
                "Priya Ramanathan",
                "Dana Okafor",
                "Jonathan Fitzgerald-Smythe",
                "Maria del Carmen Rodríguez",
            ]
        ],
        tags=[
            "transport",
            "city council",
            "bike lanes",
            "riverside drive",
            "parking",
            "public works",
        ],
        body=[
            {
                "type": "heading",
                "level": 2,
                "text": "What the council members who voted against the plan said",
            },
            {"type": "paragraph", "text": "Words."},
        ],
    )
    text = post_json("/v1/render/text", article).get_data(as_text=True)
    lines = text.splitlines()
    assert [line for line in lines if len(line) > WIDTH and " " in line.strip()] == []
    head, rule = lines[1], lines[2]
    assert " ".join([lines[0], head]) == title
    assert set(rule) == {"="}
    assert len(rule) == max(len(lines[0]), len(head))


def test_links_in_text_can_be_followed(post_json):
    """A headline's link is written out like any other; a target holding '>' is encoded so
    it does not end the bracketed URL early; a mailto: with a query stays a URL."""
    article = minimal(
        headline='Council <a href="https://example.org/vote">approves</a> '
        '<abbr title="Riverside Community Center">RCC</abbr> lanes',
        body=[
            {
                "type": "paragraph",
                "text": 'Write to <a href="https://example.org/a&gt;b">the desk</a> or '
                '<a href="mailto:desk@example.org?subject=Tip">by mail</a>.',
            }
        ],
    )
    text = post_json("/v1/render/text", article).get_data(as_text=True)
    assert text.startswith(
        "Council approves <https://example.org/vote> RCC (Riverside Community\nCenter) lanes\n"
    )
    squashed = " ".join(text.split())
    assert "the desk <https://example.org/a%3Eb>" in squashed
    assert "by mail <mailto:desk@example.org?subject=Tip>" in squashed


def test_a_word_longer_than_a_line_stands_alone():
    long = "x" * (WIDTH + 10)
    assert wrap(f"short {long} tail") == f"short\n{long}\ntail"


def test_a_long_table_header_is_written_once_not_once_per_row(post_json):
    """A 55 KB article (two 19,990-character headers, 1,249 rows) came out as 53 MB of text."""
    word = ("word " * 4000)[:19_990]
    table = {
        "type": "table",
        "caption": "T",
        "header": [word, "Votes"],
        "rows": [["x", "9"]] * 1249,
    }
    response = post_json("/v1/render/text", minimal(body=[table]))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert len(response.data) < 200_000
    assert " ".join(text.split()).count(word.strip()) == 1  # once, after the caption
    assert "  column 1: word word" in text
    assert "  - column 1: x; Votes: 9" in text  # a short header still names its values


# Scripts written without spaces ---------------------------------------------------------------

JAPANESE = (
    "東京都は二〇二六年三月十二日、リバーサイド通りに自転車専用レーンを設ける計画を承認した。"
    "工事は四月に始まり、「安全な街」を目指すという。費用は約十二億円で、市の予算から支出される"
    "（関係者によると）。"
)


def _columns(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def test_japanese_is_wrapped_by_columns_and_never_breaks_before_closing_punctuation():
    """A paragraph without spaces stayed one line of hundreds of columns."""
    from service.text_renderer import _NO_END, _NO_START

    lines = wrap(JAPANESE * 3).split("\n")
    assert len(lines) > 5
    assert all(_columns(line) <= WIDTH for line in lines)
    assert all(_columns(line) >= WIDTH - 4 for line in lines[:-1])  # filled, not ragged
    assert "".join(lines) == JAPANESE * 3  # nothing added or lost, no space put in
    assert not any(line[0] in _NO_START for line in lines)
    assert not any(line[-1] in _NO_END for line in lines)


@given(
    words=st.lists(
        st.text(st.sampled_from("abc日本語、。「」（）ーっ1"), min_size=1, max_size=50),
        min_size=1,
        max_size=30,
    ),
    indent=st.sampled_from(["", "  - "]),
)
def test_mixed_text_keeps_every_character_and_its_spaces(words, indent):
    wrapped = wrap(" ".join(words), indent)
    for line in wrapped.split("\n"):
        assert _columns(line) <= WIDTH or " " not in line.strip()
    # Line breaks stand where a space was, or between two pieces of one word.
    rejoined = "".join(line.removeprefix(indent) for line in wrapped.split("\n"))
    assert rejoined.replace(" ", "") == "".join(words)


def test_a_japanese_article_as_text_fits_the_width(post_json):
    article = minimal(
        id="jp",
        language="ja",
        headline="自転車専用レーン",
        body=[{"type": "paragraph", "text": JAPANESE * 2}],
    )
    response = post_json("/v1/render/text", article)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert JAPANESE in text.replace("\n", "")
    assert max(_columns(line) for line in text.splitlines()) <= 80


def test_korean_words_are_measured_wide_but_never_broken():
    korean = " ".join(["자전거도로를"] * 20)
    lines = wrap(korean).split("\n")
    assert all(_columns(line) <= WIDTH for line in lines)
    assert {word for line in lines for word in line.split()} == {"자전거도로를"}


@pytest.mark.parametrize("word", ["\U0001f600", "\u231a\u2b50", "\U00017000\U00017001"])
def test_emoji_and_other_wide_characters_are_measured_wide(word):
    """A terminal gives 😀, ⌚ and Tangut two columns each; counted one, a line of them ran
    to twice WIDTH."""
    lines = wrap(" ".join([word] * 60)).split("\n")
    assert len(lines) > 1
    assert all(_columns(line) <= WIDTH for line in lines)
    assert all(_columns(line) > WIDTH - 2 * len(word) - 2 for line in lines[:-1])


def test_a_mark_or_variation_selector_stays_with_its_character():
    """Decomposed Japanese (NFD) lost its dakuten to the next line: 'げ' ended a line as 'け'."""
    decomposed = unicodedata.normalize("NFD", "がぎぐげご" * 20)
    lines = wrap("A" + decomposed).split("\n")
    assert len(lines) > 2
    assert not any(unicodedata.category(line[0]) == "Mn" for line in lines)
    variant = "漢" * 35 + "葛\U000e0100" + "城" * 40
    lines = wrap(variant).split("\n")
    assert not any(line.startswith("\U000e0100") for line in lines)
    assert "".join(lines) == variant


def test_a_link_whose_words_are_its_url_is_written_once(post_json):
    """The href is written with | as %7C; the words stay as sent, and no longer matched it,
    so the URL came out twice."""
    url = "https://fonts.example.org/css?family=A|B"
    article = minimal(body=[{"type": "paragraph", "text": f'See <a href="{url}">{url}</a> now.'}])
    text = post_json("/v1/render/text", article).get_data(as_text=True)
    assert f"See {url} now." in text
    assert "%7C" not in text


def test_raised_figures_and_quotes_read_true_everywhere_plain_text_goes(app, api):
    """A headline "Costs rose 10<sup>6</sup> times" read "Costs rose 106 times" in the
    text part, the mail's title, the page title and the feeds."""
    from service.email_renderer import render_email

    article = minimal(
        id="raised",
        kind="quick-read",
        headline="Costs rose 10<sup>6</sup> times, <q>too much</q>",
        standfirst="CO<sub>2</sub> fell by 3 m<sup>3</sup>.",
    )
    want = "Costs rose 10⁶ times, “too much”"
    settings = runtime_of(app).settings
    assert render_text(validate_article(article), settings).startswith(want + "\n")
    runtime = runtime_of(app)
    body = render_email(validate_article(article), runtime.env, settings, runtime.inliner)
    assert body.subject == want
    assert f"<title>{want}</title>" in body.html
    assert api.put(article).status_code == 201
    page = api.get("/articles/raised").get_data(as_text=True)
    assert f"<title>{want} — " in page
    item = api.get("/feed.json").get_json()["items"][0]
    assert (item["title"], item["summary"]) == (want, "CO₂ fell by 3 m³.")


def test_a_wrapped_isolate_is_closed_and_reopened_on_each_line(post_json):
    """The validator keeps every isolate on one line; the wrapping split one over four, the
    first line left it open and the last closed nothing."""
    from service.characters import bidi_problem

    arabic = "هذا نص عربي طويل يستخدم لاختبار التفاف الأسطر في العرض النصي للمقالة " * 3
    article = minimal(body=[{"type": "paragraph", "text": f"Start \u2067{arabic}\u2069 end."}])
    text = post_json("/v1/render/text", article).get_data(as_text=True)
    lines = [line for line in text.splitlines() if "\u2067" in line or "\u2069" in line]
    assert len(lines) >= 3
    assert [bidi_problem(line) for line in lines] == [None] * len(lines)


@pytest.mark.parametrize(
    ("markup", "written"),
    [
        # The page isolates these words (the HTML standard's own example: a name in another
        # script before a number); without isolates the score showed before the name.
        ("Top scorer: <bdi>إيان</bdi> 90 points.", "Top scorer: \u2068إيان\u2069 90 points."),
        ('<span dir="rtl">مرحبا</span> 3', "\u2067مرحبا\u2069 3"),
        ('<span dir="ltr">BRT</span>', "\u2066BRT\u2069"),
        ('<span dir="auto">x</span>', "\u2068x\u2069"),
        ('<span lang="fr">oui</span>', "oui"),  # a language alone changes no direction
        # Struck out on the page means no longer accurate: not a second current price.
        ("Old price <s>$120</s> $80", "Old price ~~$120~~ $80"),
        ('<a href="mailto:j%C3%B6rg@example.org">Jörg</a>', "Jörg <jörg@example.org>"),
        # Angled beyond ASCII, as a URL is, so that its ends are seen in any script.
        ('<a href="mailto:j%C3%B6rg@example.org">jörg@example.org</a>', "<jörg@example.org>"),
        ('<a href="MAILTO:desk@example.org">desk@example.org</a>', "desk@example.org"),
        ('<abbr title="NASA">NASA</abbr>', "NASA"),
        ('<abbr title="National Aeronautics">NASA</abbr>', "NASA (National Aeronautics)"),
    ],
)
def test_inline_markup_reads_in_text_as_it_does_on_the_page(post_json, markup, written):
    """An encoded mailto came out as <j%C3%B6rg@example.org>, neither URL nor address; an
    upper-case MAILTO and an abbreviation titled with itself were written twice; isolated
    and struck-out words lost what set them apart."""
    article = minimal(body=[{"type": "paragraph", "text": f"See {markup} now."}])
    text = post_json("/v1/render/text", article).get_data(as_text=True)
    assert f"See {written} now." in text


def test_the_section_and_the_publisher_s_place_are_in_the_text_too(app, post_json):
    """The HTML part showed the section over the headline and the publisher's location in
    the signature; the text part and /v1/render/text left both out, and so did the digest."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from digests.assemble import assemble
    from digests.render import render_digest

    article = minimal(section="City", publisher={"name": "Northside Brief", "location": "Duluth"})
    text = post_json("/v1/render/text", article).get_data(as_text=True)
    assert text.startswith("City\nA minimal article\n===")
    assert "\nNorthside Brief · Duluth\n" in text
    runtime = runtime_of(app)
    quick = validate_article(dict(article, kind="quick-read", published_at="2026-03-11T09:00:00Z"))
    digest = assemble(
        [quick], datetime(2026, 3, 12, tzinfo=UTC).date(), runtime.settings.digest_time,
        ZoneInfo("UTC"), runtime.settings,
    )  # fmt: skip
    mail = render_digest(digest, runtime.env, runtime.settings, runtime.inliner).text
    assert "\n1. City: A minimal article\n" in mail


@pytest.mark.parametrize(
    "href",
    [
        "mailto:%E2%80%AEgro.elpmaxe@ksed",  # an override no field may leave open
        "mailto:desk%0D%0ABcc:x@evil.test@example.org",  # a line break
        "mailto:d%FFesk@example.org",  # bytes that are no UTF-8
    ],
)
def test_an_address_that_decodes_to_what_no_field_may_hold_stays_as_sent(post_json, href):
    """Decoding brought back what the href as sent had been checked against."""
    from service.characters import bidi_problem

    text_of = minimal(body=[{"type": "paragraph", "text": f'Write to <a href="{href}">us</a>.'}])
    text = post_json("/v1/render/text", text_of).get_data(as_text=True)
    assert f"Write to us <{href}>." in text
    assert bidi_problem(text) is None


def test_nested_bidi_controls_are_bounded_so_the_text_stays_near_its_size(client):
    """Each wrapped line reopens the controls still open: 5,000 nested isolates made a
    420 KB article a 59 MB text part (and 120 MB of work in every e-mail render)."""
    from service.characters import MAX_BIDI_DEPTH

    def article(depth: int) -> dict:
        words = "漢字 " * 3000
        text = "\u2066" * depth + words + "\u2069" * depth
        return minimal(body=[{"type": "paragraph", "text": text}] * 7)

    deepest = article(MAX_BIDI_DEPTH)
    answer = client.post("/v1/render/text", json=deepest)
    assert answer.status_code == 200
    sent = sum(len(block["text"].encode()) for block in deepest["body"])
    assert len(answer.data) < 3 * sent
    for route in ("/v1/render/text", "/v1/render/email", "/v1/render/html"):
        refused = client.post(route, json=article(MAX_BIDI_DEPTH + 1))
        assert refused.status_code == 422
        errors = refused.get_json()["errors"]
        assert [error["pointer"] for error in errors] == [f"/body/{n}/text" for n in range(7)]
        assert all(f"more than {MAX_BIDI_DEPTH} deep" in error["message"] for error in errors)


@pytest.mark.parametrize(
    ("language", "paragraph", "mark"),
    [
        # An Arabic line that opens with a Latin name was shown left to right.
        ("ar", "Bus Rapid Transit (BRT) في المدينة والضواحي المجاورة لها.", "\u200f"),
        # An English line that opens with an Arabic quote was shown right to left.
        ("en", "«مرحبا بكم» said the minister on Tuesday.", "\u200e"),
    ],
)
def test_a_line_opening_in_the_other_script_keeps_the_article_s_direction(
    post_json, language, paragraph, mark
):
    article = minimal(language=language, body=[{"type": "paragraph", "text": paragraph}])
    text = post_json("/v1/render/text", article).get_data(as_text=True)
    (line,) = [
        line for line in text.splitlines() if line.lstrip("\u200e\u200f").startswith(paragraph[:10])
    ]
    assert line == mark + paragraph


def test_an_english_article_in_ascii_is_left_as_it_is(post_json):
    text = post_json("/v1/render/text", minimal()).get_data(as_text=True)
    assert "\u200e" not in text
    assert "\u200f" not in text


def test_each_heading_level_is_underlined_its_own_way():
    """Levels 3 and 4 were both underlined with ~."""
    from service.settings import Settings
    from service.text_renderer import render_text
    from service.validation import validate_article

    from .corpus import minimal

    body = [{"type": "heading", "level": n, "text": f"Level {n}"} for n in (2, 3, 4)]
    text = render_text(validate_article(minimal(body=body)), Settings())
    assert "Level 2\n-------\n" in text
    assert "Level 3\n~~~~~~~\n" in text
    assert "Level 4\n.......\n" in text


# What the text twin says as the page says it, in any language ----------------------------


@pytest.mark.parametrize(
    ("language", "byline", "published"),
    [
        ("ar", "بقلم A وB", "نُشر 12 مارس 2026، 8:00 ص"),
        ("zh-Hant-TW", "By A和B", "Published 2026年3月12日 上午8:00"),
        ("ja", "By A、B", "Published 2026年3月12日 8:00"),
        ("en", "By A and B", "Published March 12, 2026, 8:00"),
    ],
)
def test_names_and_a_dateline_are_joined_as_the_language_joins_them(
    post_json, language, byline, published
):
    """The page joined the authors as the locale does (و, 和, 、), the text twin with ", ";
    and a dateline's date and time were joined with an English comma in every language."""
    article = minimal(
        language=language,
        authors=[{"name": "A"}, {"name": "B"}],
        published_at="2026-03-12T08:00:00+08:00",
    )
    text = post_json("/v1/render/text", article).get_data(as_text=True)
    meta = [line.lstrip("\u200e\u200f") for line in text.split("\n\n")[1].splitlines()]
    assert meta[0] == byline
    assert meta[1].startswith(published)
    page = post_json("/v1/render/html", article).get_data(as_text=True)
    assert published.split(" ", 1)[1] in page  # the page's dateline reads the same


def test_a_link_into_a_language_without_spaces_is_never_cut(post_json):
    """A link into Japanese Wikipedia was cut in two across lines, and could not be
    followed; so was a mail address in Japanese."""
    url = "https://ja.wikipedia.org/wiki/東京都議会議員選挙における投票率の推移と選挙制度改革の歴史的経緯"
    mail = "mailto:%E6%9D%B1%E4%BA%AC%E6%94%AF%E5%B1%80@example.jp"
    for words in (url, "the article"):
        text = (
            f'これは長い段落です。詳しくは<a href="{url}">{words}</a>をご覧ください。'
            f'東京の<a href="{mail}">支局</a>まで。' * 2
        )
        article = minimal(language="ja", body=[{"type": "paragraph", "text": text}])
        written = post_json("/v1/render/text", article).get_data(as_text=True)
        lines = written.splitlines()
        assert any(url in line for line in lines), written
        assert any("<東京支局@example.jp>" in line for line in lines), written


def test_japanese_written_straight_after_a_url_still_wraps(post_json):
    """Japanese puts no space after a URL: taking the rest of the word for the URL glued
    the whole paragraph into one line of 879 columns. The URL ends with its ASCII; one
    with more than ASCII in it is written angled, so that its end is seen."""
    from service.text_renderer import _columns

    url = "https://example.jp/plan"
    iri = "https://ja.wikipedia.org/wiki/東京都"
    text = (
        f'詳しくは<a href="{url}">{url}</a>をご覧ください。'
        f'または<a href="{iri}">{iri}</a>を参照。' + "東京都の計画について説明します。" * 30
    )
    article = minimal(language="ja", body=[{"type": "paragraph", "text": text}])
    written = post_json("/v1/render/text", article).get_data(as_text=True)
    assert max(_columns(line) for line in written.splitlines()) <= WIDTH
    assert url in written
    assert f"<{iri}>" in written


def test_a_url_beyond_ascii_written_once_keeps_its_words_and_spaces(post_json):
    """Angled, it lost the spaces inside the link (its neighbours glued to it) and was
    written as its href, percent-encoded, not as the words the author wrote."""
    iri = "https://de.wikipedia.org/wiki/Müller|100%"
    text = f'see<a href="{iri}"> {iri} </a>now'
    written = post_json("/v1/render/text", minimal(body=[{"type": "paragraph", "text": text}]))
    assert f"see <{iri}> now" in written.get_data(as_text=True)


@pytest.mark.parametrize(
    "paragraph",
    [
        "日<" + ":" * 19990,
        "日" + "a" * 19990 + ":",
        "日" + "a://" * 4990,
        "日" + "&lt;a:&gt;" * 1500,
    ],
)
def test_finding_links_in_a_wide_line_costs_time_in_proportion(post_json, paragraph):
    """Seven such paragraphs, within every budget, took 10.5 s of CPU: a pattern that
    backtracked over every colon after an unclosed "<"."""
    article = minimal(body=[{"type": "paragraph", "text": paragraph}] * 7)
    started = time.process_time()
    for route in ("/v1/render/text", "/v1/render/email"):
        assert post_json(route, article).status_code == 200
    assert time.process_time() - started < 2  # 0.2 s here; 21 s before


def test_a_line_break_inside_an_isolate_closes_and_reopens_it(post_json):
    """An address in <span dir> with a <br> in it left the isolate open on one line and
    closed nothing on the next."""
    from service.characters import bidi_problem

    text = 'Write to: <span lang="ar" dir="rtl">شارع التحرير 12<br>القاهرة 11511</span> (by post).'
    article = minimal(body=[{"type": "paragraph", "text": text}])
    written = post_json("/v1/render/text", article).get_data(as_text=True)
    lines = [line for line in written.splitlines() if "شارع" in line or "القاهرة" in line]
    assert len(lines) == 2
    assert [bidi_problem(line) for line in lines] == [None, None]
    assert lines[1].lstrip("\u200e").startswith("\u2067القاهرة")  # reopened, the same isolate


def test_the_read_online_line_is_wrapped_like_every_line_of_words(post_json):
    article = minimal(id="council-approves-protected-bike-lanes-on-riverside")
    text = post_json("/v1/render/text", article).get_data(as_text=True)
    lines = text.splitlines()
    assert [line for line in lines if len(line) > WIDTH and " " in line.strip()] == []
    assert lines[-2:] == [
        "Read online:",
        "<https://news.example.org/articles/council-approves-protected-bike-lanes-on-riverside>",
    ]


@pytest.mark.parametrize(
    ("language", "quote_language", "mark"),
    [("ar", "en", "\u200e"), ("en", "ar", "\u200f"), ("en", "fr", None)],
)
def test_a_quotation_in_another_direction_keeps_its_own_in_text(
    post_json, language, quote_language, mark
):
    """The page gives such a quote its own dir; the text twin set its lines in the
    article's, and the full stop and quotation marks showed on the wrong sides."""
    words = {"en": "The budget is balanced.", "ar": "هذا أكبر معرض.", "fr": "C'est oui."}
    article = minimal(
        language=language,
        headline="عنوان" if language == "ar" else "A headline",
        body=[
            {"type": "quote", "text": words[quote_language], "lang": quote_language},
            {"type": "paragraph", "text": words[language]},
        ],
    )
    text = post_json("/v1/render/text", article).get_data(as_text=True)
    (line,) = [line for line in text.splitlines() if words[quote_language][:6] in line]
    opening = {"en": "“", "ar": "”", "fr": "«"}[quote_language]  # the quote's language's
    if mark is None:
        assert line.startswith("    " + opening)  # the same direction: nothing added
    else:
        assert line.startswith(mark + "    " + opening)


@pytest.mark.parametrize(
    ("language", "paragraph", "pull_quote"),
    [
        ("fr", "Il a dit « non ».", "    «Le budget est « juste ».»"),
        ("de", "Er sagte „nein“.", "    „Der Haushalt ist ‚ausgeglichen‘.“"),
        ("ja", "彼は「いいえ」と言った。", "    「予算は『均衡』だ。」"),
        ("en", "He said “no”.", "    “The budget is ‘balanced’.”"),
    ],
)
def test_quotations_take_the_marks_of_their_language(post_json, language, paragraph, pull_quote):
    """The text twin wrote English marks in every language (“non” in French, “nein” in
    German), where the PDF prints the language's; a <q> inside a pull quote takes the inner
    ones, and a phrase in another language its own."""
    words = {
        "fr": ("Il a dit <q> non </q>.", "Le budget est <q> juste </q>."),
        "de": ("Er sagte <q>nein</q>.", "Der Haushalt ist <q>ausgeglichen</q>."),
        "ja": ("彼は<q>いいえ</q>と言った。", "予算は<q>均衡</q>だ。"),
        "en": ("He said <q>no</q>.", "The budget is <q>balanced</q>."),
    }[language]
    article = minimal(
        language=language,
        body=[
            {"type": "paragraph", "text": words[0]},
            {"type": "quote", "text": words[1]},
            {"type": "paragraph", "text": 'Said <span lang="de"><q>ja</q></span>, <q>oui</q>.'},
        ],
    )
    lines = _text(post_json, article).splitlines()
    assert paragraph in lines
    assert pull_quote in lines
    outer = {"fr": "«oui»", "de": "„oui“", "ja": "「oui」", "en": "“oui”"}[language]
    assert f"Said „ja“, {outer}." in lines  # the German phrase in German marks


def _text(post_json, article) -> str:
    response = post_json("/v1/render/text", article)
    assert response.status_code == 200, response.get_json()
    return response.get_data(as_text=True)


@pytest.mark.parametrize("fill", [26, 28, 30])
def test_an_address_beyond_ascii_is_written_whole_in_a_language_without_spaces(post_json, fill):
    """編集部@example.jp was not angled (no "://") and was broken in two, its ends unseen."""
    href = "mailto:%E7%B7%A8%E9%9B%86%E9%83%A8@example.jp"
    text = f'{"お" * fill}ご意見は<a href="{href}">編集部@example.jp</a>までお寄せください。'
    body = [{"type": "paragraph", "text": text}]
    lines = _text(post_json, minimal(language="ja", body=body)).splitlines()
    assert any("<編集部@example.jp>" in line for line in lines)


def test_an_address_holding_white_space_is_written_as_sent(post_json):
    """Decoded, "Letters to the Editor"@example.org was broken at its spaces, and a reader
    takes the spaces out of an angled address anyway."""
    href = "mailto:%22Letters%20to%20the%20Editor%22@example.org"
    text = f'Letters to the editor go to the <a href="{href}">letters desk</a> by noon.'
    got = _text(post_json, minimal(body=[{"type": "paragraph", "text": text}]))
    assert f"<{href}>" in got


def test_combining_marks_take_no_column():
    """Vietnamese written decomposed (NFD) filled lines of 72 characters but 54 columns, and
    a headline's underline ran 8 past its words."""
    from service.text_renderer import _columns, underlined

    words = (
        "Người dân thành phố Hồ Chí Minh đã chứng kiến một ngày lịch sử khi tuyến tàu điện "
        "ngầm đầu tiên chính thức đi vào hoạt động sau nhiều năm chờ đợi của người dân."
    )
    lines = wrap(unicodedata.normalize("NFD", words)).split("\n")
    shown = [sum(not unicodedata.combining(c) for c in line) for line in lines]
    assert 66 <= max(shown) <= WIDTH  # filled, not 54 columns
    assert underlined(unicodedata.normalize("NFD", "Tuyến tàu điện ngầm đầu tiên"), "=").endswith(
        "\n" + "=" * 28
    )
    assert _columns("\u200fשָׁלוֹם\u200f") == 4  # vowel points and marks take none either
    korean = "서울시는 오늘 새로운 자전거 도로 계획을 발표했다"
    assert _columns(unicodedata.normalize("NFD", korean)) == _columns(korean)  # jamo join


@pytest.mark.parametrize(
    "words",
    [
        "भारत सरकार ने आज नई शिक्षा नीति की घोषणा की जिसमें विद्यालयों और विश्वविद्यालयों के "
        "लिए कई महत्वपूर्ण बदलाव शामिल हैं और छात्रों को अधिक विकल्प मिलेंगे।",
        "தமிழ்நாடு அரசு இன்று புதிய கல்விக் கொள்கையை அறிவித்தது இதில் பள்ளிகள் மற்றும் "
        "பல்கலைக்கழகங்களுக்கு பல முக்கிய மாற்றங்கள் அடங்கியுள்ளன.",
    ],
)
def test_a_spacing_vowel_sign_takes_its_column(words):
    """Counted as none, Hindi's, Tamil's and Bengali's spacing vowel signs (Mc) made lines of
    92 to 101 columns in a terminal (glibc's wcwidth gives them one)."""
    from service.text_renderer import _columns

    def shown(line: str) -> int:
        return sum(unicodedata.category(c) not in ("Mn", "Me", "Cf") for c in line)

    assert _columns("कि") == 2  # ि is a spacing mark
    assert _columns("के") == 1  # े is not
    assert max(shown(line) for line in wrap(words * 2).split("\n")) <= WIDTH


def test_a_french_credit_is_never_broken_before_its_colon(post_json):
    """ "(Photo" ended a line and ": AFP)" began the next: French sets a no-break space there."""
    caption = "Le nouveau marché couvert de la place Centrale, vu du sud."
    for fill in range(0, 14):
        image = {
            "type": "image",
            "src": "https://images.example.org/a.png",
            "alt": "Vue",
            "caption": "x" * fill + " " + caption,
            "credit": "AFP",
        }
        text = _text(post_json, minimal(language="fr", body=[image]))
        assert not any(line.startswith(":") for line in text.splitlines())


def test_the_tags_are_named_in_text(post_json):
    """A bare "alpha, beta" under the publisher's name read as part of its address."""
    text = _text(post_json, minimal(tags=["alpha", "beta"]))
    assert "\nTags: alpha, beta\n" in text
    assert "\nMots-clés\u00a0: alpha\n" in _text(post_json, minimal(language="fr", tags=["alpha"]))


def test_the_tag_line_reads_in_the_article_s_direction(post_json):
    """Under the English "Tags:", an Urdu article's first tag was read after its second; a
    wrapped line of Latin tags in an Arabic article read left to right; and the " · " taken
    for a tag holding a comma was not checked against the tags."""
    urdu = _text(post_json, minimal(language="ur", tags=["پاکستان", "کرکٹ"]))
    assert "\n\u200fTags: پاکستان، کرکٹ\n" in urdu
    places = ["مصر", "New York City", "Los Angeles County", "San Francisco Bay Area",
              "Washington DC", "Boston", "Chicago"]  # fmt: skip
    arabic = _text(post_json, minimal(language="ar", tags=places)).split("-- \n")[1]
    lines = arabic.splitlines()[1:-1]
    assert len(lines) == 2
    assert all(line.startswith("\u200f") for line in lines)
    english = _text(post_json, minimal(tags=["Smith, John", "Barcelona · Girona", "x"]))
    assert "\nTags: Smith, John | Barcelona · Girona | x\n" in english


def test_a_closing_break_adds_a_line_only_where_the_page_draws_one(post_json):
    """A <br> that ends a field adds no line, nor one before the end of struck words (the
    page draws no ~~); a quotation's closing mark after it is drawn on a line of its own on
    the page, and here too."""
    body = [
        {"type": "paragraph", "text": "Struck <s>words.<br></s>"},
        {"type": "paragraph", "text": "<q>Line one<br></q>"},
    ]
    text = post_json("/v1/render/text", minimal(body=body)).get_data(as_text=True)
    assert "Struck ~~words.~~\n\n" in text
    assert "“Line one\n”" in text
