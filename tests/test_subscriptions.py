"""Signing up, confirming and leaving, through the routes, on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import gc
import re
import statistics
import string
import time
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import TimestampSigner
from lxml import html as lxml_html
from sqlalchemy import select, update

from service import create_app
from service.errors import NotFound
from service.mail.transport import MemoryTransport
from service.storage.models import ConfirmedConsent, OutboxMessage, Subscriber
from service.storage.schema import upgrade
from service.subscriptions import BadSignUp, SignUpRequest, read_sign_up
from service.tokens import Purpose, TokenSigner

TOKEN = "subscriptions-test-token"


@pytest.fixture
def app(database_url):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "subscriptions-secret",
            "DATABASE_URL": database_url,
            "BASE_URL": "https://news.example.org",
            "PUBLISHER_NAME": "Northside Brief",
            "PUBLISHER_ADDRESS": "1 Test Street, Testville",
            "API_TOKEN": TOKEN,
            "MAIL_RELAY": False,
            # Limits on, out of reach: every sign-up here is counted per client and address,
            # so the same-answer and same-timing tests cover the counting too.
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_SIGNUP": "1000000 per hour",
            "RATELIMIT_SIGNUP_ADDRESS": "1000000 per hour",
        }
    )
    runtime = app.extensions["broadsheet"]
    upgrade(runtime.engine)
    memory = MemoryTransport()
    runtime.transport = lambda: memory
    runtime.memory = memory
    yield app
    runtime.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def rows(app):
    with app.extensions["broadsheet"].engine.connect() as connection:
        return {row.email: row for row in connection.execute(select(Subscriber))}


def outbox(app):
    with app.extensions["broadsheet"].engine.connect() as connection:
        return list(connection.execute(select(OutboxMessage).order_by(OutboxMessage.id)))


def csrf_token(client) -> str:
    page = lxml_html.document_fromstring(client.get("/subscribe").get_data(as_text=True))
    (token,) = page.xpath("//input[@name='csrf_token']/@value")
    return token


def post_form(client, **fields):
    return client.post("/subscribe", data=fields, content_type="application/x-www-form-urlencoded")


def sign_up_confirmed(app, client, address: str) -> int:
    assert client.post("/subscribe", json={"email": address}).status_code == 202
    runtime = app.extensions["broadsheet"]
    row = rows(app)[address]
    found = runtime.subscriptions.subscriber_to_unsubscribe(
        runtime.tokens.sign(Purpose.UNSUBSCRIBE, row.id)
    )
    path = runtime.subscriptions.confirm_url(found).removeprefix("https://news.example.org")
    assert client.post(path).status_code == 200
    return row.id


# The form -------------------------------------------------------------------------------


def test_the_form_has_labelled_fields_and_a_csrf_token(client):
    response = client.get("/subscribe")
    assert response.status_code == 200
    page = lxml_html.document_fromstring(response.get_data(as_text=True))
    for field in ("email", "name"):
        (control,) = page.xpath(f"//input[@name='{field}']")
        assert page.xpath(f"//label[@for='{control.get('id')}']")
        hint = control.get("aria-describedby").split()[0]
        assert page.xpath(f"//*[@id='{hint}']")
    (form,) = page.xpath("//form")
    assert form.get("method") == "post"
    assert form.get("action") == "/subscribe"
    assert len(page.xpath("//input[@name='csrf_token']/@value")[0]) >= 32
    assert page.xpath("//input[@name='email']/@autocomplete") == ["email"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    assert "SameSite=Lax" in response.headers["Set-Cookie"]


def test_a_form_without_its_csrf_token_is_refused_and_stores_nothing(app, client):
    client.get("/subscribe")
    for forged in ("é", "\u202e" * 50, "\x00"):  # beyond ASCII once gave a 500
        assert post_form(client, email="a@example.org", csrf_token=forged).status_code == 400
    response = post_form(client, email="reader@example.org", csrf_token="forged")
    assert response.status_code == 400
    page = lxml_html.document_fromstring(response.get_data(as_text=True))
    assert page.xpath("//*[@role='alert']//li")
    assert page.xpath("//input[@name='email']/@value") == ["reader@example.org"]
    assert rows(app) == {}
    other = app.test_client()  # a page posting from elsewhere has no session at all
    assert post_form(other, email="reader@example.org").status_code == 400
    assert rows(app) == {}


@pytest.mark.parametrize(
    ("content_type", "tail"),
    [
        ("application/x-www-form-urlencoded", b"&name=Ren%E9"),  # a Latin-1 page's escape
        ("application/x-www-form-urlencoded", b"&name=Ren\xe9"),  # a Latin-1 byte
        ("multipart/form-data", b""),  # no boundary
    ],
)
def test_a_form_that_cannot_be_read_is_400_saying_so_and_stores_nothing(
    app, client, content_type, tail
):
    """ "Ren%E9" was signed up as written, a raw byte emptied the form ("the form had
    expired", every value typed lost), as did a multipart form without its boundary."""
    body = f"csrf_token={csrf_token(client)}&email=ren%40example.org".encode() + tail
    response = client.post("/subscribe", data=body, content_type=content_type)
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith("The form could not be read: ")
    assert rows(app) == {}


def test_errors_are_announced_and_tied_to_their_field(app, client):
    response = post_form(
        client, email="not an address", name="x" * 201, csrf_token=csrf_token(client)
    )
    assert response.status_code == 422
    page = lxml_html.document_fromstring(response.get_data(as_text=True))
    assert page.findtext(".//title").startswith("Error: ")
    (summary,) = page.xpath("//*[@role='alert']")
    assert summary.xpath(".//a/@href") == ["#email", "#name"]
    for field in ("email", "name"):
        (control,) = page.xpath(f"//input[@name='{field}']")
        assert control.get("aria-invalid") == "true"
        error_id = f"{field}-error"
        assert error_id in control.get("aria-describedby").split()
        (message,) = page.xpath(f"//*[@id='{error_id}']")
        assert message.text_content().strip().startswith("Error:")
    assert page.xpath("//input[@name='email']/@value") == ["not an address"]
    assert rows(app) == {}


def test_a_form_sign_up_records_consent_and_queues_a_confirmation(app, client):
    response = post_form(
        client, email="Reader@Example.org", name=" Ann  Reader ", csrf_token=csrf_token(client)
    )
    assert response.status_code == 200
    page = lxml_html.document_fromstring(response.get_data(as_text=True))
    assert page.findtext(".//h1") == "Check your inbox"
    row = rows(app)["Reader@example.org"]
    assert row.status == "pending"
    assert row.name == "Ann Reader"
    assert row.email_key == "reader@example.org"
    assert row.consent_form == "form"
    assert row.consent_ip == "127.0.0.1"
    assert row.consented_at is not None
    assert row.confirmed_at is None
    assert [(m.purpose, m.subscriber_id, m.status) for m in outbox(app)] == [
        ("confirm", row.id, "pending")
    ]


# JSON -----------------------------------------------------------------------------------


def test_a_json_sign_up_is_accepted(app, client):
    response = client.post("/subscribe", json={"email": "json@example.org", "name": "J"})
    assert response.status_code == 202
    assert response.get_json()["status"] == "accepted"
    assert rows(app)["json@example.org"].consent_form == "json"


@pytest.mark.parametrize(
    ("body", "pointers"),
    [
        ({"email": "nope"}, ["/email"]),
        ({}, ["/email"]),
        ({"email": "a@example.org", "name": 5}, ["/name"]),
        ({"email": "a@example.org", "nam": "typo"}, ["/nam"]),
        ({"email": "a@example.org", "name": "bad\u0007bell"}, ["/name"]),
        (["a@example.org"], [""]),
    ],
)
def test_a_bad_json_sign_up_is_422_with_pointers(app, client, body, pointers):
    response = client.post("/subscribe", json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert [e["pointer"] for e in response.get_json()["errors"]] == pointers
    assert rows(app) == {}


def test_a_sign_up_of_another_media_type_is_415(client):
    response = client.post("/subscribe", data="email=a@example.org", content_type="text/plain")
    assert response.status_code == 415


# The sign-up model: the JSON body and the form's two fields, read alike ---------------------

ENTER = "Enter your e-mail address"
LIKE = "Enter an e-mail address like name@example.org"
LONG_NAME = "Enter a name of at most 200 characters"
NOT_A_FIELD = "is not a field of a sign-up; send email and name"
ADDRESS = "a@example.org"


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, [("/email", ENTER)]),
        ({"email": None}, [("/email", ENTER)]),
        ({"email": 5}, [("/email", ENTER)]),
        ({"email": "   "}, [("/email", ENTER)]),
        ({"email": ""}, [("/email", ENTER)]),
        ({"email": "ab"}, [("/email", LIKE)]),
        ({"email": "nope"}, [("/email", LIKE)]),
        ({"email": "x" * 250 + "@example.org"}, [("/email", LIKE)]),
        ({"email": "\ud800@example.org"}, [("/email", LIKE)]),
        ({"email": "root@localhost"}, [("/email", LIKE)]),
        ({"email": "postmaster@LocalHost"}, [("/email", LIKE)]),
        ({"email": ADDRESS, "name": 5}, [("/name", "must be text")]),
        ({"email": ADDRESS, "name": "x" * 201}, [("/name", LONG_NAME)]),
        (
            {"email": ADDRESS, "name": "bad\u0007bell"},
            [("/name", "The name contains the character U+0007, which is not allowed")],
        ),
        (
            {"email": ADDRESS, "name": "\ud800"},
            [("/name", "The name contains the character U+D800, which is not allowed")],
        ),
        (
            {"email": ADDRESS, "name": "a\u202eb"},
            [
                (
                    "/name",
                    "The name leaves the bidirectional control U+202E open: "
                    "close it with U+202C on the same line",
                )
            ],
        ),
        ({"email": ADDRESS, "nam": "typo"}, [("/nam", NOT_A_FIELD)]),
        (
            {"emial": ADDRESS, "name": "x" * 201},
            [("/emial", NOT_A_FIELD), ("/email", ENTER), ("/name", LONG_NAME)],
        ),
        ([ADDRESS], [("", "must be an object: {email, name?}")]),
    ],
)
def test_a_sign_up_is_refused_field_by_field_in_words(body, errors):
    with pytest.raises(BadSignUp) as caught:
        read_sign_up(body)
    assert [(e.pointer, e.message) for e in caught.value.errors] == errors


