"""Liveness and readiness: the process answers, and the database answers with a schema
this code can use (not one it must first be upgraded to)."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from ..runtime import current_runtime
from ..storage.schema import behind_this_code

bp = Blueprint("health", __name__)
logger = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    runtime = current_runtime()
    try:
        with runtime.engine.connect() as connection:
            behind = behind_this_code(connection)
    except SQLAlchemyError as error:
        logger.error("Health check: database unreachable: %s", error)
        return jsonify(status="unavailable", database="unreachable"), 503
    if behind is not None:  # every route reading a table would answer 503
        logger.error("Health check: %s", behind.describe())
        return jsonify(status="unavailable", database="not migrated"), 503
    return jsonify(status="ok", database="ok")
