"""Server-side request forgery: no spelling of a loopback address gets a PDF render to connect."""

from __future__ import annotations

import base64
import http.server
import io
import socket
import ssl
import threading
import time

import pikepdf
import pytest
import trustme

from service import create_app
from service.printing import Printer
from service.url_fetcher import FetchRefused, SafeURLFetcher, is_public_address

from .corpus import PNG, minimal
from .hostile import png, png_header

PNG_BYTES = base64.b64decode(PNG.split(",", 1)[1])


class Listener:
    """A loopback TCP listener that counts every connection made to it."""

    def __init__(self, family: int, host: str, port: int = 0):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def _listen(family, host, port=0):
    try:
        return Listener(family, host, port)
    except OSError:
        return None


@pytest.fixture(scope="module")
def listeners():
    v4 = Listener(socket.AF_INET, "127.0.0.1")
    v6 = Listener(socket.AF_INET6, "::1")
    # The default https port too, where a URL without a port would land (free here: root).
    extra = [
        x
        for x in (_listen(socket.AF_INET, "127.0.0.1", 443), _listen(socket.AF_INET6, "::1", 443))
        if x
    ]
    yield v4, v6, extra
    for listener in (v4, v6, *extra):
        listener.close()


def spellings(p4: int, p6: int) -> list[str]:
    return [
        f"https://127.0.0.1:{p4}/a.png",
        f"https://2130706433:{p4}/a.png",
        f"https://0x7f000001:{p4}/a.png",
        f"https://0x7f.0.0.1:{p4}/a.png",
        f"https://0177.0.0.1:{p4}/a.png",
        f"https://017700000001:{p4}/a.png",
        f"https://127.1:{p4}/a.png",
        f"https://127.0.1:{p4}/a.png",
        f"https://127.000.000.001:{p4}/a.png",
        f"https://127.0.0.1.:{p4}/a.png",
        f"https://0.0.0.0:{p4}/a.png",
        f"https://0:{p4}/a.png",
        f"https://localhost:{p4}/a.png",
        f"https://LocalHost.:{p4}/a.png",
        f"https://localhost.localdomain:{p4}/a.png",
        f"https://ip6-localhost:{p6}/a.png",
        f"https://[::1]:{p6}/a.png",
        f"https://[0:0:0:0:0:0:0:1]:{p6}/a.png",
        f"https://[::]:{p6}/a.png",
        f"https://[::1%25lo]:{p6}/a.png",
        f"https://[::ffff:127.0.0.1]:{p4}/a.png",
        f"https://[::ffff:7f00:1]:{p4}/a.png",
        f"https://[0:0:0:0:0:ffff:127.0.0.1]:{p4}/a.png",
        f"https://[::127.0.0.1]:{p4}/a.png",
        f"https://[64:ff9b::7f00:1]:{p4}/a.png",
        f"https://[2002:7f00:1::]:{p4}/a.png",
        f"https://user@127.0.0.1:{p4}/a.png",
        f"https://user:pass@localhost:{p4}/a.png",
        f"https://example.org@127.0.0.1:{p4}/a.png",
        f"https://127.0.0.1:{p4}#@example.org/",
        f"https://127.0.0.1:{p4}\\@example.org/a.png",
        f"https://①②⑦.0.0.1:{p4}/a.png",
        f"https://127。0。0。1:{p4}/a.png",
        f"https://%31%32%37.0.0.1:{p4}/a.png",
        f"http://127.0.0.1:{p4}/a.png",
        f"ftp://127.0.0.1:{p4}/a.png",
        "file:///etc/passwd",
        f"//127.0.0.1:{p4}/a.png",
        f"https:/127.0.0.1:{p4}/a.png",
        f"https:\\\\127.0.0.1:{p4}\\a.png",
        f" https://127.0.0.1:{p4}/a.png",
        "https://127.0.0.1/a.png",
        "https://localhost/a.png",
        "https://[::1]/a.png",
        "data:text/html;base64,PGltZz4=",
        "gopher://127.0.0.1:70/",
    ]