@pytest.mark.parametrize(
    ("body", "taken"),
    [
        ({"email": " Reader@Example.ORG "}, ("Reader@example.org", None)),
        ({"email": "a@example.org", "name": "   "}, ("a@example.org", None)),
        ({"email": "a@example.org", "name": " Ann \n Reader\t"}, ("a@example.org", "Ann Reader")),
        ({"email": "a@example.org", "name": "x" * 200}, ("a@example.org", "x" * 200)),
        # Nothing that shows is no name: "addressed to ." on the page, and in To: headers.
        ({"email": "a@example.org", "name": "\u200b"}, ("a@example.org", None)),
        ({"email": "a@example.org", "name": " \u3164 \u00ad "}, ("a@example.org", None)),
        ({"email": "a@example.org", "name": "\u2800"}, ("a@example.org", None)),
    ],
)
def test_a_sign_up_is_taken_with_its_address_checked_and_its_name_on_one_line(body, taken):
    request_data = read_sign_up(body)
    assert (request_data.email, request_data.name) == taken


def _read_sign_up(body) -> SignUpRequest | BadSignUp:
    try:
        return read_sign_up(body)
    except BadSignUp as refusal:
        return refusal


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=8,
)


@given(
    body=json_values
    | st.fixed_dictionaries(
        {},
        optional={
            "email": json_values | st.emails(),
            "name": json_values,
            "nam": json_values,
        },
    )
)
def test_any_json_is_a_sign_up_or_a_bad_sign_up(body):
    outcome = _read_sign_up(body)
    if isinstance(outcome, BadSignUp):
        assert outcome.errors
        assert all(e.message for e in outcome.errors)
    else:
        assert "@" in outcome.email
        assert outcome.name is None or outcome.name == " ".join(outcome.name.split()) != ""


# The same answer, whoever signs up ------------------------------------------------------


