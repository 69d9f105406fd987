"""Broadsheet: renders news articles as accessible HTML, PDF and e-mail, and mails digests."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from .runtime import Runtime

logger = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,
    "SMTP_URL": None,
    "MAIL_FROM": "Broadsheet <digest@localhost>",
    "BASE_URL": "http://localhost:5000",
    "API_TOKEN": None,
    "SECRET_KEY": None,
    "DIGEST_TIME": "07:00",
    "TIMEZONE": "UTC",
    "PUBLISHER_NAME": "Broadsheet",
    "PUBLISHER_ADDRESS": "",
    "IMAGE_HOSTS": "",
    "MAX_BODY_BYTES": 2 * 1024 * 1024,
    "BODY_TIMEOUT": 10.0,
    "PDF_TIME_LIMIT": 20.0,
    "PDF_MAX_PAGES": 60,
    "PDF_CACHE_SIZE": 128,
    "PDF_WORKERS": 2,
    "DKIM_SELECTOR": None,
    "DKIM_DOMAIN": None,
    "DKIM_KEY_FILE": None,
    "UNSUBSCRIBE_MAILTO": None,
}


# Pages carry client-supplied words and links: they run no script and load only images.
PAGE_POLICY = (
    "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then BROADSHEET_* variables, then `config` (tests)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("BROADSHEET")
    if config:
        app.config.from_mapping(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'broadsheet.sqlite3'}"
    if not app.config["SECRET_KEY"]:
        logger.warning("BROADSHEET_SECRET_KEY is not set: using a random key for this process")
        app.config["SECRET_KEY"] = secrets.token_urlsafe(32)
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_BODY_BYTES"])
    app.json.sort_keys = False  # type: ignore[attr-defined]

    app.extensions["broadsheet"] = Runtime.from_config(app.config)

    from . import problems
    from .commands import register_commands
    from .views import health, rendering, schema

    problems.register(app)
    app.after_request(security_headers)
    app.register_blueprint(rendering.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(schema.bp)
    register_commands(app)
    return app
