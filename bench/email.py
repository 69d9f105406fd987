"""Time to render and inline each example article as e-mail, with css-inline as reference.

Prints, per article (median of N runs): rendering the template, the whole render with
premailer inlining (what the service does), premailer's inlining alone, and the same
inlining by css-inline (Rust; a reference point only, not a dependency of the service),
with the premailer/css-inline ratio.

Run: `.venv/bin/python bench/email.py [runs]` (css-inline comes with `pip install -e .[bench]`).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named email.py, as the issue asks; its folder must not shadow the standard
# library's email package, so it leaves sys.path before anything imports email.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]
ROOT = BENCH.parent


import css_inline  # noqa: E402

from bench.timing import median_ms  # noqa: E402
from service.email_renderer import Inliner, email_context, render_email  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.templating import build_environment  # noqa: E402
from service.validation import article_from_bytes  # noqa: E402

EXAMPLES = ROOT / "examples"


def main(runs: int = 200) -> None:
    env, settings, inliner = build_environment(), Settings(), Inliner()
    css_inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
    print(
        f"{'article':<30} {'template':>9} {'render+inline':>14} {'premailer':>10} "
        f"{'css-inline':>11}  premailer/css-inline  size"
    )
    for path in sorted(EXAMPLES.glob("*.json")):
        article = article_from_bytes(path.read_bytes())
        template = env.get_template("email/article.html")
        raw_html = template.render(email_context(article, settings))
        size = len(render_email(article, env, settings, inliner).html.encode())
        rendered = median_ms(
            lambda a=article, t=template: t.render(email_context(a, settings)), runs
        )
        whole = median_ms(lambda a=article: render_email(a, env, settings, inliner), runs)
        premailer = median_ms(lambda h=raw_html: inliner.inline(h), runs)
        rust = median_ms(lambda h=raw_html: css_inliner.inline(h), runs)
        print(
            f"{path.stem:<30} {rendered:>7.2f}ms {whole:>12.2f}ms {premailer:>8.2f}ms "
            f"{rust:>9.3f}ms  {premailer / rust:>20.0f}x  {size / 1024:.1f} KB"
        )
    from importlib.metadata import version

    print(
        f"(medians of {runs} runs; Python {sys.version.split()[0]}, "
        f"premailer {version('premailer')}, css-inline {version('css-inline')})"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
