"""The stored-articles API of SPEC §3: every status of §2 that applies, lists and races."""

from __future__ import annotations

import gzip
import json
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from service import create_app
from service.storage.articles import content_version, next_stored_at, put_article
from service.validation import validate_article

from .conftest import API_TOKEN, ApiClient, challenge
from .corpus import corpus, examples, minimal

PROBLEM = "application/problem+json"


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["status"] == status
    return problem


# Create, read, replace, delete ------------------------------------------------------------


@pytest.mark.parametrize("name", ["bike-lanes", "mercado-es", "every-block", "rtl-arabic"])
def test_put_then_get_returns_the_same_json(api, name):
    article = corpus()[name]
    created = api.put(article)
    assert created.status_code == 201
    assert created.headers["Location"] == f"https://news.example.org/v1/articles/{article['id']}"
    version = created.get_json()["version"]
    assert created.headers["ETag"] == f'"{version}"'

    fetched = api.get(f"/v1/articles/{article['id']}")
    assert fetched.status_code == 200
    assert fetched.mimetype == "application/json"
    assert fetched.get_json() == article
    assert list(fetched.get_json()) == list(article)  # the order of keys is kept too
    assert fetched.headers["ETag"] == f'"{version}"'


def test_put_answers_a_summary_with_links(api):
    article = examples()["bike-lanes"]
    body = api.put(article).get_json()
    assert body["id"] == article["id"]
    assert body["kind"] == "quick-read"
    assert body["headline"] == "Council Approves Protected Bike Lanes Along Riverside Drive"
    assert body["published_at"] == "2026-03-11T23:30:00Z"
    assert body["version"] == content_version(article)
    assert body["links"] == {
        "self": f"https://news.example.org/v1/articles/{article['id']}",
        "page": f"https://news.example.org/articles/{article['id']}",
        "pdf": f"https://news.example.org/articles/{article['id']}.pdf",
    }


def test_replacing_answers_200_and_a_new_version(api):
    article = minimal()
    first = api.put(article).get_json()["version"]
    same = api.put(article)
    assert same.status_code == 200
    assert same.get_json()["version"] == first
    changed = api.put(minimal(headline="A replaced headline"))
    assert changed.status_code == 200
    assert changed.get_json()["version"] != first
    assert api.get("/v1/articles/minimal").get_json()["headline"] == "A replaced headline"


def test_one_version_is_one_body_the_order_of_its_keys_included(api):
    """The version hashed the keys sorted while GET writes them in the order sent: stored,
    deleted and stored again in another order, two bodies had one strong ETag (a client
    holding the first was told 304), and a PUT that only reordered the keys was dropped."""
    article = minimal()
    version = api.put(article).get_json()["version"]
    assert api.put(article).get_json()["version"] == version  # sent again: unchanged
    reordered = dict(reversed(list(article.items())))
    again = api.put(reordered)
    assert again.status_code == 200
    assert again.get_json()["version"] != version
    fetched = api.get("/v1/articles/minimal")
    assert list(fetched.get_json()) == list(reordered)
    assert fetched.headers["ETag"] == f'"{again.get_json()["version"]}"'
    stale = api.get("/v1/articles/minimal", headers={"If-None-Match": f'"{version}"'})
    assert stale.status_code == 200


def test_delete_answers_204_then_the_article_is_gone(api):
    api.put(minimal())
    deleted = api.delete("minimal")
    assert deleted.status_code == 204
    assert deleted.get_data() == b""
    _problem(api.get("/v1/articles/minimal"), 404)
    _problem(api.delete("minimal"), 404)
    assert api.get("/v1/articles").get_json()["items"] == []
    assert api.put(minimal()).status_code == 201


def test_a_version_created_after_a_deletion_follows_the_version_deleted(api):
    """Quick edits date versions ahead of the clock; the deletion and the next version must
    follow them, or a write conditional on the old version's date would overwrite the new
    article unseen (RFC 9110 §13.1.4)."""
    for n in range(3):
        last = api.put(minimal(headline=f"Edit {n}"))
    mine = datetime.fromisoformat(last.get_json()["stored_at"].replace("Z", "+00:00"))
    assert api.delete("minimal").status_code == 204
    theirs = api.put(minimal(headline="Someone else's article"))
    assert theirs.status_code == 201
    created = datetime.fromisoformat(theirs.get_json()["stored_at"].replace("Z", "+00:00"))
    assert created.replace(microsecond=0) > mine.replace(microsecond=0)
    held = format_datetime(mine.replace(microsecond=0), usegmt=True)
    blind = api.put(minimal(headline="Overwrite"), headers={"If-Unmodified-Since": held})
    _problem(blind, 412)
    assert api.get("/v1/articles/minimal").get_json()["headline"] == "Someone else's article"


