"""Planning an edition: limits refused up front, defaults, contents; progress and page caps."""

from __future__ import annotations

from datetime import date

import pytest

from service.edition_printer import print_edition
from service.editions import EditionLimits, contents, plan_edition
from service.errors import EditionTooLarge, EmptyEdition, InvalidEdition
from service.printing import Printer
from service.settings import Settings
from service.templating import build_environment
from service.validation import validate_article

from .corpus import examples, hebrew, long_article, minimal


def _articles(count: int):
    return [validate_article(minimal(id=f"piece-{n}", headline=f"Piece {n}")) for n in range(count)]


class NoPrinter:
    """A printer that must not be reached: refusals come before any printing."""

    max_pages = 60

    def print(self, *args, **kwargs):
        raise AssertionError("printed although the edition should have been refused")


def test_an_empty_edition_is_refused():
    with pytest.raises(EmptyEdition) as refused:
        plan_edition([], publication="P", limits=EditionLimits())
    problem = refused.value.problem()
    assert problem["status"] == 422
    assert problem["type"].endswith("/empty-edition")


def test_too_many_articles_are_refused_before_printing():
    with pytest.raises(EditionTooLarge) as refused:
        plan_edition(_articles(4), publication="P", limits=EditionLimits(max_articles=3))
    assert refused.value.detail == "The edition has 4 articles; the limit is 3."
    assert refused.value.problem()["type"].endswith("/edition-limit")
    assert refused.value.status == 422
    # At the limit it is accepted, and nothing is cut.
    edition = plan_edition(_articles(3), publication="P", limits=EditionLimits(max_articles=3))
    assert len(edition.articles) == 3


def test_an_article_too_long_for_the_page_cap_is_refused_up_front():
    articles = [*_articles(2), validate_article(long_article(400))]
    with pytest.raises(EditionTooLarge) as refused:
        plan_edition(articles, publication="P", limits=EditionLimits(max_pages_per_article=2))
    assert refused.value.detail.startswith("Article 3 (long-article) has ")
    assert "the limit is 2 pages per article" in refused.value.detail


def test_the_same_article_twice_is_refused():
    article = validate_article(minimal())
    with pytest.raises(InvalidEdition, match="appears twice"):
        plan_edition([article, article], publication="P", limits=EditionLimits())


def test_defaults_title_date_and_language_come_from_the_articles():
    spanish = validate_article(examples()["mercado-es"])
    english = validate_article(examples()["bike-lanes"])
    edition = plan_edition(
        [english, spanish, validate_article({**examples()["mercado-es"], "id": "otra"})],
        publication="P",
        limits=EditionLimits(),
    )
    assert edition.language == "es"
    assert edition.title == "Edición"
    assert edition.date == max(spanish.published_at, english.published_at).date()
    assert edition.layout == "edition"
    chosen = plan_edition(
        [english],
        publication="P",
        limits=EditionLimits(),
        title="  Late  ",
        on=date(2026, 1, 2),
        for_press=True,
    )
    assert (chosen.title, chosen.date, chosen.layout) == ("Late", date(2026, 1, 2), "press")


@pytest.mark.parametrize(
    ("published_at", "zone", "day"),
    [
        ("2026-03-12T23:30:00Z", "Europe/Paris", date(2026, 3, 13)),
        ("2026-03-12T23:30:00Z", "UTC", date(2026, 3, 12)),
        # The article's own offset says the 13th; in New York it is still the 12th.
        ("2026-03-13T01:30:00+02:00", "America/New_York", date(2026, 3, 12)),
        # Paris's day is past the calendar's end: the day in UTC (it was a 500).
        ("9999-12-31T23:30:00Z", "Europe/Paris", date(9999, 12, 31)),
    ],
)
def test_the_default_date_is_the_latest_article_s_day_in_the_service_s_zone(
    published_at, zone, day
):
    """The day edition of TIMEZONE's day holds the article; a POST without a date dated
    the cover by the article's own offset, a day whose edition did not hold it."""
    from zoneinfo import ZoneInfo

    article = validate_article(minimal(id="late", published_at=published_at))
    edition = plan_edition([article], publication="P", limits=EditionLimits(), zone=ZoneInfo(zone))
    assert edition.date == day


