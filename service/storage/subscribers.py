"""Subscribers: their status and the record of their consent (who asked, when, from where)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Connection, String, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base


class Status(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"


class Subscriber(Base):
    __tablename__ = "subscribers"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'confirmed', 'unsubscribed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    # The address as compared: lower case, so one person is one row.
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]
    # The consent record: when they asked, from which network address, through which form.
    consented_at: Mapped[datetime]
    consent_ip: Mapped[str | None] = mapped_column(String(45))
    consent_form: Mapped[str] = mapped_column(String(40))
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]


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


def email_key(email: str) -> str:
    return email.strip().lower()


def _row(row) -> SubscriberRow:
    return SubscriberRow(row.id, row.email, row.name, Status(row.status), row.consented_at)


def _insert_new(connection: Connection):
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(Subscriber)


def record_sign_up(
    connection: Connection, email: str, name: str | None, consent: Consent
) -> tuple[SubscriberRow, Status | None]:
    """Add or renew a sign-up; returns the row and the status it had before (None: new).

    A confirmed subscriber is left exactly as is: a stranger typing their address must not
    change their name or their consent record.
    """
    key = email_key(email)
    inserted = connection.execute(
        _insert_new(connection)
        .values(
            email=email.strip(),
            email_key=key,
            name=name,
            status=Status.PENDING,
            created_at=consent.at,
            consented_at=consent.at,
            consent_ip=consent.ip,
            consent_form=consent.form,
        )
        .on_conflict_do_nothing(index_elements=["email_key"])
        .returning(Subscriber.id)
    ).first()
    if inserted is None:
        found = _row(
            connection.execute(select(Subscriber).where(Subscriber.email_key == key)).one()
        )
        if found.status is Status.CONFIRMED:
            return found, found.status
        connection.execute(
            update(Subscriber)
            .where(Subscriber.id == found.id, Subscriber.status != Status.CONFIRMED)
            .values(
                email=email.strip(),
                name=name,
                status=Status.PENDING,
                consented_at=consent.at,
                consent_ip=consent.ip,
                consent_form=consent.form,
                confirmed_at=None,
            )
        )
        previous: Status | None = found.status
        subscriber_id = found.id
    else:
        previous = None
        subscriber_id = inserted.id
    return _row(
        connection.execute(select(Subscriber).where(Subscriber.id == subscriber_id)).one()
    ), previous


def find(connection: Connection, subscriber_id: int) -> SubscriberRow | None:
    row = connection.execute(select(Subscriber).where(Subscriber.id == subscriber_id)).first()
    return _row(row) if row else None


def confirm(connection: Connection, subscriber_id: int, consented_at: datetime, now: datetime):
    """Confirm the sign-up the token was made for; True when that sign-up is (now) confirmed."""
    connection.execute(
        update(Subscriber)
        .where(
            Subscriber.id == subscriber_id,
            Subscriber.status == Status.PENDING,
            Subscriber.consented_at == consented_at,
        )
        .values(status=Status.CONFIRMED, confirmed_at=now)
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
        }
        for row in connection.execute(query)
    ]