def test_a_deleted_article_leaves_no_trace_of_its_id(api, stored_app):
    from sqlalchemy import select

    from service.storage.models import ArticleDeletion

    from .conftest import runtime_of

    api.put(minimal(id="minister-named-in-report"), "minister-named-in-report")
    api.put(minimal(id="another-one"), "another-one")
    assert api.delete("minister-named-in-report").status_code == 204
    assert api.delete("another-one").status_code == 204
    with runtime_of(stored_app).database.reading() as session:
        rows = session.execute(select(ArticleDeletion.id, ArticleDeletion.deleted_at)).all()
    assert [row.id for row in rows] == [""]  # the latest deletion's moment, and no id


def test_get_answers_304_to_the_current_etag(api):
    etag = api.put(minimal()).headers["ETag"]
    assert api.get("/v1/articles/minimal", headers={"If-None-Match": etag}).status_code == 304
    api.put(minimal(headline="Changed"))
    assert api.get("/v1/articles/minimal", headers={"If-None-Match": etag}).status_code == 200


# 401 ----------------------------------------------------------------------------------------


BAD_AUTHORIZATION = [
    None,
    "Bearer wrong-token",
    f"Basic {API_TOKEN}",
    f"Bearer {API_TOKEN}x",
    f"Bearer {API_TOKEN[:-1]}",
    "Bearer",
    "",
]


def test_writes_without_the_token_are_401(api):
    assert api.put(minimal()).status_code == 201
    for authorization in BAD_AUTHORIZATION:
        headers = {"Authorization": authorization} if authorization is not None else {}
        for response in (
            api.put(minimal(headline="Changed"), token=None, headers=headers),
            api.delete("minimal", token=None, headers=headers),
        ):
            _problem(response, 401)
            assert response.headers["WWW-Authenticate"] == challenge(authorization)
    assert api.get("/v1/articles/minimal").get_json() == minimal()


def test_with_no_token_configured_every_write_is_401(database_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": database_url})
    try:
        client = app.test_client()
        for token in ("", "None", API_TOKEN):
            response = client.put(
                "/v1/articles/minimal",
                json=minimal(),
                headers={"Authorization": f"Bearer {token}"},
            )
            _problem(response, 401)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    finally:
        app.extensions["broadsheet"].engine.dispose()


def test_a_date_alone_is_a_day_in_timezone(database_url):
    """Half past midnight in Madrid on 12 March is 11 March in UTC; the edition, the digest
    and the list page all file it under the 12th, and so does the API."""
    from service.storage.schema import upgrade

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": database_url,
            "API_TOKEN": API_TOKEN,
            "TIMEZONE": "Europe/Madrid",
        }
    )
    try:
        upgrade(app.extensions["broadsheet"].engine)
        api = ApiClient(app.test_client())
        late = minimal(id="past-midnight", published_at="2026-03-12T00:30:00+01:00")
        assert api.put(late).status_code == 201

        def listed(query: str) -> list[str]:
            answer = api.get(f"/v1/articles?{query}")
            assert answer.status_code == 200, answer.get_json()
            return [item["id"] for item in answer.get_json()["items"]]

        assert listed("since=2026-03-12&until=2026-03-13") == ["past-midnight"]
        assert listed("since=2026-03-11&until=2026-03-12") == []
        assert listed("since=2026-03-11T23:30:00Z") == ["past-midnight"]  # an instant as said
        problem = _problem(api.get("/v1/articles?since=0001-01-01"), 400)
        assert problem["parameter"] == "since"
    finally:
        app.extensions["broadsheet"].press.close()  # it prints what was stored
        app.extensions["broadsheet"].engine.dispose()


def test_the_token_is_checked_before_the_body_is_read(api):
    response = api.put(b"{not json", article_id="minimal", token="wrong")
    _problem(response, 401)


# 400, 413, 415, 422 --------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_400(api):
    problem = _problem(api.put(b"{not json", article_id="minimal"), 400)
    assert problem["detail"].startswith("The body is not JSON")