def test_the_answer_is_the_same_whether_the_address_is_known(app, client):
    sign_up_confirmed(app, client, "known@example.org")
    client.post("/subscribe", json={"email": "waiting@example.org"})
    answers = {
        address: client.post("/subscribe", json={"email": address})
        for address in ("new@example.org", "known@example.org", "waiting@example.org")
    }
    assert {(r.status_code, r.get_data()) for r in answers.values()} == {
        (202, answers["new@example.org"].get_data())
    }
    pages = {
        address: post_form(client, email=address, csrf_token=csrf_token(client))
        for address in ("fresh@example.org", "known@example.org")
    }
    assert pages["fresh@example.org"].get_data() == pages["known@example.org"].get_data()
    # The confirmed subscriber is told they are subscribed; their record is untouched.
    purposes = [(m.purpose, m.subscriber_id) for m in outbox(app)]
    known = rows(app)["known@example.org"]
    # Told once: the second sign-up finds the first one's mail still waiting.
    assert purposes.count(("already-subscribed", known.id)) == 1
    assert known.status == "confirmed"
    assert known.consent_form == "json"


def test_the_timing_is_the_same_whether_the_address_is_known(app, client):
    rounds = 40
    for n in range(rounds):
        client.post("/subscribe", json={"email": f"known{n}@example.org"})
    with app.extensions["broadsheet"].engine.begin() as connection:  # half of them confirmed
        connection.execute(
            update(Subscriber).where(Subscriber.id % 2 == 0).values(status="confirmed")
        )

    def medians(attempt: int) -> tuple[float, float]:
        timings: dict[str, list[float]] = {"known": [], "new": []}
        gc.disable()  # a collection landing on one side is noise, not a difference
        try:
            for n in range(rounds):
                pair = [
                    ("new", f"new{n}-{attempt}@example.org"),
                    ("known", f"known{n}@example.org"),
                ]
                for kind, address in pair if n % 2 else pair[::-1]:  # neither always first
                    start = time.perf_counter()
                    assert client.post("/subscribe", json={"email": address}).status_code == 202
                    timings[kind].append(time.perf_counter() - start)
        finally:
            gc.enable()
        return statistics.median(timings["known"]), statistics.median(timings["new"])

    # A real difference shows every time; a busy machine's noise does not, so three tries.
    for attempt in range(3):
        known, new = medians(attempt)
        if abs(known - new) < max(0.3 * new, 0.002):
            break
    else:
        pytest.fail(f"known addresses take {known * 1000:.2f} ms, new ones {new * 1000:.2f} ms")


# Confirming -------------------------------------------------------------------------------


def test_both_outbox_mails_keep_their_text_to_72_columns(app, client):
    """The confirmation's text was wrapped by hand around the publisher's name: 80 columns
    with the shortest name, 112 with a long one."""
    client.post("/subscribe", json={"email": "w@example.org"})
    runtime = app.extensions["broadsheet"]
    runtime.relay.deliver_all_due()
    confirm = runtime.memory.sent[-1]
    message = email.message_from_bytes(confirm.data, policy=policy.default)
    path = re.search(
        r"<https://news\.example\.org(/subscribe/confirm/[^>]+)>",
        message.get_body(("plain",)).get_content(),
    )[1]
    client.post(path)
    client.post("/subscribe", json={"email": "w@example.org"})  # the already-subscribed notice
    runtime.relay.deliver_all_due()
    for envelope in runtime.memory.sent[-2:]:
        message = email.message_from_bytes(envelope.data, policy=policy.default)
        text = message.get_body(("plain",)).get_content()
        long = [line for line in text.splitlines() if len(line) > 72 and "<" not in line]
        assert long == [], message["Subject"]


