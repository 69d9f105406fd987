"""The public pages: an article, the list of quick reads, the 404 page; caching and deletion."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import pytest
from lxml import html as lxml_html
from werkzeug.http import http_date

from service.errors import BadArticle
from service.html_renderer import render_html
from service.validation import validate_article

from .corpus import examples, minimal, right_to_left
from .test_html_renderer_quality import AXE_TAGS

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def _doc(response):
    assert response.mimetype == "text/html"
    return lxml_html.fromstring(response.data)


def _quick_read(n: int, **fields) -> dict:
    defaults = {
        "id": f"quick-{n:02d}",
        "kind": "quick-read",
        "headline": f"Quick read number {n}",
        "standfirst": f"What happened, number {n}.",
        "published_at": f"2026-03-{n:02d}T08:00:00Z",
    }
    return minimal(**{**defaults, **fields})


# The reading page ---------------------------------------------------------------------------


def test_the_reading_page_is_the_rendered_article(stored_app, api):
    article = examples()["bike-lanes"]
    api.put(article)
    response = api.get(f"/articles/{article['id']}")
    assert response.status_code == 200
    runtime = stored_app.extensions["broadsheet"]
    assert response.get_data(as_text=True) == render_html(
        validate_article(article), runtime.env, runtime.settings
    )
    rendered = api.client.post("/v1/render/html", json=article)
    assert response.data == rendered.data


def test_pages_link_to_the_feeds(api):
    api.put(_quick_read(1))
    for path in ("/articles/quick-01", "/articles"):
        links = {
            link.get("type"): link.get("href")
            for link in _doc(api.get(path)).xpath("//head/link[@rel='alternate']")
        }
        assert links == {
            "application/atom+xml": "https://news.example.org/feed.atom",
            "application/feed+json": "https://news.example.org/feed.json",
        }, path


def _stored_and_dated(api, path: str):
    """`path` once a quick read is stored, its PDF printed and its date said (its second
    over, with dates_said_promptly)."""
    api.put(_quick_read(1))
    api.get(path)  # the PDF is printed now
    time.sleep(1.1)  # a date is said once its second is over
    return api.get(path)


@pytest.mark.usefixtures("dates_said_promptly")
@pytest.mark.parametrize("path", ["/articles/quick-01", "/articles/quick-01.pdf", "/articles"])
def test_every_page_answers_304_when_unchanged(api, path):
    first = _stored_and_dated(api, path)
    assert first.status_code == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "no-cache"
    assert api.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert api.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    assert api.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200


@pytest.mark.usefixtures("dates_said_promptly")
@pytest.mark.parametrize("path", ["/articles/quick-01", "/articles/quick-01.pdf", "/articles"])
def test_a_replaced_article_is_never_answered_304(api, path):
    first = _stored_and_dated(api, path)
    api.put(_quick_read(1, headline="A corrected headline"))
    for headers in (
        {"If-None-Match": first.headers["ETag"]},
        {"If-Modified-Since": first.headers["Last-Modified"]},
    ):
        again = api.get(path, headers=headers)
        assert again.status_code == 200, headers
        assert again.headers["ETag"] != first.headers["ETag"]


@pytest.mark.parametrize(
    "path",
    [
        "/articles/quick-01",
        "/articles/quick-01.pdf",
        "/articles",
        "/feed.atom",
        "/feed.json",
        "/v1/articles/quick-01",
    ],
)
def test_a_date_not_yet_said_is_not_taken_from_the_client(api, path):
    """While Last-Modified is withheld, a date the client sends (an answer's Date, say) earns
    no 304: a change within its second would carry the same date. It was taken against the
    withheld date, and a feed changed in the second of a Date seen was answered 304."""
    api.put(_quick_read(1))
    api.get(path)  # the PDF is printed now
    now = http_date(time.time())  # no earlier than the article's and the PDF's second
    again = api.get(path, headers={"If-Modified-Since": now})
    assert "Last-Modified" not in again.headers
    assert again.status_code == 200
    assert api.get(path, headers={"If-None-Match": again.headers["ETag"]}).status_code == 304


@pytest.mark.usefixtures("dates_said_promptly")
@pytest.mark.parametrize("path", ["/articles/quick-01", "/articles/quick-01.pdf", "/articles"])
def test_a_list_of_dates_in_if_modified_since_is_ignored(api, path):
    """RFC 9110 §13.1.3: a value with more than one member is ignored; werkzeug took the first."""
    modified = _stored_and_dated(api, path).headers["Last-Modified"]
    old = "Sun, 06 Nov 1994 08:49:37 GMT"
    assert api.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    assert api.get(path, headers={"If-Modified-Since": f"{modified}, {old}"}).status_code == 200
    # Two asctime dates hold one comma between them, as one IMF-fixdate does.
    asctime = parsedate_to_datetime(modified).strftime("%a %b %d %H:%M:%S %Y")
    assert api.get(path, headers={"If-Modified-Since": asctime}).status_code == 304
    listed = f"{asctime}, Sun Nov  6 08:49:37 1994"
    assert api.get(path, headers={"If-Modified-Since": listed}).status_code == 200
    assert api.get(path, headers={"If-Modified-Since": f"{modified}, x"}).status_code == 200


@pytest.mark.usefixtures("dates_said_promptly")
@pytest.mark.parametrize("path", ["/articles/quick-01", "/articles", "/feed.atom", "/feed.json"])
def test_a_page_made_by_new_settings_is_not_dated_by_its_data_alone(
    api, database_url, make_app, path
):
    """BASE_URL or a new release changes the page, not the data: dated by the data alone, a
    client revalidating with If-Modified-Since alone kept the old page and its old links."""
    api.put(_quick_read(1))
    time.sleep(1.1)  # a date is said once its second is over
    before = api.get(path)
    assert b"https://news.example.org/" in before.data
    time.sleep(1.1)  # the new app is built in a later second
    moved = make_app(DATABASE_URL=database_url, BASE_URL="https://moved.example.net")
    time.sleep(1.1)  # and its date is said
    client = moved.test_client()
    again = client.get(path, headers={"If-Modified-Since": before.headers["Last-Modified"]})
    assert again.status_code == 200
    assert b"https://moved.example.net/" in again.data
    assert (
        client.get(path, headers={"If-Modified-Since": again.headers["Last-Modified"]}).status_code
        == 304
    )


# Deletion -----------------------------------------------------------------------------------


def test_a_deleted_article_is_gone_from_every_page_and_feed(api):
    api.put(_quick_read(1))
    api.put(_quick_read(2))
    seen = {
        path: api.get(path)
        for path in (
            "/articles/quick-01",
            "/articles/quick-01.pdf",
            "/articles",
            "/feed.atom",
            "/feed.json",
            "/v1/articles",
        )
    }
    assert all(response.status_code == 200 for response in seen.values())
    time.sleep(1.1)  # so that Last-Modified can move on
    assert api.delete("quick-01").status_code == 204

    for path in ("/articles/quick-01", "/articles/quick-01.pdf", "/v1/articles/quick-01"):
        for headers in ({}, {"If-None-Match": seen.get(path, seen["/articles"]).headers["ETag"]}):
            assert api.get(path, headers=headers).status_code == 404, (path, headers)
    for path in ("/articles", "/feed.atom", "/feed.json", "/v1/articles"):
        before = seen[path]
        for headers in (
            {"If-None-Match": before.headers["ETag"]},
            {"If-Modified-Since": before.headers.get("Last-Modified", http_date(0))},
        ):
            after = api.get(path, headers=headers)
            assert after.status_code == 200, (path, headers)
            assert b"quick-01" not in after.data, path
            assert b"quick-02" in after.data, path


# The 404 page -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/articles/no-such-article", "/articles/no-such-article.pdf"])
def test_unknown_articles_get_a_404_page_for_browsers(api, path):
    response = api.get(path, headers=BROWSER)
    assert response.status_code == 404
    doc = _doc(response)
    assert doc.xpath("//h1/text()") == ["There is no article here"]
    assert doc.xpath("//main//a/@href") == ["/articles"]
    problem = api.get(path, headers={"Accept": "application/json"})
    assert problem.status_code == 404
    assert problem.mimetype == "application/problem+json"


# The list page ------------------------------------------------------------------------------


def test_the_list_shows_quick_reads_newest_first_linking_to_each(api):
    for n in (3, 1, 2):
        api.put(_quick_read(n))
    api.put(minimal(id="long-read", kind="article", published_at="2026-03-09T08:00:00Z"))
    api.put(right_to_left())
    doc = _doc(api.get("/articles"))
    assert doc.xpath("//h1/text()") == ["Quick reads"]
    items = doc.xpath("//main//li[h2]")
    assert [li.xpath("string(h2/a/@href)") for li in items] == [
        "/articles/rtl-arabic",
        "/articles/quick-03",
        "/articles/quick-02",
        "/articles/quick-01",
    ]
    arabic = items[0]
    assert (arabic.get("lang"), arabic.get("dir")) == ("ar", "rtl")
    assert arabic.xpath("string(.//time/@lang)") == "en"
    assert items[1].xpath("string(h2/a)") == "Quick read number 3"
    assert items[1].xpath("string(p[1])") == "What happened, number 3."
    assert items[1].xpath("string(.//time/@datetime)") == "2026-03-03T08:00:00+00:00"
    for li in items:
        assert api.get(li.xpath("string(h2/a/@href)")).status_code == 200


def test_the_list_keeps_the_markup_and_languages_of_headlines_and_summaries(api):
    """The list showed the stored plain words: English sentences in an Arabic quick read
    were left under lang="ar" (WCAG 3.1.2), and struck words written ~~struck~~."""
    cut = "كلمة " * 40 + '<span lang="en">and the English words at the cut point</span> ' * 3
    articles = [
        minimal(
            id="standfirst",
            kind="quick-read",
            language="ar",
            headline='الوزير: <span lang="en">We will not raise taxes</span>',
            standfirst='قال: <q><span lang="en">The reform is long overdue</span></q>.',
            published_at="2026-03-12T08:00:00Z",
        ),
        minimal(
            id="paragraph",
            kind="quick-read",
            headline="Fares <s>rise</s> fall",
            body=[{"type": "paragraph", "text": "Tickets <s>were</s> are cheaper."}],
            published_at="2026-03-11T08:00:00Z",
        ),
        minimal(
            id="cut",
            kind="quick-read",
            language="ar",
            headline="عنوان",
            body=[{"type": "paragraph", "text": cut}],
            published_at="2026-03-10T08:00:00Z",
        ),
    ]
    for article in articles:
        assert api.put(article).status_code == 201
    page = api.get("/articles").get_data(as_text=True)
    assert "~~" not in page
    doc = lxml_html.document_fromstring(page)
    standfirst, paragraph, cut_item = doc.xpath("//main//li[h2]")
    assert standfirst.xpath("string(h2/a/span[@lang='en'])") == "We will not raise taxes"
    assert standfirst.xpath("string(p[1]/q/span[@lang='en'])") == "The reform is long overdue"
    assert paragraph.xpath("string(h2/a/s)") == "rise"
    assert paragraph.xpath("string(p[1])") == "Tickets were are cheaper."
    assert paragraph.xpath("string(p[1]/s)") == "were"
    summary = cut_item.xpath("p[1]")[0]
    assert summary.xpath(".//span[@lang='en']")  # what the cut keeps keeps its language
    assert summary.text_content().endswith("…")
    # The words are kept by version: a new version is shown at once.
    changed = dict(articles[1], headline="Fares <s>fall</s> rise")
    assert api.put(changed).status_code == 200
    doc = lxml_html.document_fromstring(api.get("/articles").get_data(as_text=True))
    assert doc.xpath("string(//main//li[h2][2]/h2/a/s)") == "fall"


def test_the_list_s_words_are_kept_for_a_bounded_number_of_versions():
    from markupsafe import Markup

    from service.teasers import KeptWords

    kept = KeptWords(size=3)
    for n in range(5):
        kept.put(f"v{n}", (Markup(f"h{n}"), f"s{n}"))
    assert [kept.get("v0"), kept.get("v1")] == [None, None]  # the oldest went first
    assert kept.get("v2") == (Markup("h2"), "s2")
    kept.put("v5", (Markup("h5"), "s5"))  # v2 was just read: v3 goes
    assert kept.get("v3") is None
    assert [kept.get(v) is not None for v in ("v2", "v4", "v5")] == [True, True, True]
    weighed = KeptWords(size=100, characters=10)
    weighed.put("a", (Markup("12345"), ""))
    weighed.put("b", (Markup("1234"), "5"))
    weighed.put("c", (Markup("1"), ""))  # 11 characters held: the oldest goes
    assert [weighed.get(v) is not None for v in ("a", "b", "c")] == [False, True, True]
    weighed.put("huge", (Markup("x" * 11), ""))  # heavier than the whole: not kept
    assert weighed.get("huge") is None
    assert weighed.get("b") is not None


def test_the_list_pages_across_a_boundary(api, monkeypatch):
    from service.views import articles

    monkeypatch.setattr(articles, "PAGE_SIZE", 2)
    for n in range(1, 6):
        api.put(_quick_read(n))
    seen, url, pages = [], "/articles?utm_source=newsletter", 0
    while url:
        doc = _doc(api.get(url))
        seen += doc.xpath("//main//li/h2/a/@href")
        older = doc.xpath("//nav//a[@rel='next']/@href")
        assert doc.xpath("//head/link[@rel='next']/@href") == older
        if pages:
            assert doc.xpath("//nav//a[not(@rel)]/@href") == ["/articles"]
        url = older[0] if older else None
        pages += 1
    assert seen == [f"/articles/quick-{n:02d}" for n in (5, 4, 3, 2, 1)]
    assert pages == 3


def test_a_bad_cursor_on_the_list_is_400(api):
    response = api.get("/articles?cursor=nonsense", headers=BROWSER)
    assert response.status_code == 400
    assert "cursor" in _doc(response).xpath("string(//main)")
    problem = api.get("/articles?cursor=nonsense").get_json()
    assert problem["parameter"] == "cursor"


def test_the_empty_list_says_so(api):
    doc = _doc(api.get("/articles"))
    assert doc.xpath("//main//li") == []
    assert "no quick reads yet" in doc.xpath("string(//main)")


# Accessibility and validity -----------------------------------------------------------------


@pytest.fixture
def pages(api, monkeypatch):
    """The site's own pages as a reader gets them: reading page, lists, 404."""
    from service.views import articles

    monkeypatch.setattr(articles, "PAGE_SIZE", 2)
    for n in (1, 2):
        api.put(_quick_read(n))
    api.put(right_to_left())
    api.put(examples()["bike-lanes"])
    first = api.get("/articles")
    older = _doc(first).xpath("//nav//a[@rel='next']/@href")[0]
    return {
        "reading-page": api.get(f"/articles/{examples()['bike-lanes']['id']}").get_data(True),
        "list-page": first.get_data(as_text=True),
        "list-page-2": api.get(older).get_data(as_text=True),
        "not-found-page": api.get("/articles/gone", headers=BROWSER).get_data(as_text=True),
    }


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_pages_pass_axe(pages, axe, scheme):
    found = {
        name: [(v["id"], [n["html"][:120] for n in v["nodes"][:3]]) for v in violations]
        for name, page in pages.items()
        if (violations := axe(page, AXE_TAGS, color_scheme=scheme))
    }
    assert found == {}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_pages_pass_the_nu_checker(pages, nu_checker, tmp_path):
    results = nu_checker(pages, tmp_path)
    errors = {
        name: [(m.get("lastLine"), m["message"]) for m in messages]
        for name, messages in results.items()
        if messages
    }
    assert errors == {}


def test_the_list_dates_each_quick_read_on_its_day_in_the_publication_s_time_zone(tmp_path):
    """Half past midnight in Madrid was listed as the day before, in UTC."""
    from service import create_app
    from service.storage.schema import upgrade

    from .conftest import API_TOKEN, runtime_of

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'tz.sqlite3'}",
            "API_TOKEN": API_TOKEN,
            "TIMEZONE": "Europe/Madrid",
        }
    )
    upgrade(runtime_of(app).engine)
    try:
        late = _quick_read(1, id="late", published_at="2026-03-11T23:30:00Z")  # 00:30, Madrid
        stored = app.test_client().put(
            "/v1/articles/late", json=late, headers={"Authorization": f"Bearer {API_TOKEN}"}
        )
        assert stored.status_code == 201
        doc = _doc(app.test_client().get("/articles"))
        (time,) = doc.xpath("//main//li[h2]//time")
        assert time.get("datetime") == "2026-03-12T00:30:00+01:00"
        assert time.text_content() == "March 12, 2026"
    finally:
        runtime_of(app).engine.dispose()


