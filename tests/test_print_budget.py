"""The print budget: an article too dense to print is refused before layout, by pointer, and
the densest one it lets through prints well inside the time limit."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service import create_app
from service.print_budget import LIMIT

from . import hostile
from .conftest import runtime_of

CONFIG = {"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://", "PDF_WORKERS": 1}


def make_client(**config):
    app = create_app({**CONFIG, **config})
    return app.test_client(), runtime_of(app).printer


@pytest.fixture(scope="module")
def pdf_client():
    client, _ = make_client()
    return client


@pytest.mark.parametrize(
    ("build", "pointer"),
    [
        (lambda: hostile.table_cells(2_500), "/body/0"),
        (lambda: hostile.list_items(1_000), "/body/1"),
        (hostile.everything, "/body/1"),
        (lambda: hostile.pull_quotes(2_000), "/body/619"),
    ],
    ids=["2500-cells", "1000-items", "everything", "2000-pull-quotes"],
)
def test_an_article_too_dense_to_print_is_refused_before_layout(pdf_client, build, pointer):
    """Valid for every other format, but more layout than one PDF may take."""
    started = time.monotonic()
    response = pdf_client.post("/v1/render/pdf", json=build())
    assert time.monotonic() - started < 3
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["type"].endswith("/render-limit")
    assert [e["pointer"] for e in problem["errors"]] == [pointer]
    assert f"{LIMIT:,}" in problem["detail"]


@pytest.mark.parametrize(
    "kind",
    [
        "list-items",
        "table-cells",
        "note-references",
        "elements",
        "characters",
        "japanese",
        "combining-marks",
        "pull-quotes",
        # About 2 ms each, and weighed as three characters: 9,000 held a printer 20 s.
        "emoji",
        "flags",
        "emoji-names",
        "skin-tone-bases",
    ],
)
def test_the_densest_article_the_budget_allows_prints_in_time(kind):
    """The estimate is honest: at the budget's edge a PDF takes well under the time limit."""
    client, _ = make_client(PDF_TIME_LIMIT=20)
    article = hostile.densest(kind)
    started = time.monotonic()
    response = client.post("/v1/render/pdf", json=article)
    seconds = time.monotonic() - started
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert seconds < 15, seconds


def test_images_weigh_by_their_pixels_once_each():
    """Eight 5-megapixel photos once held a printer 2.4 s while weighing only their alt text."""
    from service.print_budget import FETCHED_IMAGE, IMAGE_PIXELS, layout_cost
    from service.reading import read
    from service.validation import validate_article

    def weight(*sources: str) -> int:
        blocks = [{"type": "image", "src": src, "alt": "A photo"} for src in sources]
        return layout_cost(read(validate_article(hostile.article(blocks))))

    small, large = hostile.png_header(100, 100), hostile.png_header(2_500, 2_000)
    one_small = weight(small)
    assert weight(large) - one_small == (5_000_000 - 10_000) // IMAGE_PIXELS
    assert weight(large, large) - weight(large) == weight(small, small) - one_small  # a block
    fetched = "https://images.example.org/photo.jpg"
    assert weight(fetched) - one_small == FETCHED_IMAGE - 10_000 // IMAGE_PIXELS
    eight = [hostile.png_header(2_500, 1_999 - n) for n in range(8)]  # all the pixels allowed
    assert weight(*eight) > 39_900_000 // IMAGE_PIXELS


def test_bidirectional_controls_weigh_the_square_of_their_number(pdf_client):
    """An isolate around each letter: one 19,000-character paragraph took 4.4 s of layout at
    a weight of 42,000, and three of them 15 s, past three quarters of the time limit."""
    isolated = ("\u2067a\u2069" * 4 + " ") * 1460
    started = time.monotonic()
    paragraph = {"type": "paragraph", "text": isolated}
    response = pdf_client.post("/v1/render/pdf", json=hostile.article([paragraph]))
    assert time.monotonic() - started < 3
    assert response.status_code == 422
    assert [e["pointer"] for e in response.get_json()["errors"]] == ["/body/0"]
    names = "Talks with " + ", ".join(["\u2067\u05e9\u05e8\u05d4\u2069"] * 40) + "."
    names_article = hostile.article([{"type": "paragraph", "text": names}])
    assert pdf_client.post("/v1/render/pdf", json=names_article).status_code == 200


