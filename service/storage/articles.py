"""Articles in the database: store, replace, fetch, delete, and list them newest first."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from ..article import ARTICLE_ID, Article, Paragraph
from ..characters import cut_at_word, squeezed
from ..errors import ArticleConflict, BadArticle, PreconditionFailed
from ..inline import written_url
from ..validation import validate_article
from .db import date_write
from .models import ArticleDeletion, ArticlePdf, StoredArticle

SUMMARY_LENGTH = 280
# The one row of article_deletions: when an article was last deleted, under no article's
# id (an id is never empty), so a deleted article leaves nothing of itself behind.
LAST_DELETION = ""
SECOND = timedelta(seconds=1)


def could_be_stored(article_id: str) -> bool:
    """Whether `article_id` is an id at all: anything else is unknown without a query (and
    PostgreSQL refuses some text outright, a NUL character among it)."""
    return ARTICLE_ID.fullmatch(article_id) is not None


def next_stored_at(previous: datetime | None, now: datetime) -> datetime:
    """When a new version is stored: now, but never within or before the second of the
    version it replaces, so that Last-Modified, which counts whole seconds, tells every two
    versions apart (If-Unmodified-Since, If-Modified-Since) and never goes back when writers
    that waited on one another commit in another order than they came."""
    if previous is None:
        return now
    return max(now, previous.replace(microsecond=0) + SECOND)


def content_version(document: dict[str, Any]) -> str:
    """The article's version: a hash of its JSON as GET /v1/articles/{id} writes it, the
    order of its keys included. Hashed with its keys sorted, two bodies (one stored, deleted,
    then stored again in another order) had one strong ETag, and a client holding the first
    was told 304; and a PUT that only reordered the keys was not stored."""
    written = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(written.encode("utf-8")).hexdigest()[:32]


def summary_text(article: Article) -> str:
    """The standfirst, or else the first paragraph cut at a word boundary (any
    bidirectional control the cut left open closed, so it cannot reorder what follows)."""
    if article.standfirst:
        return article.standfirst.plain_in(article.language)
    first = next((block for block in article.body if isinstance(block, Paragraph)), None)
    text = squeezed(first.text.plain_in(article.language)) if first else ""
    return cut_at_word(text, SUMMARY_LENGTH)


@dataclass(frozen=True, slots=True)
class Preconditions:
    """What the client said the stored article must be (RFC 9110 §13): `If-Match`, else
    `If-Unmodified-Since`; then `If-None-Match`.

    Each tag set is None when the header was absent, else its entity tags ("*" for any).
    """

    if_match: frozenset[str] | None = None
    if_none_match: frozenset[str] | None = None
    if_unmodified_since: datetime | None = None

    def check(self, current: str | None, stored_at: datetime | None = None) -> None:
        if self.if_match is not None and (
            current is None or ("*" not in self.if_match and current not in self.if_match)
        ):
            raise PreconditionFailed(
                "The article is not at the version named in If-Match"
                + (": it does not exist." if current is None else f'; it is at "{current}".')
            )
        since = self.if_unmodified_since
        if self.if_match is None and since is not None and stored_at is not None:
            # Last-Modified says whole seconds; so is the comparison (§13.1.4).
            if stored_at.replace(microsecond=0) > since:
                raise PreconditionFailed(
                    "The article has changed since If-Unmodified-Since: it was stored at "
                    f"{stored_at.replace(microsecond=0).isoformat()}."
                )
        if (
            self.if_none_match is not None
            and current is not None
            and ("*" in self.if_none_match or current in self.if_none_match)
        ):
            raise PreconditionFailed(f'The article already exists, at version "{current}".')


@dataclass(frozen=True, slots=True)
class Stored:
    """The outcome of a PUT: the row as it now stands, and what changed."""

    article: StoredArticle
    created: bool
    changed: bool  # a new version, which needs a new PDF


CREATE_ATTEMPTS = 10


def _writers_of_one_id_in_turn(session: Session, article_id: str) -> None:
    """On PostgreSQL, the writers (PUT and DELETE) of one id take turns for the rest of the
    transaction, under an advisory lock on the id: a row lock cannot hold an article that
    does not exist yet, and creators racing deleters kept taking it from under each other.
    SQLite's write lock already makes every writer wait its turn."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(article_id, 0))))


