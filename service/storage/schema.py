"""Migrations run from code: Alembic with the scripts in `migrations/`, no alembic.ini needed.

To add a table: declare it in `models.py`, then `broadsheet db revision -m "what"
--autogenerate` against an up-to-date database writes `migrations/versions/NNNN_what.py`;
read it, adjust it, commit it. `tests/test_storage_schema.py` fails when the models and the
migrations disagree, or when two branches left the chain with two heads.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any fixed number: PostgreSQL serialises concurrent upgrades on this advisory lock.
_UPGRADE_LOCK = 0x62_726F_6164


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if importlib.util.find_spec("ruff"):
        # New scripts come out formatted as the house formats code.
        hooks = "post_write_hooks"
        config.set_section_option(hooks, "hooks", "ruff")
        config.set_section_option(hooks, "ruff.type", "exec")
        config.set_section_option(hooks, "ruff.executable", sys.executable)
        config.set_section_option(hooks, "ruff.options", "-m ruff format REVISION_SCRIPT_FILENAME")
    config.attributes["connection"] = connection
    config.attributes["url"] = url
    return config


def head_revisions() -> tuple[str, ...]:
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def _known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return {revision.revision for revision in script.walk_revisions()}


def is_before(revision: str, current: tuple[str, ...]) -> bool:
    """Whether `revision` is one the schema at `current` has already passed: `db upgrade`
    to it would do nothing, and said "up to date", which read as a rollback done."""
    script = ScriptDirectory.from_config(alembic_config())
    try:
        target = script.get_revision(revision)
    except CommandError:  # +1, a range, no revision at all: upgrade says what it is
        return False
    if target is None:  # base: before everything
        return bool(current)
    if target.revision in current:
        return False
    return any(
        target.revision == step.revision
        for head in current
        for step in script.iterate_revisions(head, "base")
    )


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: tuple[str, ...]
    heads: tuple[str, ...]

    @property
    def is_current(self) -> bool:
        return set(self.current) == set(self.heads)

    @property
    def is_newer(self) -> bool:
        """At a revision this code does not know: a newer Broadsheet migrated it, as a
        rolling upgrade does before it replaces the code on each node."""
        return bool(self.current) and not self.can_upgrade

    @property
    def serves_this_code(self) -> bool:
        """Whether this code may serve it: up to date, or newer (the node is yet to be
        upgraded, and a restart must not take it out of service meanwhile)."""
        return self.is_current or self.is_newer

    @property
    def can_upgrade(self) -> bool:
        """False when the database is at a revision this code does not know (a newer one)."""
        return not set(self.current) - _known_revisions()

    def serving_newer(self) -> str:
        """The line a command says when it goes on with a newer schema."""
        return (
            f"Broadsheet goes on: the database schema is at revision {', '.join(self.current)},"
            f" newer than this code's {', '.join(self.heads)} (a rolling upgrade under way);"
            " run the newer Broadsheet on this node too."
        )

    def describe(self) -> str:
        """One line saying where the schema stands and what to do about it."""
        at = ", ".join(self.current)
        needed = ", ".join(self.heads)
        if self.is_current:
            return f"The database schema is up to date (revision {needed})."
        if not self.current:
            return (
                f"The database has no schema yet (Broadsheet needs revision {needed}): "
                "run `broadsheet db upgrade`."
            )
        if not self.can_upgrade:
            return (
                f"The database schema is at revision {at}, which this version of Broadsheet "
                f"does not know (it needs {needed}): run a newer Broadsheet."
            )
        return (
            f"The database schema is at revision {at}, behind {needed}: "
            "run `broadsheet db upgrade`."
        )


def schema_state(engine: Engine) -> SchemaState:
    with engine.connect() as connection, _quiet_alembic():
        current = MigrationContext.configure(connection).get_current_heads()
    return SchemaState(tuple(current), head_revisions())


def behind_this_code(connection: Connection) -> SchemaState | None:
    """For readiness: the schema's state when it is behind this code (none yet, or an older
    revision this code knows), else None. A newer schema is ready: a rolling upgrade
    migrates before it replaces the code. One query; the scripts are read once a process."""
    with _quiet_alembic():
        current = tuple(MigrationContext.configure(connection).get_current_heads())
    heads, known = _this_code()
    state = SchemaState(current, heads)
    if current and (state.is_current or set(current) - known):  # up to date, or newer
        return None
    return state


@functools.cache
def _this_code() -> tuple[tuple[str, ...], frozenset[str]]:
    return head_revisions(), frozenset(_known_revisions())


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Looking up the revision is not progress worth logging (Alembic logs it at info)."""
    migration_log = logging.getLogger("alembic.runtime.migration")
    level = migration_log.level
    migration_log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        migration_log.setLevel(level)


def upgrade(engine: Engine, revision: str = "head") -> SchemaState:
    """Apply the migrations up to `revision` in one transaction; concurrent upgrades wait."""
    writer = engine.execution_options(broadsheet_write=True)
    with writer.begin() as connection:
        if connection.dialect.name == "postgresql":
            # A migration may wait for the one before it and rewrite a large table: it is
            # not bound as a request's statements are (storage/db.py).
            connection.execute(text("SET LOCAL lock_timeout = 0"))
            connection.execute(text("SET LOCAL statement_timeout = 0"))
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
        command.upgrade(alembic_config(connection), revision)
    return schema_state(engine)


def upgrade_sql(url: str, revision: str = "head") -> None:
    """Print the SQL of the migrations to standard output instead of running it."""
    command.upgrade(alembic_config(url=url), revision, sql=True)


def new_revision(engine: Engine, message: str, autogenerate: bool) -> Path:
    """Write the next numbered migration script; with `autogenerate`, from the models' diff."""
    config = alembic_config()
    count = sum(1 for _ in ScriptDirectory.from_config(config).walk_revisions())
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        script = command.revision(
            config, message=message, autogenerate=autogenerate, rev_id=f"{count + 1:04d}"
        )
    assert isinstance(script, Script)
    return Path(script.path)
