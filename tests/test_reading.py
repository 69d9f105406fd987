"""The one walk over an article, and every renderer following it reference for reference."""

from __future__ import annotations

import re

import pytest
from lxml import html as lxml_html

from service.email_renderer import render_email
from service.html_renderer import render_html
from service.labels import labels_for
from service.pdf_renderer import PrintJob
from service.reading import Anchors, prefix_for, read
from service.text_renderer import article_text
from service.validation import validate_article

from .conftest import runtime_of
from .corpus import corpus, every_block, many_notes

ARTICLES = corpus()


def _pointer(document, pointer: str):
    for token in pointer.lstrip("/").split("/"):
        document = document[int(token)] if isinstance(document, list) else document[token]
    return document


def _inline_sources(article: dict) -> list[str]:
    """Every inline string of the JSON, in the order SPEC §1 lists the fields of each block."""
    texts = [article["headline"]] + ([article["standfirst"]] if "standfirst" in article else [])
    for block in article["body"]:
        for key in ("text", "attribution", "caption", "credit"):
            if block.get(key):
                texts.append(block[key])
        texts += block.get("items", []) + block.get("header", [])
        for row in block.get("rows", []):
            texts += row
    return texts


def test_notes_numbered_by_first_reference_then_unreferenced():
    reading = read(validate_article(every_block()))
    assert [(n.source.id, n.number, n.label, len(n.references)) for n in reading.notes] == [
        ("first", 1, "1", 2),
        ("second", 2, "2", 2),
        ("third", 3, "3", 2),
        ("never", 4, "4", 0),
    ]
    assert [(r.note_id, r.occurrence) for r in reading.references] == [
        ("first", 1),
        ("second", 1),
        ("first", 2),
        ("third", 1),
        ("second", 2),
        ("third", 2),
    ]


def test_labels_follow_the_numbering_style_and_backlinks_get_letters():
    reading = read(validate_article(many_notes(12)))
    assert [r.label for r in reading.references][:3] == ["i", "ii", "iii"]
    first = reading.note("n1")
    assert [(b.anchor, b.letter) for b in first.backlinks] == [
        ("ref-n1-1", "a"),
        ("ref-n1-2", "b"),
    ]
    assert [b.letter for b in reading.note("n2").backlinks] == [""]


@pytest.mark.parametrize("name", ARTICLES)
def test_every_field_is_read_once_in_order_and_points_at_its_source(name):
    raw = ARTICLES[name]
    reading = read(validate_article(raw))
    fields = list(reading.fields())
    body = [f for f in fields if f.pointer.startswith(("/headline", "/standfirst", "/body"))]
    assert [f.source.source for f in body] == _inline_sources(raw)
    for field in fields:
        assert _pointer(raw, field.pointer) == field.source.source
    assert [r for f in fields for r in f.references] == list(reading.references)
    for note in reading.notes:
        assert note.references == tuple(
            r for r in reading.references if r.note_id == note.source.id
        )


def test_prefixed_anchors_and_the_prefix_rule():
    article = validate_article(every_block())
    reading = read(article, prefix_for(3))
    assert reading.anchors == Anchors("a3-")
    assert (reading.anchors.headline, reading.anchors.notes_heading) == (
        "a3-headline",
        "a3-notes-heading",
    )
    assert reading.references[0].anchor == "a3-ref-first-1"
    assert reading.references[0].note_anchor == "a3-note-first"
    assert [n.anchor for n in reading.notes][:2] == ["a3-note-first", "a3-note-second"]
    assert read(article).references[0].anchor == "ref-first-1"
    for bad in ("a3", "3a-", "a-b-", "A1-", "a1 -"):
        with pytest.raises(ValueError, match="prefix"):
            read(article, bad)


# Each renderer's references, in the order it emits them, must be the model's sequence:
# a renderer that skipped, repeated or reordered a field fails here.


@pytest.mark.parametrize("name", ARTICLES)
def test_page_and_print_follow_the_reading(app, name):
    runtime = runtime_of(app)
    article = validate_article(ARTICLES[name])
    reading = read(article)
    expected = [(f"#{r.note_anchor}", r.anchor, r.label) for r in reading.references]
    backlinks = [[f"#{r.anchor}" for r in note.references] for note in reading.notes]
    pages = {
        "page": render_html(article, runtime.env, runtime.settings),
        "print": PrintJob(article, runtime.env, runtime.settings, "a4").html,
    }
    for page in pages.values():
        doc = lxml_html.document_fromstring(page)
        refs = doc.xpath("//a[@role='doc-noteref']")
        assert [(a.get("href"), a.get("id"), a.text_content().split()[-1]) for a in refs] == (
            expected
        )
        items = doc.xpath("//section[@role='doc-endnotes']/ol/li")
        assert [li.get("id") for li in items] == [note.anchor for note in reading.notes]
        assert [
            [a.get("href") for a in li.xpath("a[@role='doc-backlink']")] for li in items
        ] == backlinks


@pytest.mark.parametrize("name", ARTICLES)
def test_email_follows_the_reading(app, name):
    runtime = runtime_of(app)
    article = validate_article(ARTICLES[name])
    reading = read(article)
    body = render_email(article, runtime.env, runtime.settings, runtime.inliner)
    doc = lxml_html.document_fromstring(body.html)
    url = runtime.settings.article_url(article.id)
    assert [(a.text, a.get("href")) for a in doc.xpath("//a[@class='noteref']")] == [
        (f"[{r.label}]", f"{url}#note-{r.note_id}") for r in reading.references
    ]
    notes = [li.text_content() for li in doc.xpath("//div[@class='notes']//li")]
    assert [n.split("]")[0] + "]" for n in notes] == [f"[{n.label}]" for n in reading.notes]


@pytest.mark.parametrize("name", ARTICLES)
def test_text_follows_the_reading(name):
    article = validate_article(ARTICLES[name])
    reading = read(article)
    text = article_text(reading)
    notes_heading = labels_for(article.language)["notes"]
    body, _, notes = text.partition(f"\n\n{notes_heading}\n{'-' * len(notes_heading)}\n\n")
    assert re.findall(r"\[([0-9a-z]+)\]", body) == [r.label for r in reading.references]
    # A note line may begin with the article's direction mark (text_renderer.in_direction).
    found = re.findall(r"^[\u200e\u200f]?\[([0-9a-z]+)\]", notes, re.MULTILINE)
    assert found == [n.label for n in reading.notes]


def test_backlink_letters_never_turn_into_digits():
    from service.reading import backlink_letter

    letters = [backlink_letter(n) for n in range(1, 60)]
    assert letters[:3] == ["a", "b", "c"]
    assert letters[25:29] == ["z", "aa", "ab", "ac"]
    assert all(letter.isalpha() for letter in letters)
    assert len(set(letters)) == len(letters)