def put_article(
    session: Session,
    article: Article,
    document: dict[str, Any],
    now: datetime | None = None,
    preconditions: Preconditions = Preconditions(),
) -> Stored:
    """Create or replace the article; two writers racing on one id both end with a whole row.

    The moment it is stored at is read once the row (or SQLite's write lock) is held, unless
    `now` is given: a writer that waited for the lock across a second must not date its
    version in a second readers were already told is over (a list's Last-Modified)."""
    version = content_version(document)
    _writers_of_one_id_in_turn(session, article.id)
    for _attempt in range(CREATE_ATTEMPTS):
        row = session.get(StoredArticle, article.id, with_for_update=True)
        moment = now or date_write(session)
        preconditions.check(row.version if row else None, row.stored_at if row else None)
        if row is not None:
            break
        # After a deletion, the version it removed may have been stored this very second,
        # and its deletion dated after it: the new version follows the latest deletion.
        deleted = session.get(ArticleDeletion, LAST_DELETION)
        previous = deleted.deleted_at if deleted is not None else None
        row = StoredArticle(id=article.id)
        _fill(row, article, document, version, next_stored_at(previous, moment))
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()  # the article first: its PDF row refers to it
                session.add(ArticlePdf(article_id=article.id, version=version))
        except IntegrityError:
            # Another writer created it between our look and our insert (PostgreSQL raises
            # only once that writer has committed): look again, and replace what it stored,
            # or create it after all if a deletion took it meanwhile.
            session.expunge_all()
            continue
        return Stored(row, created=True, changed=True)
    else:  # writers and deleters kept taking it from under us; the client may try again
        raise ArticleConflict("It kept being created and deleted meanwhile; try again.")
    if row.version == version:
        return Stored(row, created=False, changed=False)
    _fill(row, article, document, version, next_stored_at(row.stored_at, moment))
    reset = session.execute(
        update(ArticlePdf)
        .where(ArticlePdf.article_id == article.id)
        .values(version=version, layout=None, etag=None, data=None, failure=None)
        .values(claimed_at=None, printed_at=None)
    )
    if reset.rowcount == 0:  # type: ignore[attr-defined]
        session.add(ArticlePdf(article_id=article.id, version=version))
    return Stored(row, created=False, changed=True)


def _fill(
    row: StoredArticle, article: Article, document: dict[str, Any], version: str, now: datetime
) -> None:
    row.kind = article.kind
    row.language = article.language
    row.headline = article.headline.plain_in(article.language)
    row.summary = summary_text(article)
    row.published_at = article.published_at
    row.updated_at = article.updated_at
    row.stored_at = now
    row.version = version
    row.document = document
    # Written whatever it equals: SQLAlchemy compares a JSON value with ==, to which the
    # order of keys (and 1 against 1.0) is no change, and kept the old text under a new
    # version.
    flag_modified(row, "document")


def get_article(session: Session, article_id: str) -> StoredArticle | None:
    if not could_be_stored(article_id):
        return None
    return session.get(StoredArticle, article_id)


def stored_rows(session: Session, article_ids: Sequence[str]) -> dict[str, StoredArticle]:
    """The rows of `article_ids` that are stored, by id (one deleted meanwhile is not)."""
    if not article_ids:
        return {}
    rows = session.scalars(select(StoredArticle).where(StoredArticle.id.in_(set(article_ids))))
    return {row.id: row for row in rows}


def article_of(row: StoredArticle) -> Article:
    """The stored JSON as an `Article`; stored JSON that no longer validates is our fault."""
    try:
        return validate_article(row.document, stored=True)
    except BadArticle as error:
        pointers = ", ".join(e.pointer for e in error.errors[:5])
        raise RuntimeError(f"Stored article {row.id!r} no longer validates ({pointers})") from None


def delete_article(
    session: Session,
    article_id: str,
    now: datetime | None = None,
    preconditions: Preconditions = Preconditions(),
) -> bool:
    """Delete the article and its PDF; False when there was none. The moment of deletion is
    read once the row is held, unless `now` is given (see put_article)."""
    if not could_be_stored(article_id):
        return False
    _writers_of_one_id_in_turn(session, article_id)
    row = session.get(StoredArticle, article_id, with_for_update=True)
    if row is None:
        return False
    preconditions.check(row.version, row.stored_at)
    # Never dated before the version it removes (stored ahead after quick edits), so the
    # version created next is dated after both and If-Unmodified-Since keeps its meaning.
    deleted_at = next_stored_at(row.stored_at, now or date_write(session))
    session.execute(delete(StoredArticle).where(StoredArticle.id == article_id))
    _writers_of_one_id_in_turn(session, LAST_DELETION)  # deleters take turns on its row
    latest = session.get(ArticleDeletion, LAST_DELETION)
    if latest is None:
        session.add(ArticleDeletion(id=LAST_DELETION, deleted_at=deleted_at))
    elif latest.deleted_at < deleted_at:
        latest.deleted_at = deleted_at
    return True


# Lists ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArticleSummary:
    """What a list or a feed shows of an article, without loading its JSON."""

    id: str
    kind: str
    language: str
    headline: str
    summary: str
    published_at: datetime
    updated_at: datetime | None
    stored_at: datetime
    version: str

    @classmethod
    def of(cls, row: StoredArticle) -> ArticleSummary:
        return cls(*(getattr(row, column.key) for column in _SUMMARY_COLUMNS))