# Host names the settings accept that all lead to loopback; IP literals the settings refuse
# at start (tests/test_settings.py), so the fetcher's own refusal of them is tested directly.
ALLOW_LOOPBACK_NAMES = "localhost,0x7f000001,localhost.localdomain,ip6-localhost,example.org"
ALLOW_LOOPBACK_ADDRESSES = ("127.0.0.1", "2130706433", "127.1", "0.0.0.0", "0", "::1", "[::1]")


@pytest.mark.parametrize("image_hosts", ["", ALLOW_LOOPBACK_NAMES])
def test_no_spelling_of_loopback_is_ever_fetched(listeners, image_hosts):
    v4, v6, extra = listeners
    client = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": "sqlite://",
            "PDF_WORKERS": 1,
            "IMAGE_HOSTS": image_hosts,
        }
    ).test_client()
    statuses = {}
    for index, src in enumerate(spellings(v4.port, v6.port)):
        article = minimal(
            id=f"ssrf-{index}",
            body=[
                {"type": "image", "src": src, "alt": "probe"},
                {
                    "type": "paragraph",
                    "text": f'<a href="https://127.0.0.1:{v4.port}/link">a link is not fetched</a>',
                },
            ],
            canonical_url=f"https://127.0.0.1:{v4.port}/canonical",
        )
        response = client.post("/v1/render/pdf", json=article)
        statuses[src] = response.status_code
    assert {s for s in statuses.values()} <= {200, 422}, statuses
    assert 200 in statuses.values()  # some spellings pass validation and reach the printer
    assert [v4.connections, v6.connections, *(x.connections for x in extra)] == [0] * (
        2 + len(extra)
    )


def test_image_hosts_given_as_addresses_are_still_never_fetched(listeners):
    v4, v6, extra = listeners
    fetcher = SafeURLFetcher([*ALLOW_LOOPBACK_ADDRESSES, *ALLOW_LOOPBACK_NAMES.split(",")])
    for src in spellings(v4.port, v6.port):
        with pytest.raises(FetchRefused):
            fetcher.fetch(src)
    assert [v4.connections, v6.connections, *(x.connections for x in extra)] == [0] * (
        2 + len(extra)
    )


def test_listeners_do_count_connections(listeners):
    v4, v6, _ = listeners
    before = v4.connections, v6.connections
    socket.create_connection(("127.0.0.1", v4.port)).close()
    socket.create_connection(("::1", v6.port)).close()
    for _ in range(50):
        if (v4.connections, v6.connections) == (before[0] + 1, before[1] + 1):
            break
        threading.Event().wait(0.02)
    assert (v4.connections, v6.connections) == (before[0] + 1, before[1] + 1)
    v4.connections, v6.connections = before


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:93.184.216.34", False),
        ("64:ff9b::7f00:1", False),
        ("2002:7f00:1::", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),
        ("fe80::1%lo", False),
        ("not-an-ip", False),
        # Not routable, though Python 3.11's tables call them global:
        ("192.0.0.8", False),
        ("192.0.0.9", False),
        ("3fff::1", False),
        ("fec0::1", False),
        ("fec0:0:0:ffff::1", False),
        ("203.0.113.9", False),
        ("198.51.100.7", False),
    ],
)
def test_public_address_rules(address, public):
    assert is_public_address(address) is public


def test_a_host_resolving_to_any_private_address_is_refused():
    fetcher = SafeURLFetcher(["images.test"], resolver=lambda h, p: ["93.184.216.34", "10.0.0.1"])
    with pytest.raises(FetchRefused, match="not public"):
        fetcher.fetch("https://images.test/a.png")


def test_hosts_not_listed_are_refused_before_any_lookup():
    looked_up = []
    fetcher = SafeURLFetcher(["images.test"], resolver=lambda h, p: looked_up.append(h) or [])
    with pytest.raises(FetchRefused, match="not in BROADSHEET_IMAGE_HOSTS"):
        fetcher.fetch("https://other.test/a.png")
    assert looked_up == []