def test_a_character_beyond_latin_weighs_three():
    """Japanese, many scripts in turn, and stacked marks took about three times as long to
    lay out as English of the same length; French costs as English."""
    from service.print_budget import layout_cost
    from service.reading import read
    from service.validation import validate_article

    from .corpus import minimal

    def weight(text: str) -> int:
        body = [{"type": "paragraph", "text": text}]
        return layout_cost(read(validate_article(minimal(body=body)))) - layout_cost(
            read(validate_article(minimal(body=[{"type": "paragraph", "text": "x"}])))
        )

    english = weight("w" * 3_000)
    assert weight("é" * 3_000) == english  # Latin-1 and Latin Extended
    assert weight("漢" * 3_000) == english + 2 * 3_000
    marks = ("a" + "\u0301" * 29 + " ") * 100
    assert weight(marks) == weight("w" * len(marks)) + 2 * 2_900


def test_an_emoji_weighs_as_much_as_it_prints_and_a_symbol_as_a_letter():
    """Drawn from the colour emoji font, a pictograph costs about 2 ms where it is drawn,
    in the running heads on every page; a symbol a text font draws (★ ✓ ▶) costs as text,
    and a comparison table of ✓ and ✗ was once refused for it."""
    from service.print_budget import BEYOND_LATIN, EMOJI, RUNNING_HEAD_PAGES, layout_cost
    from service.reading import read
    from service.validation import validate_article

    from .corpus import minimal

    def weight(text: str, **fields) -> int:
        article = minimal(body=[{"type": "paragraph", "text": text}], **fields)
        return layout_cost(read(validate_article(article)))

    base = weight("x")
    symbols = "★✓✗▶☀♥⚠☎⌘■●©®™→•"
    beyond = sum(ord(c) > 0x24F for c in symbols)  # © and ® are Latin-1
    assert weight("x" + symbols) - base == len(symbols) + beyond * BEYOND_LATIN
    # A flag's two halves, a symbol a VS16 makes an emoji, one that takes a skin tone, and
    # two symbols a joiner makes one (☝ and ☺‍☺ once printed in colour weighed as text).
    emoji = "😀⭐🇪🇸✨❌⌚☀\ufe0f☝☺\u200d☺"
    assert weight("x" + emoji) - base == len(emoji) * (1 + BEYOND_LATIN) + 11 * EMOJI
    headline = weight("x", headline="A headline 😀")
    assert headline - weight("x", headline="A headline x") == EMOJI * (1 + RUNNING_HEAD_PAGES) + 2
    # An edition prints its title where the publisher's name was: its emoji weigh so.
    reading = read(validate_article(minimal(publisher={"name": "Gazette 😀"})))
    in_its_byline = layout_cost(reading, publisher_head="Gazette x")
    assert layout_cost(reading) - in_its_byline == EMOJI * RUNNING_HEAD_PAGES
    assert (
        layout_cost(reading, publisher_head="😀 😀") - layout_cost(reading, publisher_head="x x")
        == 2 * EMOJI * RUNNING_HEAD_PAGES
    )


@given(st.lists(st.integers(0, 5_000), min_size=1, max_size=50))
def test_fixed_columns_share_the_whole_width_as_their_cells_ask(lengths):
    from types import SimpleNamespace

    from service.print_budget import column_widths

    header = [SimpleNamespace(text="x" * length) for length in lengths]
    widths = column_widths(SimpleNamespace(header=header, rows=[header]))
    assert sum(widths) == 100  # more would run off the sheet
    assert min(widths) >= 1
    weights = [min(max(length, 4), 60) for length in lengths]
    for a, b in zip(weights, widths, strict=True):  # a longer column is never narrower
        for c, d in zip(weights, widths, strict=True):
            if a > c:
                assert b >= d
