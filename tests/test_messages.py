"""The MIME message every mail is built with: headers that say only what we meant them to."""

from __future__ import annotations

import base64
import email
import email.utils
import re
from email import policy

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from service.addresses import BadAddress, Mailbox, parse_mailbox
from service.messages import DkimSigner, ListHeaders, build_message, serialise

INJECTION = "Votes =?utf-8?q?=0D=0ABcc:_x@evil.example=0D=0A?= on lanes"
SENDER = Mailbox("Northside Brief", "digest@news.example.org")
READER = Mailbox("Reader", "reader@example.org")
LIST = ListHeaders(
    "daily.news.example.org",
    "https://news.example.org/unsubscribe/tok",
    "unsubscribe@news.example.org",
    list_name="Daily digest",
)
# Python 3.11's folder drops the quotes of a long quoted display name, so the reader
# takes words of the name for the address.
LONG_NAMES = [
    "Bcc: x@evil.example" + "x" * 100,
    "x" * 100 + ":",
    '"Jane" ' + "y" * 90 + " <a@evil.example>",
    "Doe, Jane, " + "Doe, " * 30,
]
EXPECTED_HEADERS = [
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "mime-version",
    "content-type",
]


def _message(subject="Council approves bike lanes", **kwargs):
    fields = {"sender": SENDER, "to": READER, "list_headers": LIST, **kwargs}
    return build_message(subject=subject, text="Plain words.", html="<p>HTML words.</p>", **fields)


