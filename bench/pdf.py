"""PDF render times for each example article, against headless Chromium printing the same page.

Prints, per article (median of N runs): the first render in a fresh process; a warm render
with the cache off, in-process and through the isolated worker pool the service uses; a
cached request through the whole HTTP route; and the same article's HTML page printed to
PDF by a warm headless Chromium (Playwright driving Debian's chromium), with the ratio.
Goals from the issue: warm uncached <= 1.0x Chromium, cached <= 5 ms.

Then the memory of one printer process over 200 renders of distinct articles, each with its
own embedded 1 MB image (random pixels in a PNG data: URI), recycling off, so the figures show
what a render leaves behind; goal: flat.

Run: `.venv/bin/python bench/pdf.py [runs]` (Chromium must be installed: make system-deps),
or `.venv/bin/python bench/pdf.py memory [renders]` for the memory figures alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# bench/email.py must not shadow the standard library's email package: leave this folder.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]
ROOT = BENCH.parent

from bench.timing import median_ms  # noqa: E402
from tests.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

EXAMPLES = ROOT / "examples"

FIRST_RENDER = """
import sys, time
start = time.perf_counter()
sys.path.insert(0, {root!r})
from service.pdf_renderer import render_pdf
from service.printing import Printer
from service.settings import Settings
from service.templating import build_environment
from service.validation import article_from_bytes
imported = time.perf_counter()
article = article_from_bytes(open({path!r}, "rb").read())
render_pdf(article, build_environment(), Settings(), Printer(max_pages=Settings().pdf_max_pages))
done = time.perf_counter()
print((imported - start) * 1000, (done - imported) * 1000)
"""


def first_render(path: Path) -> tuple[float, float]:
    code = FIRST_RENDER.format(root=str(ROOT), path=str(path))
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(output[0]), float(output[1])


def main(runs: int = 30) -> None:
    from playwright.sync_api import sync_playwright

    from service import create_app
    from service.html_renderer import render_html
    from service.pdf_renderer import PrintJob
    from service.printing import Printer
    from service.runtime import current_runtime
    from service.settings import Settings
    from service.templating import build_environment
    from service.validation import article_from_bytes

    env, settings = build_environment(), Settings()
    printer = Printer(max_pages=settings.pdf_max_pages)
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "DATABASE_URL": "sqlite://",
            "PDF_WORKERS": 1,
            "RATELIMIT_ENABLED": False,
        }
    )
    client = app.test_client()
    with app.app_context():
        pool = current_runtime().printer
    pool.warm_up()

    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        for path in sorted(EXAMPLES.glob("*.json")):
            raw = path.read_bytes()
            article = article_from_bytes(raw)
            html_page = render_html(article, env, settings)
            imported, first = first_render(path)

            def uncached(raw=raw):
                job = PrintJob(article_from_bytes(raw), env, settings, "a4")
                return job.print_with(printer)

            def pooled(raw=raw):
                job = PrintJob(article_from_bytes(raw), env, settings, "a4")
                return job.print_with(pool)

            body = json.loads(raw)

            def cached(body=body):
                response = client.post("/v1/render/pdf", json=body)
                assert response.status_code == 200

            def chromium(html=html_page):
                page.set_content(html, wait_until="load")
                return page.pdf(format="A4", tagged=True)

            rows.append(
                (
                    path.stem,
                    imported,
                    first,
                    median_ms(uncached, runs),
                    median_ms(pooled, runs),
                    median_ms(cached, runs * 5),
                    median_ms(chromium, runs),
                )
            )
        browser.close()
    pool.close()

    print(
        f"{'article':<30} {'import':>8} {'first':>8} {'warm':>8} {'pool':>8} "
        f"{'cached':>8} {'chromium':>9}  warm/chromium  pool/chromium"
    )
    for name, imported, first, warm, pooled_ms, cached_ms, chrome in rows:
        print(
            f"{name:<30} {imported:>6.0f}ms {first:>6.0f}ms {warm:>6.1f}ms {pooled_ms:>6.1f}ms "
            f"{cached_ms:>6.2f}ms {chrome:>7.1f}ms  {warm / chrome:>12.2f}x  "
            f"{pooled_ms / chrome:>12.2f}x"
        )
    print(
        f"(medians of {runs} runs, cached of {runs * 5}; 'first' excludes the imports, shown "
        f"apart; Python {sys.version.split()[0]})"
    )


def noise_png(side: int, seed: int) -> str:
    """A PNG data: URI of random pixels: about 3 bytes a pixel, like a photo's detail."""
    import base64
    import io
    import random

    from PIL import Image

    pixels = random.Random(seed).randbytes(side * side * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def worker_memory(renders: int = 200, every: int = 25) -> None:
    """Resident memory of one printer process as it prints distinct articles with images."""
    import psutil

    from service import create_app
    from service.runtime import current_runtime

    app = create_app(
        {
            "SECRET_KEY": "bench",
            "DATABASE_URL": "sqlite://",
            "PDF_WORKERS": 1,
            "RATELIMIT_ENABLED": False,
            "PDF_CACHE_SIZE": 0,
            "PDF_WORKER_MAX_JOBS": 1_000_000,  # recycling off: measure what a render leaves
            "PDF_WORKER_MAX_RSS_MB": 1_000_000,
        }
    )
    client = app.test_client()
    with app.app_context():
        pool = current_runtime().printer
    pool.warm_up()
    (pid,) = pool.pids()
    worker = psutil.Process(pid)
    print(f"\nprinter process memory over {renders} renders, each with a distinct 1 MB image")
    print(f"{'renders':>8} {'RSS':>8}")
    print(f"{0:>8} {worker.memory_info().rss / 2**20:>6.0f}MB")
    image_bytes = 0
    figures = []
    for n in range(1, renders + 1):
        src = noise_png(600, n)
        image_bytes += len(src) * 3 // 4
        article = {
            "id": f"memory-{n}",
            "headline": f"Render number {n}",
            "published_at": "2026-03-12T08:00:00Z",
            "body": [{"type": "image", "src": src, "alt": f"Random pixels, number {n}"}],
        }
        response = client.post("/v1/render/pdf", json=article)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        if n % every == 0:
            figures.append(worker.memory_info().rss)
            print(f"{n:>8} {figures[-1] / 2**20:>6.0f}MB")
    assert pool.pids() == [pid], "the printer process was replaced during the measurement"
    growth = (figures[-1] - figures[0]) / 2**20
    print(
        f"(images {image_bytes / renders / 2**20:.2f} MB each on average; from render {every} "
        f"to render {renders} the process grew {growth:+.0f} MB)"
    )
    pool.close()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "memory":
        worker_memory(int(sys.argv[2]) if len(sys.argv) > 2 else 200)
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
        worker_memory()