@pytest.mark.parametrize(
    "url",
    [
        "https://b%C3%BCcher.example/photo.jpg",  # as WeasyPrint hands an international host
        "https://bücher.example/photo.jpg",
        "https://BÜCHER.example./photo.jpg",
        "https://xn--bcher-kva.example/photo.jpg",
    ],
)
def test_an_international_host_is_matched_in_its_a_label_form(url):
    """IMAGE_HOSTS takes xn-- names; the image of bücher.example, which the contract and the
    HTML accept, was refused as host 'b%c3%bccher.example': it could never print."""
    looked_up = []
    fetcher = SafeURLFetcher(
        ["xn--bcher-kva.example"], resolver=lambda h, p: looked_up.append(h) or ["10.0.0.1"]
    )
    with pytest.raises(FetchRefused, match="not public"):  # past the list, to the lookup
        fetcher.fetch(url)
    assert looked_up == ["xn--bcher-kva.example"]


def test_a_host_idna_refuses_is_named_as_written():
    fetcher = SafeURLFetcher(["images.test"], resolver=lambda h, p: [])
    with pytest.raises(FetchRefused, match=r"'b%ff\.example' is not in BROADSHEET_IMAGE_HOSTS"):
        fetcher.fetch("https://b%ff.example/a.png")


# A real TLS image host, on a loopback address the test (and only the test) allows -------


class _ImageHost(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self):
        if self.path == "/ok.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG_BYTES)))
            self.end_headers()
            self.wfile.write(PNG_BYTES)
        elif self.path == "/huge.png":
            data = base64.b64decode(png_header(13_000, 13_000).split(",", 1)[1])
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif self.path == "/big.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(PNG_BYTES + b"\0" * 5000)
        elif self.path == "/drip.png":  # a byte at a time, each well within a read timeout
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG_BYTES)))
            self.end_headers()
            for byte in PNG_BYTES[:40]:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.1)
        elif self.path == "/drip-headers.png":  # the status line and headers, a byte at a time
            head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nX-Slow: " + b"a" * 40
            for byte in head:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.1)
        elif self.path == "/drip-chunked.png":  # a chunk's size line, a byte at a time
            self.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            for byte in b"0" * 40:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.1)
        elif self.path == "/page.html":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html></html>")
        else:
            self.send_response(302)
            self.send_header("Location", self.target)
            self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def image_host(listeners):
    v4, _, _ = listeners
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("images.test").configure_cert(server_context)
    _ImageHost.target = f"https://127.0.0.1:{v4.port}/stolen.png"
    server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), _ImageHost)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    def fetcher(**kwargs):
        return SafeURLFetcher(
            ["images.test"],
            resolver=lambda host, port: ["127.0.0.2"],
            address_allowed=lambda address: address == "127.0.0.2",
            ssl_context=client_context,
            **kwargs,
        )

    yield server.server_address[1], fetcher
    server.shutdown()
    server.server_close()


def test_allowed_host_is_fetched_over_verified_tls(image_host):
    port, fetcher = image_host
    response = fetcher().fetch(f"https://images.test:{port}/ok.png")
    assert response.read() == PNG_BYTES
    assert response.content_type == "image/png"


def test_a_certificate_that_fails_verification_leaves_the_image_out_for_now(image_host):
    """ssl.SSLCertVerificationError is a ValueError too: it went out as it was, WeasyPrint
    swallowed it, and the PDF without the image was kept as complete, for good."""
    port, _ = image_host
    fetcher = SafeURLFetcher(  # this host's CA is not trusted: as a lapsed certificate
        ["images.test"],
        resolver=lambda host, port: ["127.0.0.2"],
        address_allowed=lambda address: address == "127.0.0.2",
    )
    with pytest.raises(FetchRefused, match=r"could not fetch: .*CERTIFICATE_VERIFY_FAILED"):
        fetcher.fetch(f"https://images.test:{port}/ok.png")
    assert [(left.reason[:18], left.transient) for left in fetcher.left_out] == [
        ("could not fetch: [", True)
    ]