def _parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def _head_lines(raw: bytes) -> list[bytes]:
    """The header block's physical lines; a bare CR or LF in it is itself a failure."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r" not in head.replace(b"\r\n", b""), "bare CR in the header block"
    assert b"\n" not in head.replace(b"\r\n", b""), "bare LF in the header block"
    return head.split(b"\r\n")


def _assert_only_intended_headers(raw: bytes) -> None:
    lines = _head_lines(raw)
    assert all(len(line) <= 998 for line in lines)
    starts = [line.split(b":")[0].lower() for line in lines if line[:1] not in b" \t"]
    assert starts == [name.encode() for name in EXPECTED_HEADERS]
    assert [name.lower() for name in _parsed(raw).keys()] == EXPECTED_HEADERS


# Encoded-words and line breaks -------------------------------------------------------


@pytest.mark.parametrize("field", ["subject", "sender", "to", "list_id"])
def test_an_encoded_word_cannot_add_a_header(field):
    fields = {
        "subject": INJECTION if field == "subject" else "Council approves bike lanes",
        "sender": Mailbox(INJECTION, SENDER.address) if field == "sender" else SENDER,
        "to": Mailbox(INJECTION, READER.address) if field == "to" else READER,
        "list_headers": ListHeaders(LIST.list_id, LIST.unsubscribe_url, list_name=INJECTION)
        if field == "list_id"
        else LIST,
    }
    raw = serialise(build_message(text="t", html="<p>h</p>", **fields))
    _assert_only_intended_headers(raw)


def _words(value: str) -> str:
    """`value` without word joiners or white space. Python 3.11's email package is not exact
    about the white space between two encoded-words (RFC 2047 §6.2): its folder can drop a
    space, its address parser keeps one; the characters themselves must all arrive."""
    return "".join(value.replace("\u2060", "").split())


def test_a_neutralised_subject_and_name_still_read_as_written():
    parsed = _parsed(serialise(_message(INJECTION, to=Mailbox(INJECTION, READER.address))))
    assert "=?" not in parsed["Subject"]
    assert parsed["Subject"].replace("\u2060", "") == INJECTION
    (shown,) = parsed["To"].addresses
    assert "=?" not in shown.display_name
    assert _words(shown.display_name) == _words(INJECTION)


def test_line_breaks_in_a_headline_make_no_new_header():
    raw = serialise(_message(subject="Breaking\r\nBcc: spy@evil.example\r\n\r\nbody"))
    _assert_only_intended_headers(raw)
    assert _parsed(raw)["Subject"] == "Breaking Bcc: spy@evil.example body"


# Hostile text everywhere a header carries words.
FRAGMENTS = [
    "=?",
    "?=",
    "=?utf-8?q?",
    "=?UTF-8?B?",
    "=0D=0A",
    "DQpCY2M6IHhAZXZpbC5leGFtcGxlDQo",
    "Bcc: x@evil.example",
    "\r",
    "\n",
    "\r\n",
    "\x00",
    "\x1b[31m",
    "\x85",
    "\u2028",
    "\u2029",
    "\x0b",
    "\x0c",
    "\x1c",
    "\t",
    " ",
    "\xa0",
    ":",
    ",",
    ";",
    "<",
    ">",
    '"',
    "\\",
    "(",
    ")",
    "@",
    "é",
    "漢字",
    "\u202e",
    "\ud800",
    "x" * 100,
]
hostile = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=12).map(
    "".join
)


def _as_one_line(value: str) -> str:
    """What the reader should see: controls and line breaks as spaces, white space single."""
    value = re.sub("[\ud800-\udfff]", "\ufffd", value)
    value = re.sub("[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", value)
    return " ".join(value.split())


@settings(max_examples=300, deadline=None)  # a loaded machine is slow, not wrong
@given(subject=hostile, name=hostile, list_name=hostile)
@example(subject="", name=LONG_NAMES[0], list_name="")
@example(subject=LONG_NAMES[2], name=LONG_NAMES[1], list_name=LONG_NAMES[3])
def test_hostile_header_text_yields_exactly_the_intended_headers(subject, name, list_name):
    message = build_message(
        sender=Mailbox(name, SENDER.address),
        to=Mailbox(name, READER.address),
        subject=subject,
        text="t",
        html="<p>h</p>",
        list_headers=ListHeaders(LIST.list_id, LIST.unsubscribe_url, list_name=list_name),
    )
    raw = serialise(message)
    _assert_only_intended_headers(raw)
    parsed = _parsed(raw)
    assert "=?" not in parsed["Subject"]
    assert parsed["Subject"].replace("\u2060", "") == _as_one_line(subject).replace("\u2060", "")
    assert parsed["List-Id"].endswith(f"<{LIST.list_id}>")
    phrase, _, list_id = parsed["List-Id"].rpartition("<")
    phrase = phrase.strip()
    if phrase.startswith('"'):  # a quoted-string; its quotes and escapes are syntax
        phrase = email.utils.unquote(phrase)
    assert _words(f"{phrase} <{list_id}") == _words(f"{_as_one_line(list_name)} <{LIST.list_id}>")
    for header, address in (("From", SENDER.address), ("To", READER.address)):
        (shown,) = parsed[header].addresses
        assert shown.addr_spec == address
        assert "=?" not in shown.display_name
        assert _words(shown.display_name) == _words(_as_one_line(name))


# Addresses are pairs -----------------------------------------------------------------


@pytest.mark.parametrize("name", LONG_NAMES)
def test_a_long_display_name_is_still_one_name(name):
    raw = serialise(_message(to=(name, "reader@example.net")))
    _assert_only_intended_headers(raw)
    (shown,) = _parsed(raw)["To"].addresses
    assert shown.addr_spec == "reader@example.net"
    assert _words(shown.display_name) == _words(name)


@pytest.mark.parametrize("name", ["Zoë", "Zoë " * 30, "José Núñez", "读者 " * 20])
def test_a_header_line_holding_an_encoded_word_is_at_most_76_characters(name):
    """RFC 2047 §2: a line of a header holding an encoded-word is at most 76 characters; a
    To of an encoded name and a long address was 77 (headers were folded at 78)."""
    raw = serialise(
        _message(to=(name, "reader.with.a.long.local.p@subscribers.example.org"), subject=name)
    )
    for line in _head_lines(raw):
        if b"=?" in line:
            assert len(line) <= 76, line


def test_a_display_name_never_chooses_the_address():
    raw = serialise(_message(to=("Jane: attacker@evil.example", "reader@example.net")))
    _assert_only_intended_headers(raw)
    (shown,) = _parsed(raw)["To"].addresses
    assert (shown.display_name, shown.addr_spec) == (
        "Jane: attacker@evil.example",
        "reader@example.net",
    )


@pytest.mark.parametrize(
    "name", ["Doe, Jane", 'Jane "JJ" Doe', "reader@example.org", "<x@evil.example>", "José Núñez"]
)
def test_any_display_name_stays_a_name(name):
    (shown,) = _parsed(serialise(_message(to=(name, "jane@example.org"))))["To"].addresses
    assert (shown.display_name, shown.addr_spec) == (name, "jane@example.org")


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("J. R. R. Tolkien", b'To: "J. R. R. Tolkien" <jane@example.org>'),
        ("Doe, Jane", b'To: "Doe, Jane" <jane@example.org>'),
        ('Jane "JJ" Doe', b'To: "Jane \\"JJ\\" Doe" <jane@example.org>'),
        ("Jane Doe", b"To: Jane Doe <jane@example.org>"),
    ],
)
def test_a_display_name_that_is_no_atoms_is_quoted_not_obsolete(name, written):
    """RFC 5322 §4: the dotted phrase ("J. R. R. Tolkien" bare) is obsolete syntax, which
    must not be generated; a reader's parser reports it as a defect."""
    raw = serialise(_message(to=(name, "jane@example.org")))
    assert written in _head_lines(raw)
    header = _parsed(raw)["To"]
    assert header.defects == ()
    assert header.addresses[0].display_name == name


