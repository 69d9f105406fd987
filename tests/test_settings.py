"""Settings: parsed and typed once; a bad value stops the app and every command in one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digests.message import list_mail_warnings
from service import create_app
from service.logs import printable
from service.settings import (
    DEVELOPMENT_SECRET_KEY,
    PREFIX,
    ROUTE_ROOTS,
    Settings,
    SettingsError,
    env_name,
)

from .corpus import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent

# (variable, value, what the line must say it accepts)
BAD_VALUES = [
    ("DIGEST_TIME", "25:00", "a time of day as HH:MM"),
    ("DIGEST_TIME", "7am", "a time of day as HH:MM"),
    ("TIMEZONE", "Mars/Base", "an IANA time zone name"),
    ("TIMEZONE", "../../etc/passwd", "an IANA time zone name"),
    ("PDF_WORKERS", "0", "a whole number of printer processes, 1 to 64"),
    ("PDF_WORKERS", "two", "a whole number of printer processes, 1 to 64"),
    ("PDF_TIME_LIMIT", "-1", "a number of seconds above 0"),
    ("PDF_MAX_PAGES", "0", "a whole number of pages"),
    ("PDF_CACHE_SIZE", "-5", "a whole number of PDFs"),
    ("MAX_BODY_BYTES", "lots", "a whole number of bytes"),
    ("RATELIMIT_ENABLED", "maybe", "true or false"),
    ("RATELIMIT_STORAGE_URL", "mongodb://db", "memory:// or a redis://"),
    ("RATELIMIT_PDF", "lots per minute", "a rate such as 20/minute or 100 per hour"),
    ("RATELIMIT_SIGNUP_ADDRESS", "0/hour", "a rate such as 20/minute or 100 per hour"),
    ("RATELIMIT_KEY_PREFIX", "a b", "1 to 64 letters, digits, - or _"),
    ("TRUSTED_PROXIES", "-1", "a whole number, 0 to 10"),
    ("BASE_URL", "ftp://example.org", "an http(s) URL"),
    ("BASE_URL", "https://example.org/?a=1", "an http(s) URL"),
    ("MAIL_FROM", "not an address", "a mailbox"),
    # A quoted display name took a line break, an escape or an open override into every From.
    ("MAIL_FROM", '"News\nX" <news@example.org>', "single line"),
    ("MAIL_FROM", '"News\x1b[31m" <news@example.org>', "U+001B"),
    ("MAIL_FROM", '"\u202eNews" <news@example.org>', "U+202E"),
    ("UNSUBSCRIBE_MAILTO", "nobody", "an e-mail address"),
    ("IMAGE_HOSTS", "images.example.org,127.0.0.1", "host names separated by commas"),
    ("PUBLISHER_NAME", "Two\nlines", "one line of text"),
    ("SMTP_URL", "http://mail.example.org", "smtp://"),
    ("DATABASE_URL", "not a url", "a database URL"),
    ("DATABASE_URL", "mysql://user@host/db", "a database URL"),
    # Split at its first @: "PW@127.0.0.1" was the host, in every connection error.
    (
        "DATABASE_URL",
        "postgresql+psycopg://postgres:S3cret@PW@127.0.0.1:5432/db",
        "written percent-encoded, as %40",
    ),
    # The driver reads the query's options when the engine is made: each stopped every
    # command and the app with a traceback.
    ("DATABASE_URL", "sqlite:////tmp/x.sqlite3?timeout=abc", "an option in its query"),
    ("DATABASE_URL", "sqlite:////tmp/x.sqlite3?check_same_thread=maybe", "an option in its query"),
    ("DATABASE_URL", "sqlite:////tmp/x.sqlite3?cached_statements=x", "an option in its query"),
    # psycopg reads them only when it connects: each was a 500 on every request.
    (
        "DATABASE_URL",
        "postgresql+psycopg://u:pw@127.0.0.1:1/db?connect_timeout=abc",
        "bad value for connect_timeout",
    ),
    (
        "DATABASE_URL",
        "postgresql+psycopg://u:pw@127.0.0.1:1/db?no_such_option=1",
        'invalid connection option "no_such_option"',
    ),
    ("API_TOKEN", "short", "at least 16 visible ASCII characters"),
    ("API_TOKEN", "токен-для-записи-1234", "at least 16 visible ASCII characters"),
    ("RATELIMIT_STORAGE_URL", "Redis://:S3cretRedisPw@redis.internal:6379/0", "redis://"),
    # Each of these once passed the check and then stopped every start with a traceback.
    ("RATELIMIT_STORAGE_URL", "redis://:S3cretRedisPw@127.0.0.1:badport/0", "cannot be read"),
    ("RATELIMIT_STORAGE_URL", "redis://127.0.0.1:99999/0", "cannot be read"),
    ("RATELIMIT_STORAGE_URL", "redis://127.0.0.1/0?socket_timeout=abc", "cannot be read"),
    ("RATELIMIT_PAGES", "2 per 100000000000 years", "longer than a year"),
    ("BASE_URL", "https://news.example.org\r\nX-Evil: 1", "a control character"),
    ("BASE_URL", "https://news.example.org/?", "a query"),
    ("BASE_URL", "https://news.example.org/#", "a fragment"),
    ("BASE_URL", "https://user:pw@news.example.org", "a user"),
    ("BASE_URL", "https://news.example.org:99999", "a port"),
    ("BASE_URL", "https://news.example.org\u202e", "a control character"),
    # Set as it is into each digest's quoted-printable parts and HTML: "=da" became byte DA.
    ("BASE_URL", "https://news.example.org/edition=daily", "holds one of"),
    ("BASE_URL", 'https://news.example.org/a"b', "holds one of"),
    ("BASE_URL", "https://news.example.org/a&b", "holds one of"),
    # Links, cookies and the digest test for "https://" as written: HTTPS:// was https to one
    # and http to the others. And host names that no reader can reach.
    ("BASE_URL", "HTTPS://news.example.org", "in lower case"),
    ("BASE_URL", "https://a..b", "not a host name"),
    ("BASE_URL", "https://-bad-.org", "not a host name"),
    ("BASE_URL", "https://example.org:0", "a port"),
    # Behind a proxy that strips the path, /articles/x was taken for the path left on and
    # stripped again: every article page was a 404, and /v1/… reached the HTML routes.
    ("BASE_URL", "https://example.org/articles", "beginning /articles"),
    ("BASE_URL", "https://example.org/v1/news", "beginning /v1"),
    ("BASE_URL", "https://example.org/%64ocs", "beginning /docs"),
    ("BASE_URL", "https://example.org/v1%2Farticles", "beginning /v1"),  # decoded, then split
    ("BASE_URL", "https://example.org/./articles", "segment in its path"),
    ("BASE_URL", "https://example.org/news/../x", "segment in its path"),
    ("BASE_URL", "https://example.org//news", "segment in its path"),
    # The form's cookie, scoped to the path, writes them escaped; the links and a browser
    # do not: the cookie never came back and every sign-up was "expired".
    ("BASE_URL", "https://example.org/a;b", "has ; [ or ]"),
    ("BASE_URL", "https://example.org/a%3Bb", "has ; [ or ]"),
    ("BASE_URL", "https://example.org/a[b]", "has ; [ or ]"),
    # Accepted by the check, then every request failed inside the limiter, which swallowed
    # the error and limited nothing.
    ("RATELIMIT_STORAGE_URL", "redis://127.0.0.1:6379/0?socket_timout=2", "socket_timout"),
    ("RATELIMIT_STORAGE_URL", "redis://127.0.0.1:6379/-1", "a number from 0"),
    # Signing encodes it: a byte that was not UTF-8 made every request a 500.
    ("SECRET_KEY", "long-random-secret-\udcff-value-0123456789", "not UTF-8"),
    ("DKIM_KEY_FILE", "/nonexistent/key.pem", "a readable PEM private key file"),
    ("ENV", "staging", "production, development or test"),
]
SECRET = {"DATABASE_URL", "SMTP_URL", "API_TOKEN", "SECRET_KEY", "RATELIMIT_STORAGE_URL"}
ISSUE_EXAMPLES = [("DIGEST_TIME", "25:00"), ("TIMEZONE", "Mars/Base"), ("PDF_WORKERS", "0")]


def _check_line(lines: list[str], name: str, value: str, accepts: str) -> None:
    assert len(lines) == 1, lines
    line = lines[0]
    shown = "" if name in SECRET else "=" + printable(value)
    assert line.startswith(f"BROADSHEET_{name}{shown} is not valid"), line
    assert accepts in line, line
    if name in SECRET:
        assert value not in line  # a secret or a password in a URL is never echoed


def _environment(**settings: str) -> dict[str, str]:
    """The process environment without any BROADSHEET_* variable, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    env.update({PREFIX + k: v for k, v in settings.items()})
    return env


