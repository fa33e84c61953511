"""The database handle, the UTC datetime column type and small shared model helpers."""

from __future__ import annotations

import enum
import sqlite3
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Enum, MetaData, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
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

    ``sequence`` grows whenever one of ``sequence_fields`` changes (time, place, status), so
    subscribed calendars replace their copy; ``updated_at`` feeds DTSTAMP, LAST-MODIFIED and
    the HTTP validators.
    """

    sequence_fields: tuple[str, ...] = ()

    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Indexed: the feeds' 304 answers read max(updated_at) and must not scan the table.
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, index=True
    )


@event.listens_for(Session, "before_flush")
def _bump_sequences(session: Session, _context, _instances) -> None:
    for obj in session.dirty:
        if not isinstance(obj, FeedItem):
            continue
        state = inspect(obj)
        if any(state.attrs[name].history.has_changes() for name in obj.sequence_fields):
            obj.sequence = (obj.sequence or 0) + 1
