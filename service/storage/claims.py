"""Work queues in a table: claim a batch of due rows so that no two workers hold the same row.

A row is due when it is pending and its attempt time has come, or when it is claimed and
its lease has run out (the worker holding it died). Claiming stamps the rows with a fresh
claim token and a lease; every later write names that token, so a worker whose lease ran
out can no longer record anything over the worker that took the row after it.

PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED` inside the UPDATE, so concurrent claimers
pass over each other's rows instead of waiting. SQLite has one writer at a time: the claim
runs in a writing transaction, which begins with `BEGIN IMMEDIATE` and so takes the write
lock before it reads, and the rows it picks cannot be picked by anyone else before it
commits.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, Row, Table, and_, select, update

PENDING = "pending"
CLAIMED = "claimed"


def new_claim_token() -> str:
    return secrets.token_hex(12)


def _due_branches(table: Table, now: datetime) -> tuple[ColumnElement[bool], ...]:
    """The two ways a row is due, each read on its own: a claim whose lease ran out (few:
    the batches in flight), then pending rows whose time has come. As one condition joined
    by OR and ordered by id, neither database read an index for it: each claim of 50 read,
    and sorted, every row of the run (on PostgreSQL, of every run: 0.9 s a batch at 2.4
    million rows, so a run's cost grew with its square)."""
    return (
        and_(table.c.status == CLAIMED, table.c.lease_expires_at < now),
        and_(table.c.status == PENDING, table.c.next_attempt_at <= now),
    )


def claim(
    engine: Engine,
    table: Table,
    *,
    where: ColumnElement[bool],
    now: datetime,
    lease: timedelta,
    limit: int,
    returning: Sequence[Any] = (),
) -> tuple[str, list[Row]]:
    """Claim up to `limit` due rows matching `where`; returns the claim token and the rows."""
    token = new_claim_token()
    rows: list[Row] = []
    # On SQLite a writing transaction begins with BEGIN IMMEDIATE (see db.create_database_engine).
    with engine.execution_options(broadsheet_write=True).begin() as connection:
        for condition in _due_branches(table, now):
            if len(rows) >= limit:
                break
            # In the order of the claim index, (…, status, next_attempt_at, id): the first
            # rows it reads are the batch, none sorted.
            candidates = (
                select(table.c.id)
                .where(where, condition)
                .order_by(table.c.next_attempt_at, table.c.id)
                .limit(limit - len(rows))
            )
            chosen: Any = candidates.scalar_subquery()
            if engine.dialect.name == "postgresql":
                # Locked and chosen once, in a materialized CTE: as a subquery, the planner may
                # run it again for each row (a nested loop on a table not yet analysed, as a
                # run's ledger is just after it opens), and each run skips the rows already
                # taken and locks the next ones: a claim of 50 took all 200 rows of a new run.
                locked = candidates.with_for_update(skip_locked=True).cte("candidates")
                chosen = select(locked.prefix_with("MATERIALIZED").c.id)
            statement = (
                update(table)
                # The condition again: PostgreSQL re-checks it on the locked row's latest version.
                .where(table.c.id.in_(chosen), condition)
                .values(
                    status=CLAIMED,
                    claim_token=token,
                    lease_expires_at=now + lease,
                    attempts=table.c.attempts + 1,
                )
                .returning(table.c.id, *returning)
            )
            rows.extend(connection.execute(statement))
    rows.sort(key=lambda row: row.id)
    return token, rows


def held(table: Table, row_id: int, token: str) -> ColumnElement[bool]:
    """The row is still ours: claimed by us and not taken over since."""
    return and_(table.c.id == row_id, table.c.status == CLAIMED, table.c.claim_token == token)


def take(engine: Engine, table: Table, row_id: int, token: str, until: datetime) -> bool:
    """Renew our lease on one row just before working on it; False when it was taken over
    (our lease ran out while we worked on the rows before it) and is no longer ours."""
    with engine.execution_options(broadsheet_write=True).begin() as connection:
        renewed = connection.execute(
            update(table).where(held(table, row_id, token)).values(lease_expires_at=until)
        )
    return renewed.rowcount == 1


def release(
    engine: Engine,
    table: Table,
    token: str,
    row_ids: Sequence[int],
    *,
    due_at: datetime | None = None,
) -> None:
    """Hand back rows claimed and not tried (a clean stop, a server away), their attempts
    as they were: due again at once, or at `due_at`."""
    if not row_ids:
        return
    values: dict[str, Any] = {"next_attempt_at": due_at} if due_at is not None else {}
    with engine.execution_options(broadsheet_write=True).begin() as connection:
        connection.execute(
            update(table)
            .where(table.c.id.in_(row_ids), table.c.claim_token == token, table.c.status == CLAIMED)
            .values(
                status=PENDING,
                claim_token=None,
                lease_expires_at=None,
                attempts=table.c.attempts - 1,
                **values,
            )
        )


def postpone(engine: Engine, table: Table, where: ColumnElement[bool], until: datetime) -> None:
    """Make every waiting row matching `where` due no sooner than `until` (the mail server
    is away: one attempt when it may be back, not one for each batch of rows)."""
    with engine.execution_options(broadsheet_write=True).begin() as connection:
        connection.execute(
            update(table)
            .where(where, table.c.status == PENDING, table.c.next_attempt_at < until)
            .values(next_attempt_at=until)
        )


def backoff(first: timedelta, longest: timedelta, attempts: int) -> timedelta:
    """The wait before attempt `attempts + 1`: doubling from `first`, never past `longest`."""
    doublings = min(max(attempts - 1, 0), 64)  # 2**64 times any first wait passes any longest
    if first.total_seconds() * 2.0**doublings >= longest.total_seconds():
        return longest
    return first * 2**doublings
