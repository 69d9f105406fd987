"""Settings the renderers and digests need, read once from the app config (SPEC §5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_BASE_URL = "http://localhost:5000"
DEFAULT_PUBLISHER = "Broadsheet"
DEFAULT_MAIL_FROM = "Broadsheet <digest@localhost>"


@dataclass(frozen=True, slots=True)
class Settings:
    base_url: str = DEFAULT_BASE_URL
    publisher_name: str = DEFAULT_PUBLISHER
    publisher_address: str = ""
    mail_from: str = DEFAULT_MAIL_FROM
    image_hosts: frozenset[str] = frozenset()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        hosts = config.get("IMAGE_HOSTS") or ""
        if isinstance(hosts, str):
            hosts = hosts.split(",")
        return cls(
            base_url=str(config.get("BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            publisher_name=str(config.get("PUBLISHER_NAME") or DEFAULT_PUBLISHER),
            publisher_address=str(config.get("PUBLISHER_ADDRESS") or ""),
            mail_from=str(config.get("MAIL_FROM") or DEFAULT_MAIL_FROM),
            image_hosts=frozenset(h.strip().lower().rstrip(".") for h in hosts if h.strip()),
        )

    def article_url(self, article_id: str) -> str:
        return f"{self.base_url}/articles/{article_id}"