def test_a_body_too_large_is_413(api, stored_app):
    stored_app.config["MAX_CONTENT_LENGTH"] = 1000
    _problem(api.put(minimal(standfirst="x" * 2000)), 413)


@pytest.mark.parametrize("content_type", ["text/plain", "application/json; charset=latin-1"])
def test_a_body_of_the_wrong_type_is_415(api, content_type):
    _problem(api.put(minimal(), content_type=content_type), 415)


def test_an_article_that_breaks_the_contract_is_422_with_pointers(api):
    problem = _problem(
        api.put(minimal(body=[{"type": "image", "src": "https://x.example/a"}])), 422
    )
    assert [e["pointer"] for e in problem["errors"]] == ["/body/0/alt"]
    _problem(api.get("/v1/articles/minimal"), 404)


def test_a_body_naming_another_article_is_422_at_id(api):
    problem = _problem(api.put(minimal(id="another"), article_id="minimal"), 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/id"]
    assert "minimal" in problem["errors"][0]["message"]
    _problem(api.get("/v1/articles/minimal"), 404)
    _problem(api.get("/v1/articles/another"), 404)


def test_every_problem_is_reported_with_the_id_mismatch(api):
    problem = _problem(api.put(minimal(id="another", body=[]), article_id="minimal"), 422)
    assert {e["pointer"] for e in problem["errors"]} == {"/id", "/body"}


def test_an_id_the_contract_forbids_cannot_be_stored(api):
    problem = _problem(api.put(minimal(id="Not_An_Id"), article_id="Not_An_Id"), 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/id"]


# 404 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "article_id", ["no-such-article", "Not_An_Id", "x" * 300, "a%00b", "caf%C3%A9"]
)
def test_unknown_articles_are_404(api, article_id):
    """Whatever the id holds: PostgreSQL refuses text with a NUL outright (a 500 before)."""
    _problem(api.get(f"/v1/articles/{article_id}"), 404)
    _problem(api.delete(article_id), 404)
    assert api.get(f"/articles/{article_id}").status_code == 404
    assert api.get(f"/articles/{article_id}.pdf").status_code == 404


# 412 ---------------------------------------------------------------------------------------


def test_if_match_protects_a_newer_version(api):
    old = api.put(minimal()).headers["ETag"]
    new = api.put(minimal(headline="Edited by someone else")).headers["ETag"]
    stale = api.put(minimal(headline="My edit"), headers={"If-Match": old})
    problem = _problem(stale, 412)
    assert new.strip('"') in problem["detail"]
    assert api.get("/v1/articles/minimal").get_json()["headline"] == "Edited by someone else"
    _problem(api.delete("minimal", headers={"If-Match": old}), 412)

    fresh = api.put(minimal(headline="My edit"), headers={"If-Match": new})
    assert fresh.status_code == 200
    assert api.delete("minimal", headers={"If-Match": fresh.headers["ETag"]}).status_code == 204


def test_if_match_on_a_missing_article_is_412(api):
    _problem(api.put(minimal(), headers={"If-Match": "*"}), 412)
    _problem(api.get("/v1/articles/minimal"), 404)


def test_if_none_match_star_creates_only(api):
    assert api.put(minimal(), headers={"If-None-Match": "*"}).status_code == 201
    _problem(api.put(minimal(headline="Again"), headers={"If-None-Match": "*"}), 412)
    assert api.get("/v1/articles/minimal").get_json()["headline"] == "A minimal article"


# Lists --------------------------------------------------------------------------------------

LISTED = [
    ("a-newest", "quick-read", "2026-03-14T09:00:00+01:00"),
    ("b-tie", "quick-read", "2026-03-13T12:00:00Z"),
    ("c-tie", "article", "2026-03-13T12:00:00Z"),
    ("d-tie", "quick-read", "2026-03-13T13:00:00+01:00"),  # the same moment in Paris
    ("e-middle", "article", "2026-03-12T08:00:00Z"),
    ("f-old", "quick-read", "2026-03-10T08:00:00Z"),
    ("g-oldest", "quick-read", "2026-03-01T00:00:00-05:00"),
]
NEWEST_FIRST = ["a-newest", "d-tie", "c-tie", "b-tie", "e-middle", "f-old", "g-oldest"]


@pytest.fixture
def listed(api):
    for article_id, kind, published in LISTED:
        assert api.put(minimal(id=article_id, kind=kind, published_at=published)).status_code == 201
    return api


def _walk(api, url: str) -> tuple[list[str], int]:
    """Follow `next` links from `url`; return every id seen and the number of pages."""
    ids, pages = [], 0
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        ids += [item["id"] for item in body["items"]]
        pages += 1
        if body["next"]:
            assert response.headers["Link"] == f'<{body["next"]}>; rel="next"'
            assert body["next"].startswith("https://news.example.org/v1/articles?")
        url = body["next"]
    return ids, pages


def test_the_list_is_newest_first_with_ties_in_a_stable_order(listed):
    assert _walk(listed, "/v1/articles")[0] == NEWEST_FIRST


def test_pagination_crosses_page_boundaries_without_gaps_or_repeats(listed):
    for limit in (1, 2, 3, 6, 7, 100):
        ids, pages = _walk(listed, f"/v1/articles?limit={limit}")
        assert ids == NEWEST_FIRST, limit
        assert pages == -(-len(NEWEST_FIRST) // limit), limit


def test_next_links_keep_the_filters(listed):
    first = listed.get("/v1/articles?kind=quick-read&limit=2").get_json()
    query = parse_qs(urlsplit(first["next"]).query)
    assert query["kind"] == ["quick-read"]
    assert query["limit"] == ["2"]
    ids, _ = _walk(listed, "/v1/articles?kind=quick-read&limit=2")
    assert ids == ["a-newest", "d-tie", "b-tie", "f-old", "g-oldest"]


def test_a_page_changed_between_requests_still_continues_where_it_ended(listed):
    first = listed.get("/v1/articles?limit=3").get_json()
    assert [i["id"] for i in first["items"]] == NEWEST_FIRST[:3]
    listed.put(minimal(id="z-newer", published_at="2026-03-20T00:00:00Z"))
    listed.delete("b-tie")
    rest, _ = _walk(listed, first["next"])
    assert rest == ["e-middle", "f-old", "g-oldest"]


FILTERS = [
    ("kind=article", ["c-tie", "e-middle"]),
    ("since=2026-03-13T12:00:00Z", ["a-newest", "d-tie", "c-tie", "b-tie"]),
    ("until=2026-03-13T12:00:00Z", ["e-middle", "f-old", "g-oldest"]),
    ("since=2026-03-13T13:00:00%2B01:00", ["a-newest", "d-tie", "c-tie", "b-tie"]),
    ("since=2026-03-13T13:00:00+01:00", ["a-newest", "d-tie", "c-tie", "b-tie"]),
    ("since=2026-03-10&until=2026-03-13", ["e-middle", "f-old"]),
    ("since=2026-03-01T05:00:00Z&until=2026-03-01T05:00:01Z", ["g-oldest"]),
    ("kind=quick-read&since=2026-03-12&until=2026-03-14", ["d-tie", "b-tie"]),
    ("since=2026-04-01", []),
]


def test_filters(listed):
    found = {query: _walk(listed, f"/v1/articles?{query}&limit=2")[0] for query, _ in FILTERS}
    assert found == dict(FILTERS)


BAD_QUERIES = [
    ("kind=opinion", "kind"),
    ("since=yesterday", "since"),
    ("since=2026-03-12T08:00:00", "since"),  # no offset
    ("until=2026-02-30", "until"),
    ("limit=0", "limit"),
    ("limit=101", "limit"),
    ("limit=ten", "limit"),
    ("limit=" + "9" * 5000, "limit"),
    ("limit=-1", "limit"),
    ("cursor=not-a-cursor", "cursor"),
    ("cursor=WyJ4IiwgMV0", "cursor"),  # base64 of ["x", 1]
    ("cursor=", "cursor"),
    ("knid=article", "knid"),
    ("kind=article&kind=quick-read", "kind"),
]


def test_bad_query_parameters_are_400_naming_the_parameter(api):
    for query, parameter in BAD_QUERIES:
        problem = _problem(api.get(f"/v1/articles?{query}"), 400)
        assert problem["parameter"] == parameter, query
        assert parameter in problem["detail"], query


def test_list_items_say_what_a_client_needs(listed):
    item = listed.get("/v1/articles?limit=1").get_json()["items"][0]
    assert set(item) == {
        "id",
        "kind",
        "language",
        "headline",
        "summary",
        "published_at",
        "updated_at",
        "stored_at",
        "version",
        "links",
    }
    assert item["published_at"] == "2026-03-14T08:00:00Z"


# Races ----------------------------------------------------------------------------------------


def _race(stored_app, bodies: list[dict], headers: dict | None = None) -> list:
    """PUT each body at once, one thread each; return the responses."""
    barrier = threading.Barrier(len(bodies))
    responses: list = [None] * len(bodies)

    def put(index: int) -> None:
        client = stored_app.test_client()
        barrier.wait()
        responses[index] = client.put(
            f"/v1/articles/{bodies[index]['id']}",
            json=bodies[index],
            headers={"Authorization": f"Bearer {API_TOKEN}", **(headers or {})},
        )

    threads = [threading.Thread(target=put, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


@pytest.mark.parametrize("round_", range(5))
def test_two_clients_creating_one_id_both_succeed_and_the_row_is_whole(stored_app, api, round_):
    bodies = [minimal(id=f"race-{round_}", headline=f"Writer {n}") for n in (1, 2)]
    responses = _race(stored_app, bodies)
    assert sorted(r.status_code for r in responses) == [200, 201]
    stored = api.get(f"/v1/articles/race-{round_}")
    assert stored.get_json() in bodies
    assert stored.headers["ETag"] == f'"{content_version(stored.get_json())}"'
    assert len(api.get("/v1/articles").get_json()["items"]) == 1


@pytest.mark.parametrize("round_", range(3))
def test_two_clients_creating_only_one_wins_the_other_gets_412(stored_app, api, round_):
    bodies = [minimal(id=f"race-{round_}", headline=f"Writer {n}") for n in (1, 2)]
    responses = _race(stored_app, bodies, headers={"If-None-Match": "*"})
    assert sorted(r.status_code for r in responses) == [201, 412]
    winner = next(r for r in responses if r.status_code == 201)
    assert api.get(f"/v1/articles/race-{round_}").headers["ETag"] == winner.headers["ETag"]


def test_an_insert_that_loses_the_race_replaces_the_winner(stored_app):
    """Writer B looks, finds nothing, and inserts while A's insert is not yet committed."""
    database = stored_app.extensions["broadsheet"].database
    first, second = minimal(headline="Writer A"), minimal(headline="Writer B")
    outcome: dict = {}

    def writer_b() -> None:
        with database.writing() as session:
            outcome["b"] = put_article(
                session, validate_article(second), second, datetime.now(UTC)
            ).created

    with database.writing() as session:
        a = put_article(session, validate_article(first), first, datetime.now(UTC))
        assert a.created
        thread = threading.Thread(target=writer_b)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "B must wait for A's transaction"
    thread.join(timeout=30)
    assert outcome == {"b": False}
    with database.reading() as session:
        from service.storage.articles import get_article

        row = get_article(session, "minimal")
        assert row is not None
        assert row.document == second
        assert row.version == content_version(second)
        assert row.headline == "Writer B"


def test_stored_json_survives_as_sent(api):
    raw = json.dumps(examples()["mercado-es"], ensure_ascii=False).encode()
    assert api.put(raw, article_id=examples()["mercado-es"]["id"]).status_code == 201
    fetched = api.get(f"/v1/articles/{examples()['mercado-es']['id']}")
    assert json.loads(fetched.get_data()) == json.loads(raw)


def test_ids_published_between_gives_an_edition_its_articles_oldest_first(listed, stored_app):
    from service.storage.articles import ids_published_between

    start = datetime(2026, 3, 10, 8, tzinfo=UTC)
    end = datetime(2026, 3, 14, 8, tzinfo=UTC)
    with stored_app.extensions["broadsheet"].database.reading() as session:
        everything = ids_published_between(session, start, end)
        quick = ids_published_between(session, start, end, kind="quick-read")
    assert everything == ["f-old", "e-middle", "b-tie", "c-tie", "d-tie"]
    assert quick == ["f-old", "b-tie", "d-tie"]


# Odd list parameters and preconditions ----------------------------------------------------


def _cursor(value) -> str:
    import base64

    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "query",
    [
        "since=0001-01-01T00:00:00%2B01:00",
        "until=9999-12-31T23:59:59-01:00",
        "cursor=" + _cursor(["0001-01-01T00:00:00+01:00", "x"]),
        "cursor=" + _cursor(["9999-12-31T23:59:59-01:00", "x"]),
        "cursor=" + _cursor(["2026-01-01T00:00:00Z", "\udc00"]),
        "cursor=" + _cursor(["2026-01-01T00:00:00Z", "Not An Id"]),
        "cursor=" + _cursor(b"[" * 1000),
    ],
)
def test_list_parameters_out_of_range_are_400_naming_them(api, query):
    name = query.split("=")[0]
    for path in ("/v1/articles", "/articles"):
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        response = api.get(f"{path}?{query}", headers=headers)
        if path == "/articles" and name != "cursor":
            continue  # the public list takes only a cursor
        problem = _problem(response, 400)
        assert problem["parameter"] == name


@pytest.mark.parametrize(
    ("field", "value"),
    [("published_at", "0001-01-01T00:00:00+01:00"), ("published_at", "9999-12-31T23:59:59-01:00")],
)
def test_a_moment_outside_the_utc_calendar_is_422_and_stores_nothing(api, field, value):
    article = minimal(id="edge-of-time", **{field: value})
    problem = _problem(api.put(article), 422)
    assert [e["pointer"] for e in problem["errors"]] == [f"/{field}"]
    assert "outside the years 0001 to 9999 in UTC" in problem["errors"][0]["message"]
    assert api.get("/v1/articles/edge-of-time").status_code == 404


def test_a_failed_if_match_on_a_get_is_a_412_problem_without_the_resource(api):
    assert api.put(minimal()).status_code == 201
    for path in ("/v1/articles/minimal", "/articles/minimal", "/feed.atom"):
        response = api.get(path, headers={"If-Match": '"not-this-one"'})
        problem = _problem(response, 412)
        assert problem["type"].endswith("/precondition-failed")
    assert api.get("/v1/articles/minimal", headers={"If-Match": "*"}).status_code == 200


@pytest.mark.usefixtures("dates_said_promptly")
def test_lists_change_when_an_article_changes_kind(api):
    first = minimal(id="first", kind="quick-read")
    second = minimal(id="second", kind="quick-read")
    assert api.put(first).status_code == 201
    time.sleep(1.1)
    assert api.put(second).status_code == 201
    time.sleep(1.1)  # a date is said once its second is over
    before = {path: api.get(path).headers["Last-Modified"] for path in _QUICK_READ_LISTS}
    assert api.put({**second, "kind": "article"}).status_code == 200  # leaves the feeds
    for path in _QUICK_READ_LISTS:
        stale = api.get(path, headers={"If-Modified-Since": before[path]})
        assert stale.status_code == 200
    time.sleep(1.1)
    for path in _QUICK_READ_LISTS:
        after = api.get(path)
        assert datetime.strptime(
            after.headers["Last-Modified"], "%a, %d %b %Y %H:%M:%S GMT"
        ) > datetime.strptime(before[path], "%a, %d %b %Y %H:%M:%S GMT")


_QUICK_READ_LISTS = ("/feed.atom", "/feed.json", "/articles")


@pytest.mark.usefixtures("dates_said_promptly")
def test_a_date_is_said_once_its_second_is_over(api):
    """Two versions stored within one second shared one Last-Modified: a writer holding the
    first's date overwrote the second (If-Unmodified-Since), and a reader holding it was
    told 304 (If-Modified-Since). A date is now said only once no other change can share
    it; until then the ETag alone validates."""
    assert api.put(minimal()).status_code == 201
    for path in ("/v1/articles/minimal", "/articles/minimal", "/articles", "/feed.atom"):
        fresh = api.get(path)
        if "Last-Modified" in fresh.headers:  # the second turned since the PUT
            said = parsedate_to_datetime(fresh.headers["Last-Modified"])
            assert said < datetime.now(UTC)  # a second that is over
        assert fresh.headers["ETag"]
    time.sleep(1.1)
    first = api.get("/v1/articles/minimal").headers["Last-Modified"]
    page_first = api.get("/articles/minimal").headers["Last-Modified"]
    assert api.put(minimal(headline="Second")).status_code == 200
    revalidated = api.get("/articles/minimal", headers={"If-Modified-Since": page_first})
    assert revalidated.status_code == 200
    stale = api.put(minimal(headline="Third"), headers={"If-Unmodified-Since": first})
    _problem(stale, 412)
    assert api.get("/v1/articles/minimal").get_json()["headline"] == "Second"


@pytest.mark.usefixtures("dates_said_promptly")
def test_an_article_stored_again_after_its_deletion_is_dated_after_it(api):
    """Deleted and stored again within a second, it had the old version's Last-Modified."""
    assert api.put(minimal()).status_code == 201
    time.sleep(1.1)
    first = api.get("/v1/articles/minimal").headers["Last-Modified"]
    assert api.delete("minimal").status_code == 204
    assert api.put(minimal(headline="Another article")).status_code == 201
    revalidated = api.get("/v1/articles/minimal", headers={"If-Modified-Since": first})
    assert revalidated.status_code == 200
    stale = api.put(minimal(headline="Mine"), headers={"If-Unmodified-Since": first})
    _problem(stale, 412)


def test_quick_edits_are_dated_apart_and_no_date_runs_ahead_of_date(api):
    """Versions stored in quick succession are dated a second apart each, ahead of the
    clock: no date is said until it has passed (RFC 9110 §8.8.2.1), so no client is
    locked out by one, nor told that nothing changed."""
    for n in range(4):
        assert api.put(minimal(headline=f"Edit number {n}")).status_code in (200, 201)
    for path in ("/v1/articles/minimal", "/articles/minimal"):
        response = api.get(path)
        assert "Last-Modified" not in response.headers
        etag = response.headers["ETag"]
        assert api.get(path, headers={"If-None-Match": etag}).status_code == 304
    fresh = api.get("/v1/articles/minimal")
    saved = api.put(minimal(headline="Saved"), headers={"If-Match": fresh.headers["ETag"]})
    assert saved.status_code == 200


def test_a_version_is_never_dated_before_the_one_it_replaces():
    """A writer that waited on another's lock commits after it with an earlier clock."""
    earlier = datetime(2026, 3, 12, 8, 0, 5, 900000, tzinfo=UTC)
    assert next_stored_at(None, earlier) == earlier
    assert next_stored_at(earlier, earlier.replace(second=4)) == datetime(
        2026, 3, 12, 8, 0, 6, tzinfo=UTC
    )
    later = datetime(2026, 3, 12, 8, 1, tzinfo=UTC)
    assert next_stored_at(earlier, later) == later


@pytest.mark.usefixtures("dates_said_promptly")
def test_if_unmodified_since_guards_writes_when_if_match_is_absent(api):
    assert api.put(minimal()).status_code == 201
    time.sleep(1.1)  # a date is said once its second is over
    stored = api.get("/v1/articles/minimal").headers["Last-Modified"]
    old = "Thu, 01 Jan 1970 00:00:00 GMT"
    changed = minimal(headline="Changed")
    problem = _problem(api.put(changed, headers={"If-Unmodified-Since": old}), 412)
    assert "changed since If-Unmodified-Since" in problem["detail"]
    assert _problem(api.delete("minimal", headers={"If-Unmodified-Since": old}), 412)
    assert api.get("/v1/articles/minimal").get_json()["headline"] == "A minimal article"
    assert api.put(changed, headers={"If-Unmodified-Since": stored}).status_code == 200
    etag = api.get("/v1/articles/minimal").headers["ETag"]
    # If-Match, when given, decides alone (RFC 9110 §13.1.4).
    both = {"If-Match": etag, "If-Unmodified-Since": old}
    assert api.delete("minimal", headers=both).status_code == 204


@pytest.mark.usefixtures("dates_said_promptly")
def test_a_list_of_dates_in_if_unmodified_since_is_ignored(api):
    """RFC 9110 §13.1.4: a value with more than one member is ignored (the write goes on);
    werkzeug took the first date, and refused a write by a date the client never chose."""
    assert api.put(minimal()).status_code == 201
    time.sleep(1.1)  # a date is said once its second is over
    stored = api.get("/v1/articles/minimal").headers["Last-Modified"]
    listed = f"Sun, 06 Nov 1994 08:49:37 GMT, {stored}"
    assert (
        api.get("/v1/articles/minimal", headers={"If-Unmodified-Since": listed}).status_code == 200
    )
    assert (
        api.put(minimal(headline="Changed"), headers={"If-Unmodified-Since": listed}).status_code
        == 200
    )


def test_puts_racing_deletes_of_one_id_never_fail(stored_app):
    """On PostgreSQL a PUT whose insert lost to another creator then found the row deleted
    by the time it looked again, and answered 500 (a quarter of PUTs under such a race)."""
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    bodies = [minimal(id="racer", headline=f"Variant {n}") for n in range(3)]
    answers: list[tuple[str, int]] = []
    stop = time.monotonic() + 3

    def putter(n: int) -> None:
        client = stored_app.test_client()
        while time.monotonic() < stop:
            answers.append(
                (
                    "PUT",
                    client.put("/v1/articles/racer", json=bodies[n], headers=headers).status_code,
                )
            )

    def deleter() -> None:
        client = stored_app.test_client()
        while time.monotonic() < stop:
            answers.append(
                ("DELETE", client.delete("/v1/articles/racer", headers=headers).status_code)
            )

    threads = [threading.Thread(target=putter, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=deleter) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    puts = {status for method, status in answers if method == "PUT"}
    deletes = {status for method, status in answers if method == "DELETE"}
    assert puts <= {200, 201}, sorted(puts)
    assert deletes <= {204, 404}, sorted(deletes)
    assert len(answers) > 50


def test_a_write_that_waited_for_the_lock_is_dated_when_it_got_it(stored_app, api, database_url):
    """A writer that waited across a second dated its version in a second the lists had
    already said was over: one list date named two different feeds."""
    import sqlite3

    from sqlalchemy import text

    runtime = stored_app.extensions["broadsheet"]
    assert api.put(minimal(id="held", headline="First")).status_code == 201
    if runtime.engine.dialect.name == "sqlite":  # another process's write lock
        holder = sqlite3.connect(runtime.engine.url.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:  # another writer's hold on the row
        holder = runtime.engine.connect()
        holder.begin()
        holder.execute(text("SELECT id FROM articles WHERE id = 'held' FOR UPDATE"))
    outcome: dict = {}
    writer = threading.Thread(
        target=lambda: outcome.setdefault("put", api.put(minimal(id="held", headline="Second")))
    )
    writer.start()
    time.sleep(1.3)
    released = datetime.now(UTC).replace(microsecond=0)
    if runtime.engine.dialect.name == "sqlite":
        holder.execute("COMMIT")
    else:
        holder.commit()
    holder.close()
    writer.join(timeout=30)
    assert outcome["put"].status_code == 200
    with runtime.database.reading() as session:
        from service.storage.articles import get_article

        assert get_article(session, "held").stored_at >= released


def test_a_star_among_tags_is_no_wildcard(api):
    """'"stale", *' in If-Match was read as the wildcard by PUT and DELETE (and not by GET):
    a stale tag beside it overwrote the article, the lost update If-Match prevents."""
    assert api.put(minimal()).status_code == 201
    for header in ('"stale", *', '*, "stale"'):
        _problem(api.put(minimal(headline="Changed"), headers={"If-Match": header}), 412)
        _problem(api.delete("minimal", headers={"If-Match": header}), 412)
    assert api.get("/v1/articles/minimal").get_json() == minimal()
    # Nor does If-None-Match take it for one: the article is not at "other", so it is written.
    written = api.put(minimal(headline="Changed"), headers={"If-None-Match": '"other", *'})
    assert written.status_code == 200


@pytest.mark.parametrize("coding", ["gzip", "br", "identity, gzip"])
def test_a_compressed_body_is_refused_415(api, coding):
    """Read as it came, gzip was "not UTF-8 (byte 1)", and a body labelled br was stored."""
    raw = json.dumps(minimal()).encode()
    body = gzip.compress(raw) if coding == "gzip" else raw
    headers = {"Content-Encoding": coding}
    refused = _problem(api.put(body, "minimal", headers=headers), 415)
    assert "Content-Encoding" in refused["detail"]
    rendered = api.client.post(
        "/v1/render/html", data=body, content_type="application/json", headers=headers
    )
    assert _problem(rendered, 415) == refused
    assert rendered.headers["Accept-Encoding"] == "identity"
    assert api.get("/v1/articles/minimal").status_code == 404
    assert api.put(raw, "minimal", headers={"Content-Encoding": "identity"}).status_code == 201


def test_a_partial_put_is_refused_400(api):
    """RFC 9110 §14.5: a PUT with Content-Range was stored as the whole article."""
    refused = _problem(api.put(minimal(), headers={"Content-Range": "bytes 0-10/100"}), 400)
    assert "Content-Range" in refused["detail"]
    assert api.get("/v1/articles/minimal").status_code == 404