@pytest.mark.parametrize(
    ("forwarded", "kept"),
    [
        (
            "[2a02:8108:1234:5678:9abc:def0:1234:5678]:54321",
            "2a02:8108:1234:5678:9abc:def0:1234:5678",
        ),
        ("203.0.113.7:4001", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::1"),
        ("not-an-address", None),
    ],
)
def test_the_consent_keeps_the_client_s_address_alone(app, client, forwarded, kept):
    """A proxy that writes the port too: the consent kept "203.0.113.7:4001", and a full
    IPv6 address with its port passed the column's 45 characters, a 500 on PostgreSQL."""
    response = client.post(
        "/subscribe", json={"email": "ip@example.org"}, environ_base={"REMOTE_ADDR": forwarded}
    )
    assert response.status_code == 202
    assert rows(app)["ip@example.org"].consent_ip == kept


def test_the_confirmation_mail_confirms_once_and_stays_confirmed(app, client):
    client.post("/subscribe", json={"email": "c@example.org", "name": "Cee"})
    runtime = app.extensions["broadsheet"]
    assert runtime.relay.deliver_all_due() == 1
    (envelope,) = runtime.memory.sent
    assert envelope.recipients == ("c@example.org",)
    message = email.message_from_bytes(envelope.data, policy=policy.default)
    assert message["Subject"] == "Confirm your subscription to Northside Brief"
    # The name was typed by whoever signed up: it goes nowhere until the address confirms.
    assert message["To"].addresses[0].display_name == ""
    assert "Cee" not in envelope.data.decode("ascii", "replace")
    text = message.get_body(("plain",)).get_content()
    (link,) = re.findall(r"<(https://news\.example\.org/subscribe/confirm/[^>]+)>", text)
    page = lxml_html.document_fromstring(message.get_body(("html",)).get_content())
    assert page.xpath("//a[@class='button']/@href") == [link]
    path = link.removeprefix("https://news.example.org")
    # Opening the link, as a link scanner would (GET or HEAD), confirms nothing: it shows
    # one button that posts back to the same address.
    assert client.head(path).status_code == 200
    opened = client.get(path)
    assert opened.status_code == 200
    page_of_link = lxml_html.document_fromstring(opened.get_data())
    assert page_of_link.findtext(".//h1") == "Confirm your subscription"
    assert page_of_link.xpath("//form/@method") == ["post"]
    assert page_of_link.xpath("//form/@action") == [path]
    assert "c@example.org" in page_of_link.text_content()
    assert rows(app)["c@example.org"].status == "pending"
    for _ in range(2):
        response = client.post(path)
        assert response.status_code == 200
        assert lxml_html.document_fromstring(response.get_data()).findtext(".//h1") == (
            "You are subscribed"
        )
    row = rows(app)["c@example.org"]
    assert row.status == "confirmed"
    assert row.confirmed_at is not None
    again = lxml_html.document_fromstring(client.get(path).get_data())
    assert again.findtext(".//h1") == "You are subscribed"


def test_a_mail_that_no_longer_applies_is_not_sent(app, client):
    sign_up_confirmed(app, client, "quick@example.org")
    runtime = app.extensions["broadsheet"]
    runtime.relay.deliver_all_due()
    assert runtime.memory.sent == []
    assert [m.status for m in outbox(app)] == ["skipped"]


def tokens(app, subscriber_id: int) -> dict[str, str]:
    runtime = app.extensions["broadsheet"]
    row = runtime.subscriptions.subscriber_to_unsubscribe(
        runtime.tokens.sign(Purpose.UNSUBSCRIBE, subscriber_id)
    )
    confirm = runtime.subscriptions.confirm_url(row).rsplit("/", 1)[1]
    leave = runtime.subscriptions.unsubscribe_url(row).rsplit("/", 1)[1]
    return {"confirm": confirm, "unsubscribe": leave}


def altered(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


@pytest.mark.parametrize(
    ("route", "which"),
    [
        ("/subscribe/confirm/", "forged"),
        ("/subscribe/confirm/", "altered"),
        ("/subscribe/confirm/", "unsubscribe"),
        ("/unsubscribe/", "forged"),
        ("/unsubscribe/", "altered"),
        ("/unsubscribe/", "confirm"),
    ],
)
def test_forged_altered_or_wrong_purpose_tokens_are_404(app, client, route, which):
    client.post("/subscribe", json={"email": "t@example.org"})
    subscriber = rows(app)["t@example.org"]
    made = tokens(app, subscriber.id)
    token = {
        "forged": "WzEsIjIwMjYtMDMtMTIifQ.forged.signature",
        "altered": altered(made["confirm" if "confirm" in route else "unsubscribe"]),
        "unsubscribe": made["unsubscribe"],
        "confirm": made["confirm"],
    }[which]
    assert client.get(route + token).status_code == 404
    assert client.post(route + token).status_code == 404
    assert rows(app)["t@example.org"].status == "pending"


def _low_bits_changed(token: str) -> str:
    """The signature's last character with an unused low bit flipped: the same bytes."""
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    last = token[-1]
    return token[:-1] + alphabet[alphabet.index(last) ^ 1]


@pytest.mark.parametrize("route", ["/subscribe/confirm/", "/unsubscribe/"])
@pytest.mark.parametrize(
    "alter",
    [
        lambda token: token + "~~~~",
        lambda token: token + "!!!!",
        lambda token: token + "%00%00%00%00",
        lambda token: token + "%3F%3F%3F%3F",
        lambda token: token[:-4] + "~" + token[-4:-2] + "~" + token[-2:] + "~~",
        lambda token: token[:-3] + "%C3%A9" + token[-3:],
        _low_bits_changed,
    ],
    ids=["tildes", "bangs", "nul", "question-marks", "inside", "non-ascii", "low-bits"],
)
def test_a_link_with_characters_added_to_its_signature_is_404(app, client, route, alter):
    """itsdangerous reads base64 leniently (characters outside the alphabet and a last
    character's unused bits are ignored), and the signature is not itself signed: such
    links confirmed and unsubscribed, and their page carried the added characters."""
    client.post("/subscribe", json={"email": "t@example.org"})
    made = tokens(app, rows(app)["t@example.org"].id)
    token = made["confirm" if "confirm" in route else "unsubscribe"]
    assert client.get(route + token).status_code == 200  # the link as made works
    assert client.get(route + alter(token)).status_code == 404
    assert client.post(route + alter(token)).status_code == 404
    assert rows(app)["t@example.org"].status == "pending"


def test_a_link_whose_payload_was_compressed_is_read():
    """itsdangerous compresses a payload zlib makes shorter, and marks it with a leading
    dot: such links (a sign-up at a moment with repetitive digits) were refused."""
    signer = TokenSigner("a-secret-key-for-this-test-0123")
    token = signer.sign(Purpose.CONFIRM, 25164, "2027-07-07T00:00:00.146964+00:00")
    assert token.startswith(".")
    assert signer.read(Purpose.CONFIRM, token, 2) == (25164, "2027-07-07T00:00:00.146964+00:00")
    with pytest.raises(NotFound):
        signer.read(Purpose.CONFIRM, token + "~~~~", 2)


@pytest.mark.parametrize("route", ["/subscribe/confirm/", "/unsubscribe/"])
@pytest.mark.parametrize("accept", ["*/*", "application/json", "text/html"])
def test_a_broken_link_opened_is_a_page_and_posted_is_negotiated(client, route, accept):
    """Opened from a mail (GET), a link is a page whatever the Accept, broken or not (as the
    README says); a POST to one is answered as any other form: by Accept."""
    opened = client.get(route + "not-a-token", headers={"Accept": accept})
    assert (opened.status_code, opened.mimetype) == (404, "text/html")
    # Cut after its slash, or lengthened by a rewriter's slash: no route, still a page.
    for damaged in (route, route + "not-a-token/"):
        opened = client.get(damaged, headers={"Accept": accept})
        assert (opened.status_code, opened.mimetype) == (404, "text/html"), damaged
    posted = client.post(route + "not-a-token", headers={"Accept": accept})
    wanted = "text/html" if accept == "text/html" else "application/problem+json"
    assert (posted.status_code, posted.mimetype) == (404, wanted)
    assert "Accept" in posted.vary


@pytest.mark.parametrize("accept", ["*/*", None, "application/json"])
def test_a_link_opened_is_a_page_when_refused_or_when_the_database_is_away(make_app, accept):
    """A mail client's viewer may ask for anything, or name nothing: a link opened from it
    over the pages' budget (429), or while the database was away (503), was problem JSON."""
    headers = {"Accept": accept} if accept else {}
    limited = make_app(RATELIMIT_ENABLED=True, RATELIMIT_PAGES="1 per hour").test_client()
    limited.get("/subscribe/confirm/not-a-token", headers=headers)
    refused = limited.get("/subscribe/confirm/not-a-token", headers=headers)
    assert (refused.status_code, refused.mimetype) == (429, "text/html")
    assert "Retry-After" in refused.headers
    away = make_app(DATABASE_URL="sqlite:////nonexistent/folder/x.sqlite3").test_client()
    for route in ("/subscribe/confirm/", "/unsubscribe/"):
        signer = TokenSigner("test-secret")
        token = (
            signer.sign(Purpose.CONFIRM, 1, "2026-03-12T09:00:00+00:00")
            if "confirm" in route
            else signer.sign(Purpose.UNSUBSCRIBE, 1)
        )
        opened = away.get(route + token, headers=headers)
        assert (opened.status_code, opened.mimetype) == (503, "text/html"), opened.data[:200]
        posted = away.post(route + token, headers=headers)  # a form's answer, by Accept
        assert (posted.status_code, posted.mimetype) == (503, "application/problem+json")


def test_links_and_forms_signed_with_a_former_key_are_still_taken(app, database_url, request):
    """A SECRET_KEY changed (after a leak, say) made every unsubscribe link already mailed
    a 404, and every open confirmation link and sign-up form: a former key listed in
    SECRET_KEY_FALLBACKS still reads them; new links are signed with the new key."""
    old_client = app.test_client()
    old_client.post("/subscribe", json={"email": "stay@example.org"})
    old_client.post("/subscribe", json={"email": "leave@example.org"})
    stay, leave = (tokens(app, rows(app)[a].id) for a in ("stay@example.org", "leave@example.org"))
    form = csrf_token(old_client)

    def rotated(**fallbacks):
        made = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "a-new-secret-key-0123456789",
                "DATABASE_URL": database_url,
                "BASE_URL": "https://news.example.org",
                "MAIL_RELAY": False,
                **fallbacks,
            }
        )
        made.extensions["broadsheet"].transport = MemoryTransport
        request.addfinalizer(made.extensions["broadsheet"].engine.dispose)
        return made

    without = rotated().test_client()
    assert without.post(f"/unsubscribe/{leave['unsubscribe']}").status_code == 404
    assert without.get(f"/subscribe/confirm/{stay['confirm']}").status_code == 404
    after = rotated(SECRET_KEY_FALLBACKS="subscriptions-secret")
    client = after.test_client()
    assert client.post(f"/subscribe/confirm/{stay['confirm']}").status_code == 200
    assert client.post(f"/unsubscribe/{leave['unsubscribe']}").status_code == 200
    statuses = {a: r.status for a, r in rows(app).items()}
    assert statuses == {"stay@example.org": "confirmed", "leave@example.org": "unsubscribed"}
    # A sign-up form served before the change: its session cookie, signed with the old key.
    client.set_cookie("broadsheet_form", old_client.get_cookie("broadsheet_form").value)
    posted = client.post(
        "/subscribe",
        data={"email": "form@example.org", "csrf_token": form},
        content_type="application/x-www-form-urlencoded",
    )
    assert posted.status_code == 200, posted.get_data(as_text=True)[:300]
    # New links: the new key's, which the old key alone does not read.
    new = tokens(after, rows(after)["stay@example.org"].id)["unsubscribe"]
    assert (
        after.extensions["broadsheet"].tokens.read_unsubscribe(new)[0]
        == rows(app)["stay@example.org"].id
    )
    with pytest.raises(NotFound):
        TokenSigner("subscriptions-secret").read_unsubscribe(new)
    assert rows(app)["form@example.org"].status == "pending"


