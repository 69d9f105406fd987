"""An article's version is a hash of its JSON as GET /v1/articles/{id} writes it, the order
of its keys included: hashed with its keys sorted, two bodies had one strong ETag. The
versions of the articles stored before are hashed again, so that the same body sent again
is no change, and each PDF row follows its article's version (a PDF printed from it stays
current). The downgrade hashes them the old way again. A SQL script (`db upgrade --sql`)
cannot, and says in a comment what follows: an unchanged article sent again is stored once
more as a change.

A frozen copy of the rule (service/storage/articles.py content_version): a migration must
do what it did when it was written, whatever the code becomes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:10:00.000000
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500  # articles read at a time: a document may hold 2 MiB

articles = sa.table(
    "articles",
    sa.column("id", sa.String),
    sa.column("version", sa.String),
    sa.column("document", sa.JSON),
)
pdfs = sa.table("article_pdfs", sa.column("article_id", sa.String), sa.column("version", sa.String))


def _version(document: dict[str, Any], sort_keys: bool) -> str:
    written = json.dumps(document, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(written.encode("utf-8")).hexdigest()[:32]


def _hash_again(sort_keys: bool) -> None:
    if context.is_offline_mode():  # a script cannot hash what it does not read
        op.execute(
            "-- 0010 cannot hash the stored articles' versions again in a script: each article "
            "stored before it, sent again unchanged, is stored once more as a change (a new "
            "ETag, its PDF printed again)"
        )
        return
    connection = op.get_bind()
    query = sa.select(articles.c.id, articles.c.version, articles.c.document).order_by(
        articles.c.id
    )
    last = None
    while True:
        batch = connection.execute(
            (query if last is None else query.where(articles.c.id > last)).limit(BATCH)
        ).all()
        for article_id, old, document in batch:
            new = _version(document, sort_keys)
            if new == old:
                continue
            connection.execute(
                articles.update().where(articles.c.id == article_id).values(version=new)
            )
            connection.execute(
                pdfs.update()
                .where(pdfs.c.article_id == article_id, pdfs.c.version == old)
                .values(version=new)
            )
        if len(batch) < BATCH:
            return
        last = batch[-1][0]


def upgrade() -> None:
    _hash_again(sort_keys=False)


def downgrade() -> None:
    _hash_again(sort_keys=True)
