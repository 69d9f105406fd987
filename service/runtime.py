"""What a running Broadsheet holds once per process: templates, settings, database, printer."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from jinja2 import Environment
from sqlalchemy import Engine

from .addresses import parse_mailbox
from .email_renderer import Inliner
from .mail.transport import Transport, open_transport
from .messages import DkimSigner, signer_from_config
from .pdf_renderer import PdfCache
from .press import Press
from .print_pool import IsolatedPrinter
from .relay import OutboxRelay, RelayThread
from .settings import Settings
from .storage.db import Database, create_database_engine
from .subscriptions import Subscriptions
from .templating import build_environment
from .tokens import TokenSigner

_printers: dict[tuple, IsolatedPrinter] = {}
_printers_lock = threading.Lock()


def shared_printer(
    image_hosts: frozenset[str], max_pages: int, time_limit: float, workers: int
) -> IsolatedPrinter:
    """One pool of printer processes per configuration, for the life of the process."""
    key = (tuple(sorted(image_hosts)), max_pages, time_limit, workers)
    with _printers_lock:
        if key not in _printers:
            _printers[key] = IsolatedPrinter(
                key[0], max_pages=max_pages, time_limit=time_limit, workers=workers
            )
        return _printers[key]


@dataclass
class Runtime:
    env: Environment
    settings: Settings
    engine: Engine
    config: Mapping[str, Any]
    pdf_cache: PdfCache = field(default_factory=PdfCache)
    inliner: Inliner = field(default_factory=Inliner)
    dkim: DkimSigner | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Runtime:
        return cls(
            env=build_environment(),
            settings=Settings.from_config(config),
            engine=create_database_engine(config["DATABASE_URL"]),
            config=dict(config),
            pdf_cache=PdfCache(max_items=int(config["PDF_CACHE_SIZE"])),
            dkim=signer_from_config(
                config.get("DKIM_SELECTOR"),
                config.get("DKIM_DOMAIN"),
                config.get("DKIM_KEY_FILE"),
            ),
        )

    @property
    def printer(self) -> IsolatedPrinter:
        return shared_printer(
            self.settings.image_hosts,
            int(self.config["PDF_MAX_PAGES"]),
            float(self.config["PDF_TIME_LIMIT"]),
            int(self.config["PDF_WORKERS"]),
        )

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
            workers=int(self.config["PDF_WORKERS"]),
            time_limit=float(self.config["PDF_TIME_LIMIT"]),
            max_pages=int(self.config["PDF_MAX_PAGES"]),
        )

    # Subscribers and mail ----------------------------------------------------------------

    @cached_property
    def tokens(self) -> TokenSigner:
        return TokenSigner(str(self.config["SECRET_KEY"]))

    @cached_property
    def subscriptions(self) -> Subscriptions:
        return Subscriptions(self.engine, self.tokens, self.settings, self.env, self.inliner)

    def transport(self) -> Transport:
        """A new transport: SMTP when SMTP_URL is set, else the Maildir outbox."""
        return open_transport(self.config.get("SMTP_URL"), self.config["INSTANCE_PATH"])

    @cached_property
    def relay(self) -> OutboxRelay:
        domain = parse_mailbox(self.settings.mail_from).address.rpartition("@")[2]
        return OutboxRelay(
            self.engine, self.subscriptions, self.transport, domain=domain, dkim=self.dkim
        )

    @cached_property
    def relay_thread(self) -> RelayThread:
        return RelayThread(self.relay)