def _broadsheet(*args: str, **settings: str) -> subprocess.CompletedProcess:
    """A real `broadsheet` process (python -m service) run from this checkout."""
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=ROOT,
        env=_environment(**settings),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


# create_app ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value", "accepts"), BAD_VALUES)
def test_create_app_refuses_a_bad_value_from_the_environment(monkeypatch, name, value, accepts):
    monkeypatch.setenv("BROADSHEET_SECRET_KEY", "k" * 32)
    monkeypatch.setenv(PREFIX + name, value)
    with pytest.raises(SettingsError) as refused:
        create_app()
    _check_line(refused.value.lines, name, value, accepts)


SITE = {"BROADSHEET_BASE_URL": "https://news.example.org"}  # production needs one


def test_secret_key_is_required_outside_development_and_tests():
    with pytest.raises(SettingsError) as refused:
        Settings.load(environ=SITE)
    assert len(refused.value.lines) == 1
    assert refused.value.lines[0].startswith("BROADSHEET_SECRET_KEY is required")
    assert "BROADSHEET_ENV=development" in refused.value.lines[0]
    for env in ("development", "test"):
        assert Settings.load(environ={"BROADSHEET_ENV": env}).signing_key
    key = {**SITE, "BROADSHEET_SECRET_KEY": "k" * 32}
    assert Settings.load(environ=key).signing_key == "k" * 32


