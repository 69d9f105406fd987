"""GET /metrics: the Prometheus text exposition, hidden unless a token or PUBLIC opens it."""

from __future__ import annotations

import werkzeug.exceptions
from flask import Blueprint, Response

from ..errors import Unauthorized
from ..metrics import CONTENT_TYPE, exposition, metrics_open
from ..runtime import current_runtime
from . import bearer

bp = Blueprint("metrics", __name__)


@bp.get("/metrics", provide_automatic_options=False)
def metrics() -> Response:
    settings = current_runtime().settings
    if not metrics_open(settings):
        raise werkzeug.exceptions.NotFound()  # werkzeug's own, as for any unknown path
    expected = settings.metrics_token
    if expected and not bearer.carries(expected):
        raise Unauthorized(
            "Send the metrics token as Authorization: Bearer <token>.", code=bearer.refusal_code()
        )
    return Response(exposition(), content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
