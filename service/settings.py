"""Settings the renderers and digests need, read once from the app config (SPEC §5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Settings:
    base_url: str = "http://localhost:5000"
    publisher_name: str = "Broadsheet"
    publisher_address: str = ""
    mail_from: str = "Broadsheet <digest@localhost>"
    image_hosts: frozenset[str] = frozenset()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        hosts = config.get("IMAGE_HOSTS") or ""
        if isinstance(hosts, str):
            hosts = [host for host in hosts.split(",")]
        return cls(
            base_url=str(config.get("BASE_URL", cls.base_url)).rstrip("/"),
            publisher_name=str(config.get("PUBLISHER_NAME") or cls.publisher_name),
            publisher_address=str(config.get("PUBLISHER_ADDRESS") or ""),
            mail_from=str(config.get("MAIL_FROM") or cls.mail_from),
            image_hosts=frozenset(h.strip().lower().rstrip(".") for h in hosts if h.strip()),
        )

    def article_url(self, article_id: str) -> str:
        return f"{self.base_url}/articles/{article_id}"
