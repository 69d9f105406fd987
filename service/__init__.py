"""Broadsheet: renders news articles as accessible HTML, PDF and e-mail, and mails digests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from .settings import Settings, SettingsError

__all__ = ["Settings", "SettingsError", "create_app"]


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
    """Build the app from BROADSHEET_* variables, then `config` (tests); or SettingsError.

    Keys of `config` that name a setting override it; the others are Flask's own, and
    TESTING among them declares the test environment (no SECRET_KEY needed).
    """
    config = dict(config or {})
    names = set(Settings.names())
    overrides = {k: v for k, v in config.items() if k in names}
    if config.get("TESTING"):
        overrides.setdefault("ENV", "test")
    settings = Settings.load(overrides=overrides)
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping({k: v for k, v in config.items() if k not in names})
    app.config["SECRET_KEY"] = settings.signing_key
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from . import problems
    from .cli import register_commands
    from .runtime import EXTENSION, Runtime
    from .views import (
        articles,
        articles_api,
        digests,
        editions,
        feeds,
        health,
        openapi,
        rendering,
        schema,
        subscriptions,
    )

    app.extensions[EXTENSION] = Runtime.build(settings, Path(app.instance_path))
    problems.register(app)
    app.after_request(security_headers)
    app.register_blueprint(rendering.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(schema.bp)
    for blueprint in (
        articles_api.bp,
        articles.bp,
        feeds.bp,
        editions.bp,
        subscriptions.bp,
        digests.bp,
        openapi.bp,
    ):
        app.register_blueprint(blueprint)
    register_commands(app)
    return app