def test_production_refuses_what_only_a_developer_s_machine_may_use():
    """The default BASE_URL (http://localhost:5000) went into confirmation links mailed to
    readers; the development key, in the source, let anyone forge every link."""
    with pytest.raises(SettingsError) as refused:
        Settings.load(environ={"BROADSHEET_SECRET_KEY": "k" * 32})
    assert [line.split(" ")[0] for line in refused.value.lines] == ["BROADSHEET_BASE_URL"]
    assert "required in production" in refused.value.lines[0]
    for key in (
        {"BROADSHEET_SECRET_KEY": DEVELOPMENT_SECRET_KEY},
        {
            "BROADSHEET_SECRET_KEY": "k" * 32,
            "BROADSHEET_SECRET_KEY_FALLBACKS": DEVELOPMENT_SECRET_KEY,
        },
    ):
        with pytest.raises(SettingsError) as refused:
            Settings.load(environ={**SITE, **key})
        (line,) = refused.value.lines
        assert "is the development key" in line
        assert DEVELOPMENT_SECRET_KEY not in line
    development = {"BROADSHEET_ENV": "development", "BROADSHEET_SECRET_KEY": DEVELOPMENT_SECRET_KEY}
    assert Settings.load(environ=development).base_url == "http://localhost:5000"


def test_a_misspelt_setting_is_named(caplog):
    """BROADSHEET_SMTP_ULR was ignored without a word, and mail went to the Maildir."""
    Settings.load(environ={"BROADSHEET_ENV": "test", "BROADSHEET_SMTP_ULR": "smtp://x"})
    assert [r.getMessage() for r in caplog.records] == [
        "BROADSHEET_SMTP_ULR is not a setting and is ignored; the settings are in the README"
    ]


def test_a_short_secret_key_is_refused_in_production():
    """It signs every confirmation and unsubscribe link and the forms' CSRF cookie."""
    for short in ("a", "k" * 15):
        with pytest.raises(SettingsError) as refused:
            Settings.load(environ={**SITE, "BROADSHEET_SECRET_KEY": short})
        assert refused.value.lines[0].startswith("BROADSHEET_SECRET_KEY is too short")
        assert short not in refused.value.lines[0].split(":", 1)[0]
    assert Settings.load(environ={**SITE, "BROADSHEET_SECRET_KEY": "k" * 16}).signing_key
    assert Settings.load(environ={"BROADSHEET_ENV": "development", "BROADSHEET_SECRET_KEY": "k"})