def test_contents_number_article_pages_from_one():
    edition = plan_edition(_articles(3), publication="P", limits=EditionLimits())
    entries = contents(edition, [2, 1, 3])
    assert [(e.first_page, e.anchor) for e in entries] == [
        (1, "article-1"),
        (3, "article-2"),
        (4, "article-3"),
    ]
    with pytest.raises(ValueError, match=r"shorter|longer"):
        contents(edition, [1, 1])


def test_progress_counts_every_article_and_page_cap_names_the_article():
    env, settings = build_environment(), Settings()
    seen = []
    edition = plan_edition(
        [*_articles(2), validate_article(hebrew())], publication="P", limits=EditionLimits()
    )
    data = print_edition(
        edition,
        env,
        settings,
        Printer(max_pages=60),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert data.startswith(b"%PDF-")
    assert seen == [(1, 3), (2, 3), (3, 3)]
    # Few characters, many lines: passes the bound before printing, then meets the page cap.
    crowded = minimal(
        id="crowded",
        body=[{"type": "list", "style": "numbered", "items": [f"item {n}" for n in range(200)]}],
    )
    edition = plan_edition(
        [*_articles(1), validate_article(crowded)], publication="P", limits=EditionLimits()
    )
    with pytest.raises(EditionTooLarge) as refused:
        print_edition(edition, env, settings, Printer(max_pages=2))
    assert refused.value.detail.startswith("Article 2 (crowded): The article would print on ")
    assert refused.value.detail.endswith("the limit is 2.")


def test_contents_past_their_own_allowance_are_a_clear_refusal(monkeypatch):
    """The cover and contents are not held to PDF_MAX_PAGES, which caps each article
    (tests/test_edition_printer.py), but to a page for the cover and one for each entry;
    past an allowance (made small here: no real contents reach it) the refusal says so."""
    from service import edition_printer

    monkeypatch.setattr(edition_printer, "front_matter_pages", lambda max_pages, articles: 2)
    env, settings = build_environment(), Settings()
    edition = plan_edition(_articles(120), publication="P", limits=EditionLimits())
    with pytest.raises(EditionTooLarge) as refused:
        print_edition(edition, env, settings, Printer(max_pages=2))
    assert refused.value.detail.startswith("The cover and contents of 120 articles: ")
    assert refused.value.detail.endswith("the limit is 2.")


@pytest.mark.parametrize(
    ("language", "title", "h1_lang", "h2_lang"),
    [
        ("ja", None, "en", "en"),  # no Japanese words here: English, marked English
        ("ja", "朝刊", None, "en"),  # the publisher's own title is in the edition's language
        ("es", None, None, None),
        ("en-GB", None, None, None),
        # Egyptian Arabic reads Arabic's words (they were English); Arabic in Latin letters
        # reads no Arabic script (it took the Arabic words, unmarked).
        ("arz", None, "ar", "ar"),
        ("ar-Latn", None, "en", "en"),
    ],
)
def test_cover_words_in_another_language_say_so(language, title, h1_lang, h2_lang):
    """PDF/UA declares every change of language: the cover's "Edition" and "Contents" fell
    back to English in a Japanese edition and were read as Japanese."""
    from lxml import html as lxml_html

    from service.editions import contents, front_matter_context
    from service.templating import build_environment

    article = validate_article(minimal(language=language))
    edition = plan_edition([article], publication="P", limits=EditionLimits(), title=title)
    context = front_matter_context(edition, contents(edition, [1]))
    page = build_environment().get_template("editions/front.html").render(context)
    doc = lxml_html.document_fromstring(page)
    assert doc.xpath("string(/html/@lang)") == language
    assert doc.xpath("//h1")[0].get("lang") == h1_lang
    assert doc.xpath("//h2")[0].get("lang") == h2_lang
    if h2_lang:
        assert doc.xpath("//h2")[0].get("dir") == ("rtl" if h2_lang == "ar" else "ltr")
    # The date in the locale's language, marked when it is another (it was left unmarked).
    date_lang = {"arz": "ar", "ar-Latn": "en"}.get(language)
    assert doc.xpath("//time/@lang") == ([date_lang] if date_lang else [])