def test_encoded_words_end_between_words_where_they_can():
    """Python's address parser (gh-128110) reads a space between two encoded-words: a long
    non-ASCII name cut inside a word came out as "van der Waa ls-Longname". Cut between
    words, it keeps every word whole, with one space too many where the cut is; a decoder
    that follows RFC 2047 gives the name exactly."""
    from email.header import decode_header, make_header

    name = "Johannes Diderik van der Waals-Longname Überprüfung"
    raw = serialise(_message(to=(name, "jane@example.org")))
    (shown,) = _parsed(raw)["To"].addresses
    assert shown.display_name.split() == name.split()  # words whole
    folded = re.search(rb"^To: (.*?)\r\n(?! )", raw, re.M | re.S)[1].decode("ascii")
    phrase = " ".join(folded.split("\r\n ")).rsplit(" <", 1)[0]
    assert len(re.findall(r"=\?utf-8\?b\?", phrase)) > 1  # more than one encoded-word
    assert str(make_header(decode_header(phrase))) == name


@pytest.mark.parametrize(
    "address",
    [
        "",
        "reader",
        "reader@",
        "@example.org",
        "a@b@example.org",
        "reader@example.org, x@evil.example",
        "<reader@example.org>",
        "Reader <reader@example.org>",
        "reader@example.org\r\nBcc: x@evil.example",
        '"a b"@example.org',
        "reader@[127.0.0.1]",
        "reader@exa mple.org",
        "reader@.org",
    ],
)
def test_bad_addresses_are_refused_where_they_enter(address):
    with pytest.raises(BadAddress):
        Mailbox("Reader", address)


def test_an_address_opening_an_encoded_word_is_refused_where_it_enters(app):
    """a=?b@example.org is a valid address: it was taken and confirmed, then every digest
    copy to it was refused (no header carries '=?', which a client may decode as RFC 2047)."""
    with pytest.raises(BadAddress, match="'=\\?'"):
        Mailbox("Reader", "a=?b@example.org")
    answer = app.test_client().post("/subscribe", json={"email": "a=?b@example.org"})
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["pointer"] == "/email"


def test_non_ascii_before_the_at_is_refused_clearly():
    with pytest.raises(BadAddress, match="SMTPUTF8"):
        Mailbox("Jörg", "jörg@example.org")


def test_an_international_domain_is_sent_in_its_ascii_form():
    reader = Mailbox("Leser", "leser@Bücher.example")
    assert reader.address == "leser@xn--bcher-kva.example"
    (shown,) = _parsed(serialise(_message(to=reader)))["To"].addresses
    assert shown.addr_spec == "leser@xn--bcher-kva.example"


def test_a_pair_is_checked_like_a_mailbox():
    with pytest.raises(BadAddress):
        _message(to=("Reader", "not an address"))


@pytest.mark.parametrize(
    ("setting", "name", "address"),
    [
        ("Northside Brief <digest@news.example.org>", "Northside Brief", "digest@news.example.org"),
        ('"Doe, Jane" <jane@example.org>', "Doe, Jane", "jane@example.org"),
        ('"Say \\"hi\\"" <hi@example.org>', 'Say "hi"', "hi@example.org"),
        ("  digest@news.example.org  ", "", "digest@news.example.org"),
        ("Broadsheet <digest@localhost>", "Broadsheet", "digest@localhost"),
        ("Dr. Who <who@example.org>", "Dr. Who", "who@example.org"),
    ],
)
def test_the_sender_setting_is_parsed_once_into_a_pair(setting, name, address):
    assert parse_mailbox(setting) == Mailbox(name, address)


@pytest.mark.parametrize(
    "setting",
    [
        "Jane: attacker@evil.example <reader@example.net>",
        "Doe, Jane <jane@example.org>",
        "a@example.org, b@example.org",
        "Name <a@example.org> trailing",
        "Name <>",
        "",
    ],
)
def test_an_ambiguous_sender_setting_is_refused(setting):
    with pytest.raises(BadAddress):
        parse_mailbox(setting)


# The rest of the message -------------------------------------------------------------