def test_base_urls_readers_can_reach_are_accepted():
    for url in ("https://news.example.org", "http://localhost:5000", "https://[::1]:8443/news"):
        assert Settings.load(environ={"BROADSHEET_ENV": "test", "BROADSHEET_BASE_URL": url})
    tls = "rediss://cache.internal:6380/2?ssl_cert_reqs=none&socket_timeout=2"
    shared = {"BROADSHEET_ENV": "test", "BROADSHEET_RATELIMIT_STORAGE_URL": tls}
    assert Settings.load(environ=shared)


def test_two_bad_values_give_two_lines():
    with pytest.raises(SettingsError) as refused:
        Settings.load(
            environ={"BROADSHEET_DIGEST_TIME": "24:00", "BROADSHEET_PDF_WORKERS": "0"},
            overrides={"ENV": "test"},
        )
    assert [line.split("=")[0] for line in refused.value.lines] == [
        "BROADSHEET_DIGEST_TIME",
        "BROADSHEET_PDF_WORKERS",
    ]


@pytest.mark.parametrize(
    "name", ["BROADSHEET_MAIL_FROM", "BROADSHEET_UNSUBSCRIBE_MAILTO", "BROADSHEET_IMAGE_HOSTS"]
)
def test_a_long_bad_value_gives_a_line_of_bounded_length(name):
    """The value was cut to 200 characters, but the reason after it quoted it whole: a
    20,000-character MAIL_FROM gave a line of 20,400."""
    with pytest.raises(SettingsError) as refused:
        Settings.load(environ={name: "x" * 20_000 + "@"}, overrides={"ENV": "test"})
    (line,) = refused.value.lines
    assert line.startswith(f"{name}=x")
    assert len(line) < 1_000


def _private_key_file(folder) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = folder / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = folder / "dkim.pub.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return str(path)


def test_dkim_settings_go_together(tmp_path):
    key = _private_key_file(tmp_path)
    with pytest.raises(SettingsError, match="set all three or none"):
        Settings.load(overrides={"ENV": "test", "DKIM_SELECTOR": "s1"})
    dkim = {"ENV": "test", "DKIM_SELECTOR": "s1", "DKIM_DOMAIN": "example.org"}
    settings = Settings.load(overrides={**dkim, "DKIM_KEY_FILE": str(key)})
    assert settings.dkim_key_file == str(key)
    # Digests offer one-click unsubscribe, which wants a DKIM signature (RFC 8058 §4): said
    # while no key is set, as the missing postal address is.
    signed = Settings.load(
        overrides={**dkim, "DKIM_KEY_FILE": str(key), "PUBLISHER_ADDRESS": "1 Test Street"}
    )
    assert list_mail_warnings(signed) == []
    (unsigned,) = list_mail_warnings(Settings(publisher_address="1 Test Street"))
    assert "no DKIM key is set" in unsigned
    assert "RFC 8058" in unsigned


def test_a_base_url_fits_a_list_unsubscribe_line(tmp_path):
    """A 946-character BASE_URL made List-Unsubscribe a line of 1,033 characters, past the
    998 RFC 5322 allows: refused past 300."""
    long = "https://news.example.org/" + "a" * 276
    assert len(Settings(base_url=long[:300]).base_url) == 300
    with pytest.raises(ValueError, match="longer than 300 characters"):
        Settings(base_url=long)


