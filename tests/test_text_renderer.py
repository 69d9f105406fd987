"""The plain-text rendering: wrapped, notes as [n], links written out, every word kept."""

from __future__ import annotations

import pytest

from service.text_renderer import render_text
from service.validation import validate_article

from .conftest import runtime_of
from .corpus import article_words, bad_examples, corpus, every_block

ARTICLES = corpus()


def test_text_rendering(post_json):
    response = post_json("/v1/render/text", every_block())
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert text.startswith("Every block & every element\n===")
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
