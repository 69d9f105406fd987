"""The whole digest, through the real routes, the real CLI and a real SMTP server (aiosmtpd).

Quick reads inside and outside the window and one of another kind; subscribers pending,
confirmed, and one unsubscribed by a one-click POST to the URL in their own
List-Unsubscribe header. Exactly the confirmed ones get one message each, right and in
order, with the SPEC §6 headers; sending again sends nothing; DKIM signatures verify.
"""

from __future__ import annotations

import base64
import email
import re
from collections import Counter
from email import policy
from urllib.parse import urlsplit

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import html as lxml_html

from service import create_app
from service.storage.schema import upgrade

from .mail_server import Recorder, start

TOKEN = "digest-test-api-token"
DAY = "2026-03-12"
NEXT_DAY = "2026-03-13"
ADDRESS = "1 Test Street, Testville"


def article(article_id: str, published_at: str, kind: str = "quick-read", **fields) -> dict:
    return {
        "id": article_id,
        "kind": kind,
        "headline": f"Headline {article_id}",
        "standfirst": f"Standfirst {article_id}.",
        "published_at": published_at,
        "body": [{"type": "paragraph", "text": f"Body of {article_id}."}],
        **fields,
    }


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("dkim") / "key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


@pytest.fixture
def smtp():
    handler = Recorder()
    controller = start(handler)
    yield handler, controller
    controller.stop()


@pytest.fixture
def app(database_url, smtp, dkim_key, tmp_path):
    _, controller = smtp
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "end-to-end-secret",
            "DATABASE_URL": database_url,
            "BASE_URL": "https://news.example.org",
            "PUBLISHER_NAME": "Northside Brief",
            "PUBLISHER_ADDRESS": ADDRESS,
            "MAIL_FROM": "Northside Brief <digest@news.example.org>",
            "API_TOKEN": TOKEN,
            "SMTP_URL": f"smtp://{controller.hostname}:{controller.port}",
            "DIGEST_TIME": "07:00",
            "TIMEZONE": "Europe/Madrid",
            "DKIM_SELECTOR": "mail2026",
            "DKIM_DOMAIN": "news.example.org",
            "DKIM_KEY_FILE": str(dkim_key[0]),
            "MAIL_RELAY": False,
        }
    )
    runtime = app.extensions["broadsheet"]
    upgrade(runtime.engine)
    yield app
    runtime.press.close()
    runtime.engine.dispose()


def parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


def mails_to(handler: Recorder, start: int = 0) -> list[tuple[str, email.message.EmailMessage]]:
    return [(r.recipients[0], parsed(r.data)) for r in handler.received[start:]]


def raw_to(handler: Recorder, address: str, start: int) -> bytes:
    (data,) = [r.data for r in handler.received[start:] if r.recipients == [address]]
    return data


def sign_up(client, address: str, name: str) -> None:
    response = client.post("/subscribe", json={"email": address, "name": name})
    assert response.status_code == 202


def confirm_from_mail(client, message: email.message.EmailMessage) -> None:
    text = message.get_body(("plain",)).get_content()
    (link,) = re.findall(r"<(https://news\.example\.org/subscribe/confirm/[^>]+)>", text)
    assert client.post(urlsplit(link).path).status_code == 200


