"""The database handle, the UTC datetime column type and small shared model helpers."""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import ClassVar, Protocol

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Column, DateTime, Enum, Insert, MetaData, Select, event, inspect, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, InstanceState, Mapped, Session, mapped_column
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

# ----------------------------------------------------------------------------- the unit of work

_IN_UNIT = "in_unit_of_work"


class OutsideUnitOfWork(RuntimeError):
    """A write, a lock or an audit entry was attempted outside ``unit_of_work()``."""


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """The one transaction of a change: commit when the outermost block ends, roll back if it
    raises.

    The convention everywhere: each public service function that changes data runs in
    ``with unit_of_work():``; the steps it calls only flush; the audit entry and the outbox
    rows are added inside the same block. A service function called from another joins the
    caller's unit (like a nested ``transaction.atomic()``), so a refusal raised anywhere rolls
    back the whole change and nothing is committed twice. Entering the outermost unit with
    unsaved changes in the session is refused: rows must never travel into someone else's
    commit.
    """
    session = db.session()
    if session.info.get(_IN_UNIT):
        yield session
        return
    if session.new or session.dirty or session.deleted:
        raise OutsideUnitOfWork("changes were made outside a unit of work")
    session.info[_IN_UNIT] = True
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(_IN_UNIT, None)


def require_unit_of_work(what: str) -> None:
    """Refuse ``what`` (a lock, an audit entry, an outbox row) outside a unit of work."""
    if not db.session().info.get(_IN_UNIT):
        raise OutsideUnitOfWork(f"{what} needs a unit of work (bookings.db.unit_of_work)")


class StaleEdit(Exception):
    """Someone else saved the record since this form was opened; the message, for the
    organiser, names the record (``what``)."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"Someone else saved this {what} while you were editing it, so your changes "
            "(below) were not saved. Open the page again to start from the saved version."
        )


class Versioned(Protocol):
    """A record with a SQLAlchemy ``version_id_col`` named ``version``."""

    version: int


@contextmanager
def saved_unless_stale(record: Versioned, version: int, what: str) -> Iterator[None]:
    """Run an edit of ``record`` as a unit of work, unless someone else saved the record after
    the form was opened at ``version``: then nothing is saved and ``StaleEdit`` is raised.

    The comparison catches a form opened before a colleague's save; the mapper's version check
    catches a save landing while this one is written (``StaleDataError`` at a flush, which any
    query in the edit may cause).
    """
    if record.version != version:
        raise StaleEdit(what)
    try:
        with unit_of_work():
            yield
    except StaleDataError:
        raise StaleEdit(what) from None


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and always returns them aware, in UTC.

    SQLite keeps no zone, PostgreSQL keeps ``timestamptz``; both come back as UTC here, so no
    other code needs to know which database it runs on. Naive datetimes are refused: they are
    the classic source of hour-off bugs around the clock change.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a zone first")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def string_enum(cls: type[enum.Enum], name: str) -> Enum:
    """Enums stored as their values in a VARCHAR with a CHECK, the same on SQLite and PostgreSQL."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


def paged(query: Select, page: int, per_page: int) -> Pagination:
    """One page of ``query`` (LIMIT and OFFSET) and its total (a COUNT): two statements,
    however many rows match, so a list of 471 delegates costs what a list of 5 does. A page
    beyond the end (an old link, a hand-typed number) shows the last page instead."""
    result = db.paginate(
        query, page=max(page, 1), per_page=per_page, max_per_page=per_page, error_out=False
    )
    if not result.items and result.page > 1 and result.total:
        result = db.paginate(
            query, page=result.pages, per_page=per_page, max_per_page=per_page, error_out=False
        )
    return result


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets readers go on while one writer books; the busy timeout makes writers queue."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


class FeedItem:
    """Mixin for records that appear in iCalendar feeds.

    The two flush listeners below are the one mechanism that moves their SEQUENCE and update
    time; no service sets either. What each model declares:

    - ``sequence_fields``: a change to one bumps ``sequence``, so subscribed calendars replace
      their copy (time, place, status); ``shown_by`` names the collections whose feed entries
      show those fields too (a network's name in each of its meetings): theirs grow with it.
    - ``updated_at`` (DTSTAMP, LAST-MODIFIED, the HTTP validators) moves with any change of the
      row.
    - ``part_of``: the foreign key of the record whose feed shows this one (a programme
      session's event). Adding, changing or deleting this one, its collections included (a
      session's speakers), moves that record's ``updated_at`` by a plain UPDATE that leaves its
      ``version`` alone: a deleted row leaves no newer update time behind, and an organiser's
      open edit of the event must not become stale because its programme changed.
    """

    sequence_fields: ClassVar[tuple[str, ...]] = ()
    shown_by: ClassVar[tuple[str, ...]] = ()
    part_of: ClassVar[str | None] = None

    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Indexed: the feeds' 304 answers read max(updated_at) and must not scan the table.
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, index=True
    )


def _changed(state: InstanceState, names: tuple[str, ...]) -> bool:
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "before_flush")
def _feed_items_changed(session: Session, _context, _instances) -> None:
    """Bump the SEQUENCE of changed feed items and of the entries showing them."""
    for obj in list(session.dirty):
        if not isinstance(obj, FeedItem):
            continue
        if _changed(inspect(obj), obj.sequence_fields):
            obj.sequence = (obj.sequence or 0) + 1
            for name in obj.shown_by:
                for shown in getattr(obj, name):
                    shown.sequence = (shown.sequence or 0) + 1


@event.listens_for(Session, "after_flush")
def _feed_parts_changed(session: Session, _context) -> None:
    """Move the update time of each record a flushed part belongs to (``FeedItem.part_of``).

    After the flush, so that a new part's foreign key is known; the session still lists what
    was new, changed and deleted.
    """
    touched: dict[Column, set[int]] = {}
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, FeedItem) or obj.part_of is None:
            continue
        if obj in session.dirty and not session.is_modified(obj):
            continue
        parent_id = inspect(obj).dict.get(obj.part_of)
        if parent_id is not None:
            (key,) = inspect(type(obj)).columns[obj.part_of].foreign_keys
            touched.setdefault(key.column, set()).add(parent_id)
    for column, ids in touched.items():
        session.connection().execute(
            update(column.table).where(column.in_(ids)).values(updated_at=utcnow())
        )


def insert_ignoring_duplicates(model: type) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` for this database: how a unique key makes
    something happen once, however many transactions try at the same time (chain
    ``.on_conflict_do_nothing()`` and, to learn what was written, ``.returning()``)."""
    if db.engine.dialect.name == "postgresql":
        return postgresql_insert(model)
    return sqlite_insert(model)