def test_a_confirmation_link_expires_and_an_unsubscribe_link_never_does(app, client, monkeypatch):
    client.post("/subscribe", json={"email": "old@example.org"})
    subscriber = rows(app)["old@example.org"]
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(
        TimestampSigner, "get_timestamp", lambda self: real(self) - 5 * 365 * 24 * 3600
    )
    old = tokens(app, subscriber.id)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    assert client.get(f"/subscribe/confirm/{old['confirm']}").status_code == 404
    assert client.post(f"/subscribe/confirm/{old['confirm']}").status_code == 404
    assert rows(app)["old@example.org"].status == "pending"
    assert client.post(f"/unsubscribe/{old['unsubscribe']}").status_code == 200
    assert rows(app)["old@example.org"].status == "unsubscribed"


def test_a_new_sign_up_replaces_the_consent_and_the_old_link(app, client):
    client.post("/subscribe", json={"email": "twice@example.org"})
    first = tokens(app, rows(app)["twice@example.org"].id)["confirm"]
    client.post("/subscribe", json={"email": "twice@example.org"})
    assert client.get(f"/subscribe/confirm/{first}").status_code == 404
    assert client.post(f"/subscribe/confirm/{first}").status_code == 404
    second = tokens(app, rows(app)["twice@example.org"].id)["confirm"]
    assert client.get(f"/subscribe/confirm/{second}").status_code == 200
    assert rows(app)["twice@example.org"].status == "pending"
    assert client.post(f"/subscribe/confirm/{second}").status_code == 200
    assert rows(app)["twice@example.org"].status == "confirmed"


# Leaving ------------------------------------------------------------------------------------


def test_an_old_link_never_names_whoever_gets_the_id_next(app, client):
    """SQLite gives a deleted row's id again (an erasure by hand, then a sign-up): the old
    subscriber's unsubscribe link named the new one, showed their address and let them go.
    A link names the row made when it says; one signed before that (the id alone) is still
    honoured, as old digests in inboxes carry it."""
    runtime = app.extensions["broadsheet"]
    first = sign_up_confirmed(app, client, "erased@example.org")
    old_link = tokens(app, first)["unsubscribe"]
    with runtime.engine.begin() as connection:
        connection.execute(Subscriber.__table__.delete().where(Subscriber.id == first))
    time.sleep(1.1)  # a row made in another second
    second = sign_up_confirmed(app, client, "newcomer@example.org")
    if second != first:  # PostgreSQL's sequence never gives an id again: as SQLite does
        with runtime.engine.begin() as connection:
            for table in (OutboxMessage.__table__, ConfirmedConsent.__table__):
                connection.execute(table.delete().where(table.c.subscriber_id == second))
            connection.execute(update(Subscriber).where(Subscriber.id == second).values(id=first))
    for answer in (client.get(f"/unsubscribe/{old_link}"), client.post(f"/unsubscribe/{old_link}")):
        assert answer.status_code == 404
        assert b"newcomer" not in answer.data
    assert rows(app)["newcomer@example.org"].status == "confirmed"
    assert client.post(f"/unsubscribe/{tokens(app, first)['unsubscribe']}").status_code == 200
    assert rows(app)["newcomer@example.org"].status == "unsubscribed"