def _small_key_file(folder, bits: int = 768) -> str:
    """An RSA key of `bits` bits, below what cryptography will generate (1,024): made from
    two primes found here (a Fermat test is enough for a key no one trusts)."""
    import math
    import random

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    def prime(size: int) -> int:
        while True:
            candidate = random.getrandbits(size) | (1 << (size - 1)) | 1
            if all(pow(a, candidate - 1, candidate) == 1 for a in (2, 3, 5, 7, 11, 13, 17)):
                return candidate

    e = 65537
    while True:
        p, q = prime(bits // 2), prime(bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and math.gcd(e, phi) == 1 and (p * q).bit_length() == bits:
            break
    d = pow(e, -1, phi)
    public = rsa.RSAPublicNumbers(e, p * q)
    numbers = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), public)
    path = folder / "small.pem"
    path.write_bytes(
        numbers.private_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(path)


def test_a_dkim_key_too_small_for_any_receiver_is_refused(tmp_path):
    """A 768-bit key passed the trial signature; every mail then carried a signature that
    no receiver verifies (RFC 8301: under 1,024 bits MUST NOT be accepted)."""
    good = {"ENV": "test", "DKIM_SELECTOR": "mail2026", "DKIM_DOMAIN": "example.org"}
    with pytest.raises(SettingsError, match="an RSA key of 768 bits"):
        Settings.load(overrides={**good, "DKIM_KEY_FILE": _small_key_file(tmp_path)})


def test_dkim_settings_are_what_a_signature_can_use(tmp_path):
    """A public key or any readable file passed, then every mail send crashed; a selector
    or domain with spaces or non-ASCII went raw into DKIM-Signature and never verified."""
    key = _private_key_file(tmp_path)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key", "utf-8")
    good = {"ENV": "test", "DKIM_SELECTOR": "mail2026", "DKIM_DOMAIN": "example.org"}
    for bad_file in (str(tmp_path / "dkim.pub.pem"), str(junk)):
        with pytest.raises(SettingsError, match="no PEM private key the DKIM signer can use"):
            Settings.load(overrides={**good, "DKIM_KEY_FILE": bad_file})
    for name, value in (
        ("DKIM_SELECTOR", "mail 2026;x"),
        ("DKIM_DOMAIN", "not a domain"),
        ("DKIM_DOMAIN", "bücher.de"),
        ("DKIM_DOMAIN", "-example.org"),
    ):
        with pytest.raises(SettingsError, match=f"BROADSHEET_{name}=.* DNS name"):
            Settings.load(overrides={**good, "DKIM_KEY_FILE": key, name: value})
    loaded = Settings.load(
        overrides={**good, "DKIM_KEY_FILE": key, "DKIM_DOMAIN": "xn--bcher-kva.de"}
    )
    assert loaded.dkim_domain == "xn--bcher-kva.de"


def test_the_example_s_stand_in_secrets_are_refused():
    """deploy/broadsheet.env.example is public: left unedited, anyone could write articles
    and forge confirmation links."""
    example = (ROOT / "deploy" / "broadsheet.env.example").read_text("utf-8")
    stand_ins = dict(
        line.split("=", 1)
        for line in example.splitlines()
        if line.startswith(("BROADSHEET_SECRET_KEY=", "BROADSHEET_API_TOKEN="))
    )
    assert len(stand_ins) == 2
    for variable, value in stand_ins.items():
        name = variable.removeprefix("BROADSHEET_")
        with pytest.raises(SettingsError, match=f"{variable} is not valid .*stand-in"):
            Settings.load(overrides={"ENV": "production", "SECRET_KEY": "k" * 40, name: value})


def test_a_base_url_beyond_ascii_is_refused():
    """It was accepted, then every list with a next page was a 500 under gunicorn (a Link
    header beyond ASCII) while the access line said 200."""
    for url in ("https://新闻.example/路", "https://новости.рф", "https://news.example.org/é"):
        with pytest.raises(SettingsError, match="xn-- form"):
            Settings.load(overrides={"ENV": "test", "BASE_URL": url})
    assert (
        Settings.load(
            overrides={"ENV": "test", "BASE_URL": "https://xn--efvy88h.example/%E8%B7%AF"}
        ).base_url
        == "https://xn--efvy88h.example/%E8%B7%AF"
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("smtp://digest:pw@mail.example.org:587?starttls=never", "starttls=require or smtps"),
        ("smtp://digest@mail.example.org:587?starttls=never", "starttls=require or smtps"),
        ("smtp://mail.example.org?timeout=1e15", "timeout must be a number from 0.001"),
        ("smtp://mail.example.org?rate=1e-320", "rate must be a number from 0.001"),
    ],
)
def test_an_smtp_url_that_could_never_send_is_refused(url, why):
    with pytest.raises(SettingsError, match=why):
        Settings.load(overrides={"ENV": "test", "SMTP_URL": url})


