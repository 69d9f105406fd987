"""Printer processes: a render past the time limit is stopped and the pool recovers."""

from __future__ import annotations

from service import create_app

from .conftest import runtime_of
from .corpus import long_article, minimal


def test_time_limit_stops_a_render_and_the_printer_recovers():
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": "sqlite://",
            "PDF_WORKERS": 1,
            "PDF_TIME_LIMIT": 0.3,
            "PDF_MAX_PAGES": 500,
        }
    )
    client = app.test_client()
    pool = runtime_of(app).printer
    pool.warm_up()  # the worker starts outside the limit
    response = client.post("/v1/render/pdf", json=long_article(1500))
    assert response.status_code == 422
    assert "longer than 0.3 s" in response.get_json()["detail"]
    # A loaded machine may take more than 0.3 s for any render: what counts here is that
    # the pool, its stopped worker replaced, answers again.
    pool.time_limit = 60
    recovered = client.post("/v1/render/pdf", json=minimal(id="after-timeout"))
    assert recovered.status_code == 200
