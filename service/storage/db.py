"""Engines and sessions: SQLite tuned on connect, PostgreSQL as given; one `Base` for all tables."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from ..errors import StorageTooSlow

logger = logging.getLogger(__name__)
BUSY_TIMEOUT_SECONDS = 10
# Stable constraint names, so migrations name the same thing on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
_WRITE = "broadsheet_write"
# A writer that dates what it stores by the clock commits within this of that moment, or not
# at all: readers say a date only once it is older than this and a margin (views/caching.py),
# so no version dated in a second they already named can appear afterwards. Five seconds,
# not one: a PUT on PostgreSQL under a full test run's load once took 1.07 s from its date
# to its commit and was refused (503), and a busy database would refuse ordinary writes so.
# The cost is a list's date said ten seconds after its second; its ETag validates meanwhile.
DATED_WRITE_LIMIT = timedelta(seconds=5)
_DATED = "broadsheet_dated_at"


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in UTC: timestamptz on PostgreSQL, naive UTC text on SQLite; aware when read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a stored moment needs a time zone")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Every table of Broadsheet; Alembic compares migrations against `Base.metadata`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
    }


CONNECT_SECONDS = 5
SERVER_BOUNDS = {
    "connect_timeout": CONNECT_SECONDS,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


# libpq's own variable for connect_timeout, which an operator may have set for every client.
_LIBPQ_TIMEOUT = "PGCONNECT_TIMEOUT"


def create_database_engine(url: str | URL) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout on every connection.

    A failed statement's error leaves its parameters out (hide_parameters): it is logged,
    and the parameters hold subscribers' addresses and names, and articles' text."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        # A server that does not answer: a new connection gives up after CONNECT_SECONDS
        # (libpq waited 130 s, each request thread with it), and TCP keepalives find a
        # connection whose peer is gone within a minute. Options the URL gives win, and
        # PGCONNECT_TIMEOUT, libpq's own.
        bounds = {
            key: value
            for key, value in SERVER_BOUNDS.items()
            if key not in url.query
            and not (key == "connect_timeout" and _LIBPQ_TIMEOUT in os.environ)
        }
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=bounds)
        event.listen(engine, "connect", _bound_postgresql)
        return engine
    options: dict[str, Any] = {
        "connect_args": {"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        "hide_parameters": True,
    }
    if url.database in (None, "", ":memory:"):
        # One in-memory database seen by every thread, not one per thread.
        options["poolclass"] = StaticPool
    engine = create_engine(url, **options)
    event.listen(engine, "connect", _tune_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


# How long a statement on PostgreSQL may wait for a lock, and run in all: a row or an id
# another session holds (a psql left in a transaction, a stuck writer) kept every request
# thread that wanted it waiting for ever, where SQLite gives up after its busy timeout.
# Either is set only where nothing else did (the URL's options, PGOPTIONS, ALTER ROLE or
# DATABASE … SET): an operator's own value wins. Migrations run without them.
LOCK_WAIT_SECONDS = BUSY_TIMEOUT_SECONDS
STATEMENT_SECONDS = 60
_UNLESS_SET = (
    "SELECT set_config(name, %s, false) FROM pg_settings "
    "WHERE name = %s AND setting = '0' AND source = 'default'"
)


def _bound_postgresql(dbapi_connection: Any, _record: Any) -> None:
    bounds = {"lock_timeout": LOCK_WAIT_SECONDS, "statement_timeout": STATEMENT_SECONDS}
    with dbapi_connection.cursor() as cursor:
        for name, seconds in bounds.items():
            cursor.execute(_UNLESS_SET, (f"{seconds * 1000:.0f}ms", name))
    dbapi_connection.commit()


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite would open transactions lazily and on its own terms; the `begin` hook does it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # Literal statements: no SQL here is built from strings (tests/test_secrets_and_sql.py).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")  # BUSY_TIMEOUT_SECONDS, in milliseconds
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite(connection: Any) -> None:
    # A writer takes the write lock at BEGIN: a deferred transaction that read first could
    # not upgrade to writing once another writer committed, and would fail instead of waiting.
    write = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """Sessions on one engine: `reading()` to look, `writing()` for one transaction that commits.

    On PostgreSQL each query of a reading session stands alone (autocommit): a reader
    that needs several queries to agree should use `writing()`.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self.writer = engine.execution_options(**{_WRITE: True})
        # A reader needs no transaction around its queries on PostgreSQL: autocommit spares
        # the BEGIN and ROLLBACK round trips of every page view.
        reader = engine
        if engine.dialect.name == "postgresql":
            reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._readers = sessionmaker(reader, expire_on_commit=False)
        self._writers = sessionmaker(self.writer, expire_on_commit=False)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._readers() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A session in a transaction that commits when the block ends, or rolls back.

        A write dated by `date_write` that reaches its commit more than DATED_WRITE_LIMIT
        after that moment is rolled back (StorageTooSlow): the client may send it again."""
        with self._writers.begin() as session:
            yield session
            dated = session.info.get(_DATED)
            if dated is not None and datetime.now(UTC) - dated > DATED_WRITE_LIMIT:
                raise StorageTooSlow(
                    "The database took too long to store this; nothing was stored, send it again."
                )
        if dated is not None and (late := datetime.now(UTC) - dated) > 2 * DATED_WRITE_LIMIT:
            # The COMMIT itself took the readers' whole margin (an fsync stall): a list read
            # meanwhile may have been dated without this write, and keep its 304 until the
            # next change. Rare, and not undone; said, so that it can be seen.
            logger.warning(
                "A write committed %.1f s after its date, past the %d s in which no list date "
                "is said: a list's Last-Modified may be stale until the next change.",
                late.total_seconds(),
                (2 * DATED_WRITE_LIMIT).total_seconds(),
            )


def date_write(session: Session) -> datetime:
    """The moment a write in `session` is dated at: now, with a promise to commit soon after."""
    moment = datetime.now(UTC)
    session.info.setdefault(_DATED, moment)
    return moment
