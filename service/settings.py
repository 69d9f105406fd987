"""Every setting of the service, parsed, checked and typed once, each default given here only.

A setting is one field of `Settings`: its type, its default, and (through `setting()`) the
words that say what it accepts, used in the error line and the README table. Values come
from `BROADSHEET_<NAME>` environment variables, then from an override mapping (tests). The
app, the CLI and the scheduler read a `Settings`, never the raw environment.
"""

from __future__ import annotations

import hmac
import importlib.util
import inspect
import ipaddress
import logging
import os
import re
from collections.abc import Iterable, Mapping
from datetime import time
from typing import Any, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse_many
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import URL, Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from .addresses import Mailbox, checked_address, parse_mailbox
from .characters import character_problem
from .logs import printable

PREFIX = "BROADSHEET_"
logger = logging.getLogger(__name__)
# Signs tokens when BROADSHEET_ENV is development or test and no SECRET_KEY is set: the
# same in every process, so a local web process and scheduler agree, and never secret.
DEVELOPMENT_SECRET_KEY = "development-only-not-secret"
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_KEY_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,64}")
_LONGEST_RATE_PERIOD = 366 * 24 * 3600  # seconds; Redis refuses an expiry far beyond
_RATE = "a rate such as 20/minute or 100 per hour (several joined by ;)"


_NOT_IN_BASE_URL = frozenset("=&\"'<>\\^`{|}")


class SettingsError(Exception):
    """Settings the service cannot start with; `lines` has one line per bad variable."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def setting(default: Any, accepts: str, *, shown: str | None = None, secret: bool = False) -> Any:
    """A field's default and what it accepts; `shown` is the default as the README says it."""
    extra: dict[str, JsonValue] = {"shown_default": shown, "secret": secret}
    return Field(default, description=accepts, json_schema_extra=extra, repr=not secret)