def test_a_password_over_plain_smtp_is_fine_on_this_machine():
    url = "smtp://digest:pw@127.0.0.1:2525?starttls=never"
    assert Settings.load(overrides={"ENV": "test", "SMTP_URL": url}).smtp_url == url


def test_the_body_limit_has_a_ceiling():
    with pytest.raises(SettingsError, match="MAX_BODY_BYTES"):
        Settings.load(overrides={"ENV": "test", "MAX_BODY_BYTES": 100_000_000_000})


def test_an_unknown_override_is_refused():
    with pytest.raises(SettingsError, match="PDF_WORKER is not a setting"):
        Settings.load(overrides={"ENV": "test", "PDF_WORKER": 3})


# Good values, typed --------------------------------------------------------------------


def test_values_are_typed_once():
    settings = Settings.load(
        environ={
            "BROADSHEET_ENV": "development",
            "BROADSHEET_DIGEST_TIME": "18:30",
            "BROADSHEET_TIMEZONE": "Europe/Madrid",
            "BROADSHEET_IMAGE_HOSTS": " Images.Example.org., cdn.example.net ,",
            "BROADSHEET_RATELIMIT_ENABLED": "false",
            "BROADSHEET_PDF_TIME_LIMIT": "2.5",
            "BROADSHEET_BASE_URL": "https://news.example.org/",
            "BROADSHEET_SMTP_URL": "   ",
        }
    )
    assert settings.digest_time == time(18, 30)
    assert settings.timezone == ZoneInfo("Europe/Madrid")
    assert settings.image_hosts == frozenset({"images.example.org", "cdn.example.net"})
    assert settings.ratelimit_enabled is False
    assert settings.pdf_time_limit == 2.5
    assert settings.base_url == "https://news.example.org"
    assert settings.smtp_url is None  # blank is unset


def test_defaults_when_nothing_is_set():
    settings = Settings.load(environ={"BROADSHEET_ENV": "test"})
    assert settings == Settings(env="test")
    assert settings.digest_time == time(7, 0)
    assert settings.timezone == ZoneInfo("UTC")
    assert settings.max_body_bytes == 2 * 1024 * 1024
    assert settings.ratelimit_storage_url == "memory://"
    assert settings.trusted_proxies == 0
    assert settings.ratelimit_signup_address == "3 per hour"


def test_the_mapping_overrides_the_environment(monkeypatch):
    monkeypatch.setenv("BROADSHEET_BASE_URL", "https://env.example.org/")
    monkeypatch.setenv("BROADSHEET_MAX_BODY_BYTES", "4096")
    monkeypatch.setenv("BROADSHEET_PDF_WORKERS", "3")
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "PDF_WORKERS": 1})
    with app.app_context():
        from service.runtime import current_runtime

        settings = current_runtime().settings
    assert settings.base_url == "https://env.example.org"
    assert settings.pdf_workers == 1
    assert app.config["MAX_CONTENT_LENGTH"] == 4096


def test_secrets_stay_out_of_the_repr():
    settings = Settings(secret_key="hunter2-hunter2", api_token="t" * 20)
    assert "hunter2" not in repr(settings)
    assert "t" * 20 not in repr(settings)


# The command line, as a real process ---------------------------------------------------