@pytest.mark.parametrize("zone", ["Europe/Madrid", "America/New_York"])
def test_the_list_shows_moments_at_the_ends_of_the_calendar(tmp_path, zone):
    """9999-12-31 in UTC is 10000-01-01 in Madrid, which Python cannot hold: the list
    answered 500 for as long as such an article was the newest."""
    from service import create_app
    from service.storage.schema import upgrade

    from .conftest import API_TOKEN, runtime_of

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'ends.sqlite3'}",
            "API_TOKEN": API_TOKEN,
            "TIMEZONE": zone,
        }
    )
    upgrade(runtime_of(app).engine)
    try:
        client = app.test_client()
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        for id_, moment in (("first", "0001-01-01T00:00:00Z"), ("last", "9999-12-31T23:59:59Z")):
            article = _quick_read(1, id=id_, published_at=moment)
            assert client.put(f"/v1/articles/{id_}", json=article, headers=auth).status_code == 201
        listed = client.get("/articles")
        assert listed.status_code == 200
        times = [t.get("datetime") for t in _doc(listed).xpath("//main//li[h2]//time")]
        assert times[0].startswith("9999-12-31T")
        assert times[-1].startswith("0001-01-01T")
    finally:
        runtime_of(app).engine.dispose()


def test_an_article_stored_before_a_rule_came_is_still_served(stored_app, api):
    """Rules about what a reader must see came after some articles were stored: reading one
    back must not turn it into a 500 on its page, the list, the feeds or the digest."""
    from sqlalchemy import update

    from service.storage.models import StoredArticle

    assert api.put(minimal(id="older")).status_code == 201
    nested = "\u2067" * 17 + "deep" + "\u2069" * 17  # more than 16 deep came later too
    older = minimal(
        id="older",
        headline="\u200b",
        body=[
            {"type": "paragraph", "text": 'See <a href="https://example.org/"><em></em></a>.'},
            {"type": "image", "src": "https://example.org/a.png", "alt": "\u200b"},
            {"type": "paragraph", "text": nested},
            {"type": "image", "src": "https://example.org/b.png", "alt": nested},
            # Hosts no URL parser reads as written, and private-use tags, came later too.
            {
                "type": "paragraph",
                "text": '<a href="https://0x7f.1/">x</a> <span lang="x-a">y</span>',
            },
            {"type": "image", "src": "https://img^cdn.example/c.png", "alt": "A photo"},
            # References in attributes were mended by html.unescape, judged since; and a
            # bracketed host followed by more than a port.
            {
                "type": "paragraph",
                "text": '<abbr title="Costs &#x80;4m">C</abbr> <abbr title="a&#1;b">D</abbr> '
                '<a href="https://e.example/a&#0;b">e</a> <a href="https://[::1]evil.example/">f</a>',
            },
        ],
        language="i-klingon",
    )
    with pytest.raises(BadArticle) as refused:
        validate_article(older)  # refused today...
    assert {e.pointer for e in refused.value.errors} == {
        "/headline",
        "/body/0/text",
        "/body/1/alt",
        "/body/2/text",
        "/body/3/alt",
        "/body/4/text",
        "/body/5/src",
        "/body/6/text",
        "/language",
    }
    database = stored_app.extensions["broadsheet"].database
    with database.writing() as session:  # ...but stored by an earlier release
        session.execute(update(StoredArticle).values(document=older))
    for path in ("/articles/older", "/articles", "/feed.json", "/feed.atom", "/quick-reads"):
        assert api.get(path).status_code in (200, 404), path
    assert api.get("/articles/older").status_code == 200
    assert api.get("/feed.json").status_code == 200
    assert api.get("/articles/older.pdf").status_code == 200
    edition = api.get("/editions/2026-03-12.pdf")  # the day's paper holds it
    assert edition.status_code == 200, edition.get_data(as_text=True)[:300]
    assert api.put(older).status_code == 422  # storing it again meets today's rules
