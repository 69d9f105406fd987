"""What a running Broadsheet holds once per process: templates, settings, database engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment
from sqlalchemy import Engine, create_engine

from .settings import Settings
from .templating import build_environment


@dataclass
class Runtime:
    env: Environment
    settings: Settings
    engine: Engine

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Runtime:
        return cls(
            env=build_environment(),
            settings=Settings.from_config(config),
            engine=create_engine(config["DATABASE_URL"], pool_pre_ping=True),
        )
