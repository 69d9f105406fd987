"""Per-client rate limits: each route's budget, counted by flask-limiter in memory or Redis.

Every endpoint has a decided budget in `ENDPOINTS` (tests/test_rate_limits.py fails on one
that has none). A budget is a setting in flask-limiter's rate syntax, and all the routes of
one budget draw on one counter per client: a client's PDFs come from one pool, whichever
route prints them. Sign-ups also spend a budget per mailbox, counted in the view once
the address is read (`addresses.mailbox_key`). The client is `request.remote_addr`, which a
trusted proxy may set (TRUSTED_PROXIES, in `create_app`), and an IPv6 client is its /64.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import math
import time
from functools import lru_cache

from flask import Flask, request
from flask_limiter import Limit, Limiter
from limits import RateLimitItem, parse_many

from .errors import RateLimited
from .metrics import metrics_open
from .settings import Settings

logger = logging.getLogger(__name__)

EXEMPT = ""
# Budget name -> the setting that holds its rate.
BUDGETS = {
    "pages": "ratelimit_pages",
    "render": "ratelimit_render",
    "pdf": "ratelimit_pdf",
    "signup": "ratelimit_signup",
    "signup_address": "ratelimit_signup_address",
    "token": "ratelimit_token",
}
# Endpoint -> budget. `/v1/render/pdf` is the one render format that spends "pdf" instead.
ENDPOINTS = {
    "rendering.render": "render",
    "articles.pdf": "pdf",
    "editions.of_the_day": "pdf",
    "editions.of_articles": "pdf",
    "subscriptions.sign_up": "signup",
    "articles_api.put": "token",
    "articles_api.get": "token",
    "articles_api.delete": "token",
    "articles_api.index": "token",
    "subscriptions.index": "token",
    "digests.send": "token",
    "articles.page": "pages",
    "articles.index": "pages",
    "feeds.atom": "pages",
    "feeds.json_feed_document": "pages",
    "schema.article_json_schema": "pages",
    "subscriptions.form": "pages",
    "subscriptions.confirm_page": "pages",
    "subscriptions.confirm": "pages",
    "digests.page": "pages",
    "openapi.openapi_json": "pages",
    "openapi.docs": "pages",
    # Leaving is never refused: one-click unsubscribes (RFC 8058) come from a mail
    # provider's few servers on behalf of all its users, and the signed link is the guard.
    "subscriptions.unsubscribe_page": EXEMPT,
    "subscriptions.unsubscribe": EXEMPT,
    "health.healthz": EXEMPT,
}
# Probes and scrapers call these often and by design; whatever endpoint serves them.
EXEMPT_PATHS = frozenset({"/healthz", "/metrics"})


def client_address() -> str:
    return client_of(request.remote_addr or "")


@lru_cache(maxsize=4096)
def client_of(address: str) -> str:
    """The client a budget belongs to. An IPv6 host is given a whole /64 (RFC 6177) and may
    use any address in it, so IPv6 clients are counted by their /64; an IPv4 address mapped
    into IPv6, or translated into the well-known prefix 64:ff9b::/96, is the IPv4 client
    it names. Some proxies write the client's port too
    (`192.0.2.1:4001`, `[2001:db8::1]:4001`): a host is one client whatever port it came
    from. Anything else unreadable is one client of its own, not one per spelling.
    Cached: it runs for every request."""
    host = host_address(address)
    if host is None:
        return "unknown"
    ip = ipaddress.ip_address(host)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        if ip in _TRANSLATED_IPV4:
            # A stateless IPv4-to-IPv6 front end (RFC 6052, 7755) writes each IPv4 reader
            # into the well-known prefix: its /64 made every one of them one client.
            return str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


_TRANSLATED_IPV4 = ipaddress.IPv6Network("64:ff9b::/96")


def host_address(address: str | None) -> str | None:
    """The client's address as a consent record keeps it: the IP alone, without a port or
    zone a proxy may have written, or None for anything that is no IP address."""
    try:
        return str(ipaddress.ip_address(_without_port(address or "").split("%", 1)[0]))
    except ValueError:
        return None


def _without_port(address: str) -> str:
    """`address` without a `:port` after an IPv4 address or a bracketed IPv6 address."""
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    if address.count(":") == 1:
        return address.split(":", 1)[0]
    return address


def budget_of_request(settings: Settings) -> str:
    """The budget the current request spends, or EXEMPT. A request no route answers (404,
    405, also on an exempt path) spends the pages budget: asking costs the same whatever
    the answer. So does a closed /metrics, which answers as such a path does: exempt, it
    alone kept answering 404 once a client's budget was spent, which said that it was
    there."""
    rule = request.url_rule
    path = rule.rule if rule is not None else request.path
    if path == "/metrics" and not metrics_open(settings):
        return "pages"
    if rule is None:  # a method these paths do not answer (405) spends too
        return "pages"
    if path in EXEMPT_PATHS:
        return EXEMPT
    endpoint = request.endpoint or ""
    if endpoint == "rendering.render" and (request.view_args or {}).get("fmt") == "pdf":
        return "pdf"
    # A route added without a decision gets the generous default; the test names it.
    return ENDPOINTS.get(endpoint, "pages")


class RateLimits:
    """The app's Limiter and the budgets it counts, built from the settings."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.enabled = settings.ratelimit_enabled
        self.rates: dict[str, list[RateLimitItem]] = {
            name: parse_many(getattr(settings, field)) for name, field in BUDGETS.items()
        }
        url = settings.ratelimit_storage_url
        options = {} if url.startswith("memory://") else _REDIS_OPTIONS
        self.limiter = Limiter(
            client_address,
            default_limits=[
                Limit(self._rate, scope=lambda _endpoint: budget_of_request(settings), shared=True)
            ],
            # flask-limiter skips a request without an endpoint; one no route answers is
            # still a request (budget_of_request gives it the pages budget).
            request_identifier=lambda: request.endpoint or "unmatched",
            storage_uri=url,
            storage_options=dict(options),
            strategy="fixed-window",
            key_prefix=settings.ratelimit_key_prefix,
            enabled=self.enabled,
            # A storage outage is logged and lets requests through: a limit guards the
            # service, it must not be what takes it down. A Redis that stops answering is
            # then counted around, in the process's memory, and tried again after 1, 2, 4…
            # 32 s, then from 1 s again: each request waited out its timeout, a second,
            # four requests a second per worker, while /healthz said all was well.
            swallow_errors=True,
            in_memory_fallback_enabled=not url.startswith("memory://"),
            # Every rate of a budget is counted, so a refusal knows all those used up and
            # says when the last of them has room again (as `spend` does).
            fail_on_first_breach=False,
            headers_enabled=False,
        )

    def install(self, app: Flask) -> None:
        self.limiter.init_app(app)

    def close(self) -> None:
        """Close the storage's connections (Redis), as a process or a test ends."""
        if not self.limiter.initialized:
            return
        client = getattr(self.limiter.storage, "storage", None)
        if client is not None and hasattr(client, "close"):
            client.close()

    def _rate(self) -> str:
        budget = budget_of_request(self.settings)
        return getattr(self.settings, BUDGETS[budget]) if budget else ""

    def retry_after(self) -> int:
        """Whole seconds until the budget the current request broke has room again: with
        several of its rates used up, until the last of them has room. Used up counts a
        rate this very request filled without breaking it: waiting out only the broken one
        would meet that one's refusal."""
        reset = time.time() + 60
        try:
            limits = self.limiter.current_limits
            used_up = [limit for limit in limits if limit.breached or limit.window[1] == 0]
            if used_up:
                reset = max(limit.window[0] for limit in used_up)
        except Exception:
            logger.exception("Rate limit storage unreachable while timing a refusal")
        return max(1, math.ceil(reset - time.time()))

    def spend(self, budget: str, key: str) -> None:
        """Count one request against `budget` for `key`, or raise RateLimited.

        Each rate's windows follow the clock (an hour's rate counts from the top of the
        hour), not the first request: an address's window began with the first sign-up for
        it, by anyone, and its end, in Retry-After or found by trying, told a stranger when
        that was, to the second."""
        if not self.enabled:
            return
        strategy = self.limiter.limiter
        now = time.time()

        def identifiers(rate: RateLimitItem) -> tuple[str, ...]:
            window = str(int(now // rate.get_expiry()))
            return (self.settings.ratelimit_key_prefix, budget, key, window)

        try:
            rates = self.rates[budget]
            refused = [rate for rate in rates if not strategy.hit(rate, *identifiers(rate))]
            if not refused:
                return
            # Every rate with no room left, those this hit filled as well as those it broke
            # (one whose window rolled over just now has room: the rates refused, then).
            full = [
                r for r in rates if strategy.get_window_stats(r, *identifiers(r)).remaining == 0
            ]
            ends = [(now // r.get_expiry() + 1) * r.get_expiry() for r in full or refused]
        except Exception:
            logger.exception("Rate limit storage unreachable; the %s budget is not counted", budget)
            return
        raise RateLimited(max(1, math.ceil(max(ends) - time.time())))

    def spend_more(self, units: int) -> None:
        """Count `units` more against the budget the current request has just spent one of,
        on the same counters, or raise RateLimited when a rate has no room for them.

        An edition of many articles costs as many PDFs (its articles past the first ten).
        A rate is asked for at most the rest of one whole window (an edition the other
        limits allow is never refused for ever). Each rate counts the units and says in the
        same step whether they fitted, so requests at the same moment cannot all pass one
        check before any is counted; a refused ask stays counted, as a refused request does."""
        if not self.enabled or units <= 0:
            return
        try:
            strategy = self.limiter.limiter
            short = []
            for limit in self.limiter.current_limits:
                cost = min(units, limit.limit.amount - 1)
                if cost > 0 and not strategy.hit(limit.limit, *limit.request_args, cost=cost):
                    short.append(limit)
            if not short:
                return
            ends = [
                strategy.get_window_stats(limit.limit, *limit.request_args).reset_time
                for limit in short
            ]
        except Exception:
            logger.exception("Rate limit storage unreachable; %d more units are not counted", units)
            return
        raise RateLimited(max(1, math.ceil(max(ends) - time.time())))

    def spend_sign_up(self, address_key: str) -> None:
        """Count a sign-up for an address under a keyed hash (HMAC with the secret key), so
        the storage holds no address, nor a hash that a list of guesses could be tried on."""
        key = hmac.new(self.settings.signing_key.encode(), address_key.encode(), "sha256")
        self.spend("signup_address", key.hexdigest())


# A Redis that stops answering costs a request at most a second or so, then it goes through.
_REDIS_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