class Settings(BaseModel):
    """The service's settings (README "Settings"); build with `Settings.load()`."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    env: Literal["production", "development", "test"] = setting(
        "production",
        "production, development or test (development and test need no SECRET_KEY nor BASE_URL)",
    )
    database_url: str | None = setting(
        None,
        "a database URL: sqlite:///path/file.sqlite3 or postgresql+psycopg://user@host/db",
        shown="SQLite file in the instance folder",
        secret=True,
    )
    smtp_url: str | None = setting(
        None,
        "smtp://user:password@host:port (STARTTLS when offered) or smtps://…",
        shown="unset: mail goes to a Maildir in the instance folder (in production, none goes)",
        secret=True,
    )
    mail_from: Mailbox = setting(
        Mailbox("Broadsheet", "digest@localhost"),
        "a mailbox: Name <user@host>, the name one line, in double quotes if it holds "
        '( ) < > [ ] : ; @ \\ , or "',
        shown="`Broadsheet <digest@localhost>`",
    )
    base_url: str = setting(
        "http://localhost:5000",
        "an http(s) URL of at most 300 characters, the service as readers reach it, with no "
        "query, fragment, user, or "
        "= & \" ' < > and kin, and a path, if any, not beginning like a route (/articles, /v1, "
        "…); a digest needs https (its one-click unsubscribe link, RFC 8058): "
        "with http none is sent",
    )
    api_token: str | None = setting(
        None,
        "a token of at least 16 visible ASCII characters (no spaces)",
        shown="unset: token-protected routes answer 401",
        secret=True,
    )
    secret_key: str | None = setting(
        None,
        "a long random string (16 characters at least), the same in every process (signs tokens)",
        shown="required unless ENV is development or test",
        secret=True,
    )
    secret_key_fallbacks: tuple[str, ...] = setting(
        (),
        "former SECRET_KEYs separated by commas: links and forms they signed are still taken"
        " (a key changed on a schedule: unsubscribe links already mailed keep working; never"
        " a key that leaked, which would still sign)",
        shown="empty",
        secret=True,
    )
    log_format: Literal["text", "json"] = setting(
        "text", "text (one escaped line a record) or json (one JSON object a line)"
    )
    metrics_token: str | None = setting(
        None,
        "a token of at least 16 visible ASCII characters: GET /metrics then needs it (Bearer)",
        shown="unset",
        secret=True,
    )
    metrics_public: bool = setting(
        False,
        "true or false: GET /metrics answers without a token when METRICS_TOKEN is unset"
        " (a token set wins; with neither: 404)",
    )
    digest_time: time = setting(time(7, 0), "a time of day as HH:MM, 00:00 to 23:59", shown="07:00")
    timezone: ZoneInfo = setting(
        ZoneInfo("UTC"), "an IANA time zone name such as Europe/Madrid", shown="UTC"
    )
    publisher_name: str = setting("Broadsheet", "one line of text, used when an article has none")
    publisher_address: str = setting(
        "",
        "one line of text: the postal address in every mail footer (none while it is empty: "
        "the law where most readers live (CAN-SPAM) and most mail providers want one in list "
        "mail, so `digest send` and the scheduler warn of it)",
        shown="empty",
    )
    image_hosts: frozenset[str] = setting(
        frozenset(),
        "host names separated by commas, such as images.example.org,cdn.example.net (an "
        "international name in its xn-- form: it matches images of bücher.example however "
        "their links write it)",
        shown="unset: PDFs load data: images only",
    )
    max_body_bytes: int = setting(
        2 * 1024 * 1024,
        "a whole number of bytes, 1024 to 1073741824 (1 GiB)",
        shown="2097152 (2 MiB)",
    )
    body_timeout: float = setting(
        10.0, "a number of seconds above 0, at most 600: the time a request body may take"
    )
    ratelimit_storage_url: str = setting(
        "memory://",
        "memory:// or a redis:// (rediss://) URL shared between machines",
        secret=True,  # a Redis URL may hold a password
    )
    ratelimit_enabled: bool = setting(True, "true or false (false turns every rate limit off)")
    ratelimit_key_prefix: str = setting(
        "broadsheet", "1 to 64 letters, digits, - or _: begins every counter's key in the storage"
    )
    ratelimit_pages: str = setting(
        "300 per minute", _RATE + " per client for pages, feeds and the schema"
    )
    ratelimit_render: str = setting(
        "60 per minute", _RATE + " per client for rendering HTML, e-mail and text"
    )
    ratelimit_pdf: str = setting("20 per minute", _RATE + " per client for every PDF route")
    ratelimit_signup: str = setting("10 per hour", _RATE + " per client for sign-ups")
    ratelimit_signup_address: str = setting(
        "3 per hour", _RATE + " per e-mail address for sign-ups"
    )
    ratelimit_token: str = setting(
        "600 per minute",
        _RATE + " per client for the API: stored articles (reads need no token), "
        "subscribers, digest sends",
    )
    trusted_proxies: int = setting(
        0,
        "a whole number, 0 to 10: the proxies in front whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed (0: none, the client is the peer)",
    )
    pdf_time_limit: float = setting(20.0, "a number of seconds above 0, at most 600")
    pdf_max_pages: int = setting(60, "a whole number of pages, 1 to 10000")
    pdf_cache_size: int = setting(128, "a whole number of PDFs kept in memory, 0 turns it off")
    pdf_workers: int = setting(2, "a whole number of printer processes, 1 to 64")
    edition_max_articles: int = setting(
        200, "a whole number of articles in one print edition, 1 to 10000"
    )
    pdf_worker_max_jobs: int = setting(
        500, "a whole number of PDFs a printer process prints before a fresh one replaces it"
    )
    pdf_worker_max_rss_mb: int = setting(
        500, "a whole number of MB: a printer process holding more after a PDF is replaced"
    )
    dkim_selector: str | None = setting(
        None, "a DKIM selector such as mail2026 (with DKIM_DOMAIN and DKIM_KEY_FILE)"
    )
    dkim_domain: str | None = setting(None, "the signing domain, such as example.org")
    dkim_key_file: str | None = setting(None, "the path of a readable PEM private key file")
    unsubscribe_mailto: str | None = setting(
        None, "an e-mail address for List-Unsubscribe, such as leave@example.org"
    )
    mail_relay: bool = setting(
        True, "true or false: a thread in each web process sends sign-up mail (the outbox)"
    )
    digest_lease_seconds: int = setting(
        300, "a whole number of seconds, 1 to 86400: how long a sender holds a message"
    )
    digest_retry_seconds: int = setting(
        60, "a whole number of seconds, 1 to 86400: the first wait after a 4xx reply"
    )
    digest_max_attempts: int = setting(
        8, "a whole number, 1 to 100: attempts at one message before it counts as failed"
    )

    # Reading ---------------------------------------------------------------------------

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
    ) -> Settings:
        """Settings from BROADSHEET_* variables, then `overrides` by NAME; or SettingsError."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = environ.get(env_name(name), "")
            if raw.strip():
                values[name] = raw.strip()
        known = {env_name(name) for name in cls.model_fields}
        # The tests' and benchmarks' own (BROADSHEET_TEST_POSTGRES_URL…) are not settings.
        ours = (f"{PREFIX}TEST_", f"{PREFIX}BENCH_")
        names = (n for n in environ if n.startswith(PREFIX) and not n.startswith(ours))
        for unknown in sorted(n for n in names if n not in known):
            # BROADSHEET_SMTP_ULR was ignored without a word: mail went to the Maildir.
            logger.warning(
                "%s is not a setting and is ignored; the settings are in the README",
                printable(unknown, 80),
            )
        for key, value in (overrides or {}).items():
            name = key.lower()
            if name not in cls.model_fields:
                raise SettingsError([f"{key} is not a setting; the settings are in the README"])
            if value is not None and value != "":
                values[name] = value
            else:
                values.pop(name, None)
        try:
            settings = cls(**values)
        except ValidationError as error:
            raise SettingsError(_error_lines(error, values)) from None
        if settings.env == "production":
            _fit_for_production(settings, given=values)
        return settings

    @classmethod
    def names(cls) -> list[str]:
        """Every setting's name as written after the prefix, in the order of the README."""
        return [name.upper() for name in cls.model_fields]

    # Derived values --------------------------------------------------------------------

    @property
    def signing_key(self) -> str:
        return self.secret_key or DEVELOPMENT_SECRET_KEY

    @property
    def message_id_tag(self) -> str:
        """Ten hex digits that tell this installation's Message-IDs from another's on the same
        mail domain (a staging copy, another title): derived from the secret key and
        BASE_URL, stable for as long as they are, and revealing neither."""
        mac = hmac.new(self.signing_key.encode(), b"message-id " + self.base_url.encode(), "sha256")
        return mac.hexdigest()[:10]

    def article_url(self, article_id: str) -> str:
        return f"{self.base_url}/articles/{article_id}"

    # Checks ----------------------------------------------------------------------------

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            url = make_url(value)
            url.get_dialect().import_dbapi()
        except (ArgumentError, NoSuchModuleError, ValueError):
            raise ValueError() from None
        except ImportError as error:
            raise ValueError(
                f"driver {error.name} is not installed; for PostgreSQL, "
                "pip install 'broadsheet[postgres]'"
            ) from None
        if url.host and "@" in url.host:
            # The URL is split at its first @: the rest of the password would be taken for
            # the host, and printed as one in every connection error.
            raise ValueError("a password holding @ must be written percent-encoded, as %40")
        try:
            # The driver reads the query's options when an engine is made (it connects to
            # nothing): ?timeout=abc failed every command and the app with a traceback.
            engine = create_engine(url)
            engine.dispose()
            if url.get_driver_name() == "psycopg":
                _check_libpq_options(engine, url)
        except (ArgumentError, TypeError, ValueError) as error:
            reason = " ".join(str(error).split())[:200]
            if url.password:
                reason = reason.replace(str(url.password), "***")
            raise ValueError(
                f"an option in its query is not one the driver takes ({reason})"
            ) from None
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from .mail.smtp import BadSmtpUrl, SmtpUrl  # the one reader of SMTP_URL

        try:
            SmtpUrl.parse(value)
        except BadSmtpUrl as error:
            raise ValueError(error.reason) from None
        return value

    @field_validator("mail_from", mode="before")
    @classmethod
    def _mail_from(cls, value: Any) -> Any:
        # Parsed once, here, into (name, address): nothing reads an address out of it again.
        mailbox = parse_mailbox(value) if isinstance(value, str) else value
        # The name goes into every From line: one line of text, as PUBLISHER_NAME.
        if isinstance(mailbox, Mailbox) and (
            problem := character_problem(mailbox.name, line_breaks=False)
        ):
            raise ValueError(f"the display name {problem}")
        return mailbox

    @field_validator("unsubscribe_mailto")
    @classmethod
    def _unsubscribe_mailto(cls, value: str | None) -> str | None:
        return None if value is None else checked_address(value)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
        except ValueError:
            raise ValueError() from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("needs http:// or https:// and a host")
        if not value.startswith(f"{parts.scheme}://"):
            # Links, cookies and the digest test for "https://" as written.
            raise ValueError(f"must begin with {parts.scheme}:// in lower case")
        # Every link, header and feed is this text plus a path: nothing may end it early
        # (?, #), add a user (@), or break a header line or a URL (spaces, controls).
        if len(value) > MAX_BASE_URL:
            # A digest's List-Unsubscribe header holds it and a token on one line, which
            # RFC 5322 ends at 998 characters.
            raise ValueError(f"is longer than {MAX_BASE_URL} characters")
        if any(c in "?#@" or c.isspace() or not c.isprintable() for c in value):
            raise ValueError("has a query, a fragment, a user, a space or a control character")
        if not value.isascii():
            # It goes into headers (Location, Link) and mail as it is: HTTP and mail headers
            # carry ASCII. An internationalised name has an ASCII form that means the same.
            raise ValueError(
                "holds characters beyond ASCII: write the host in its xn-- form and "
                "percent-encode the path"
            )
        if any(c in _NOT_IN_BASE_URL for c in value):
            # Each digest copy sets the link into its quoted-printable parts and its HTML as
            # it is (the fast path): "=" would start an escape there, and the others end an
            # attribute or begin a reference. None belongs in a site's base address.
            raise ValueError(f"holds one of {' '.join(sorted(_NOT_IN_BASE_URL))}")
        host = parts.hostname
        if not (_DNS_NAME.fullmatch(host.rstrip(".")) or is_ip_address(host)):
            raise ValueError(f"{host!r} is not a host name")
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0:
            raise ValueError("has a port that is not a number from 1 to 65535") from None
        if any(c in unquote(parts.path) for c in ";[]"):
            # The pages' links write them as they are (percent-encoded or not), a browser
            # sends them so, and the sign-up form's cookie, scoped to the path, can only
            # write them escaped: it never came back, and no reader could sign up.
            raise ValueError("has ; [ or ] in its path, written or percent-encoded")
        # Read as the service reads it (service/base_path.py): decoded, then split.
        segments = unquote(parts.path.rstrip("/")).split("/")[1:]
        if any(segment in ("", ".", "..") for segment in segments):
            # A proxy or browser sends /./news as /news, //news perhaps as /news: the path
            # passed on would not be the one written here.
            raise ValueError("has an empty, . or .. segment in its path")
        first = segments[0] if segments else ""
        if first in ROUTE_ROOTS:
            # A proxy that strips the path sends /articles/x for …/articles/articles/x, one that
            # passes it on /articles/x for …/articles/x: the service could not tell which.
            raise ValueError(
                f"has a path beginning /{first}, as the service's own routes do; serve it "
                "under another path"
            )
        return value.rstrip("/")

    @field_validator("api_token", "metrics_token")
    @classmethod
    def _api_token(cls, value: str | None) -> str | None:
        # What a client can send in a header: visible ASCII, no spaces.
        if value is not None and (len(value) < 16 or not all("!" <= c <= "~" for c in value)):
            raise ValueError()
        return value

    @field_validator("digest_time", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _CLOCK.fullmatch(value)
            if not match:
                raise ValueError()
            return time(int(match[1]), int(match[2]))
        return value

    @field_validator("timezone", mode="before")
    @classmethod
    def _zone(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError() from None
        return value

    @field_validator("publisher_name", "publisher_address", "dkim_selector", "dkim_domain")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        problem = None if value is None else character_problem(value, line_breaks=False)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("image_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: Any) -> Any:
        items: Iterable[Any] = value.split(",") if isinstance(value, str) else value
        hosts = set()
        for item in items:
            host = str(item).strip().lower().rstrip(".")
            if not host:
                continue
            labels = host.split(".")
            if (
                len(host) > 253
                or not all(_HOST_LABEL.fullmatch(label) for label in labels)
                or labels[-1].isdigit()
            ):
                raise ValueError(f"{host!r} is not a host name")
            hosts.add(host)
        return frozenset(hosts)

    @field_validator("max_body_bytes")
    @classmethod
    def _body_bytes(cls, value: int) -> int:
        return _within(value, 1024, 1 << 30)

    @field_validator("ratelimit_storage_url")
    @classmethod
    def _ratelimit_storage(cls, value: str) -> str:
        scheme = value.partition("://")[0]
        if "://" not in value or scheme not in ("memory", "redis", "rediss"):
            raise ValueError()
        if scheme != "memory" and importlib.util.find_spec("redis") is None:
            raise ValueError("the redis client is not installed: pip install 'broadsheet[redis]'")
        if scheme != "memory":
            from redis.connection import parse_url  # what the limiter's storage will read

            reason = "it cannot be read: a host, a port up to 65535, known options"
            try:
                options = parse_url(value)
            except ValueError:  # its words may quote the URL, which may hold a password
                raise ValueError(reason) from None
            # parse_url takes any option and any database and leaves them to the connection,
            # which failed on every request; the limiter swallowed that and limited nothing.
            unknown = set(options) - _redis_options(options.get("connection_class"))
            if unknown:
                raise ValueError(f"{reason}; {', '.join(sorted(unknown))} is not one")
            if int(options.get("db", 0)) < 0:
                raise ValueError(f"{reason}; the database is a number from 0")
        return value

    @field_validator("ratelimit_key_prefix")
    @classmethod
    def _key_prefix(cls, value: str) -> str:
        if not _KEY_PREFIX.fullmatch(value):
            raise ValueError()
        return value

    @field_validator(
        "ratelimit_pages",
        "ratelimit_render",
        "ratelimit_pdf",
        "ratelimit_signup",
        "ratelimit_signup_address",
        "ratelimit_token",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            rates = parse_many(value)
        except ValueError:
            raise ValueError() from None
        if any(rate.amount < 1 for rate in rates):
            raise ValueError("a rate of 0 would refuse every request")
        if any(rate.get_expiry() > _LONGEST_RATE_PERIOD for rate in rates):
            raise ValueError("a period longer than a year cannot be counted in Redis")
        return value.strip()

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: int) -> int:
        return _within(value, 0, 10)

    @field_validator("pdf_time_limit", "body_timeout")
    @classmethod
    def _time_limit(cls, value: float) -> float:
        if not 0 < value <= 600:
            raise ValueError()
        return value

    @field_validator("pdf_max_pages")
    @classmethod
    def _max_pages(cls, value: int) -> int:
        return _within(value, 1, 10_000)

    @field_validator("pdf_cache_size")
    @classmethod
    def _cache_size(cls, value: int) -> int:
        return _within(value, 0, None)

    @field_validator("pdf_workers")
    @classmethod
    def _workers(cls, value: int) -> int:
        return _within(value, 1, 64)

    @field_validator("digest_lease_seconds", "digest_retry_seconds")
    @classmethod
    def _seconds(cls, value: int) -> int:
        return _within(value, 1, 86_400)

    @field_validator("digest_max_attempts")
    @classmethod
    def _attempts(cls, value: int) -> int:
        return _within(value, 1, 100)

    @field_validator("edition_max_articles")
    @classmethod
    def _edition_articles(cls, value: int) -> int:
        return _within(value, 1, 10_000)

    @field_validator("pdf_worker_max_jobs", "pdf_worker_max_rss_mb")
    @classmethod
    def _worker_recycling(cls, value: int) -> int:
        return _within(value, 1, None)

    @field_validator("dkim_key_file")
    @classmethod
    def _key_file(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not (os.path.isfile(value) and os.access(value, os.R_OK)):
            raise ValueError()
        import dkim  # the signer that will use it: a trial signature proves the key

        try:
            with open(value, "rb") as file:
                key = file.read(64 * 1024)
            dkim.sign(b"From: a@example.org\r\n\r\nx\r\n", b"s", b"example.org", key)
            bits = dkim.crypto.parse_pem_private_key(key)["modulus"].bit_length()
        except Exception:  # dkimpy raises several kinds for a key it cannot use
            raise ValueError("it holds no PEM private key the DKIM signer can use") from None
        if bits < 1024:  # it signs, and every receiver ignores the signature
            raise ValueError(
                f"it holds an RSA key of {bits} bits; receivers take no DKIM signature under "
                "1,024 (RFC 8301): make one of 2,048"
            )
        return value

    @field_validator("dkim_selector", "dkim_domain")
    @classmethod
    def _dns_name(cls, value: str | None) -> str | None:
        # Written raw into DKIM-Signature (s=, d=) and looked up in the DNS.
        if value is not None and not _DNS_NAME.fullmatch(value):
            raise ValueError("not a DNS name of ASCII letters, digits and hyphens (xn-- form)")
        return value

    @model_validator(mode="after")
    def _dkim_together(self) -> Settings:
        parts = (self.dkim_selector, self.dkim_domain, self.dkim_key_file)
        if any(parts) and not all(parts):
            raise ValueError("dkim")
        return self

    @field_validator("secret_key", "api_token", "metrics_token")
    @classmethod
    def _not_a_placeholder(cls, value: str | None) -> str | None:
        # deploy/broadsheet.env.example's stand-ins, public in the repository.
        if value is not None and value.startswith(PLACEHOLDER):
            raise ValueError(f"it is the example's stand-in ({PLACEHOLDER}…): make one up")
        return value

    @field_validator("secret_key_fallbacks", mode="before")
    @classmethod
    def _fallbacks(cls, value: Any) -> Any:
        items: Iterable[Any] = value.split(",") if isinstance(value, str) else value
        keys = tuple(str(item).strip() for item in items if str(item).strip())
        for key in keys:
            cls._not_a_placeholder(key)
            cls._secret_text(key)
            if len(key) < MIN_SECRET_KEY:
                raise ValueError(f"each key must be {MIN_SECRET_KEY} characters at least")
        return keys

    @field_validator("secret_key")
    @classmethod
    def _secret_text(cls, value: str | None) -> str | None:
        # Signing encodes it as UTF-8: a byte that was not (a lone surrogate here) made every
        # request a 500. Its words are not repeated: it is a secret.
        if value is not None and not all(
            c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF for c in value
        ):
            raise ValueError("it holds a control character or bytes that are not UTF-8")
        return value


PLACEHOLDER = "replace-with"
MIN_SECRET_KEY = 16
MAX_BASE_URL = 300
# The first segment of every route (tests/test_settings.py holds them to the app's): the
# path of BASE_URL may not begin with one (service/base_path.py).
ROUTE_ROOTS = frozenset(
    {
        "articles",
        "digests",
        "docs",
        "editions",
        "feed.atom",
        "feed.json",
        "healthz",
        "metrics",
        "openapi.json",
        "subscribe",
        "unsubscribe",
        "v1",
    }
)
_DNS_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*")


def _redis_options(connection_class: type | None) -> set[str]:
    """What a redis URL may set: what its connection class takes, and the pool's own."""
    from redis.connection import Connection

    names = {"connection_class", "max_connections"}
    for cls in (connection_class or Connection).__mro__:
        if "__init__" in cls.__dict__:
            names.update(inspect.signature(cls.__dict__["__init__"]).parameters)
    return names - {"self", "args", "kwargs"}


def is_ip_address(host: str) -> bool:
    """True when `host` is an IPv4 or IPv6 address, not a name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _fit_for_production(settings: Settings, given: Mapping[str, Any]) -> None:
    """What production refuses that development takes: SettingsError, one line each."""
    problems = []
    if len(settings.secret_key or "") < MIN_SECRET_KEY:
        # It signs confirmation and unsubscribe links and the forms' CSRF cookie: a short
        # one can be guessed, and every link forged.
        state = "is required" if not settings.secret_key else "is too short"
        problems.append(
            f"{env_name('secret_key')} {state}: expected "
            f"{Settings.model_fields['secret_key'].description}, such as python3 -c "
            "'import secrets; print(secrets.token_urlsafe(32))' makes; "
            "on a developer's machine, "
            f"set {env_name('env')}=development instead"
        )
    if DEVELOPMENT_SECRET_KEY in (settings.secret_key, *settings.secret_key_fallbacks):
        # Written in this repository: with it, anyone forges every link.
        problems.append(
            f"{env_name('secret_key')} (or a fallback) is the development key, which anyone "
            "can read in the source: make one of your own"
        )
    if "base_url" not in given:
        # Every link mailed (confirm, unsubscribe, the digest's), every feed and canonical
        # address is made from it: the default sent readers to http://localhost:5000.
        problems.append(
            f"{env_name('base_url')} is required in production: the service's address as "
            "readers reach it (https://…); every link mailed and every feed is made from it"
        )
    if problems:
        raise SettingsError(problems)


def env_name(field: str) -> str:
    return PREFIX + field.upper()


def _within(value: int, low: int, high: int | None) -> int:
    if value < low or (high is not None and value > high):
        raise ValueError()
    return value


def _check_libpq_options(engine: Engine, url: URL) -> None:
    """psycopg reads the query's options only when it connects: `?connect_timeout=abc` or
    an option libpq does not know failed every request with a 500 (ValueError here)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo, timeout_from_conninfo

    _, params = engine.dialect.create_connect_args(url)
    options = {key: value for key, value in params.items() if isinstance(value, str | int)}
    try:
        timeout_from_conninfo(conninfo_to_dict(make_conninfo("", **options)))
    except psycopg.Error as error:
        raise ValueError(str(error)) from None


def _error_lines(error: ValidationError, values: Mapping[str, Any]) -> list[str]:
    lines = []
    for item in error.errors(include_url=False):
        if not item["loc"]:
            names = ", ".join(env_name(f) for f in ("dkim_selector", "dkim_domain"))
            lines.append(
                f"{names} and {env_name('dkim_key_file')} go together: set all three or none"
            )
            continue
        name = str(item["loc"][0])
        field = Settings.model_fields[name]
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        shown = "" if extra.get("secret") else f"={printable(values.get(name), 200)}"
        reason = item.get("ctx", {}).get("error") if item["type"] == "value_error" else None
        why = f" ({printable(str(reason), 300)})" if reason and str(reason) else ""
        lines.append(f"{env_name(name)}{shown} is not valid{why}: expected {field.description}")
    return list(dict.fromkeys(lines))