def test_the_digest_end_to_end(app, smtp, dkim_key):
    handler, _ = smtp
    client = app.test_client()
    runner = app.test_cli_runner()
    runtime = app.extensions["broadsheet"]
    auth = {"Authorization": f"Bearer {TOKEN}"}

    # Madrid is UTC+1 in March: the window of the 12th is [11th 06:00Z, 12th 06:00Z).
    stored = [
        article("too-early", "2026-03-11T05:59:59Z"),
        article("third", "2026-03-12T06:59:00+01:00"),
        article("first", "2026-03-11T07:00:00+01:00", standfirst=None),
        article("long-read", "2026-03-11T12:00:00Z", kind="article"),
        article("second", "2026-03-11T20:00:00-03:00", language="es", headline="Segunda"),
        article("too-late", "2026-03-12T06:00:00Z"),
    ]
    for item in stored:
        response = client.put(f"/v1/articles/{item['id']}", json=item, headers=auth)
        assert response.status_code == 201, response.get_json()

    people = {
        "ana@example.org": "Ana",
        "bo@example.org": "Bo",
        "cy@example.org": "Cy",
        "leaver@example.org": "Lee",
        "pending@example.org": "Pat",
    }
    for address, name in people.items():
        sign_up(client, address, name)
    assert runtime.relay.deliver_all_due() == 5
    confirmations = dict(mails_to(handler))
    assert set(confirmations) == set(people)
    for address in people:
        if address != "pending@example.org":
            confirm_from_mail(client, confirmations[address])
    confirmed = set(people) - {"pending@example.org"}

    # The first morning: every confirmed subscriber, the leaver among them.
    first_morning = len(handler.received)
    result = runner.invoke(args=["digest", "send", "--date", DAY])
    assert result.exit_code == 0, result.output
    assert "Sent 4, retried 0, failed 0, skipped 0." in result.output
    received = mails_to(handler, first_morning)
    assert Counter(address for address, _ in received) == Counter(confirmed)

    headlines = ["Headline first", "Segunda", "Headline third"]
    for address, message in received:
        raw = raw_to(handler, address, first_morning)
        check_message(message, raw, address, people[address], headlines, dkim_key[1])

    # Sending the same date again sends nothing.
    again = len(handler.received)
    result = runner.invoke(args=["digest", "send", "--date", DAY])
    assert result.exit_code == 0, result.output
    assert "Sent 0, retried 0, failed 0, skipped 0." in result.output
    assert len(handler.received) == again

    # The leaver uses the one-click POST of RFC 8058, as a mail client does: no cookie.
    leaver = next(m for a, m in received if a == "leaver@example.org")
    url = str(leaver["List-Unsubscribe"]).strip("<>")
    one_click = app.test_client(use_cookies=False).post(
        urlsplit(url).path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert one_click.status_code == 200
    assert "Set-Cookie" not in one_click.headers
    assert "Location" not in one_click.headers

    # The next morning: the leaver and the pending one get nothing; "too-late" opens the
    # window of the 13th, and a new quick read follows it.
    client.put(
        "/v1/articles/next",
        json=article("next", "2026-03-12T09:00:00+01:00"),
        headers=auth,
    )
    second_morning = len(handler.received)
    result = runner.invoke(args=["digest", "send", "--date", NEXT_DAY])
    assert result.exit_code == 0, result.output
    received = mails_to(handler, second_morning)
    assert Counter(address for address, _ in received) == Counter(
        confirmed - {"leaver@example.org"}
    )
    for address, message in received:
        raw = raw_to(handler, address, second_morning)
        headlines = ["Headline too-late", "Headline next"]
        check_message(message, raw, address, people[address], headlines, dkim_key[1])


def check_message(message, raw, address, name, headlines, dns_record) -> None:
    """SPEC §6: the headers, both parts, the items in order, a visible unsubscribe link and
    the postal address; the DKIM signature verifies."""
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["To"].addresses[0].addr_spec == address
    assert message["To"].addresses[0].display_name == name
    assert re.fullmatch(
        r"<digest\.\d{8}\.\d+\.[0-9a-f]{10}\.[0-9a-f]{8}@news\.example\.org>", message["Message-ID"]
    )
    assert message["Date"].datetime is not None
    assert str(message["List-Id"]) == "Northside Brief digest <digest.news.example.org>"
    url = str(message["List-Unsubscribe"]).strip("<>")
    assert url.startswith("https://news.example.org/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    html = message.get_body(("html",)).get_content()
    page = lxml_html.document_fromstring(html)
    assert [" ".join(a.text_content().split()) for a in page.xpath("//h2/a")] == headlines
    footer = page.xpath("//td[@class='footer']")[0]
    assert footer.xpath(".//a/@href") == [url]
    assert ADDRESS in footer.text_content()

    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    numbered = re.findall(r"^(\d+)\. (.+)$", text, flags=re.MULTILINE)
    assert [headline for _, headline in numbered] == headlines
    assert f"Unsubscribe: <{url}>" in text
    assert ADDRESS in text

    assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: dns_record)
