"""Time to validate and render each example article in-process (median of many runs).

Reference: the issue's goal of well under 1 ms per quick read on this machine. The ratio
column is the median against that 1 ms budget.
Run: `make bench` or `.venv/bin/python bench/render.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/email.py must not shadow the standard library's email package: leave this folder.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]
ROOT = BENCH.parent

from bench.timing import median_ms  # noqa: E402
from service.html_renderer import render_html  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.templating import build_environment  # noqa: E402
from service.text_renderer import render_text  # noqa: E402
from service.validation import article_from_bytes  # noqa: E402

EXAMPLES = ROOT / "examples"
BUDGET_MS = 1.0


def main(runs: int = 2000) -> None:
    env, settings = build_environment(), Settings()
    print(f"{'article':<34} {'validate':>9} {'+html':>9} {'+text':>9}  ratio vs {BUDGET_MS} ms")
    for path in sorted(EXAMPLES.glob("*.json")):
        raw = path.read_bytes()
        article = article_from_bytes(raw)
        validate = median_ms(lambda raw=raw: article_from_bytes(raw), runs)
        html = median_ms(lambda raw=raw: render_html(article_from_bytes(raw), env, settings), runs)
        text = median_ms(lambda raw=raw: render_text(article_from_bytes(raw), settings), runs)
        del article
        print(
            f"{path.stem:<34} {validate:>7.3f}ms {html:>7.3f}ms {text:>7.3f}ms  "
            f"{html / BUDGET_MS:.2f}x"
        )
    print(
        f"(median of {runs} runs each; '+html' and '+text' include validation; "
        f"Python {sys.version.split()[0]})"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