@pytest.mark.parametrize(("name", "value", "accepts"), BAD_VALUES)
def test_broadsheet_serve_stops_on_a_bad_value(tmp_path, name, value, accepts):
    settings = {"ENV": "development", name: value}
    if name != "DATABASE_URL":
        settings["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = _broadsheet("serve", "--port", "1", **settings)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    _check_line(result.stderr.splitlines(), name, value, accepts)


@pytest.mark.parametrize(("name", "value"), ISSUE_EXAMPLES)
def test_broadsheet_render_stops_on_a_bad_value(name, value):
    result = _broadsheet(
        "render",
        str(EXAMPLES / "bike-lanes.json"),
        "--to",
        "text",
        ENV="development",
        **{name: value},
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"BROADSHEET_{name}={value} is not valid: expected ")


def test_broadsheet_without_a_secret_key_stops_in_production():
    result = _broadsheet(
        "render", str(EXAMPLES / "bike-lanes.json"), "--to", "text", BASE_URL="https://x.org"
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert re.fullmatch(r"BROADSHEET_SECRET_KEY is required: [^\n]+\n", result.stderr)


@pytest.mark.parametrize("args", [["--help"], ["render", "--help"], ["serve", "--help"]])
def test_help_needs_no_settings_and_warns_of_nothing(args):
    # Production without a SECRET_KEY, and a bad value besides: help still just helps.
    result = _broadsheet(*args, DIGEST_TIME="25:00")
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.startswith("Usage: broadsheet")


def test_a_wsgi_server_gets_the_same_line():
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=_environment(SECRET_KEY="k" * 32, TIMEZONE="Mars/Base"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        "BROADSHEET_TIMEZONE=Mars/Base is not valid: expected "
        + Settings.model_fields["timezone"].description
    ]


def test_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / "broadsheet.env"
    env_file.write_text("BROADSHEET_ENV=development\nBROADSHEET_PDF_WORKERS=0\n", "utf-8")
    result = _broadsheet("--env-file", str(env_file), "serve", "--port", "1")
    assert result.returncode == 2
    assert result.stderr.startswith("BROADSHEET_PDF_WORKERS=0 is not valid")
    out = tmp_path / "out.txt"
    result = _broadsheet(
        "-e",
        str(env_file),
        "render",
        str(EXAMPLES / "bike-lanes.json"),
        "--to",
        "text",
        "-o",
        str(out),
        PDF_WORKERS="1",
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text("utf-8").startswith("City\nCouncil Approves")


def test_an_empty_variable_leaves_the_env_file_s_value(tmp_path):
    """An empty variable is unset to the settings, but hid the file's value from them."""
    env_file = tmp_path / "broadsheet.env"
    env_file.write_text("BROADSHEET_PDF_WORKERS=0\n", "utf-8")
    result = _broadsheet(
        "-e", str(env_file), "serve", "--port", "1", ENV="development", PDF_WORKERS=""
    )
    assert result.returncode == 2
    assert result.stderr.startswith("BROADSHEET_PDF_WORKERS=0 is not valid")


def test_an_env_file_s_references_are_kept_as_systemd_keeps_them(tmp_path):
    """systemd's EnvironmentFile= expands nothing, so the units would start with the text
    as written: -e reads the same file the same way (it once expanded ${NAME})."""
    env_file = tmp_path / "broadsheet.env"
    env_file.write_text(
        "BROADSHEET_SITE=file.example.org\nBROADSHEET_BASE_URL=https://${BROADSHEET_SITE}\n",
        "utf-8",
    )
    out = tmp_path / "mail.html"
    result = _broadsheet(
        "-e", str(env_file), "render", str(EXAMPLES / "bike-lanes.json"), "--to", "email",
        "-o", str(out), ENV="development", SITE="env.example.org",
    )  # fmt: skip
    assert result.returncode == 2
    assert "BROADSHEET_BASE_URL=https://${BROADSHEET_SITE} is not valid" in result.stderr
    assert not out.exists()


# The README documents every setting -----------------------------------------------------


def _shown(default: object) -> str:
    if default is None:
        return "unset"
    return f"`{str(default).lower() if isinstance(default, bool) else default}`"


def settings_table() -> str:
    """The README's settings table as the settings object describes it."""
    rows = ["| variable | default | accepts |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        shown = extra.get("shown_default") or _shown(field.default)
        rows.append(f"| `{env_name(name)}` | {shown} | {field.description} |")
    return "\n".join(rows)


def test_readme_lists_every_setting_as_the_settings_object_does():
    readme = (ROOT / "README.md").read_text("utf-8")
    table = settings_table()
    assert table in readme, "README's settings table is out of date; it should read:\n" + table


def test_the_roots_a_base_url_may_not_begin_with_are_the_routes_own(app):
    roots = {rule.rule.split("/")[1] for rule in app.url_map.iter_rules()}
    assert roots == set(ROUTE_ROOTS)
    Settings(base_url="https://example.org/articles-today")  # a longer name is another path
    Settings(base_url="https://example.org/news/articles")