def test_any_other_failure_is_recorded_as_left_out_for_now(monkeypatch):
    """Whatever the fetch raises, the image is named as left out and the PDF not kept."""
    fetcher = SafeURLFetcher(["images.test"], resolver=lambda h, p: ["93.184.216.34"])

    def broken(url):
        raise KeyError("something unforeseen")

    monkeypatch.setattr(fetcher, "_https", broken)
    with pytest.raises(FetchRefused, match="could not load: 'something unforeseen'"):
        fetcher.fetch("https://images.test/a.png")
    assert [left.transient for left in fetcher.left_out] == [True]


def test_redirects_from_an_allowed_host_are_not_followed(image_host, listeners):
    port, fetcher = image_host
    v4, _, _ = listeners
    before = v4.connections
    with pytest.raises(FetchRefused, match="302"):
        fetcher().fetch(f"https://images.test:{port}/redirect.png")
    assert v4.connections == before


def test_size_cap_and_content_type(image_host):
    port, fetcher = image_host
    with pytest.raises(FetchRefused, match="too large"):
        fetcher(max_bytes=len(PNG_BYTES) + 10).fetch(f"https://images.test:{port}/big.png")
    with pytest.raises(FetchRefused, match="not an image"):
        fetcher().fetch(f"https://images.test:{port}/page.html")


def test_a_host_that_drips_its_image_is_given_up_at_the_deadline(image_host):
    """Each byte came within the read timeout, so a fetch ran on for as long as the host
    liked and the printer was killed at its time limit: the article was refused."""
    port, fetcher = image_host
    started = time.monotonic()
    with pytest.raises(FetchRefused, match="longer than 1 s") as refused:
        fetcher(timeout=1.0).fetch(f"https://images.test:{port}/drip.png")
    assert time.monotonic() - started < 2
    assert refused.value.transient  # only for now: not cached


@pytest.mark.parametrize("path", ["/drip-headers.png", "/drip-chunked.png"])
def test_the_deadline_holds_for_headers_and_chunk_sizes_too(image_host, path):
    """Each read got a fresh timeout: a status line, a header or a chunk's size sent a byte
    at a time held a fetch for as long as the host liked (the printer's 20 s)."""
    port, fetcher = image_host
    started = time.monotonic()
    with pytest.raises(FetchRefused, match="longer than 1 s") as refused:
        fetcher(timeout=1.0).fetch(f"https://images.test:{port}{path}")
    assert time.monotonic() - started < 2
    assert refused.value.transient


def test_one_render_s_images_share_a_fetching_budget(image_host, monkeypatch):
    from service import url_fetcher

    port, fetcher = image_host
    monkeypatch.setattr(url_fetcher, "FETCH_BUDGET", 0.5)
    job = fetcher(timeout=5.0)
    with pytest.raises(FetchRefused, match="longer than"):
        job.fetch(f"https://images.test:{port}/drip.png")
    with pytest.raises(FetchRefused, match=r"images took more than 0\.5 s"):
        job.fetch(f"https://images.test:{port}/ok.png")  # nothing left for another
    job.begin_job()  # the next render has its own
    assert job.fetch(f"https://images.test:{port}/ok.png").read() == PNG_BYTES


def test_printer_embeds_an_allowed_remote_image(image_host):
    port, fetcher = image_host
    from service.pdf_renderer import render_pdf
    from service.settings import Settings
    from service.templating import build_environment
    from service.validation import validate_article

    article = validate_article(
        minimal(
            body=[{"type": "image", "src": f"https://images.test:{port}/ok.png", "alt": "remote"}]
        )
    )
    data = render_pdf(
        article,
        build_environment(),
        Settings(),
        Printer(fetcher=fetcher(), max_pages=Settings().pdf_max_pages),
    )
    with pikepdf.open(io.BytesIO(data)) as pdf:
        images = [name for page in pdf.pages for name in page.get_images()]
    assert len(images) == 1


def test_an_image_with_too_many_pixels_is_not_fetched_for_decoding(image_host):
    """A small file can decode to gigabytes: its header is read, its pixels never decoded."""
    port, fetcher = image_host
    with pytest.raises(FetchRefused, match="169,000,000 pixels"):
        fetcher().fetch(f"https://images.test:{port}/huge.png")


