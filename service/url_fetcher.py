"""The only way a PDF render reaches outside the process: data: URIs and allow-listed https.

An HTML-to-PDF service is a classic server-side request forgery target, so this fetcher
refuses everything by default: no file:, no http:, no redirects, no host outside
BROADSHEET_IMAGE_HOSTS, and no address that is not globally routable, whatever spelling the
URL used. It connects to the very address it checked, so DNS cannot change its answer
between the check and the connection.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http.client
import io
import ipaddress
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote, unquote_to_bytes, urlsplit

import idna
from PIL import Image
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .budgets import PIXELS
from .images import IMAGE_TYPES, MAX_IMAGE_BYTES, is_image_of_type, pixel_size, pixels_problem
from .logs import printable

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0  # one image, from connecting to its last byte
# All of one render's images, from its first fetch: well within the printer's time limit.
FETCH_BUDGET = 8.0
MAX_ARTICLE_PIXELS = PIXELS.maximum

Resolver = Callable[[str, int], list[str]]


class FetchRefused(ValueError):
    """A resource the fetcher will not load; WeasyPrint logs it and leaves the image out.

    `transient` when another attempt might succeed (the network, the image's server), so a
    PDF that lacks the image is not kept in the cache.
    """

    def __init__(self, reason: str, *, transient: bool = False):
        super().__init__(reason)
        self.transient = transient


# Decoded here before WeasyPrint has them (a JPEG is passed through to the PDF as it came).
DECODED_HERE = {"image/png": "PNG", "image/gif": "GIF", "image/webp": "WebP"}


def _decodable(body: bytes, media_type: str) -> None:
    """Decode a PNG, GIF or WebP once, here, or refuse it. WeasyPrint keeps a PNG's bytes
    as they came and decodes them only while writing the PDF, outside its own image errors:
    a PNG whose header reads but whose data does not (no IDAT, a broken stream) failed the
    whole print, every time. A GIF or WebP it cannot decode it drops without a word, so
    nothing said the image was missing. Refused here, it is left out, its alt text stands
    in, and the answer names it."""
    try:
        with Image.open(io.BytesIO(body)) as image:
            image.load()
    except Exception as error:  # any failure to decode is the same answer: not this image
        name = DECODED_HERE[media_type]
        raise FetchRefused(f"the {name} image cannot be decoded ({type(error).__name__})") from None


@dataclass(frozen=True, slots=True)
class LeftOut:
    """An image a render did not load: which (its URL's digest), why, and whether for now."""

    digest: str
    reason: str
    transient: bool


def url_digest(url: str) -> str:
    """Names a URL briefly (data: URIs run to megabytes) for the trip back from a worker."""
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


# Never globally routable, whatever this Python's ipaddress tables say (3.11.7's predate the
# 2024 corrections, CVE-2024-4032, and call some of these global): IETF protocol assignments
# (192.0.0.8, RFC 7600's dummy address, among them; the two anycast ones, .9 and .10, are no
# image host either), documentation (3fff::/20, RFC 9637), deprecated site-local (fec0::/10,
# RFC 3879, the old resolver addresses), and the documentation and benchmarking ranges.
_NEVER_PUBLIC = tuple(
    ipaddress.ip_network(network)
    for network in (
        "192.0.0.0/24",
        "192.0.2.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "2001:db8::/32",
        "2001:2::/48",
        "3fff::/20",
        "fec0::/10",
    )
)


def is_public_address(text: str) -> bool:
    """True only for globally routable unicast addresses (IPv4-mapped forms unwrapped)."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = (
            address.ipv4_mapped
            or address.sixtofour
            or (address.teredo[1] if address.teredo else None)
        )
        if embedded is not None or address in ipaddress.ip_network("64:ff9b::/96"):
            return False
    return bool(
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_loopback
        and not address.is_link_local
        and not address.is_private
        and not address.is_unspecified
        and not any(address in network for network in _NEVER_PUBLIC)
    )


def canonical_host(host: str) -> str:
    """A host as DNS and IMAGE_HOSTS name it: lower case, no root dot, and an international
    name in A-labels (xn--): WeasyPrint hands over `bücher.example` percent-encoded, which
    no IMAGE_HOSTS entry could match. '' for a name IDNA refuses."""
    name = host.strip().rstrip(".")
    if "%" in name or not name.isascii():
        try:
            name = unquote(name, errors="strict")
            name = idna.encode(name, uts46=True, transitional=False).decode("ascii")
        except (UnicodeError, idna.IDNAError):
            return ""
    return name.lower()


class SafeURLFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that loads only what Broadsheet allows (see module doc)."""

    def __init__(
        self,
        allowed_hosts: Iterable[str] = (),
        *,
        resolver: Resolver = resolve,
        address_allowed: Callable[[str], bool] = is_public_address,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = TIMEOUT_SECONDS,
        max_bytes: int = MAX_IMAGE_BYTES,
    ):
        super().__init__(
            timeout=timeout, allowed_protocols=("data", "https"), allow_redirects=False
        )
        self.allowed_hosts = frozenset(canonical_host(h) for h in allowed_hosts if h.strip())
        self.resolver = resolver
        self.address_allowed = address_allowed
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.begin_job()

    def begin_job(self) -> None:
        """Forget the last render's images: what was left out, how many pixels were loaded,
        and when its time for fetching began."""
        self.left_out: list[LeftOut] = []
        self._pixels = 0
        self._fetching_ends: float | None = None

    def _until(self) -> float:
        """When this fetch must be over: `timeout` from now, and within the render's whole
        FETCH_BUDGET (counted from its first fetch), so that images can never hold a
        printer until its time limit: a slow image is left out, the article still prints."""
        now = time.monotonic()
        if self._fetching_ends is None:
            self._fetching_ends = now + FETCH_BUDGET
        if now >= self._fetching_ends:
            raise FetchRefused(
                f"the article's images took more than {FETCH_BUDGET:g} s to fetch", transient=True
            )
        return min(now + self.timeout, self._fetching_ends)

    def fetch(self, url, headers=None):
        try:
            body, media_type = self._data(url) if url[:5].lower() == "data:" else self._https(url)
            self._count_pixels(body, media_type)
            return URLFetcherResponse(url, body, {"Content-Type": media_type})
        except FetchRefused as refusal:
            logger.warning("Not loading %s: %s", printable(url, 200), printable(refusal))
            self.left_out.append(LeftOut(url_digest(url), str(refusal), refusal.transient))
            raise
        except Exception as error:
            # Whatever else fails, WeasyPrint would leave the image out and say nothing: it is
            # left out as one that might load next time, so the PDF is not kept without it.
            unforeseen = FetchRefused(f"could not load: {error}", transient=True)
            logger.warning("Not loading %s: %s", printable(url, 200), printable(unforeseen))
            self.left_out.append(LeftOut(url_digest(url), str(unforeseen), transient=True))
            raise unforeseen from None

    def _count_pixels(self, body: bytes, media_type: str) -> None:
        """Refuse an image WeasyPrint must not decode: too many pixels, alone or together."""
        problem = pixels_problem(body, media_type)
        if problem:
            raise FetchRefused(problem)
        width, height = pixel_size(body, media_type) or (0, 0)
        self._pixels += width * height
        if self._pixels > MAX_ARTICLE_PIXELS:
            raise FetchRefused(f"the article's images together pass {MAX_ARTICLE_PIXELS:,} pixels")
        if media_type in DECODED_HERE:
            _decodable(body, media_type)

    # data: URIs, decoded here rather than by urllib ------------------------------------

    def _data(self, url: str) -> tuple[bytes, str]:
        header, comma, payload = url[5:].partition(",")
        media_type, _, params = header.partition(";")
        media_type = media_type.strip().lower()
        if not comma or media_type not in IMAGE_TYPES:
            raise FetchRefused("only PNG, JPEG, GIF and WebP data: URIs are loaded")
        try:
            if params.strip().lower() == "base64":
                body = base64.b64decode(payload, validate=True)
            else:
                body = unquote_to_bytes(payload)
        except (binascii.Error, ValueError):
            raise FetchRefused("malformed data: URI") from None
        if len(body) > self.max_bytes:
            raise FetchRefused("embedded image too large")
        if not is_image_of_type(body, media_type):
            raise FetchRefused(f"the embedded data is not a {media_type} image")
        return body, media_type

    # https, to allow-listed hosts at public addresses only --------------------------------

    def _https(self, url: str) -> tuple[bytes, str]:
        try:
            parts = urlsplit(url)
            port = parts.port or 443
        except ValueError:
            raise FetchRefused("not a valid URL") from None
        if parts.scheme.lower() != "https":
            raise FetchRefused("only https images are loaded")
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            raise FetchRefused("URLs with user information are not loaded")
        host = canonical_host(parts.hostname or "")
        if not host or host not in self.allowed_hosts:
            raise FetchRefused(f"host {host or parts.hostname!r} is not in BROADSHEET_IMAGE_HOSTS")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            raise FetchRefused("images are loaded by host name, not by IP address")
        try:
            addresses = self.resolver(host, port)
        except OSError as error:
            raise FetchRefused(f"host {host!r} does not resolve: {error}", transient=True) from None
        if not addresses or not all(self.address_allowed(a) for a in addresses):
            raise FetchRefused(f"host {host!r} resolves to an address that is not public")
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return self._get(host, addresses[0], port, path)

    def _get(self, host: str, address: str, port: int, path: str) -> tuple[bytes, str]:
        until = self._until()
        connection = _PinnedHTTPSConnection(
            host, address, port, self.ssl_context, _left(until, self.timeout)
        )
        sock: socket.socket | None = None
        response: http.client.HTTPResponse | None = None
        # The deadline holds whatever the server does between reads (a status line, a
        # header or a chunk's size sent a byte at a time each within a read's timeout): at
        # it, the connection is shut, and the read in hand ends at once.
        cutter = threading.Timer(max(0.0, until - time.monotonic()), connection.cut)
        cutter.daemon = True
        cutter.start()
        try:
            connection.request(
                "GET", path, headers={"Host": host, "Accept": "image/*", "User-Agent": "Broadsheet"}
            )
            sock = connection.sock  # the response reads it after the connection lets go
            _sock_timeout(sock, until, self.timeout)
            response = connection.getresponse()
            if response.status != 200:
                raise FetchRefused(
                    f"answered {response.status}; redirects are not followed", transient=True
                )
            media_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
            if media_type not in IMAGE_TYPES:
                raise FetchRefused(f"answered {media_type or 'no type'}, not an image")
            body = _read_until(sock, response, self.max_bytes + 1, until, self.timeout)
            if len(body) > self.max_bytes:
                raise FetchRefused("image too large")
            if not is_image_of_type(body, media_type):
                raise FetchRefused(f"answered {media_type} but the data is not that image")
            if connection.was_cut:
                raise TimeoutError  # what was read ends where the deadline cut it
            return body, media_type
        except (OSError, http.client.HTTPException, ValueError) as error:
            if isinstance(error, TimeoutError) or connection.was_cut:
                raise FetchRefused(
                    f"took longer than {self.timeout:g} s to fetch", transient=True
                ) from None
            if isinstance(error, FetchRefused):
                raise
            # Anything else is the network's or the image server's, a certificate refused
            # included (ssl.SSLCertVerificationError is a ValueError too: re-raised as it was,
            # WeasyPrint swallowed it, and the PDF without the image was kept for good).
            raise FetchRefused(f"could not fetch: {error}", transient=True) from None
        finally:
            cutter.cancel()
            if response is not None:
                response.close()  # a response that closes the connection holds its socket
            connection.close()


def _left(until: float, timeout: float) -> float:
    """Seconds left before `until` (a socket timeout), or the fetch is over."""
    left = until - time.monotonic()
    if left <= 0:
        raise FetchRefused(f"took longer than {timeout:g} s to fetch", transient=True)
    return left


def _sock_timeout(sock: socket.socket | None, until: float, timeout: float) -> None:
    left = _left(until, timeout)
    if sock is not None:
        sock.settimeout(left)


def _read_until(
    sock: socket.socket | None,
    response: http.client.HTTPResponse,
    limit: int,
    until: float,
    timeout: float,
) -> bytes:
    """Up to `limit` bytes of the body, by the deadline: a socket timeout bounds each read,
    not a server that sends a byte a second. The timer's cut alone is not enough here: on
    Linux a read after shutdown still returns the bytes that keep arriving."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        _sock_timeout(sock, until, timeout)
        chunk = response.read1(min(65536, limit - size))  # whatever one receive brings
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address, verifying the certificate for the original host name."""

    def __init__(self, host: str, address: str, port: int, context: ssl.SSLContext, timeout: float):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._context = context
        self._raw: socket.socket | None = None
        self.was_cut = False

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # A second handle on the connection, for cut(): wrapping in TLS detaches `sock`.
        self._raw = socket.socket(fileno=os.dup(sock.fileno()))
        if self.was_cut:
            self.cut()
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)

    def cut(self) -> None:
        """End every read in progress or to come, the TLS handshake's included: the fetch's
        deadline, from another thread. Shutting the connection wakes a blocked read."""
        self.was_cut = True
        raw = self._raw
        if raw is not None:
            try:
                raw.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # closed already

    def close(self) -> None:
        super().close()
        raw, self._raw = self._raw, None
        if raw is not None:
            raw.close()
