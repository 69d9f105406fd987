"""A stored article's PDF (`GET /articles/{id}.pdf`) beside printing it (`POST /v1/render/pdf`).

Prints, per example article (median of N runs): the stored PDF through the whole HTTP
route (a database read and the conditional GET), and the same article posted to the
stateless route with the cache off, printed by the isolated worker pool the service uses;
with their ratio. Goal from the issue: the stored PDF under 5 ms. The stored PDF is timed on
SQLite, and on PostgreSQL too when BROADSHEET_BENCH_POSTGRES_URL names a database (its
tables are created there, then dropped).

Run: `.venv/bin/python bench/store.py [runs]`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

# bench/email.py must not shadow the standard library's email package: leave this folder.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]
ROOT = BENCH.parent

from bench.timing import median_ms  # noqa: E402

EXAMPLES = ROOT / "examples"
TOKEN = "bench-token-0123456789"


def stored_times(database_url: str, bodies: dict[str, dict], runs: int) -> dict[str, float]:
    """Store each article, let the press print it, then time GET /articles/{id}.pdf."""
    from sqlalchemy import text

    from service import create_app
    from service.runtime import current_runtime
    from service.storage.schema import upgrade

    app = create_app(
        {
            "ENV": "test",
            "DATABASE_URL": database_url,
            "API_TOKEN": TOKEN,
            "PDF_WORKERS": 1,
            "RATELIMIT_ENABLED": False,
        }
    )
    client = app.test_client()
    with app.app_context():
        runtime = current_runtime()
    upgrade(runtime.engine)
    times = {}
    try:
        for name, body in bodies.items():
            response = client.put(
                f"/v1/articles/{body['id']}",
                json=body,
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            assert response.status_code in (200, 201), response.get_data(as_text=True)
            runtime.press.pdf(body["id"])  # wait for the background print

            def stored(article_id=body["id"]):
                response = client.get(f"/articles/{article_id}.pdf")
                assert response.status_code == 200
                assert response.data.startswith(b"%PDF")

            times[name] = median_ms(stored, runs * 10)
    finally:
        runtime.press.close()
        if runtime.engine.dialect.name == "postgresql":
            with runtime.engine.begin() as connection:
                connection.execute(
                    text("DROP TABLE article_pdfs, article_deletions, articles, alembic_version")
                )
        runtime.engine.dispose()
    return times


def uncached_times(bodies: dict[str, dict], runs: int) -> dict[str, float]:
    """POST each article to /v1/render/pdf with the PDF cache off: a print every time."""
    from service import create_app
    from service.runtime import current_runtime

    app = create_app(
        {
            "ENV": "test",
            "DATABASE_URL": "sqlite://",
            "PDF_CACHE_SIZE": 0,
            "PDF_WORKERS": 1,
            "RATELIMIT_ENABLED": False,
        }
    )
    client = app.test_client()
    with app.app_context():
        current_runtime().printer.warm_up()
    times = {}
    for name, body in bodies.items():

        def printed(body=body):
            response = client.post("/v1/render/pdf", json=body)
            assert response.status_code == 200

        times[name] = median_ms(printed, runs)
    return times


def main(runs: int = 30) -> None:
    bodies = {
        path.stem: json.loads(path.read_text("utf-8")) for path in sorted(EXAMPLES.glob("*.json"))
    }
    with tempfile.TemporaryDirectory() as folder:
        sqlite = stored_times(f"sqlite:///{folder}/bench.sqlite3", bodies, runs)
    postgres_url = os.environ.get("BROADSHEET_BENCH_POSTGRES_URL")
    postgres = stored_times(postgres_url, bodies, runs) if postgres_url else {}
    printed = uncached_times(bodies, runs)

    print(
        f"{'article':<16} {'stored (SQLite)':>16} {'stored (PostgreSQL)':>20} "
        f"{'POST uncached':>14}  uncached/stored  stored vs 5 ms goal"
    )
    for name in bodies:
        pg = f"{postgres[name]:>18.2f}ms" if postgres else f"{'—':>20}"
        print(
            f"{name:<16} {sqlite[name]:>14.2f}ms {pg} {printed[name]:>12.1f}ms  "
            f"{printed[name] / sqlite[name]:>14.0f}x  {sqlite[name] / 5:>17.2f}x"
        )
    print(
        f"(medians of {runs * 10} stored requests and {runs} prints; the whole HTTP route "
        f"through Flask's test client; Python {sys.version.split()[0]})"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