def test_the_images_of_one_render_share_a_pixel_budget():
    fetcher = SafeURLFetcher()
    first, second, third = (png(4_000 + n, 4_000) for n in range(3))
    fetcher.fetch(first)
    fetcher.fetch(second)
    with pytest.raises(FetchRefused, match="together pass 40,000,000 pixels"):
        fetcher.fetch(third)
    assert [item.reason for item in fetcher.left_out] == [
        "the article's images together pass 40,000,000 pixels"
    ]
    fetcher.begin_job()
    assert fetcher.fetch(third).content_type == "image/png"
    assert fetcher.left_out == []


def test_a_left_out_remote_image_is_named_by_pointer(image_host):
    port, fetcher = image_host
    from service.pdf_renderer import PrintJob
    from service.settings import Settings
    from service.templating import build_environment
    from service.validation import validate_article

    body = [
        {"type": "image", "src": f"https://images.test:{port}/ok.png", "alt": "fetched"},
        {"type": "image", "src": f"https://images.test:{port}/huge.png", "alt": "too big"},
    ]
    job = PrintJob(
        validate_article(minimal(body=body)), build_environment(), Settings(env="test"), "a4"
    )
    printed = job.print_with(Printer(fetcher=fetcher(), max_pages=10))
    with pikepdf.open(io.BytesIO(printed.data)) as pdf:
        assert len([name for page in pdf.pages for name in page.get_images()]) == 1
    assert job.warnings(printed) == [
        "/body/1/src: image left out, its alt text stands in (it has 169,000,000 pixels "
        "(13,000 by 13,000); the limit is 25,000,000)"
    ]


def test_a_png_whose_pixels_cannot_be_decoded_is_left_out_not_a_failed_print():
    """WeasyPrint decodes a PNG only while writing the PDF, where a broken one failed the
    whole print, every time; the fetcher now decodes it first and leaves it out."""
    fetcher = SafeURLFetcher()
    header_only = png_header(10, 10)  # a readable header, and no image data at all
    with pytest.raises(FetchRefused, match="cannot be decoded"):
        fetcher.fetch(header_only)
    from service.pdf_renderer import PrintJob
    from service.settings import Settings
    from service.templating import build_environment
    from service.validation import validate_article

    body = [{"type": "image", "src": header_only, "alt": "a broken image"}]
    job = PrintJob(
        validate_article(minimal(body=body)), build_environment(), Settings(env="test"), "a4"
    )
    printed = job.print_with(Printer(fetcher=SafeURLFetcher(), max_pages=10))
    assert printed.data.startswith(b"%PDF-")
    assert job.warnings(printed) == [
        "/body/0/src: image left out, its alt text stands in "
        "(the PNG image cannot be decoded (OSError))"
    ]


@pytest.mark.parametrize("fmt", ["WEBP"])
def test_an_undecodable_webp_is_named_not_dropped_silently(fmt):
    """WeasyPrint dropped a broken WebP without a word: the PDF lacked the image and no
    warning said so."""
    from PIL import Image

    from service.pdf_renderer import PrintJob
    from service.settings import Settings
    from service.templating import build_environment
    from service.validation import validate_article

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, fmt)
    whole = buffer.getvalue()
    broken = whole[: len(whole) // 2]
    media_type = f"image/{fmt.lower()}"
    src = f"data:{media_type};base64,{base64.b64encode(broken).decode()}"
    body = [{"type": "image", "src": src, "alt": "a broken image"}]
    job = PrintJob(
        validate_article(minimal(body=body)), build_environment(), Settings(env="test"), "a4"
    )
    printed = job.print_with(Printer(fetcher=SafeURLFetcher(), max_pages=10))
    assert printed.data.startswith(b"%PDF-")
    (warning,) = job.warnings(printed)
    assert warning.startswith("/body/0/src: image left out, its alt text stands in")
    assert f"the {'WebP' if fmt == 'WEBP' else 'GIF'} image cannot be decoded" in warning