def test_an_unsubscribe_link_signed_before_links_named_the_second_still_works(app, client):
    runtime = app.extensions["broadsheet"]
    subscriber_id = sign_up_confirmed(app, client, "early@example.org")
    legacy = runtime.tokens.sign(Purpose.UNSUBSCRIBE, subscriber_id)
    assert client.post(f"/unsubscribe/{legacy}").status_code == 200
    assert rows(app)["early@example.org"].status == "unsubscribed"


def test_the_unsubscribe_page_has_one_button_and_sets_no_cookie(app, client):
    subscriber_id = sign_up_confirmed(app, client, "leave@example.org")
    token = tokens(app, subscriber_id)["unsubscribe"]
    fresh = app.test_client(use_cookies=False)
    response = fresh.get(f"/unsubscribe/{token}")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    page = lxml_html.document_fromstring(response.get_data(as_text=True))
    (form,) = page.xpath("//main//form")
    assert form.get("method") == "post"
    assert form.get("action") == f"/unsubscribe/{token}"
    assert len(page.xpath("//main//button")) == 1
    assert not page.xpath("//main//input")
    assert rows(app)["leave@example.org"].status == "confirmed"


def test_one_click_unsubscribe_needs_no_cookie_no_csrf_and_answers_200(app, client):
    subscriber_id = sign_up_confirmed(app, client, "one@example.org")
    token = tokens(app, subscriber_id)["unsubscribe"]
    mail_client = app.test_client(use_cookies=False)
    for _ in range(2):  # a mail client may post twice
        response = mail_client.post(
            f"/unsubscribe/{token}",
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
        assert "Location" not in response.headers
        assert "Set-Cookie" not in response.headers
    row = rows(app)["one@example.org"]
    assert row.status == "unsubscribed"
    assert row.unsubscribed_at is not None
    page = mail_client.get(f"/unsubscribe/{token}")
    assert lxml_html.document_fromstring(page.get_data()).findtext(".//h1") == (
        "You are unsubscribed"
    )


def test_signing_up_again_after_leaving_needs_a_new_confirmation(app, client):
    subscriber_id = sign_up_confirmed(app, client, "back@example.org")
    client.post(f"/unsubscribe/{tokens(app, subscriber_id)['unsubscribe']}")
    assert rows(app)["back@example.org"].unsubscribed_at is not None
    client.post("/subscribe", json={"email": "back@example.org"})
    assert rows(app)["back@example.org"].status == "pending"
    confirm = tokens(app, subscriber_id)["confirm"]
    assert client.post(f"/subscribe/confirm/{confirm}").status_code == 200
    back = rows(app)["back@example.org"]
    assert back.status == "confirmed"
    assert back.unsubscribed_at is None  # it said "confirmed" and "left" at once


def test_a_form_sent_twice_mails_once(app, client):
    """Both mails carried the same link: the relay writes a mail when it sends it."""
    for _ in range(2):
        assert client.post("/subscribe", json={"email": "twice@example.org"}).status_code == 202
    assert [(m.purpose, m.status) for m in outbox(app)] == [("confirm", "pending")]
    sign_up_confirmed(app, client, "known@example.org")
    for _ in range(2):  # the "you are subscribed already" mail, likewise
        client.post("/subscribe", json={"email": "known@example.org"})
    purposes = [
        m.purpose for m in outbox(app) if m.subscriber_id == rows(app)["known@example.org"].id
    ]
    assert purposes.count("confirm") == 1
    assert len(purposes) == 2


def test_signing_up_again_gives_a_waiting_mail_its_retries_anew(app, client):
    """Merged into a mail that had spent most of its attempts (a full mailbox), a second
    sign-up got one try, then "failed" for good."""
    assert client.post("/subscribe", json={"email": "full@example.org"}).status_code == 202
    runtime = app.extensions["broadsheet"]
    later = datetime.now(UTC) + timedelta(hours=6)
    with runtime.engine.begin() as connection:
        connection.execute(update(OutboxMessage).values(attempts=29, next_attempt_at=later))
    assert client.post("/subscribe", json={"email": "full@example.org"}).status_code == 202
    (message,) = outbox(app)
    assert message.attempts == 0
    assert message.next_attempt_at < datetime.now(UTC) + timedelta(seconds=1)


def test_the_confirmation_page_shows_the_name_the_mail_will_be_addressed_to(app, client):
    """Anyone may sign up an address under any name before its owner confirms; the owner
    now sees the name before confirming it."""
    client.post("/subscribe", json={"email": "alice@example.org", "name": "Mallory"})
    confirm = tokens(app, rows(app)["alice@example.org"].id)["confirm"]
    page = lxml_html.document_fromstring(client.get(f"/subscribe/confirm/{confirm}").data)
    text = " ".join(page.xpath("string(//main)").split())
    assert "sent to alice@example.org, addressed to Mallory." in text
    assert page.xpath("//main//a[text()='sign up again']/@href") == ["/subscribe"]


def test_the_form_says_when_the_digest_goes_out(database_url):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": database_url,
            "DIGEST_TIME": "19:30",
            "TIMEZONE": "Europe/Madrid",
        }
    )
    text = app.test_client().get("/subscribe").get_data(as_text=True)
    assert "Every day at 19:30 (Europe/Madrid), the quick reads of the 24 hours before" in text


# The list behind the token ----------------------------------------------------------------


