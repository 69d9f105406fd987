"""Broadsheet: renders news articles as accessible HTML, PDF and e-mail, and mails digests."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .base_path import BasePath, path_of
from .settings import Settings, SettingsError

__all__ = ["Settings", "SettingsError", "create_app"]


# Pages carry client-supplied words and links: they run no script and load only images.
PAGE_POLICY = (
    "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


# Sent only when BASE_URL is https: a browser then refuses plain http to the host for a year.
TRANSPORT_POLICY = "max-age=31536000; includeSubDomains"


def security_headers(response, https: bool = False):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if https:
        response.headers.setdefault("Strict-Transport-Security", TRANSPORT_POLICY)
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
        # Tests drive routes hard (fuzzing, timing); the rate limit tests turn limits on.
        overrides.setdefault("RATELIMIT_ENABLED", False)
    settings = Settings.load(overrides=overrides)
    # No static folder: every page inlines its styles, and Flask's /static/<path> route
    # would answer 404s outside every rate limit (flask-limiter exempts it by name).
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    app.config.from_mapping({k: v for k, v in config.items() if k not in names})
    app.config["SECRET_KEY"] = settings.signing_key
    # The sign-up form's session (its CSRF token), signed with a former key, still read.
    app.config["SECRET_KEY_FALLBACKS"] = list(settings.secret_key_fallbacks)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # Werkzeug answers a path with "//" by a 308 whose Location it builds from the Host
    # header: any client could have a link of this site point at a host it names, the
    # one-click unsubscribe POST included. No route has such a path: it is a 404.
    app.url_map.merge_slashes = False
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from . import access, problems
    from .cli import register_commands
    from .runtime import EXTENSION, Runtime
    from .views import (
        articles,
        articles_api,
        digests,
        editions,
        feeds,
        health,
        metrics,
        openapi,
        rendering,
        schema,
        subscriptions,
    )

    runtime = app.extensions[EXTENSION] = Runtime.build(settings, Path(app.instance_path))
    if settings.trusted_proxies:
        # The client is who the nearest trusted proxy says, never what the client itself says.
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    if base_path := path_of(settings.base_url):
        app.wsgi_app = BasePath(app.wsgi_app, base_path)  # type: ignore[method-assign]
    access.register(app)
    runtime.rate_limits.install(app)
    problems.register(app)
    https = urlsplit(settings.base_url).scheme == "https"
    app.after_request(partial(security_headers, https=https))
    app.register_blueprint(rendering.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(schema.bp)
    app.register_blueprint(metrics.bp)
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
