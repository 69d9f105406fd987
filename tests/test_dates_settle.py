"""When a date is first said: never while a write dated in its second may still commit.

A writer reads the clock once it holds its locks and commits a moment later. A reader that
came in between, once the second had turned, used to say the list was of that second without
the write; the write then committed with the same date, and a feed reader revalidating with
If-Modified-Since was told 304 for a stale feed until some later write.
"""

from __future__ import annotations

import time
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest

from service.errors import StorageTooSlow
from service.storage import db
from service.storage.articles import get_article, put_article
from service.validation import validate_article
from service.views import caching

from .conftest import runtime_of
from .corpus import minimal

LISTS = ("/feed.atom", "/feed.json", "/articles", "/v1/articles")


def _at_fraction_of_a_second(fraction: float) -> float:
    """Sleep until the clock is `fraction` into a second; return that second."""
    now = time.time()
    second = int(now) + (1 if now % 1 > fraction else 0)
    time.sleep(max(0.0, second + fraction - time.time()))
    return float(second)


def test_no_date_is_said_until_its_second_and_the_margin_are_over(api):
    """The real margin: DATE_SETTLES after the second, counted from the request's arrival."""
    assert caching.DATE_SETTLES == 2 * db.DATED_WRITE_LIMIT == timedelta(seconds=10)
    second = _at_fraction_of_a_second(0.05)
    assert api.put(minimal()).status_code == 201
    said_at = second + 1 + caching.DATE_SETTLES.total_seconds()
    seen_without = seen_with = 0
    while time.time() < said_at + 0.6:
        before = time.time()
        response = api.get("/articles/minimal")
        after = time.time()
        if after < said_at - 0.05:
            assert "Last-Modified" not in response.headers, before - second
            seen_without += 1
        elif before > said_at + 0.05:
            said = parsedate_to_datetime(response.headers["Last-Modified"])
            assert said.timestamp() == second
            seen_with += 1
        time.sleep(0.05)
    assert seen_without
    assert seen_with


def test_a_list_read_while_a_dated_write_commits_is_never_stale(api, stored_app, monkeypatch):
    """The race, made to happen: the second write is dated in the first's second and commits
    after a reader came once that second was over. Margins are widened so that the steps
    need not be timed to a few milliseconds; the rule is the same."""
    monkeypatch.setattr(db, "DATED_WRITE_LIMIT", timedelta(seconds=3))
    monkeypatch.setattr(caching, "DATE_SETTLES", timedelta(seconds=6))
    second = _at_fraction_of_a_second(0.05)
    assert api.put(minimal(id="first", kind="quick-read", headline="First")).status_code == 201
    document = minimal(id="second", kind="quick-read", headline="Second")
    runtime = runtime_of(stored_app)
    with runtime.database.writing() as session:
        stored = put_article(session, validate_article(document), document)
        assert int(stored.article.stored_at.timestamp()) == second  # dated in that second
        time.sleep(max(0.0, second + 1.5 - time.time()))  # the second is over, not the write
        during = {path: api.get(path) for path in LISTS}
    for path, response in during.items():
        assert response.status_code == 200, path
        assert b"Second" not in response.data, path
        assert "Last-Modified" not in response.headers, path  # it would have named `second`
    for path, response in during.items():
        changed = api.get(path, headers={"If-None-Match": response.headers["ETag"]})
        assert changed.status_code == 200, path
        assert b"Second" in changed.data, path
        assert "Last-Modified" not in changed.headers, path  # `second` is still settling


def test_a_dated_write_that_cannot_commit_in_time_stores_nothing(api, stored_app, monkeypatch):
    monkeypatch.setattr(db, "DATED_WRITE_LIMIT", timedelta(seconds=0.2))
    document = minimal(id="slow")
    runtime = runtime_of(stored_app)

    def store_slowly() -> None:
        with runtime.database.writing() as session:
            put_article(session, validate_article(document), document)
            time.sleep(0.3)

    with pytest.raises(StorageTooSlow):
        store_slowly()
    with runtime.database.reading() as session:
        assert get_article(session, "slow") is None
    assert api.put(document).status_code == 201  # in time, it is stored


def test_a_write_refused_as_too_slow_is_a_503_problem_to_retry(api, monkeypatch):
    assert api.put(minimal()).status_code == 201
    limit = db.DATED_WRITE_LIMIT
    monkeypatch.setattr(db, "DATED_WRITE_LIMIT", timedelta(0))
    for response in (api.put(minimal(headline="Changed")), api.delete("minimal")):
        assert response.status_code == 503
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["type"].endswith("/storage-too-slow")
        assert response.headers["Retry-After"] == "1"
    monkeypatch.setattr(db, "DATED_WRITE_LIMIT", limit)
    stored = api.get("/v1/articles/minimal").get_json()
    assert stored["headline"] == "A minimal article"  # neither write took effect


def test_a_commit_slower_than_the_readers_margin_is_logged(api, stored_app, monkeypatch, caplog):
    """The limit is checked before the COMMIT; a COMMIT that itself outlasts the readers'
    margin (an fsync stall) cannot be undone, and may have let a list be dated without it.
    It is said in the log, so that it can be seen."""
    from sqlalchemy import event

    monkeypatch.setattr(db, "DATED_WRITE_LIMIT", timedelta(seconds=0.2))
    engine = runtime_of(stored_app).engine

    def slow_commit(connection) -> None:
        time.sleep(0.5)

    event.listen(engine, "commit", slow_commit)
    try:
        with caplog.at_level("WARNING", logger="service.storage.db"):
            assert api.put(minimal(id="slow")).status_code == 201
    finally:
        event.remove(engine, "commit", slow_commit)
    (record,) = [r for r in caplog.records if r.name == "service.storage.db"]
    assert "may be stale until the next change" in record.getMessage()
    assert api.get("/v1/articles/slow").status_code == 200  # stored all the same