def test_the_subscriber_list_needs_the_token(client):
    assert client.get("/v1/subscribers").status_code == 401
    response = client.get("/v1/subscribers", headers={"Authorization": "Bearer wrong-token"})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_the_subscriber_list_is_paged(app, client):
    for n in range(5):
        client.post("/subscribe", json={"email": f"p{n}@example.org"})
    sign_up_confirmed(app, client, "c@example.org")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    seen, url, pages = [], "/v1/subscribers?limit=2", 0
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200
        body = response.get_json()
        seen += [item["email"] for item in body["items"]]
        url = (body["next"] or "").removeprefix("https://news.example.org")
        pages += 1
    assert seen == [f"p{n}@example.org" for n in range(5)] + ["c@example.org"]
    assert pages == 3
    confirmed = client.get("/v1/subscribers?status=confirmed", headers=headers).get_json()
    (item,) = confirmed["items"]
    assert item["status"] == "confirmed"
    assert item["consent"]["form"] == "json"
    assert item["consent"]["ip"] == "127.0.0.1"
    assert item["consent"]["confirmed_at"].endswith("Z")
    # 5,000 digits: past what Python's int() reads, which was a 500 before it was refused.
    huge = "9" * 5000
    for bad in (
        "limit=0",
        "limit=x",
        "status=gone",
        "after=-1",
        "page=2",
        "after=2147483648",
        f"after={huge}",
        f"limit={huge}",
        "after=" + "0" * 20 + "1",
    ):
        response = client.get(f"/v1/subscribers?{bad}", headers=headers)
        assert response.status_code == 400, bad
    # The largest id a subscriber can have (INTEGER): an empty page, on PostgreSQL too,
    # where anything larger was a 500 (integer out of range) before it was refused.
    last = client.get("/v1/subscribers?after=2147483647", headers=headers)
    assert (last.status_code, last.get_json()["items"]) == (200, [])


def test_a_bad_subscriber_list_parameter_is_named_and_explained(client):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for query, name in (("limit=0", "limit"), ("status=gone", "status"), ("page=2", "page")):
        problem = client.get(f"/v1/subscribers?{query}", headers=headers).get_json()
        assert problem["parameter"] == name, query
        assert problem["detail"].startswith(f"{name} "), query


# The mail server away -----------------------------------------------------------------------


def test_a_sign_up_never_waits_on_smtp_and_the_mail_goes_when_it_is_back(database_url):
    from service.relay import RelayOptions

    from .mail_server import Recorder, free_port, start_on

    port = free_port()
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "outage-secret",
            "DATABASE_URL": database_url,
            "BASE_URL": "https://news.example.org",
            "SMTP_URL": f"smtp://127.0.0.1:{port}",
            "MAIL_RELAY": True,
        }
    )
    runtime = app.extensions["broadsheet"]
    upgrade(runtime.engine)
    runtime.relay.options = RelayOptions(
        retry_first=timedelta(milliseconds=100), retry_longest=timedelta(milliseconds=300)
    )
    client = app.test_client()
    try:
        start = time.perf_counter()
        response = client.post("/subscribe", json={"email": "patient@example.org"})
        assert response.status_code == 202
        assert time.perf_counter() - start < 2
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(m.reply for m in outbox(app)):
            time.sleep(0.05)
        time.sleep(1)  # several more tries, one every 100 to 300 ms
        (queued,) = outbox(app)
        assert queued.status in ("pending", "claimed")
        assert "could not connect" in queued.reply
        # The server being away is not the message's failure: it used up none of its
        # attempts (but the one in progress, if the relay is trying at this moment).
        assert queued.attempts <= 1
        handler = Recorder()
        controller = start_on(handler, port)
        try:
            while time.monotonic() < deadline and not handler.received:
                time.sleep(0.05)
            assert [r.recipients for r in handler.received] == [["patient@example.org"]]
            # The relay records the server's reply just after the server has the message.
            while time.monotonic() < deadline and outbox(app)[0].status != "sent":
                time.sleep(0.05)
        finally:
            controller.stop()
        assert outbox(app)[0].status == "sent"
    finally:
        runtime.relay_thread.stop()
        runtime.engine.dispose()


def test_mail_taken_over_by_another_relay_is_left_to_it(app, client, monkeypatch):
    """A relay whose lease ran out while it worked through its batch (a slow server) must
    not send what another relay has since claimed: each message goes once."""
    from service.relay import OutboxRelay

    for n in range(3):
        assert client.post("/subscribe", json={"email": f"r{n}@example.org"}).status_code == 202
    runtime = app.extensions["broadsheet"]
    relay, memory = runtime.relay, runtime.memory
    later = datetime.now(UTC) + timedelta(hours=1)  # every lease taken now has run out
    other = OutboxRelay(
        runtime.engine,
        runtime.subscriptions,
        lambda: memory,
        domain="news.example.org",
        clock=lambda: later,
    )
    record = relay._record

    def record_then_lose_the_lease(*args, **kwargs):
        record(*args, **kwargs)
        if len(memory.sent) == 1:
            assert other.deliver_due() == 2  # the two not yet sent

    monkeypatch.setattr(relay, "_record", record_then_lose_the_lease)

    assert relay.deliver_due() == 3
    assert sorted(e.recipients for e in memory.sent) == [(f"r{n}@example.org",) for n in range(3)]
    assert [(m.status, m.attempts) for m in outbox(app)] == [("sent", 1), ("sent", 2), ("sent", 2)]


def test_a_stop_ends_the_outbox_after_the_message_in_hand(app, client, monkeypatch):
    """SIGTERM to the scheduler waited for the whole outbox (400 sign-ups: 88 s, past the
    unit's TimeoutStopSec); the rest is handed back, its attempts as they were."""
    import threading

    for n in range(4):
        assert client.post("/subscribe", json={"email": f"s{n}@example.org"}).status_code == 202
    runtime = app.extensions["broadsheet"]
    relay, memory = runtime.relay, runtime.memory
    stop = threading.Event()
    record = relay._record

    def record_then_stop(*args, **kwargs):
        record(*args, **kwargs)
        stop.set()  # SIGTERM while the first message was on its way

    monkeypatch.setattr(relay, "_record", record_then_stop)
    assert relay.deliver_all_due(stop) == 1
    assert len(memory.sent) == 1
    kept = outbox(app)
    assert sorted(m.status for m in kept) == ["pending", "pending", "pending", "sent"]
    assert {m.attempts for m in kept if m.status == "pending"} == {0}
    monkeypatch.setattr(relay, "_record", record)
    assert relay.deliver_all_due() == 3  # the next start sends the rest, once each
    assert len(memory.sent) == 4


