"""Serving under the path of BASE_URL (`https://example.org/news`).

Pages link to one another with `url_for`, which begins each link with the request's
`SCRIPT_NAME`. Behind a proxy that serves the site under a path, that is the path, however
the proxy hands the request on: with the path left on (`/news/articles`: it is moved to
`SCRIPT_NAME`), stripped (`/articles`: `SCRIPT_NAME` is set to it), or already in
`SCRIPT_NAME` (left as it is). Without it, a page reached at `/news/subscribe/confirm/…`
posted its button to `/subscribe/confirm/…`, outside the site.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def path_of(base_url: str) -> str:
    """BASE_URL's path as WSGI spells paths (decoded bytes as Latin-1), "" for none."""
    return unquote_to_bytes(urlsplit(base_url).path.rstrip("/")).decode("latin-1")


class BasePath:
    """WSGI middleware: every request is seen as under `path` (see the module)."""

    def __init__(self, app: WsgiApp, path: str):
        self.app = app
        self.path = path

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        script = environ.get("SCRIPT_NAME", "")
        if not script.endswith(self.path):
            here = environ.get("PATH_INFO", "")
            if here == self.path or here.startswith(self.path + "/"):
                environ["PATH_INFO"] = here[len(self.path) :] or "/"
            environ["SCRIPT_NAME"] = script + self.path
        return self.app(environ, start_response)