def test_message_parses_back_into_parts_and_headers():
    raw = serialise(_message())
    parsed = _parsed(raw)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["From"] == "Northside Brief <digest@news.example.org>"
    assert parsed["To"] == "Reader <reader@example.org>"
    assert parsed["Subject"] == "Council approves bike lanes"
    assert parsed["Date"]
    assert parsed["Message-ID"].endswith("@news.example.org>")
    assert parsed["List-Id"] == "Daily digest <daily.news.example.org>"
    assert b"\r\nList-Id: Daily digest <daily.news.example.org>\r\n" in raw
    assert parsed["List-Unsubscribe"] == (
        "<https://news.example.org/unsubscribe/tok>, <mailto:unsubscribe@news.example.org>"
    )
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = (p.get_content() for p in parsed.iter_parts())
    assert text.strip() == "Plain words."
    assert html.strip() == "<p>HTML words.</p>"


def test_a_long_unsubscribe_url_is_written_as_it_is():
    url = "https://news.example.org/unsubscribe/" + "eyJhbGciOiJIUzI1NiJ9." * 5
    raw = serialise(_message(list_headers=ListHeaders("daily.news.example.org", url)))
    _assert_only_intended_headers(raw)
    assert f"\r\nList-Unsubscribe: <{url}>\r\n".encode() in raw
    assert _parsed(raw)["List-Unsubscribe"] == f"<{url}>"


def test_a_list_name_in_any_script_keeps_the_list_id_readable():
    lists = ListHeaders(LIST.list_id, LIST.unsubscribe_url, list_name="Resumen diario — Año 1")
    raw = serialise(_message(list_headers=lists))
    assert b" <daily.news.example.org>\r\n" in raw
    assert _parsed(raw)["List-Id"] == "Resumen diario — Año 1 <daily.news.example.org>"


@pytest.mark.parametrize("list_id", ["Daily <daily.example.org>", "daily", "a b.example.org", ""])
def test_a_list_id_is_a_dotted_name(list_id):
    with pytest.raises(ValueError, match="List-Id"):
        _message(list_headers=ListHeaders(list_id, LIST.unsubscribe_url))


def test_non_ascii_subject_is_encoded():
    raw = serialise(_message(subject="El Mercado Central reabre tras dos años"))
    assert b"a=C3=B1os" in raw or b"=?utf-8?" in raw
    assert _parsed(raw)["Subject"] == "El Mercado Central reabre tras dos años"


@pytest.mark.parametrize(
    ("url", "mailto"),
    [
        ("http://b.example.org/u", None),
        ("https://b.example.org/u =?utf-8?q?x?=", None),
        ("https://b.example.org/u=?utf-8?q?=0D=0A?=", None),
        ("https://b.example.org/u\r\nBcc: x@evil.example", None),
        ("https://b.example.org/u", "x@evil.example>, <mailto:y@evil.example"),
    ],
)
def test_list_unsubscribe_targets_are_checked(url, mailto):
    with pytest.raises(ValueError, match=r"https|printable|address"):
        _message(list_headers=ListHeaders("l.b.example.org", url, mailto))


def test_a_message_id_is_a_token():
    with pytest.raises(ValueError, match="printable"):
        _message(message_id="<a@b.example.org>\r\nBcc: x@evil.example")
    assert _parsed(serialise(_message(message_id="<a@b.example.org>")))["Message-ID"] == (
        "<a@b.example.org>"
    )


def test_dkim_signature_covers_list_unsubscribe_and_verifies():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    signed = serialise(_message(), DkimSigner("s1", "news.example.org", pem))
    assert signed.startswith(b"DKIM-Signature:")
    header = signed.split(b"\r\n\r\n")[0].decode()
    signed_names = re.search(r"h=([^;]+);", header.replace("\r\n", "").replace(" ", "")).group(1)
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject"} <= set(
        signed_names.lower().split(":")
    )
    assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: record)
    tampered = signed.replace(b"Subject: Council", b"Subject: Counci1")
    assert not dkim.verify(tampered, dnsfunc=lambda name, timeout=5: record)


def test_quoted_printable_lines_are_at_most_76_characters():
    message = build_message(
        sender=SENDER,
        to=READER,
        subject="Lines",
        text="=" * 300 + " caf\u00e9" * 40,
        html="<p>" + "\u00e9" * 200 + "</p>",
    )
    body = serialise(message).split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76


def test_the_mail_from_setting_becomes_a_pair_at_startup():
    from service.settings import Settings, SettingsError

    env = {"BROADSHEET_ENV": "test", "BROADSHEET_MAIL_FROM": '"Doe, Jane" <jane@example.org>'}
    assert Settings.load(env).mail_from == Mailbox("Doe, Jane", "jane@example.org")
    assert Settings.load({"BROADSHEET_ENV": "test"}).mail_from == Mailbox(
        "Broadsheet", "digest@localhost"
    )
    env["BROADSHEET_MAIL_FROM"] = "Jane: attacker@evil.example <reader@example.net>"
    with pytest.raises(SettingsError, match="BROADSHEET_MAIL_FROM"):
        Settings.load(env)
