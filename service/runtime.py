"""What a running Broadsheet holds once per process: settings, templates, database, printer."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from flask import current_app
from jinja2 import Environment
from sqlalchemy import Engine

from .email_renderer import Inliner
from .in_flight import InFlight
from .mail.transport import Transport, open_transport
from .messages import DkimSigner, signer_from_config
from .pdf_renderer import PdfCache
from .press import RETRY_AFTER, Press
from .print_pool import IsolatedPrinter
from .rate_limits import RateLimits
from .refusals import RecentRefusals
from .relay import OutboxRelay, RelayThread
from .settings import Settings
from .storage.db import Database, create_database_engine
from .subscriptions import Subscriptions
from .templating import build_environment
from .tokens import TokenSigner

EXTENSION = "broadsheet"
_printers: dict[tuple, IsolatedPrinter] = {}
_printers_lock = threading.Lock()


def shared_printer(settings: Settings) -> IsolatedPrinter:
    """One pool of printer processes per configuration, for the life of the process."""
    key = (
        tuple(sorted(settings.image_hosts)),
        settings.pdf_max_pages,
        settings.pdf_time_limit,
        settings.pdf_workers,
        settings.pdf_worker_max_jobs,
        settings.pdf_worker_max_rss_mb,
    )
    with _printers_lock:
        if key not in _printers:
            _printers[key] = IsolatedPrinter(
                key[0],
                max_pages=settings.pdf_max_pages,
                time_limit=settings.pdf_time_limit,
                workers=settings.pdf_workers,
                max_jobs=settings.pdf_worker_max_jobs,
                max_rss_mb=settings.pdf_worker_max_rss_mb,
            )
        return _printers[key]


@dataclass
class Runtime:
    settings: Settings
    env: Environment
    engine: Engine
    pdf_cache: PdfCache
    inliner: Inliner = field(default_factory=Inliner)
    # Editions the request's deadline stopped, refused at once for a while (public URLs).
    edition_refusals: RecentRefusals = field(
        default_factory=lambda: RecentRefusals(lasting=RETRY_AFTER.total_seconds())
    )
    # Articles POSTed to the render route whose print was refused (its time limit, its page
    # limit), refused at once for a while when sent again: each try held a printer.
    print_refusals: RecentRefusals = field(
        default_factory=lambda: RecentRefusals(lasting=RETRY_AFTER.total_seconds())
    )
    # Editions being printed: a request for one already under way waits for it.
    edition_prints: InFlight = field(default_factory=InFlight)
    dkim: DkimSigner | None = None
    instance_path: Path = Path("instance")
    # When this app was built (under gunicorn, in the master): settings and code are as they
    # have been since, and a page made from them is no older (views/caching.py, made_since).
    built_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def build(cls, settings: Settings, instance_path: Path) -> Runtime:
        """Everything the settings describe; the SQLite default lives in `instance_path`."""
        database_url = settings.database_url or f"sqlite:///{instance_path / 'broadsheet.sqlite3'}"
        return cls(
            settings=settings,
            env=build_environment(),
            engine=create_database_engine(database_url),
            pdf_cache=PdfCache(max_items=settings.pdf_cache_size),
            dkim=signer_from_config(
                settings.dkim_selector, settings.dkim_domain, settings.dkim_key_file
            ),
            instance_path=instance_path,
        )

    def transport(self) -> Transport:
        """A new mail transport: SMTP when SMTP_URL is set, else the instance's Maildir outbox
        (in production, none: mail waits)."""
        production = self.settings.env == "production"
        return open_transport(self.settings.smtp_url, self.instance_path, production=production)

    @property
    def mail_server_missing(self) -> bool:
        """Production with no SMTP_URL: mail waits (NoMailServer), and no digest is sent."""
        return self.settings.env == "production" and not self.settings.smtp_url

    @property
    def printer(self) -> IsolatedPrinter:
        return shared_printer(self.settings)

    @cached_property
    def rate_limits(self) -> RateLimits:
        return RateLimits(self.settings)

    @cached_property
    def database(self) -> Database:
        return Database(self.engine)

    @cached_property
    def press(self) -> Press:
        """Prints stored articles in the background, on this runtime's printer."""
        return Press(
            self.database,
            self.env,
            self.settings,
            lambda: self.printer,
            workers=self.settings.pdf_workers,
            time_limit=self.settings.pdf_time_limit,
            max_pages=self.settings.pdf_max_pages,
        )

    # Subscribers and mail ----------------------------------------------------------------

    @cached_property
    def tokens(self) -> TokenSigner:
        return TokenSigner(
            self.settings.signing_key, fallback_keys=self.settings.secret_key_fallbacks
        )

    @cached_property
    def subscriptions(self) -> Subscriptions:
        return Subscriptions(self.engine, self.tokens, self.settings, self.env, self.inliner)

    @cached_property
    def relay(self) -> OutboxRelay:
        domain = self.settings.mail_from.address.rpartition("@")[2]
        return OutboxRelay(
            self.engine, self.subscriptions, self.transport, domain=domain, dkim=self.dkim
        )

    @cached_property
    def relay_thread(self) -> RelayThread:
        return RelayThread(self.relay)


def current_runtime() -> Runtime:
    """The runtime of the app handling this request or command."""
    runtime: Runtime = current_app.extensions[EXTENSION]
    return runtime