_SUMMARY_COLUMNS = (
    StoredArticle.id,
    StoredArticle.kind,
    StoredArticle.language,
    StoredArticle.headline,
    StoredArticle.summary,
    StoredArticle.published_at,
    StoredArticle.updated_at,
    StoredArticle.stored_at,
    StoredArticle.version,
)


class BadCursor(ValueError):
    """A cursor this service did not write."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ends in the order (published_at, id), newest first; opaque to clients."""

    published_at: datetime
    id: str

    def encode(self) -> str:
        raw = json.dumps([self.published_at.isoformat(), self.id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        # A cursor comes back from the client: it is read as strictly as any other input.
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            moment, article_id = json.loads(raw)
            published_at = datetime.fromisoformat(moment)
            published_at.astimezone(UTC)  # how it is compared in the database
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, RecursionError,
                OverflowError):  # fmt: skip
            raise BadCursor("is not a cursor from a previous page") from None
        if (
            not isinstance(article_id, str)
            or not ARTICLE_ID.fullmatch(article_id)
            or published_at.tzinfo is None
        ):
            raise BadCursor("is not a cursor from a previous page")
        return cls(published_at, article_id)


@dataclass(frozen=True, slots=True)
class ArticleQuery:
    kind: str | None = None
    since: datetime | None = None  # published at or after
    until: datetime | None = None  # published before
    after: Cursor | None = None
    limit: int = 20


@dataclass(frozen=True, slots=True)
class ArticlePage:
    items: list[ArticleSummary]
    next: Cursor | None


def list_articles(session: Session, query: ArticleQuery) -> ArticlePage:
    """One page of summaries, newest first, and the cursor of the next page if there is one."""
    statement = select(*_SUMMARY_COLUMNS)
    if query.kind is not None:
        statement = statement.where(StoredArticle.kind == query.kind)
    if query.since is not None:
        statement = statement.where(StoredArticle.published_at >= query.since)
    if query.until is not None:
        statement = statement.where(StoredArticle.published_at < query.until)
    if query.after is not None:
        statement = statement.where(
            or_(
                StoredArticle.published_at < query.after.published_at,
                and_(
                    StoredArticle.published_at == query.after.published_at,
                    StoredArticle.id < query.after.id,
                ),
            )
        )
    statement = statement.order_by(
        StoredArticle.published_at.desc(), StoredArticle.id.desc()
    ).limit(query.limit + 1)
    items = [ArticleSummary(*row) for row in session.execute(statement)]
    more = len(items) > query.limit
    items = items[: query.limit]
    last = items[-1] if more else None
    return ArticlePage(items, Cursor(last.published_at, last.id) if last else None)


@dataclass(frozen=True, slots=True)
class Byline:
    """One name an article is credited to, with its link if it has one."""

    name: str
    url: str | None = None


def bylines(session: Session, ids: Sequence[str]) -> dict[str, tuple[Byline, ...]]:
    """Whom each article credits: its authors, else its publisher, else no one (a feed then
    credits the site). Read out of the stored JSON in the query, not the whole document
    (whose images may weigh megabytes); each value was checked when it was stored."""
    if not ids:
        return {}
    document = StoredArticle.document
    statement = select(StoredArticle.id, document["authors"], document["publisher"])
    credited = {}
    for article_id, authors, publisher in session.execute(
        statement.where(StoredArticle.id.in_(ids))
    ):
        named = authors or ([publisher] if publisher else [])
        credited[article_id] = tuple(
            Byline(person["name"], written_url(person["url"]) if person.get("url") else None)
            for person in named
        )
    return credited


def ids_published_between(
    session: Session,
    start: datetime,
    end: datetime,
    kind: str | None = None,
    limit: int | None = None,
) -> list[str]:
    """The ids of the articles (of `kind`) published in [start, end), oldest first: an
    edition's; the first `limit` of them when a limit is given. Ids alone: what the
    articles will cost is known before any document is read (stored_rows reads them)."""
    statement = select(StoredArticle.id).where(
        StoredArticle.published_at >= start, StoredArticle.published_at < end
    )
    if kind is not None:
        statement = statement.where(StoredArticle.kind == kind)
    order = (StoredArticle.published_at, StoredArticle.id)
    return list(session.scalars(statement.order_by(*order).limit(limit)))


def last_change(session: Session) -> datetime | None:
    """When any list of articles last changed: a store or a deletion.

    Of any kind, whichever list asks: an article stored again as another kind leaves one
    list and joins another, and the list it left changed then too.
    """
    moments = [
        session.scalar(select(func.max(StoredArticle.stored_at))),
        session.scalar(select(func.max(ArticleDeletion.deleted_at))),
    ]
    return max((moment for moment in moments if moment is not None), default=None)
