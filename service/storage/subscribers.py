"""Subscribers: their status and the record of their consent (who asked, when, from where)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, case, insert, null, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .db import UtcDateTime
from .models import ConfirmedConsent, Status, Subscriber


@dataclass(frozen=True, slots=True)
class Consent:
    at: datetime
    ip: str | None
    form: str


@dataclass(frozen=True, slots=True)
class SubscriberRow:
    id: int
    email: str
    name: str | None
    status: Status
    consented_at: datetime
    created_at: datetime


def email_key(email: str) -> str:
    return email.strip().lower()


def _row(row) -> SubscriberRow:
    return SubscriberRow(
        row.id, row.email, row.name, Status(row.status), row.consented_at, row.created_at
    )


def _sign_up_statement(dialect_name: str):
    """One statement for every sign-up, new address or known: an upsert that leaves a
    confirmed subscriber as they are and makes anyone else pending with this consent."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(Subscriber).values(
        email=bindparam("email"),
        email_key=bindparam("email_key"),
        name=bindparam("name"),
        status=Status.PENDING.value,
        created_at=bindparam("at", type_=UtcDateTime()),
        consented_at=bindparam("at", type_=UtcDateTime()),
        consent_ip=bindparam("ip"),
        consent_form=bindparam("form"),
    )
    new = statement.excluded
    confirmed = Subscriber.status == Status.CONFIRMED.value

    def keep_if_confirmed(column, value):
        return case((confirmed, column), else_=value)

    return statement.on_conflict_do_update(
        index_elements=["email_key"],
        set_={
            "email": keep_if_confirmed(Subscriber.email, new.email),
            "name": keep_if_confirmed(Subscriber.name, new.name),
            "status": keep_if_confirmed(Subscriber.status, new.status),
            "consented_at": keep_if_confirmed(Subscriber.consented_at, new.consented_at),
            "consent_ip": keep_if_confirmed(Subscriber.consent_ip, new.consent_ip),
            "consent_form": keep_if_confirmed(Subscriber.consent_form, new.consent_form),
            "confirmed_at": keep_if_confirmed(Subscriber.confirmed_at, null()),
        },
    ).returning(
        Subscriber.id,
        Subscriber.email,
        Subscriber.name,
        Subscriber.status,
        Subscriber.consented_at,
        Subscriber.created_at,
    )


_SIGN_UP = {name: _sign_up_statement(name) for name in ("postgresql", "sqlite")}


def record_sign_up(
    connection: Connection, email: str, name: str | None, consent: Consent
) -> SubscriberRow:
    """Add or renew a sign-up in one statement, the same whoever signs up.

    A confirmed subscriber is left exactly as is (the row comes back confirmed): a
    stranger typing their address must not change their name or their consent record.
    """
    row = connection.execute(
        _SIGN_UP[connection.dialect.name],
        {
            "email": email.strip(),
            "email_key": email_key(email),
            "name": name,
            "at": consent.at,
            "ip": consent.ip,
            "form": consent.form,
        },
    ).one()
    return _row(row)


def find(connection: Connection, subscriber_id: int) -> SubscriberRow | None:
    row = connection.execute(select(Subscriber).where(Subscriber.id == subscriber_id)).first()
    return _row(row) if row else None


def confirm(connection: Connection, subscriber_id: int, consented_at: datetime, now: datetime):
    """Confirm the sign-up the token was made for; True when that sign-up is (now) confirmed.
    The consent confirmed now is also kept apart, for good (ConfirmedConsent)."""
    confirmed = connection.execute(
        update(Subscriber)
        .where(
            Subscriber.id == subscriber_id,
            Subscriber.status == Status.PENDING,
            Subscriber.consented_at == consented_at,
        )
        .values(status=Status.CONFIRMED, confirmed_at=now, unsubscribed_at=None)
    )
    if confirmed.rowcount == 1:
        connection.execute(
            insert(ConfirmedConsent).from_select(
                ["subscriber_id", "consented_at", "consent_ip", "consent_form", "confirmed_at"],
                select(
                    Subscriber.id,
                    Subscriber.consented_at,
                    Subscriber.consent_ip,
                    Subscriber.consent_form,
                    Subscriber.confirmed_at,
                ).where(Subscriber.id == subscriber_id),
            )
        )
    row = find(connection, subscriber_id)
    return row is not None and row.status is Status.CONFIRMED and row.consented_at == consented_at


def unsubscribe(connection: Connection, subscriber_id: int, now: datetime) -> bool:
    """Unsubscribe; True when the subscriber exists (leaving twice is fine)."""
    connection.execute(
        update(Subscriber)
        .where(Subscriber.id == subscriber_id, Subscriber.status != Status.UNSUBSCRIBED)
        .values(status=Status.UNSUBSCRIBED, unsubscribed_at=now)
    )
    return find(connection, subscriber_id) is not None


def page(
    connection: Connection, *, after: int = 0, limit: int = 100, status: Status | None = None
) -> list[dict]:
    """One page of subscribers in id order, for the API, starting after id `after`."""
    query = select(Subscriber).where(Subscriber.id > after).order_by(Subscriber.id).limit(limit)
    if status is not None:
        query = query.where(Subscriber.status == status)
    rows = list(connection.execute(query))
    history: dict[int, list[dict]] = {row.id: [] for row in rows}
    if rows:
        for kept in connection.execute(
            select(ConfirmedConsent)
            .where(ConfirmedConsent.subscriber_id.in_(list(history)))
            .order_by(ConfirmedConsent.id)
        ):
            history[kept.subscriber_id].append(
                {
                    "at": kept.consented_at,
                    "ip": kept.consent_ip,
                    "form": kept.consent_form,
                    "confirmed_at": kept.confirmed_at,
                }
            )
    return [
        {
            "id": row.id,
            "email": row.email,
            "name": row.name,
            "status": row.status,
            "created_at": row.created_at,
            "consent": {
                "at": row.consented_at,
                "ip": row.consent_ip,
                "form": row.consent_form,
                "confirmed_at": row.confirmed_at,
            },
            "unsubscribed_at": row.unsubscribed_at,
            "confirmed_consents": history[row.id],
        }
        for row in rows
    ]
