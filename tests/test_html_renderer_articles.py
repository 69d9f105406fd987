"""Several articles in one page: ids belong to their article, and every note link finds its way."""

from __future__ import annotations

from collections import Counter

import pytest
from lxml import html as lxml_html
from markupsafe import Markup

from service.html_renderer import render_articles_page
from service.page import article_context
from service.validation import validate_article

from .conftest import runtime_of
from .corpus import examples

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def _story(article_id: str, headline: str, note: str) -> dict:
    """Articles that share everything a careless page would collide on: note id, headings."""
    return {
        "id": article_id,
        "headline": headline,
        "standfirst": "What happened, in one line.",
        "published_at": "2026-03-12T08:00:00+01:00",
        "body": [
            {"type": "heading", "level": 2, "text": "Background"},
            {"type": "paragraph", "text": "The council met on Monday. [^i]"},
            {"type": "heading", "level": 2, "text": "What happens next"},
            {"type": "paragraph", "text": "A vote follows in April. [^i] [^ii]"},
        ],
        "notes": [{"id": "i", "text": note}, {"id": "ii", "text": f"{note} Appendix."}],
    }


STORIES = [
    _story("bike-lanes", "Council approves bike lanes", "Minutes of the transport committee."),
    _story("library", "Library opens on Sundays", "Press release from the library board."),
]


@pytest.fixture
def page(app):
    runtime = runtime_of(app)
    articles = [validate_article(story) for story in STORIES]
    return render_articles_page(
        articles, runtime.env, runtime.settings, title="Tuesday’s stories", language="en"
    )


def _unprefixed_page(app) -> str:
    """The same two articles with today's single-page ids: the page the prefix prevents."""
    runtime = runtime_of(app)
    fragment = runtime.env.get_template("rendering/_article.html")
    sections = [
        Markup(fragment.render(article_context(validate_article(story), runtime.settings)))
        for story in STORIES
    ]
    return runtime.env.get_template("rendering/articles.html").render(
        title="Tuesday’s stories",
        lang="en",
        dir="ltr",
        labels={"skip": "Skip to the article"},
        label_lang="",
        publisher_name="Test Publisher",
        articles=sections,
    )


def test_every_id_is_unique_and_carries_its_articles_prefix(page):
    doc = lxml_html.document_fromstring(page)
    ids = Counter(doc.xpath("//@id"))
    assert [name for name, count in ids.items() if count > 1] == []
    for position, article in enumerate(doc.xpath("//article"), start=1):
        inner = article.xpath(".//@id")
        assert inner
        assert all(name.startswith(f"a{position}-") for name in inner), inner


def test_note_links_lead_to_their_own_articles_notes_and_back(page):
    doc = lxml_html.document_fromstring(page)
    by_id = {element.get("id"): element for element in doc.xpath("//*[@id]")}
    articles = doc.xpath("//article")
    assert len(articles) == 2
    for article, story in zip(articles, STORIES, strict=True):
        refs = article.xpath(".//a[@role='doc-noteref']")
        assert len(refs) == 3
        for ref in refs:
            note = by_id[ref.get("href").removeprefix("#")]
            # The note is this article's, with this article's words, and links back here.
            assert note.tag == "li"
            assert note.xpath("ancestor::article")[0] is article
            note_id = "i" if ref.text_content().endswith("1") else "ii"
            text = next(n["text"] for n in story["notes"] if n["id"] == note_id)
            assert note.text.strip() == text
            backlinks = [a.get("href") for a in note.xpath(".//a[@role='doc-backlink']")]
            assert f"#{ref.get('id')}" in backlinks
        for backlink in article.xpath(".//a[@role='doc-backlink']"):
            target = by_id[backlink.get("href").removeprefix("#")]
            assert target.get("role") == "doc-noteref"
            assert target.xpath("ancestor::article")[0] is article
        for owner in [*article.xpath(".//*[@aria-labelledby]"), article]:
            for target_id in owner.get("aria-labelledby").split():
                assert by_id[target_id].xpath("ancestor::article")[0] is article


def test_headlines_sit_under_the_page_heading(page):
    doc = lxml_html.document_fromstring(page)
    assert [h.text_content() for h in doc.xpath("//h1")] == ["Tuesday’s stories"]
    assert [h.text_content() for h in doc.xpath("//article/header/h2")] == [
        "Council approves bike lanes",
        "Library opens on Sundays",
    ]
    assert [h.text for h in doc.xpath("//article//div[@class='article-body']/h3")] == [
        "Background",
        "What happens next",
    ] * 2


def test_nu_checker_finds_no_errors_and_would_find_the_collisions(app, page, nu_checker, tmp_path):
    results = nu_checker({"page": page, "unprefixed": _unprefixed_page(app)}, tmp_path)
    assert [(m.get("lastLine"), m["message"]) for m in results["page"]] == []
    duplicates = [m["message"] for m in results["unprefixed"] if "Duplicate ID" in m["message"]]
    assert duplicates, "the unprefixed page should repeat ids: the check above could not fail"


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations(axe, page, scheme):
    violations = axe(page, AXE_TAGS, color_scheme=scheme)
    summary = [(v["id"], v["help"], [n["html"][:120] for n in v["nodes"][:3]]) for v in violations]
    assert summary == []


def test_an_article_in_another_language_says_so_on_its_own_element(app):
    runtime = runtime_of(app)
    spanish = validate_article(examples()["mercado-es"])
    page = render_articles_page(
        [validate_article(STORIES[0]), spanish],
        runtime.env,
        runtime.settings,
        title="Stories",
        language="en",
    )
    doc = lxml_html.document_fromstring(page)
    assert doc.get("lang") == "en"
    assert [(a.get("lang"), a.get("dir")) for a in doc.xpath("//article")] == [
        ("en", "ltr"),
        ("es", "ltr"),
    ]
    notes_heading = doc.xpath("//article[2]//section[@role='doc-endnotes']/h3")[0]
    assert (notes_heading.get("id"), notes_heading.text) == ("a2-notes-heading", "Notas")
