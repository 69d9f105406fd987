"""Printed PDFs kept with the article version they show, and the claim on each print.

A print is claimed in the database before it starts, so two processes never lay out the
same version twice; a claim older than `stale_before` belongs to a process that died.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from .articles import could_be_stored
from .models import ArticlePdf, StoredArticle


@dataclass(frozen=True, slots=True)
class PdfState:
    """Where an article's PDF stands; `version` is None when no print was ever asked for."""

    article_version: str
    version: str | None
    layout: str | None
    etag: str | None
    data: bytes | None
    failure: str | None
    retry_after: datetime | None
    printed_at: datetime | None
    warnings: str | None = None  # what the PDF left out, one warning a line

    @property
    def current(self) -> bool:
        """Printed, or refused, for the article's present version."""
        return self.version == self.article_version

    def refusal(self, layout: str, now: datetime) -> str | None:
        """Why this version cannot be printed with `layout`, while the refusal holds."""
        if self.failure is None or self.layout != layout or self.due_again(now):
            return None
        return self.failure

    def due_again(self, now: datetime) -> bool:
        """The outcome may come out better now (see ArticlePdf.retry_after)."""
        return self.retry_after is not None and self.retry_after <= now


def pdf_state(session: Session, article_id: str) -> PdfState | None:
    """The PDF of the article's present version, or None when there is no such article."""
    if not could_be_stored(article_id):
        return None
    row = session.execute(
        select(
            StoredArticle.version,
            ArticlePdf.version,
            ArticlePdf.layout,
            ArticlePdf.etag,
            ArticlePdf.data,
            ArticlePdf.failure,
            ArticlePdf.retry_after,
            ArticlePdf.printed_at,
            ArticlePdf.warnings,
        )
        .outerjoin(ArticlePdf, ArticlePdf.article_id == StoredArticle.id)
        .where(StoredArticle.id == article_id)
    ).first()
    return PdfState(*row) if row else None


def claim_print(
    session: Session,
    article_id: str,
    version: str,
    layout: str,
    now: datetime,
    stale_before: datetime,
) -> bool:
    """Take on printing `version` with `layout`: False if done, refused, or claimed by someone
    alive. An outcome whose `retry_after` has come may be printed again."""
    claimed = session.execute(
        update(ArticlePdf)
        .where(
            ArticlePdf.article_id == article_id,
            ArticlePdf.version == version,
            or_(
                ArticlePdf.layout.is_(None),
                ArticlePdf.layout != layout,
                and_(ArticlePdf.retry_after.is_not(None), ArticlePdf.retry_after <= now),
            ),
            or_(ArticlePdf.claimed_at.is_(None), ArticlePdf.claimed_at < stale_before),
        )
        .values(claimed_at=now)
    )
    return claimed.rowcount == 1  # type: ignore[attr-defined]


def save_print(
    session: Session,
    article_id: str,
    version: str,
    layout: str,
    etag: str,
    data: bytes,
    now: datetime,
    retry_after: datetime | None = None,
    warnings: Sequence[str] = (),
) -> bool:
    """Keep the PDF with its version (to be printed again after `retry_after`, if given)
    and what it left out; False when the article was replaced or deleted meanwhile."""
    saved = session.execute(
        update(ArticlePdf)
        .where(ArticlePdf.article_id == article_id, ArticlePdf.version == version)
        .values(layout=layout, etag=etag, data=data, failure=None, retry_after=retry_after)
        .values(claimed_at=None, printed_at=now, warnings="\n".join(warnings) or None)
    )
    return saved.rowcount == 1  # type: ignore[attr-defined]


def save_failure(
    session: Session,
    article_id: str,
    version: str,
    layout: str,
    failure: str,
    retry_after: datetime | None = None,
) -> None:
    """Record that this version cannot be printed with this layout, so no one tries again:
    for good, or until `retry_after` when the refusal may pass (a time limit under load)."""
    session.execute(
        update(ArticlePdf)
        .where(ArticlePdf.article_id == article_id, ArticlePdf.version == version)
        .values(layout=layout, etag=None, data=None, failure=failure, retry_after=retry_after)
        .values(warnings=None)
        .values(claimed_at=None)
    )


def release_claim(session: Session, article_id: str, version: str) -> None:
    """Give the print up after a passing failure, so the next reader may try again."""
    session.execute(
        update(ArticlePdf)
        .where(ArticlePdf.article_id == article_id, ArticlePdf.version == version)
        .values(claimed_at=None)
    )
