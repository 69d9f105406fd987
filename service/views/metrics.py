"""GET /metrics: the Prometheus text exposition, hidden unless a token or PUBLIC opens it."""

from __future__ import annotations

from flask import Blueprint, Response

from ..errors import NotFound, Unauthorized
from ..metrics import CONTENT_TYPE, exposition
from ..runtime import current_runtime
from . import bearer

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    settings = current_runtime().settings
    expected = settings.metrics_token
    if expected:
        if not bearer.carries(expected):
            raise Unauthorized("Send the metrics token as Authorization: Bearer <token>.")
    elif not settings.metrics_public:
        # Not configured: the route answers as if it did not exist.
        raise NotFound("The requested URL was not found on the server.")
    return Response(exposition(), content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
