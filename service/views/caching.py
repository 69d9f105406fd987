"""Conditional GET for every stored page: ETag and Last-Modified, 304 when nothing changed.

`no-cache` lets browsers and proxies keep a copy but makes them ask first, so an article
replaced or deleted is never shown from a cache.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask import Response, request


def conditional(
    response: Response,
    *,
    last_modified: datetime | None = None,
    etag: str | None = None,
    ranges: bool = False,
) -> Response:
    """Tag `response` (by a hash of its body unless `etag` is given) and answer 304 if fresh."""
    if etag is None:
        etag = hashlib.sha256(response.get_data()).hexdigest()[:32]
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified
    response.cache_control.no_cache = True
    if ranges:
        length = response.calculate_content_length()
        response.make_conditional(request, accept_ranges=True, complete_length=length)
    else:
        response.make_conditional(request)
    return response
