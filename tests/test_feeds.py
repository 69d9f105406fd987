"""The Atom feed against the rules of RFC 4287 a test can check; the JSON Feed 1.1 likewise."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlsplit

import pytest
from lxml import etree

from .corpus import minimal, right_to_left

A = "{http://www.w3.org/2005/Atom}"


def _quick_read(n: int, **fields) -> dict:
    article = minimal(
        id=f"quick-{n}",
        kind="quick-read",
        standfirst=f"Summary {n}.",
        published_at=f"2026-03-1{n}T08:00:00+01:00",
    )
    article["headline"] = f"Headline {n}"
    merged = {**article, **fields}
    return {key: value for key, value in merged.items() if value is not None}


@pytest.fixture
def feeds(api):
    api.put(_quick_read(1))
    api.put(_quick_read(2, updated_at="2026-03-12T18:00:00Z"))
    api.put(_quick_read(3, headline="Fish &amp; chips <em>at last</em>", standfirst=None))
    api.put(minimal(id="not-a-quick-read", published_at="2026-03-19T08:00:00Z"))
    api.put(right_to_left())
    return api


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.netloc)


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert moment.tzinfo is not None
    return moment


def test_the_atom_feed_follows_rfc_4287(feeds):
    response = feeds.get("/feed.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    feed = etree.fromstring(response.data)  # raises on XML that is not well formed
    assert feed.tag == f"{A}feed"
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"{A}{name}")) == 1, name
    assert feed.findtext(f"{A}author/{A}name") == "Test Publisher"
    assert feed.find(f"{A}link[@rel='self']").get("href") == "https://news.example.org/feed.atom"

    entries = feed.findall(f"{A}entry")
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{A}{name}")) == 1, (entry.findtext(f"{A}id"), name)
        _moment(entry.findtext(f"{A}updated"))
        _moment(entry.findtext(f"{A}published"))
        assert entry.find(f"{A}link[@rel='alternate']") is not None
        assert _absolute(entry.findtext(f"{A}id"))
    links = [link.get("href") for link in feed.iter(f"{A}link")]
    assert links
    assert all(_absolute(href) for href in links)
    _moment(feed.findtext(f"{A}updated"))

    ids = [entry.findtext(f"{A}id") for entry in entries]
    assert len(set(ids)) == len(ids)
    assert ids == [
        "https://news.example.org/articles/quick-3",
        "https://news.example.org/articles/quick-2",
        "https://news.example.org/articles/rtl-arabic",  # 06:00Z, an hour before quick-2
        "https://news.example.org/articles/quick-1",
    ]


def test_atom_entries_carry_words_language_and_dates(feeds):
    feed = etree.fromstring(feeds.get("/feed.atom").data)
    entries = {
        entry.findtext(f"{A}id").rsplit("/", 1)[1]: entry for entry in feed.iter(f"{A}entry")
    }
    assert entries["quick-3"].findtext(f"{A}title") == "Fish & chips at last"
    assert entries["quick-3"].find(f"{A}summary") is not None  # the first paragraph
    assert entries["quick-2"].findtext(f"{A}summary") == "Summary 2."
    assert entries["quick-2"].findtext(f"{A}updated") == "2026-03-12T18:00:00Z"
    assert entries["quick-1"].findtext(f"{A}updated") == "2026-03-11T07:00:00Z"
    xml_lang = "{http://www.w3.org/XML/1998/namespace}lang"
    assert entries["rtl-arabic"].get(xml_lang) == "ar"
    pdf = entries["quick-1"].find(f"{A}link[@rel='enclosure']")
    assert pdf.get("href") == "https://news.example.org/articles/quick-1.pdf"


def test_the_atom_feed_is_as_new_as_its_newest_entry(feeds):
    feed = etree.fromstring(feeds.get("/feed.atom").data)
    assert feed.findtext(f"{A}updated") == "2026-03-13T07:00:00Z"  # quick-3, published


def test_a_store_no_feed_entry_shows_leaves_the_feeds_as_they_were(feeds):
    """The Atom feed's updated was the last store of any kind: another kind of article
    stored made a new feed body, a new ETag, and every reader fetched the same entries."""
    for n, path in enumerate(("/feed.atom", "/feed.json")):
        before = feeds.get(path)
        assert feeds.put(minimal(id=f"long-read-{n}")).status_code == 201
        again = feeds.get(path, headers={"If-None-Match": before.headers["ETag"]})
        assert again.status_code == 304, path


def test_an_empty_atom_feed_is_still_valid(api):
    feed = etree.fromstring(api.get("/feed.atom").data)
    assert feed.findall(f"{A}entry") == []
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"{A}{name}")) == 1


def test_a_summary_cut_inside_a_bidirectional_override_closes_it(api):
    """The first paragraph is cut at 280 characters; an override left open there reversed
    whatever a feed reader showed after the summary."""
    from service.characters import bidi_problem

    paragraph = "word " * 54 + "\u202eturned around here\u202c and the paragraph goes on."
    article = minimal(id="cut", kind="quick-read", body=[{"type": "paragraph", "text": paragraph}])
    article.pop("standfirst", None)
    assert api.put(article).status_code == 201
    summary = api.get("/feed.json").get_json()["items"][0]["summary"]
    assert "\u202e" in summary
    assert summary.endswith("\u202c")
    assert bidi_problem(summary) is None
    atom = etree.fromstring(api.get("/feed.atom").data).findtext(f"{A}entry/{A}summary")
    assert atom == summary


def test_the_json_feed_follows_version_1_1(feeds):
    response = feeds.get("/feed.json")
    assert response.status_code == 200
    assert response.mimetype == "application/feed+json"
    feed = json.loads(response.data)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Test Publisher: quick reads"
    assert feed["feed_url"] == "https://news.example.org/feed.json"
    assert [item["id"] for item in feed["items"]] == [
        "https://news.example.org/articles/quick-3",
        "https://news.example.org/articles/quick-2",
        "https://news.example.org/articles/rtl-arabic",  # 06:00Z, an hour before quick-2
        "https://news.example.org/articles/quick-1",
    ]
    for item in feed["items"]:
        assert {"id", "url", "title"} <= set(item)
        assert _absolute(item["url"])
        assert item["title"]
        assert item.get("content_text") or item.get("content_html")
        _moment(item["date_published"])
    assert feed["items"][0]["title"] == "Fish & chips at last"


@pytest.mark.parametrize("path", ["/feed.atom", "/feed.json"])
def test_feeds_answer_304_until_a_quick_read_changes(feeds, path):
    first = feeds.get(path)
    assert feeds.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    feeds.put(_quick_read(4))
    again = feeds.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
    assert b"quick-4" in again.data


@pytest.fixture
def credited(api):
    """Three quick reads: one by two authors (one with a link), one by its publisher alone,
    one crediting no one (the site's name, PUBLISHER_NAME, stands for it)."""
    authors = [{"name": "Priya Ramanathan", "url": "https://example.org/priya"}, {"name": "Ó Sé"}]
    publisher = {"name": "Northside Daily Brief", "url": "https://northside.example/"}
    api.put(_quick_read(1, authors=authors, publisher=publisher))
    api.put(_quick_read(2, publisher=publisher))
    api.put(_quick_read(3))
    return api


def test_atom_entries_credit_their_authors_else_their_publisher(credited):
    """RFC 4287 §4.2.1: an entry without an author takes the feed's, so each entry that
    names someone says so itself; before, every article read as written by the site."""
    feed = etree.fromstring(credited.get("/feed.atom").data)
    assert feed.findtext(f"{A}author/{A}name") == "Test Publisher"
    entries = {
        entry.findtext(f"{A}id").rsplit("/", 1)[1]: entry for entry in feed.iter(f"{A}entry")
    }

    def credits(entry):
        return [
            (a.findtext(f"{A}name"), a.findtext(f"{A}uri")) for a in entry.findall(f"{A}author")
        ]

    assert credits(entries["quick-1"]) == [
        ("Priya Ramanathan", "https://example.org/priya"),
        ("Ó Sé", None),
    ]
    assert credits(entries["quick-2"]) == [("Northside Daily Brief", "https://northside.example/")]
    assert credits(entries["quick-3"]) == []


def test_json_feed_items_credit_their_authors_else_their_publisher(credited):
    feed = credited.get("/feed.json").get_json()
    assert feed["authors"] == [{"name": "Test Publisher"}]
    items = {item["id"].rsplit("/", 1)[1]: item for item in feed["items"]}
    assert items["quick-1"]["authors"] == [
        {"name": "Priya Ramanathan", "url": "https://example.org/priya"},
        {"name": "Ó Sé"},
    ]
    assert items["quick-2"]["authors"] == [
        {"name": "Northside Daily Brief", "url": "https://northside.example/"}
    ]
    assert "authors" not in items["quick-3"]  # JSON Feed 1.1: the feed's authors apply