def test_with_the_mail_server_away_the_outbox_tries_once_and_waits(app, client):
    from service.mail.transport import Delivery, Outcome, Transport

    class Away(Transport):
        tries = 0

        def send(self, envelope):
            Away.tries += 1
            return Delivery(Outcome.TEMPORARY, None, "could not connect: refused", offered=False)

    for n in range(30):  # more than a batch
        assert client.post("/subscribe", json={"email": f"w{n}@example.org"}).status_code == 202
    runtime = app.extensions["broadsheet"]
    with runtime.engine.begin() as connection:  # the first has been tried often before
        connection.execute(update(OutboxMessage).where(OutboxMessage.id == 1).values(attempts=8))
    runtime.relay.transport = Away
    assert runtime.relay.deliver_all_due() == 20
    assert Away.tries == 1
    assert {(m.status, m.attempts) for m in outbox(app)} == {("pending", 8), ("pending", 0)}
    # One wait for all, the server's first (30 s), not the backoff of the row it met first.
    for message in outbox(app):
        assert datetime.now(UTC) + timedelta(seconds=20) < message.next_attempt_at
        assert message.next_attempt_at < datetime.now(UTC) + timedelta(seconds=31)


def test_a_form_of_too_many_parts_is_413_saying_so(client):
    boundary = "b0undary"
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{n}"\r\n\r\nx\r\n'
        for n in range(1500)
    )
    body = (parts + f"--{boundary}--\r\n").encode()
    response = client.post(
        "/subscribe",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 413
    assert response.get_json()["detail"] == (
        "The form has more parts, or a larger field, than a form may have."
    )


def test_a_stranger_s_sign_up_keeps_the_consent_a_departed_subscriber_confirmed(app, client):
    """Anyone typing a departed subscriber's address renewed the row, consent included: the
    only record of when, where and how they consented, and confirmed, was overwritten."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    subscriber = sign_up_confirmed(app, client, "jo@example.org")
    unsubscribe = tokens(app, subscriber)["unsubscribe"]
    assert client.post(f"/unsubscribe/{unsubscribe}").status_code == 200

    def listed() -> dict:
        (item,) = [
            i
            for i in client.get("/v1/subscribers", headers=headers).get_json()["items"]
            if i["email"].lower() == "jo@example.org"
        ]
        return item

    before = listed()
    (kept,) = before["confirmed_consents"]
    assert kept == before["consent"]
    assert kept["confirmed_at"] is not None
    stranger = client.post(
        "/subscribe",
        json={"email": "JO@example.org", "name": "Someone Else"},
        environ_base={"REMOTE_ADDR": "203.0.113.66"},
    )
    assert stranger.status_code == 202
    after = listed()
    assert after["status"] == "pending"
    assert after["consent"]["ip"] == "203.0.113.66"  # the sign-up waiting for confirmation
    assert after["confirmed_consents"] == [kept]  # and the proof behind the mail sent


def test_outbox_message_ids_differ_after_the_database_is_rebuilt(make_app, tmp_path):
    """`<outbox.1.tag@host>` came from the row's id and the settings alone: a database
    rebuilt from nothing sent its first mail under the Message-ID of an earlier, other one
    (RFC 5322 §3.6.4), which a receiver may drop as a duplicate. A retry keeps its id."""
    from service.mail.transport import MemoryTransport
    from service.storage.schema import upgrade

    seen = []
    for attempt in range(2):
        app = make_app(
            DATABASE_URL=f"sqlite:///{tmp_path / f'rebuilt-{attempt}.sqlite3'}",
            SECRET_KEY="subscriptions-secret",
            BASE_URL="https://news.example.org",
            MAIL_RELAY=False,
            RATELIMIT_ENABLED=False,
        )
        runtime = app.extensions["broadsheet"]
        upgrade(runtime.engine)
        memory = MemoryTransport()
        runtime.relay.transport = lambda memory=memory: memory
        assert (
            app.test_client().post("/subscribe", json={"email": "r@example.org"}).status_code == 202
        )
        runtime.relay.deliver_all_due()
        (sent,) = memory.sent
        seen.append(email.message_from_bytes(sent.data, policy=policy.default)["Message-ID"])
    assert seen[0].startswith("<outbox.1.")
    assert seen[1].startswith("<outbox.1.")
    assert seen[0] != seen[1]


def test_a_stored_address_refused_by_a_later_rule_fails_alone(app, client):
    """An '=?' address, taken before it was refused, made compose raise: the row headed
    every batch, never failed, and every confirmation behind it stayed claimed and unsent."""
    from sqlalchemy import update

    for name in ("first", "second", "third"):
        assert client.post("/subscribe", json={"email": f"{name}@example.org"}).status_code == 202
    with app.extensions["broadsheet"].engine.begin() as connection:
        connection.execute(
            update(Subscriber)
            .where(Subscriber.email == "first@example.org")
            .values(email="a=?b@example.org")
        )
    runtime = app.extensions["broadsheet"]
    runtime.relay.deliver_all_due()
    assert sorted(e.recipients for e in runtime.memory.sent) == [
        ("second@example.org",),
        ("third@example.org",),
    ]
    assert [m.status for m in outbox(app)] == ["failed", "sent", "sent"]
    assert "'=?'" in outbox(app)[0].reply


@pytest.mark.browser
def test_a_refused_form_printed_in_the_dark_scheme_prints_dark_ink(client, browser):
    """The form's dark scheme applied on paper too: its error words pale pink on white."""
    response = post_form(client, csrf_token=csrf_token(client), email="not an address")
    assert response.status_code == 422
    context = browser.new_context(color_scheme="dark")
    context.route("**/*", lambda route: route.abort())
    page = context.new_page()
    try:
        page.set_content(response.get_data(as_text=True), wait_until="load")
        page.emulate_media(media="print")
        colours = page.evaluate(
            """() => ['.error-message', '.error-summary a', 'button']
              .map(s => getComputedStyle(document.querySelector(s)).color)"""
        )
    finally:
        context.close()
    dark = [tuple(int(v) for v in re.findall(r"\d+", c)[:3]) for c in colours[:2]]
    assert all(max(rgb) < 200 for rgb in dark), colours  # not #f2b8b5
    assert colours[2] == "rgb(255, 255, 255)"  # the light scheme's button words, on its blue
