"""PDF render times for each example article, against headless Chromium printing the same page.

Prints, per article (median of N runs): the first render in a fresh process; a warm render
with the cache off, in-process and through the isolated worker pool the service uses; a
cached request through the whole HTTP route; and the same article's HTML page printed to
PDF by a warm headless Chromium (Playwright driving Debian's chromium), with the ratio.
Goals from the issue: warm uncached <= 1.0x Chromium, cached <= 5 ms.

Run: `.venv/bin/python bench/pdf.py [runs]` (Chromium must be installed: make system-deps).
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
    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": "sqlite://", "PDF_WORKERS": 1})
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


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
