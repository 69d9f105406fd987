"""`GET /digests/{date}` and `POST /v1/digests/{date}/send`: the token, 404s, idempotence."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy.orm import Session

from digests.assemble import MAX_ITEMS
from digests.ledger import SendLedger
from digests.runs import daily_digest_for
from service import create_app
from service.mail.transport import MemoryTransport
from service.storage.models import Status
from service.storage.schema import upgrade

from .digest_articles import quick_read_json
from .digest_db import add_subscribers

TOKEN = "digest-routes-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _app(database_url: str, **settings: str):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "routes-secret",
            "DATABASE_URL": database_url,
            "BASE_URL": "https://news.example.org",
            "API_TOKEN": TOKEN,
            "MAIL_RELAY": False,
            **settings,
        }
    )


@pytest.fixture
def app(database_url):
    app = _app(database_url)
    runtime = app.extensions["broadsheet"]
    upgrade(runtime.engine)
    memory = MemoryTransport()
    runtime.transport = lambda: memory
    runtime.memory = memory
    yield app
    runtime.press.close()
    runtime.engine.dispose()


def publish(app, document) -> None:
    response = app.test_client().put(f"/v1/articles/{document['id']}", json=document, headers=AUTH)
    assert response.status_code == 201


def wait_until_sent(app, day: date, count: int) -> None:
    ledger = SendLedger(app.extensions["broadsheet"].engine)
    deadline = time.monotonic() + 30
    while ledger.counts(day).get("sent", 0) < count:
        assert time.monotonic() < deadline, ledger.counts(day)
        time.sleep(0.05)


def test_send_now_needs_the_token(app):
    client = app.test_client()
    assert client.post("/v1/digests/2026-03-12/send").status_code == 401
    wrong = {"Authorization": "Bearer not-the-token-at-all"}
    assert client.post("/v1/digests/2026-03-12/send", headers=wrong).status_code == 401


@pytest.mark.parametrize(
    "text", ["2026-3-12", "yesterday", "2026-02-30", "2026-03-12x", "0001-01-01", "9999-12-31"]
)
def test_a_date_that_is_not_one_is_404(app, text):
    client = app.test_client()
    assert client.get(f"/digests/{text}").status_code == 404
    response = client.post(f"/v1/digests/{text}/send", headers=AUTH)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(("zone", "at"), [("Asia/Tokyo", "07:00"), ("Europe/Berlin", "00:30")])
def test_the_first_days_are_404_in_a_zone_ahead_of_utc(database_url, zone, at):
    """The window of 0001-01-02 starts on 0001-01-01 at DIGEST_TIME; with the zone's offset
    larger than DIGEST_TIME that is before year 1 in UTC: an OverflowError, a 500."""
    app = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "API_TOKEN": TOKEN, "MAIL_RELAY": False,
         "BASE_URL": "https://news.example.org", "TIMEZONE": zone, "DIGEST_TIME": at}
    )  # fmt: skip
    upgrade(app.extensions["broadsheet"].engine)
    client = app.test_client()
    for day in ("0001-01-02", "0001-01-01"):
        assert client.get(f"/digests/{day}").status_code == 404
        assert client.post(f"/v1/digests/{day}/send", headers=AUTH).status_code == 404
        assert client.get(f"/editions/{day}.pdf").status_code == 404
    assert client.get("/digests/0001-01-03").status_code == 404  # no quick reads, no overflow
    app.extensions["broadsheet"].engine.dispose()


def test_an_empty_window_is_404_and_opens_no_run(app):
    add_subscribers(app.extensions["broadsheet"].engine, [Status.CONFIRMED])
    response = app.test_client().post("/v1/digests/2026-03-12/send", headers=AUTH)
    assert response.status_code == 404
    assert "nothing is sent" in response.get_json()["detail"]
    assert SendLedger(app.extensions["broadsheet"].engine).run(date(2026, 3, 12)) is None


def test_send_now_sends_once_however_often_it_is_asked(app):
    runtime = app.extensions["broadsheet"]
    add_subscribers(runtime.engine, [Status.CONFIRMED] * 5 + [Status.PENDING])
    publish(app, quick_read_json("news", "2026-03-11T09:00:00Z"))
    client = app.test_client()
    first = client.post("/v1/digests/2026-03-12/send", headers=AUTH)
    assert first.status_code == 202
    body = first.get_json()
    assert (body["date"], body["opened"], body["items"], body["audience"]) == (
        "2026-03-12",
        True,
        1,
        5,
    )
    wait_until_sent(app, date(2026, 3, 12), 5)
    again = client.post("/v1/digests/2026-03-12/send", headers=AUTH)
    assert again.status_code == 200
    assert again.get_json()["status"] == "done"
    assert again.get_json()["opened"] is False
    assert again.get_json()["counts"] == {"sent": 5}
    assert len(runtime.memory.sent) == 5
    assert len({envelope.recipients for envelope in runtime.memory.sent}) == 5


def test_a_digest_whose_window_is_still_open_is_not_sent_409(app):
    """Opened early, a run would fix its items and lose what is published before the time."""
    runtime = app.extensions["broadsheet"]
    add_subscribers(runtime.engine, [Status.CONFIRMED])
    now = datetime.now(UTC)
    publish(app, quick_read_json("early", (now - timedelta(minutes=5)).isoformat()))
    tomorrow = (now + timedelta(days=1)).date()  # its window ends tomorrow at DIGEST_TIME
    response = app.test_client().post(f"/v1/digests/{tomorrow.isoformat()}/send", headers=AUTH)
    problem = response.get_json()
    assert response.status_code == 409, problem
    assert response.mimetype == "application/problem+json"
    assert problem["type"].endswith("/digest-not-due")
    assert "is not due until" in problem["detail"]
    assert SendLedger(runtime.engine).run(tomorrow) is None
    assert runtime.memory.sent == []


def test_a_day_of_more_quick_reads_than_a_digest_names_says_how_many_more(app):
    """Every quick read of the window went into every copy: 500 made 21 MB messages."""
    runtime = app.extensions["broadsheet"]
    add_subscribers(runtime.engine, [Status.CONFIRMED])
    for n in range(MAX_ITEMS + 3):
        publish(app, quick_read_json(f"q{n:03d}", f"2026-03-11T08:{n // 60:02d}:{n % 60:02d}Z"))
    client = app.test_client()
    page = client.get("/digests/2026-03-12")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('class="digest-item"') == MAX_ITEMS
    assert "the first 100 of 103 quick reads" in html
    assert "3 more quick reads on the website:" in html
    assert "<h1>Quick reads</h1>" in html  # the page stays up after its day: not "Today's"
    assert "q099" in html  # oldest first, as the mail
    assert "q100" not in html
    # The page is tagged like every other, and answers 304 to a client that has it.
    etag = page.headers["ETag"]
    assert client.get("/digests/2026-03-12", headers={"If-None-Match": etag}).status_code == 304
    sent = client.post("/v1/digests/2026-03-12/send", headers=AUTH)
    assert sent.get_json()["items"] == MAX_ITEMS
    wait_until_sent(app, date(2026, 3, 12), 1)
    (envelope,) = runtime.memory.sent
    message = message_from_bytes(envelope.data, policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (text, html):
        assert "3 more quick reads on the website:" in part
        assert "https://news.example.org/articles" in part
    assert len(envelope.data) < 300_000


def publish_a_heavy_day(app) -> None:
    """MAX_ITEMS quick reads with long standfirsts on 2026-03-11: more HTML than one digest
    mail may hold, so the mail names only the first of them."""
    standfirst = " ".join(["Residents of the riverside wards asked for safer crossings"] * 6)
    for n in range(MAX_ITEMS):
        article = quick_read_json(
            f"q{n:03d}",
            f"2026-03-11T08:{n // 60:02d}:{n % 60:02d}Z",
            headline=f"Council approves the riverside transit budget after a long night {n}",
            standfirst=standfirst,
            section="City",
        )
        publish(app, article)


def test_the_send_route_counts_the_items_the_mail_names(app):
    """Past 92 KB of HTML the mail names fewer quick reads; the route said 100 while the mail
    named 92 and said "the first 92 of 100"."""
    runtime = app.extensions["broadsheet"]
    add_subscribers(runtime.engine, [Status.CONFIRMED])
    publish_a_heavy_day(app)
    sent = app.test_client().post("/v1/digests/2026-03-12/send", headers=AUTH)
    named = sent.get_json()["items"]
    assert 1 < named < MAX_ITEMS
    wait_until_sent(app, date(2026, 3, 12), 1)
    (envelope,) = runtime.memory.sent
    html = message_from_bytes(envelope.data, policy=policy.default).get_body(("html",))
    assert f"the first {named} of {MAX_ITEMS} quick reads" in " ".join(html.get_content().split())


def test_the_page_of_a_sent_digest_shows_what_the_mail_named(app):
    """The page was assembled again from what is stored now: a quick read stored into the
    closed window after the run opened was on the page and in no mail, and the items the
    mail left out for size were on the page too."""
    runtime = app.extensions["broadsheet"]
    add_subscribers(runtime.engine, [Status.CONFIRMED])
    publish_a_heavy_day(app)
    client = app.test_client()
    before = client.get("/digests/2026-03-12").get_data(as_text=True)
    assert before.count('class="digest-item"') == MAX_ITEMS  # not sent yet: all of them
    sent = client.post("/v1/digests/2026-03-12/send", headers=AUTH)
    named = sent.get_json()["items"]
    assert 1 < named < MAX_ITEMS
    wait_until_sent(app, date(2026, 3, 12), 1)
    publish(app, quick_read_json("late-comer", "2026-03-11T07:00:00Z"))  # oldest of the window
    response = client.delete("/v1/articles/q001", headers=AUTH)
    assert response.status_code == 204

    page = client.get("/digests/2026-03-12").get_data(as_text=True)
    (envelope,) = runtime.memory.sent
    mail = message_from_bytes(envelope.data, policy=policy.default).get_body(("html",))
    mail_text = " ".join(mail.get_content().split())
    assert "late-comer" not in page
    assert "q001" not in page  # deleted since: it is not shown
    assert page.count('class="digest-item"') == named - 1
    assert f"q{named - 1:03d}" in page
    assert f"q{named:03d}" not in page
    assert f"the first {named} of {MAX_ITEMS} quick reads" in mail_text
    assert f"{MAX_ITEMS - named} more quick reads on the website:" in " ".join(page.split())


def _run_row(app, day: date):
    from service.storage.models import DigestRun

    with Session(app.extensions["broadsheet"].engine) as session:
        return session.get(DigestRun, day)


def test_a_deleted_article_leaves_the_digest_not_yet_sent(app):
    """Deleting is how an editor pulls a wrong or defamatory piece: the run opened before it
    kept its headline and teaser and mailed them to everyone not yet sent, and kept its
    words in the database for good."""
    runtime = app.extensions["broadsheet"]
    add_subscribers(runtime.engine, [Status.CONFIRMED] * 3)
    publish(app, quick_read_json("pulled", "2026-03-11T08:00:00Z"))
    publish(app, quick_read_json("weather", "2026-03-11T09:00:00Z"))
    day = date(2026, 3, 12)
    opening = daily_digest_for(runtime).open_run(day)  # open, nothing sent yet
    assert opening.opened_now
    assert opening.run is not None
    assert "Headline of pulled" in opening.run.body.text

    client = app.test_client()
    assert client.delete("/v1/articles/pulled", headers=AUTH).status_code == 204
    row = _run_row(app, day)
    assert (row.article_ids, row.items) == (["weather"], 1)
    assert "pulled" not in row.html + row.text + row.subject
    assert client.post("/v1/digests/2026-03-12/send", headers=AUTH).status_code == 202
    wait_until_sent(app, day, 3)
    for envelope in runtime.memory.sent:
        assert b"pulled" not in envelope.data
        assert b"Headline of weather" in envelope.data

    # Sent in full, then its last quick read deleted: the run keeps none of its words.
    assert client.delete("/v1/articles/weather", headers=AUTH).status_code == 204
    row = _run_row(app, day)
    assert (row.article_ids, row.items) == ([], 0)
    assert "weather" not in row.html + row.text + row.subject
    assert SendLedger(runtime.engine).counts(day) == {"sent": 3}


def test_a_run_whose_quick_reads_are_all_deleted_sends_nothing(app):
    runtime = app.extensions["broadsheet"]
    add_subscribers(runtime.engine, [Status.CONFIRMED] * 2)
    publish(app, quick_read_json("pulled", "2026-03-11T08:00:00Z"))
    day = date(2026, 3, 12)
    assert daily_digest_for(runtime).open_run(day).opened_now
    client = app.test_client()
    assert client.delete("/v1/articles/pulled", headers=AUTH).status_code == 204
    response = client.post("/v1/digests/2026-03-12/send", headers=AUTH)
    assert response.status_code == 200
    assert response.get_json()["counts"] == {"skipped": 2}
    assert runtime.memory.sent == []
    # A quick read stored into the window since is not added; the page's 404 said no quick
    # read had been published in the window, which was untrue.
    publish(app, quick_read_json("late", "2026-03-11T09:00:00Z"))
    page = client.get("/digests/2026-03-12")
    assert page.status_code == 404
    detail = page.get_json()["detail"]
    assert detail.startswith("Every quick read the digest for 2026-03-12 named has been deleted")
    assert "No quick reads were published" not in detail
    assert "sent" not in detail  # nothing was: it said "since it was sent"


def test_an_article_deleted_while_the_run_opens_is_not_in_it(app, monkeypatch):
    """The run was written (0.4 to 7.6 s for a full digest), then inserted naming what a
    DELETE had taken away meanwhile; that DELETE found no run to take it out of."""
    runtime = app.extensions["broadsheet"]
    add_subscribers(runtime.engine, [Status.CONFIRMED] * 2)
    publish(app, quick_read_json("pulled", "2026-03-11T08:00:00Z"))
    publish(app, quick_read_json("weather", "2026-03-11T09:00:00Z"))
    daily = daily_digest_for(runtime)
    render, client = daily.render, app.test_client()

    def deleted_while_written(digest):
        written = render(digest)
        if client.get("/v1/articles/pulled").status_code == 200:
            assert client.delete("/v1/articles/pulled", headers=AUTH).status_code == 204
        return written

    monkeypatch.setattr(daily, "render", deleted_while_written)
    opening = daily.open_run(date(2026, 3, 12))
    assert opening.run is not None
    assert opening.run.article_ids == ("weather",)
    assert "pulled" not in opening.run.body.html + opening.run.body.text


def test_a_deletion_whose_process_stopped_is_taken_out_by_the_sender(app):
    """Deleted, then the process stopped before it took the article out of the run: the
    sender writes the run again before its batch, so no copy carries it."""
    from service.storage.articles import delete_article

    runtime = app.extensions["broadsheet"]
    add_subscribers(runtime.engine, [Status.CONFIRMED] * 3)
    publish(app, quick_read_json("pulled", "2026-03-11T08:00:00Z"))
    publish(app, quick_read_json("weather", "2026-03-11T09:00:00Z"))
    day = date(2026, 3, 12)
    assert daily_digest_for(runtime).open_run(day).opened_now
    with runtime.database.writing() as session:  # the deletion alone, as a stopped process left it
        assert delete_article(session, "pulled")
    assert client_sends(app, day) == 3
    for envelope in runtime.memory.sent:
        assert b"pulled" not in envelope.data
    assert _run_row(app, day).article_ids == ["weather"]


def test_a_run_emptied_with_messages_in_a_senders_hands_ends(app):
    """Only the waiting messages were skipped: a batch claimed by a sender that then died
    stayed claimed for good, and the day was listed as waiting for ever."""
    runtime = app.extensions["broadsheet"]
    add_subscribers(runtime.engine, [Status.CONFIRMED] * 3)
    publish(app, quick_read_json("pulled", "2026-03-11T08:00:00Z"))
    day = date(2026, 3, 12)
    assert daily_digest_for(runtime).open_run(day).opened_now
    ledger = SendLedger(runtime.engine)
    _, held = ledger.claim(day, now=datetime.now(UTC), lease=timedelta(seconds=-1), limit=2)
    assert len(held) == 2  # a sender took two and died; its lease has run out
    assert app.test_client().delete("/v1/articles/pulled", headers=AUTH).status_code == 204
    assert ledger.counts(day) == {"claimed": 2, "skipped": 1}
    response = app.test_client().post("/v1/digests/2026-03-12/send", headers=AUTH)
    assert response.status_code == 202
    deadline = time.monotonic() + 30
    while ledger.counts(day) != {"skipped": 3}:
        assert time.monotonic() < deadline, ledger.counts(day)
        time.sleep(0.05)
    assert runtime.memory.sent == []
    assert day not in ledger.days_waiting()


def client_sends(app, day: date) -> int:
    response = app.test_client().post(f"/v1/digests/{day.isoformat()}/send", headers=AUTH)
    assert response.status_code in (200, 202)
    ledger = SendLedger(app.extensions["broadsheet"].engine)
    deadline = time.monotonic() + 30
    while ledger.counts(day).get("pending", 0) + ledger.counts(day).get("claimed", 0):
        assert time.monotonic() < deadline, ledger.counts(day)
        time.sleep(0.05)
    return ledger.counts(day).get("sent", 0)


def test_production_without_a_mail_server_refuses_to_send(database_url):
    """The run was recorded as sent to a Maildir no reader's mail comes from."""
    app = _app(database_url, ENV="production", SECRET_KEY="routes-secret-" + "k" * 20)
    runtime = app.extensions["broadsheet"]
    upgrade(runtime.engine)
    try:
        add_subscribers(runtime.engine, [Status.CONFIRMED] * 2)
        publish(app, quick_read_json("news", "2026-03-11T09:00:00Z"))
        response = app.test_client().post("/v1/digests/2026-03-12/send", headers=AUTH)
        assert response.status_code == 503
        assert response.get_json()["detail"].startswith("BROADSHEET_SMTP_URL is unset")
        assert SendLedger(runtime.engine).run(date(2026, 3, 12)) is None  # refused before
    finally:
        runtime.press.close()
        runtime.engine.dispose()
