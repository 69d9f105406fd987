"""The digest window in local time, daylight saving included, and what goes in the digest."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from digests.assemble import (
    MAX_ITEMS,
    TEASER_LENGTH,
    assemble,
    digest_date_at,
    digest_window,
    teaser_for,
)
from digests.render import digest_context, digest_text
from service.characters import ELLIPSIS, bidi_problem, cut_at_word
from service.reading import read
from service.settings import Settings

from .digest_articles import quick_read

SETTINGS = Settings(base_url="https://news.example.org")
SEVEN = time(7, 0)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("zone", "day", "at", "start", "end", "hours"),
    [
        # New York springs forward on 8 March 2026: that window is 23 hours long.
        ("America/New_York", date(2026, 3, 8), SEVEN, "2026-03-07T12:00Z", "2026-03-08T11:00Z", 23),
        ("America/New_York", date(2026, 3, 9), SEVEN, "2026-03-08T11:00Z", "2026-03-09T11:00Z", 24),
        # ... and falls back on 1 November 2026: 25 hours.
        (
            "America/New_York",
            date(2026, 11, 1),
            SEVEN,
            "2026-10-31T11:00Z",
            "2026-11-01T12:00Z",
            25,
        ),
        (
            "America/New_York",
            date(2026, 11, 2),
            SEVEN,
            "2026-11-01T12:00Z",
            "2026-11-02T12:00Z",
            24,
        ),
        # A digest time that the spring-forward skips is read with the old offset.
        (
            "America/New_York",
            date(2026, 3, 8),
            time(2, 30),
            "2026-03-07T07:30Z",
            "2026-03-08T07:30Z",
            24,
        ),
        # One that the fall-back repeats means its first occurrence.
        (
            "America/New_York",
            date(2026, 11, 1),
            time(1, 30),
            "2026-10-31T05:30Z",
            "2026-11-01T05:30Z",
            24,
        ),
        # UTC+14: the digest for 12 March closes on 11 March in UTC.
        (
            "Pacific/Kiritimati",
            date(2026, 3, 12),
            SEVEN,
            "2026-03-10T17:00Z",
            "2026-03-11T17:00Z",
            24,
        ),
        # UTC-3:30 (-2:30 in summer), which springs forward on 8 March too.
        ("America/St_Johns", date(2026, 3, 8), SEVEN, "2026-03-07T10:30Z", "2026-03-08T09:30Z", 23),
        ("America/St_Johns", date(2026, 7, 1), SEVEN, "2026-06-30T09:30Z", "2026-07-01T09:30Z", 24),
    ],
)
def test_window_in_local_time(zone, day, at, start, end, hours):
    window = digest_window(day, at, ZoneInfo(zone))
    assert window.start == utc(start)
    assert window.end == utc(end)
    assert window.end - window.start == timedelta(hours=hours)


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(
        [
            "America/New_York",
            "Europe/London",
            "Pacific/Kiritimati",
            "America/St_Johns",
            "Australia/Lord_Howe",
            "Pacific/Chatham",
            "UTC",
        ]
    ),
    day=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    at=st.times(),
    offset=st.integers(min_value=0, max_value=48 * 3600 - 1),
)
def test_windows_meet_and_every_moment_falls_in_exactly_one(zone, day, at, offset):
    tz = ZoneInfo(zone)
    at = at.replace(microsecond=0)
    today, tomorrow = digest_window(day, at, tz), digest_window(day + timedelta(days=1), at, tz)
    assert today.end == tomorrow.start
    assert today.start < today.end
    moment = today.start + timedelta(seconds=offset)
    assert (moment in today) + (moment in tomorrow) == (1 if moment < tomorrow.end else 0)


@pytest.mark.parametrize(
    ("zone", "moment", "expected"),
    [
        ("UTC", "2026-03-12T06:59:59Z", date(2026, 3, 11)),
        ("UTC", "2026-03-12T07:00:00Z", date(2026, 3, 12)),
        ("Pacific/Kiritimati", "2026-03-11T17:00:00Z", date(2026, 3, 12)),
        ("Pacific/Kiritimati", "2026-03-11T16:59:00Z", date(2026, 3, 11)),
        ("America/St_Johns", "2026-03-12T09:30:00Z", date(2026, 3, 12)),  # -2:30 since the 8th
        ("America/St_Johns", "2026-03-12T09:29:00Z", date(2026, 3, 11)),
    ],
)
def test_digest_date_due_at_a_moment(zone, moment, expected):
    assert digest_date_at(utc(moment), SEVEN, ZoneInfo(zone)) == expected


def test_a_send_time_skipped_up_to_midnight_is_due_only_once_it_comes():
    # Nuuk's clocks skip 23:00 to 24:00 on 28 March 2026: 23:30 that day is 01:30 UTC on
    # the 29th, half an hour after the local date turned.
    nuuk, late = ZoneInfo("America/Nuuk"), time(23, 30)
    assert digest_window(date(2026, 3, 28), late, nuuk).end == utc("2026-03-29T01:30:00Z")
    assert digest_date_at(utc("2026-03-29T01:10:00Z"), late, nuuk) == date(2026, 3, 27)
    assert digest_date_at(utc("2026-03-29T01:30:00Z"), late, nuuk) == date(2026, 3, 28)


def test_a_clock_set_back_across_midnight_keeps_the_day_that_came_due():
    # St. John's went from 00:01 on 4 November 2007 back to 23:01 on the 3rd: at 23:05,
    # the 4th's midnight (02:30 UTC) had come already.
    st_johns, midnight = ZoneInfo("America/St_Johns"), time(0, 0)
    assert digest_window(date(2007, 11, 4), midnight, st_johns).end == utc("2007-11-04T02:30:00Z")
    assert digest_date_at(utc("2007-11-04T02:35:00Z"), midnight, st_johns) == date(2007, 11, 4)


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(
        [
            "UTC",
            "America/Nuuk",
            "Europe/Berlin",
            "America/St_Johns",
            "Pacific/Kiritimati",
            "Australia/Lord_Howe",
            "America/Santiago",
            "Asia/Tehran",
            "Africa/Casablanca",
        ]
    ),
    moment=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)),
    at=st.sampled_from([time(h, m) for h in range(24) for m in (0, 30)]),
)
def test_the_digest_due_is_the_one_whose_window_closed_last(zone, moment, at):
    tz, moment = ZoneInfo(zone), moment.replace(tzinfo=UTC)
    day = digest_date_at(moment, at, tz)
    assert (
        digest_window(day, at, tz).end
        <= moment
        < digest_window(day + timedelta(days=1), at, tz).end
    )


def test_assemble_keeps_quick_reads_in_the_window_oldest_first():
    articles = [
        quick_read("late", "2026-03-12T06:59:59+00:00"),
        quick_read("start", "2026-03-11T07:00:00Z"),
        quick_read("before", "2026-03-11T06:59:59Z"),
        quick_read("end", "2026-03-12T07:00:00Z"),
        quick_read("middle", "2026-03-11T14:00:00+05:00"),  # 09:00 UTC
        quick_read("long-read", "2026-03-11T12:00:00Z", kind="article"),
    ]
    digest = assemble(articles, date(2026, 3, 12), SEVEN, ZoneInfo("UTC"), SETTINGS)
    assert [item.article_id for item in digest.items] == ["start", "middle", "late"]
    assert digest.items[0].url == "https://news.example.org/articles/start"
    assert digest.items[0].teaser == "Standfirst of start."


def test_assemble_in_a_zone_far_from_utc():
    articles = [
        quick_read("utc-12th-morning", "2026-03-12T05:00:00Z"),  # 19:00 on the 12th local
        quick_read("local-12th-early", "2026-03-11T16:00:00Z"),  # 06:00 on the 12th local
    ]
    digest = assemble(articles, date(2026, 3, 12), SEVEN, ZoneInfo("Pacific/Kiritimati"), SETTINGS)
    assert [item.article_id for item in digest.items] == ["local-12th-early"]
    following = assemble(
        articles, date(2026, 3, 13), SEVEN, ZoneInfo("Pacific/Kiritimati"), SETTINGS
    )
    assert [item.article_id for item in following.items] == ["utc-12th-morning"]


def test_same_moment_orders_by_id_and_canonical_url_wins():
    articles = [
        quick_read("b", "2026-03-11T09:00:00Z"),
        quick_read("a", "2026-03-11T10:00:00+01:00", canonical_url="https://elsewhere.example/a"),
    ]
    digest = assemble(articles, date(2026, 3, 12), SEVEN, ZoneInfo("UTC"), SETTINGS)
    assert [item.article_id for item in digest.items] == ["a", "b"]
    assert digest.items[0].url == "https://elsewhere.example/a"


def test_empty_window_is_an_empty_digest():
    digest = assemble([], date(2026, 3, 12), SEVEN, ZoneInfo("UTC"), SETTINGS)
    assert not digest
    assert digest.items == ()


def test_teaser_falls_back_to_the_first_paragraph_cut_at_a_word():
    words = " ".join(f"word{n}" for n in range(100))
    article = quick_read(
        "x",
        "2026-03-11T09:00:00Z",
        standfirst=None,
        body=[
            {"type": "heading", "level": 2, "text": "Not this"},
            {"type": "paragraph", "text": f"<em>{words}</em> [^n1]"},
        ],
        notes=[{"id": "n1", "text": "A note."}],
    )
    teaser = teaser_for(read(article), 60)
    assert teaser.endswith(ELLIPSIS)
    assert len(teaser) <= 61
    assert teaser.removesuffix(ELLIPSIS).split(" ") == words.split(" ")[: len(teaser.split(" "))]
    assert "[" not in teaser
    assert "<" not in teaser


def test_teaser_without_any_paragraph_is_empty():
    article = quick_read("x", "2026-03-11T09:00:00Z", standfirst=None, body=[{"type": "divider"}])
    assert teaser_for(read(article)) == ""


@pytest.mark.parametrize(
    ("text", "length", "expected"),
    [
        ("short text", 20, "short text"),
        ("exactly ten", 11, "exactly ten"),
        ("one two three", 8, "one two…"),
        ("one two, three", 9, "one two…"),
        ("unbreakablewordhere", 5, "unbre…"),
    ],
)
def test_cut_at_word(text, length, expected):
    assert cut_at_word(text, length) == expected


@pytest.mark.parametrize(
    "text",
    [
        "アップル社は12日、新型 iPhoneを発表した。"
        + "価格は据え置きで、発売は来月になる見通しだ。" * 20,
        "据新华社 报道，"
        + "市议会周二以七比二的投票结果批准了沿河滨大道修建受保护自行车道的计划。" * 12,
        "กรุงเทพฯ " + "ฝนตกหนักทำให้น้ำท่วมหลายพื้นที่ในเมืองหลวงเมื่อคืนที่ผ่านมา" * 8,
    ],
)
def test_a_teaser_in_a_script_without_spaces_keeps_its_length(text):
    """The cut went back to the one early space: a 400-character Japanese standfirst became
    "アップル社は12日、新型 iPhone…"."""
    cut = cut_at_word(text, TEASER_LENGTH)
    assert TEASER_LENGTH // 2 <= len(cut) <= TEASER_LENGTH + 1
    assert cut.endswith(ELLIPSIS)


@pytest.mark.parametrize(("text", "lost"), [("x" + "👨‍👩‍👧" * 60, "\u200d…"), ("ก่" * 200, "ก…")])
def test_a_cut_never_splits_a_character_as_a_reader_sees_it(text, lost):
    """A joiner was left glued to the ellipsis; a Thai tone mark was dropped from its letter."""
    cut = cut_at_word(text, 241)
    assert not cut.endswith(lost)
    assert cut[-2] in ("👧", "\u0e48")  # the family whole; the letter with its tone mark


@pytest.mark.parametrize("lead", range(230, 242))
def test_a_cut_never_splits_a_flag(lead):
    """A flag is a pair of regional indicators; a cut between them left half a flag, which
    shows as a lone letter in a box."""
    france, germany = "\U0001f1eb\U0001f1f7", "\U0001f1e9\U0001f1ea"
    cut = cut_at_word("x" * lead + (france + germany) * 5, 241)
    flags = cut.removesuffix(ELLIPSIS).lstrip("x")
    assert len(flags) % 2 == 0
    assert flags == (france + germany) * (len(flags) // 4) + (france if len(flags) % 4 else "")


def test_a_long_standfirst_is_cut_like_a_paragraph():
    """The whole standfirst went into every copy of the digest, however long."""
    words = " ".join(f"word{n}" for n in range(100))
    article = quick_read("x", "2026-03-11T09:00:00Z", standfirst=words)
    teaser = teaser_for(read(article))
    assert teaser.endswith(ELLIPSIS)
    assert len(teaser) <= TEASER_LENGTH + 1


def test_a_cut_closes_the_bidirectional_controls_it_leaves_open():
    rli, pdi, rlo, pdf = "\u2067", "\u2069", "\u202e", "\u202c"
    text = f"Lead {rli}" + "word " * 60 + f"{pdi} done {rlo}x{pdf}."
    cut = cut_at_word(text, 100)
    assert cut.count(rli) == cut.count(pdi) == 1
    assert cut.endswith(ELLIPSIS + pdi)
    assert cut_at_word(f"{rlo}{'x' * 300}{pdf}", 50).endswith(pdf)  # one long word
    assert bidi_problem(cut) is None


def test_a_digest_names_at_most_max_items_and_counts_the_rest():
    articles = [
        quick_read(f"q{n:03d}", f"2026-03-11T08:{n // 60:02d}:{n % 60:02d}Z")
        for n in range(MAX_ITEMS + 2)
    ]
    digest = assemble(articles, date(2026, 3, 12), SEVEN, ZoneInfo("UTC"), SETTINGS, more=5)
    assert [item.article_id for item in digest.items] == [f"q{n:03d}" for n in range(MAX_ITEMS)]
    assert digest.more == 7  # two passed in past the cap, five the caller never read


def test_each_item_s_text_lines_read_in_its_direction():
    """A mail client takes a line's direction from its first letter: an English headline
    opening with an Arabic quote showed right to left, an Arabic one opening with "Nasa" left
    to right. Each line starts with its item's mark when it needs one, as the text twin's."""
    articles = [
        quick_read("en", "2026-03-11T09:00:00Z", headline="«السلام» is the word used"),
        quick_read(
            "ar",
            "2026-03-11T10:00:00Z",
            headline="Nasa تطلق صاروخا",
            standfirst="Nasa تقول إن الإطلاق نجح.",
            language="ar",
        ),
    ]
    digest = assemble(articles, date(2026, 3, 12), SEVEN, ZoneInfo("UTC"), SETTINGS)
    lines = digest_text(digest, SETTINGS).splitlines()
    assert "\u200e1. «السلام» is the word used" in lines
    assert "\u200f2. Nasa تطلق صاروخا" in lines
    assert "\u200f   Nasa تقول إن الإطلاق نجح." in lines
    assert "   <https://news.example.org/articles/en>" in lines  # English: no mark needed


def test_a_whole_teaser_keeps_the_languages_of_its_parts_in_html():
    """The teaser was plain text: a French phrase in an English standfirst lost its lang in
    the mail's HTML and on the digest's page, which the article page keeps (WCAG 3.1.2). A
    cut one is still the cut words."""
    standfirst = (
        'He said <span lang="fr">je ne sais quoi</span> twice<a href="https://x.example">.</a>'
    )
    articles = [
        quick_read("whole", "2026-03-11T09:00:00Z", standfirst=standfirst),
        quick_read("cut", "2026-03-11T10:00:00Z", standfirst="word " * 100),
    ]
    digest = assemble(articles, date(2026, 3, 12), SEVEN, ZoneInfo("UTC"), SETTINGS)
    whole, cut = digest_context(digest, SETTINGS, "https://news.example.org/u")["items"]
    assert str(whole["teaser"]) == 'He said <span lang="fr">je ne sais quoi</span> twice.'
    assert cut["teaser"] == digest.items[1].teaser
    assert cut["teaser"].endswith(ELLIPSIS)


def test_a_cut_teaser_keeps_the_markup_and_languages_of_what_it_keeps():
    """A teaser cut at 240 characters was plain words in the HTML part and on the page: a
    French phrase before the cut lost its lang, an abbreviation its title, CO<sub>2</sub>
    read CO₂ as text. What the cut keeps keeps its markup, each element closed."""
    first = (
        'He said <span lang="fr">je ne sais quoi</span> of the <abbr title="Regional Climate'
        ' Council">RCC</abbr> plan, <em>then <span lang="de">noch einmal</span> more</em> '
    )
    inside_em = (
        '<em>then <span lang="de">noch einmal</span> and words that run on past the cut</em>'
    )
    quoted = "word " * 45 + "<q>a quoted phrase that runs on across the cut point</q> " + "x " * 40
    articles = [
        quick_read("cut", "2026-03-11T09:00:00Z", standfirst=first + "word " * 60),
        quick_read("inside", "2026-03-11T10:00:00Z", standfirst="word " * 40 + inside_em),
        quick_read(
            "sub",
            "2026-03-11T11:00:00Z",
            standfirst="word " * 46 + "CO<sub>2</sub> rises further today",
        ),
        quick_read("quoted", "2026-03-11T12:00:00Z", standfirst=quoted),
    ]
    digest = assemble(articles, date(2026, 3, 12), SEVEN, ZoneInfo("UTC"), SETTINGS)
    items = digest_context(digest, SETTINGS, "https://news.example.org/u")["items"]
    cut, inside, sub, quoted_item = (str(item["teaser"]) for item in items)
    assert cut.startswith(
        'He said <span lang="fr">je ne sais quoi</span> of the <abbr title="Regional Climate'
        ' Council" class="expands">RCC</abbr> plan, <em>then <span lang="de">noch einmal</span>'
        " more</em> word"
    )
    assert '<em>then <span lang="de">noch einmal</span> and words' in inside
    assert inside.endswith("</em>" + ELLIPSIS)  # cut inside the <em>, which is closed
    assert "CO<sub>2</sub>" in sub
    for html, item in zip((cut, inside, sub), digest.items, strict=False):
        assert html.endswith(ELLIPSIS)
        fragment = lxml_html.fragment_fromstring(html, create_parent="p")
        # The same words as the plain teaser (the text twin's), <sub> aside.
        words = " ".join(fragment.text_content().split())
        assert words == item.teaser.replace("₂", "2"), (words, item.teaser)
        assert len(item.teaser) <= TEASER_LENGTH + 1
    # A cut inside a quotation: its plain words close the quote, no cut of the markup reads
    # the same, so the teaser stays the cut words.
    assert quoted_item == digest.items[3].teaser
    assert digest.items[3].teaser_field is None


def test_a_teaser_cut_inside_struck_words_keeps_them_struck():
    """A standfirst whose cut fell inside <s> went plain into the HTML part and the page:
    "Tickets were ~~very expensive…", tildes opened and never closed, the markup gone."""
    struck = "Tickets were <s>" + "very expensive indeed " * 15 + "</s> now cheaper."
    articles = [quick_read("struck", "2026-03-11T09:00:00Z", standfirst=struck)]
    digest = assemble(articles, date(2026, 3, 12), SEVEN, ZoneInfo("UTC"), SETTINGS)
    (item,) = digest.items
    assert item.teaser.startswith("Tickets were ~~very expensive")
    assert item.teaser.endswith(ELLIPSIS)
    (context,) = digest_context(digest, SETTINGS, "https://news.example.org/u")["items"]
    html = str(context["teaser"])
    assert html.startswith("Tickets were <s>very expensive indeed")
    assert html.endswith("</s>" + ELLIPSIS)
    assert "~" not in html
    fragment = lxml_html.fragment_fromstring(html, create_parent="p")
    # The same words as the plain teaser (the text twin's), less its opening "~~".
    assert " ".join(fragment.text_content().split()) == item.teaser.replace("~~", "")


@pytest.mark.parametrize(
    ("opening", "closing"),
    [
        ("<bdi>", "</bdi>"),
        ('<span dir="rtl" lang="ar">', "</span>"),
        ('<s><span dir="rtl" lang="ar">', "</span></s>"),
        ('<span lang="ar"><bdi>', "</bdi></span>"),
    ],
)
def test_a_teaser_cut_inside_isolated_words_keeps_them_isolated(opening, closing):
    """A cut inside a <bdi> or <span dir> (an Arabic name in an English paragraph) fell back
    to the plain words: its language lost (WCAG 3.1.2) and an isolate opened, never closed.
    It is closed at the cut as struck words are, nested ones too."""
    arabic = "حزب العمال الجديد " * 20
    standfirst = "The vote went to " + opening + arabic + closing + " by evening."
    articles = [quick_read("isolated", "2026-03-11T09:00:00Z", standfirst=standfirst)]
    digest = assemble(articles, date(2026, 3, 12), SEVEN, ZoneInfo("UTC"), SETTINGS)
    (item,) = digest.items
    # The plain teaser (the text twin's) closes the isolate after its ellipsis; the markup
    # closes its element, and the ellipsis follows it with no stray PDI.
    assert item.teaser.endswith(ELLIPSIS + "\u2069")
    assert item.teaser_field is not None
    assert item.teaser_tail == ELLIPSIS
    (context,) = digest_context(digest, SETTINGS, "https://news.example.org/u")["items"]
    html = str(context["teaser"])
    assert html.startswith("The vote went to " + opening)
    assert html.endswith(closing + ELLIPSIS)
    assert "\u2068" not in html
    assert "\u2069" not in html
    fragment = lxml_html.fragment_fromstring(html, create_parent="p")
    assert fragment.xpath("//bdi | //span[@dir='rtl']")
    assert bool(fragment.xpath("//*[@lang='ar']")) == ("lang" in opening)
    plain = item.teaser.replace("~~", "").translate(dict.fromkeys(range(0x2066, 0x206A)))
    assert " ".join(fragment.text_content().split()) == " ".join(plain.split())


def test_a_teaser_cut_inside_a_written_isolate_inside_an_element_stays_plain():
    """An isolate written as characters (FSI … PDI) inside a <bdi>, the cut inside both: the
    markup closed the <bdi> with the FSI still open in it, and its PDI came after the
    element, crossing it. Such a teaser stays the plain words, balanced."""
    arabic = "حزب العمال الجديد " * 20
    standfirst = "The vote went to <bdi>Party \u2068" + arabic + "\u2069</bdi> by evening."
    articles = [quick_read("written", "2026-03-11T09:00:00Z", standfirst=standfirst)]
    digest = assemble(articles, date(2026, 3, 12), SEVEN, ZoneInfo("UTC"), SETTINGS)
    (item,) = digest.items
    assert item.teaser_field is None
    (context,) = digest_context(digest, SETTINGS, "https://news.example.org/u")["items"]
    assert bidi_problem(str(context["teaser"])) is None


def test_the_digest_s_own_lines_read_left_to_right_under_a_publisher_named_in_arabic():
    """The title opened with the publisher's Arabic name and had no mark: a client showed
    the English title right to left."""
    settings = Settings(base_url="https://news.example.org", publisher_name="النشرة اليومية")
    articles = [quick_read("en", "2026-03-11T09:00:00Z")]
    digest = assemble(articles, date(2026, 3, 12), SEVEN, ZoneInfo("UTC"), settings, more=3)
    lines = digest_text(digest, settings).splitlines()
    assert lines[0] == "\u200eالنشرة اليومية: the digest for Thursday, March 12, 2026"
    assert all(bidi_problem(line) is None for line in lines)
