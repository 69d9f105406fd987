"""Print editions of 10, 50 and 200 generated quick reads, against the same articles printed
one by one.

Each size runs in a fresh Python process with its own printer pool (the service's
IsolatedPrinter, 2 workers by default), so one size's memory does not colour the next.
For each size it prints: the edition's seconds and pages, the peak resident memory of the
whole process tree while the edition is made (this process and its printer workers,
sampled every 20 ms), then the sum of the same articles printed one by one as single PDFs
through the same pool, that sum divided by the number of workers, and the ratio; then the
CPU seconds of the whole tree for the edition and for the singles, which a busy machine
moves far less than the wall clock.
Goals from the issue: at 50 articles, the edition takes at most 1.2x the sum of singles
divided by the workers; 200 takes about 4x as long as 50; peak memory at 200 is at most
1.5x the peak at 50.

Run: `.venv/bin/python bench/edition.py [sizes...]` (default 10 50 200; a few minutes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

# bench/email.py must not shadow the standard library's email package: leave this folder.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

WORDS = (
    "council budget transport river housing school market library harbour election museum "
    "weather bridge festival hospital station tram ferry garden theatre stadium bakery "
    "volunteers residents mayor neighbourhood plan survey report vote meeting spring autumn"
).split()
PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAICAIAAAB/FOjAAAAAHklEQVR4nGM4"
    "IadBEmIgWYOIxgKSEB00/CIR0F4DACIv16GVB6khAAAAAElFTkSuQmCC"
)


def sentence(seed: int, length: int) -> str:
    words = [WORDS[(seed * 7 + k * 13 + k * k) % len(WORDS)] for k in range(length)]
    return " ".join(words).capitalize() + "."


def quick_read(n: int) -> dict:
    """A generated quick read of one to two pages: paragraphs, a heading, notes, a list."""
    paragraphs = 4 + n % 5
    body: list[dict] = [
        {"type": "paragraph", "text": sentence(n * 31 + p, 45 + (n + p) % 30)}
        for p in range(paragraphs)
    ]
    body[0]["text"] += " [^i]"
    body.insert(2, {"type": "heading", "level": 2, "text": f"What happens next in part {n}"})
    body.append({"type": "list", "style": "bulleted", "items": [sentence(n, 6), sentence(n, 8)]})
    if n % 5 == 0:
        body.insert(1, {"type": "image", "src": PNG, "alt": f"Test pattern {n}", "width": 800})
    body.append({"type": "paragraph", "text": sentence(n * 3, 30) + " [^source]"})
    return {
        "id": f"quick-read-{n}",
        "kind": "quick-read",
        "headline": f"Quick read {n}: {sentence(n, 6)[:-1]}",
        "standfirst": sentence(n * 5, 18),
        "published_at": f"2026-03-12T{6 + n % 12:02d}:{n % 60:02d}:00+01:00",
        "authors": [{"name": "Bench Reporter"}],
        "section": ("City", "Sport", "Culture")[n % 3],
        "body": body,
        "notes": [
            {"id": "i", "text": f"Source {n}, first note."},
            {"id": "source", "text": f"Council records, item {n}."},
        ],
    }


def measure(size: int) -> dict:
    """In a fresh process: the edition of `size` quick reads, then the singles."""
    import psutil

    from service.edition_printer import print_edition
    from service.editions import EditionLimits, plan_edition
    from service.pdf_renderer import PrintJob
    from service.print_pool import IsolatedPrinter
    from service.settings import Settings
    from service.templating import build_environment
    from service.validation import validate_article

    env, settings = build_environment(), Settings()
    pool = IsolatedPrinter(time_limit=120, max_pages=60, workers=2)
    pool.warm_up()
    articles = [validate_article(quick_read(n)) for n in range(size)]
    edition = plan_edition(
        articles, publication="Bench Gazette", limits=EditionLimits(max_articles=1000)
    )
    # Print one edition first so every worker has its fonts and stylesheets loaded.
    print_edition(
        plan_edition(articles[:2], publication="Warm", limits=EditionLimits()), env, settings, pool
    )

    me = psutil.Process()
    peak = 0
    sampling = True

    def cpu() -> float:
        """CPU seconds used so far by this process and its printer workers."""
        total = 0.0
        for process in [me, *me.children(recursive=True)]:
            times = process.cpu_times()
            total += times.user + times.system
        return total

    # The printer workers are up (warmed); listing children scans all of /proc, so once.
    tree = [me, *me.children(recursive=True)]

    def sample() -> None:
        nonlocal peak
        while sampling:
            total = 0
            for process in tree:
                try:
                    total += process.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            peak = max(peak, total)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started, cpu_started = time.perf_counter(), cpu()
    data = print_edition(edition, env, settings, pool)
    seconds, cpu_seconds = time.perf_counter() - started, cpu() - cpu_started
    sampling = False
    sampler.join()

    import pikepdf

    with pikepdf.open(__import__("io").BytesIO(data)) as pdf:
        pages = len(pdf.pages)
    singles = 0.0
    cpu_started = cpu()
    for article in articles:
        job = PrintJob(article, env, settings, "a4")
        started = time.perf_counter()
        job.print_with(pool)
        singles += time.perf_counter() - started
    singles_cpu = cpu() - cpu_started
    pool.close()
    return {
        "size": size,
        "seconds": seconds,
        "pages": pages,
        "bytes": len(data),
        "peak_rss": peak,
        "singles": singles,
        "cpu": cpu_seconds,
        "singles_cpu": singles_cpu,
        "workers": pool.size,
    }


def main(sizes: list[int]) -> None:
    rows = []
    for size in sizes:
        output = subprocess.run(
            [sys.executable, __file__, "--measure", str(size)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows.append(json.loads(output.strip().splitlines()[-1]))
    print(f"load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(
        f"{'articles':>8} {'pages':>6} {'edition':>9} {'peak RSS':>9} {'MB out':>7} "
        f"{'singles':>9} {'/workers':>9} {'ratio':>6}  {'CPU ed.':>8} {'CPU sg.':>8} {'ratio':>6}"
    )
    for row in rows:
        ideal = row["singles"] / row["workers"]
        print(
            f"{row['size']:>8} {row['pages']:>6} {row['seconds']:>8.2f}s "
            f"{row['peak_rss'] / 2**20:>7.0f}MB {row['bytes'] / 2**20:>6.1f} "
            f"{row['singles']:>8.2f}s {ideal:>8.2f}s {row['seconds'] / ideal:>5.2f}x  "
            f"{row['cpu']:>7.2f}s {row['singles_cpu']:>7.2f}s "
            f"{row['cpu'] / row['singles_cpu']:>5.2f}x"
        )
    by_size = {row["size"]: row for row in rows}
    if 50 in by_size and 200 in by_size:
        fifty, two_hundred = by_size[50], by_size[200]
        print(
            f"200 vs 50: time {two_hundred['seconds'] / fifty['seconds']:.2f}x (goal about 4x), "
            f"peak memory {two_hundred['peak_rss'] / fifty['peak_rss']:.2f}x (goal <= 1.5x)"
        )
    print(f"(Python {sys.version.split()[0]}; {rows[0]['workers']} printer workers)")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--measure":
        print(json.dumps(measure(int(sys.argv[2]))))
    else:
        main([int(arg) for arg in sys.argv[1:]] or [10, 50, 200])
