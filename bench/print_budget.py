"""How long the densest article the print budget lets through takes to print, per kind.

The print budget (service/print_budget.py) weighs each part of an article in characters of
running text that take as long to lay out, and refuses an article over LIMIT (150,000)
before layout. This prints, for each kind of costly box, the heaviest article of that kind
the budget still lets through (tests/hostile.py's DENSEST): its weight, its print time
through the service's isolated printer (median of N runs, the PDF cache off), its PDF's
size, and the time against the reference, plain running text at the limit. An honest
budget keeps every ratio near 1 and every time well inside PDF_TIME_LIMIT (20 s).

Run: `.venv/bin/python bench/print_budget.py [runs]`.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

from bench.timing import median_ms  # noqa: E402


def main(runs: int = 3) -> None:
    from service.pdf_renderer import PrintJob
    from service.print_budget import LIMIT, layout_cost
    from service.print_pool import IsolatedPrinter
    from service.reading import read
    from service.settings import Settings
    from service.templating import build_environment
    from service.validation import validate_article
    from tests.hostile import DENSEST, densest

    env, settings = build_environment(), Settings()
    printer = IsolatedPrinter(workers=1, max_pages=settings.pdf_max_pages, time_limit=60)
    try:
        rows = []
        for kind in DENSEST:
            article = validate_article(densest(kind))
            weight = layout_cost(read(article))

            def once(article=article):
                return PrintJob(article, env, settings, "a4").print_with(printer)

            size = len(once().data)
            rows.append((kind, weight, median_ms(once, runs, warmup=1), size))
    finally:
        printer.close()
    reference = rows[0][2]
    print(f"Densest article per kind, median of {runs} prints (budget {LIMIT:,}):\n")
    print("| kind | weight | print | PDF | print / plain text |")
    print("|---|---|---|---|---|")
    for kind, weight, ms, size in rows:
        print(f"| {kind} | {weight:,} | {ms / 1000:.2f} s | {size / 1024:,.0f} KiB "
              f"| {ms / reference:.2f}× |")  # fmt: skip  # noqa: RUF001


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
