"""Reference lists (sectors, LSCBs), delegates' bookings and the places held for LSCBs."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column, relationship

from bookings.db import UTCDateTime, db, string_enum, utcnow
from bookings.events.models import Event


class Sector(db.Model):
    """A delegate's professional sector. Retired sectors stay on old bookings and in statistics."""

    __tablename__ = "sectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    retired: Mapped[bool] = mapped_column(default=False)

    def __str__(self) -> str:
        return self.name

    @classmethod
    def display_order(cls) -> tuple[InstrumentedAttribute, ...]:
        """The order the booking form, the console and the statistics list sectors in."""
        return (cls.position, cls.name)


class LscbKind(enum.StrEnum):
    """A London board, the "Outside London" entry, or "Not linked to an LSCB"."""

    london = "london"
    outside = "outside"
    none = "none"


class Lscb(db.Model):
    """A local safeguarding children board, reference data like sectors: a booking records one,
    the purge keeps it, the statistics count by it. Retired ones stay on old bookings."""

    __tablename__ = "lscbs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    retired: Mapped[bool] = mapped_column(default=False)
    kind: Mapped[LscbKind] = mapped_column(
        string_enum(LscbKind, "lscb_kind"), default=LscbKind.london
    )

    def __str__(self) -> str:
        return self.name

    @classmethod
    def display_order(cls) -> tuple[InstrumentedAttribute, ...]:
        return (cls.position, cls.name)


class Allocation(db.Model):
    """``reserved`` places of an event held for one LSCB until the event's release time, taken
    only through the LSCB's own booking link. What is still held is counted from the bookings
    that took one (``Booking.allocation_id``), never stored.

    The link's secret is an HMAC of ``token_salt`` under the app's secret key (as the manage
    link's), so the console can show it again; it is found by its SHA-256 (``token_hash``)."""

    __tablename__ = "allocations"
    __table_args__ = (
        UniqueConstraint("event_id", "lscb_id"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    lscb_id: Mapped[int] = mapped_column(ForeignKey("lscbs.id"), index=True)
    reserved: Mapped[int] = mapped_column(default=0)
    token_salt: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[Event] = relationship()
    lscb: Mapped[Lscb] = relationship()


class SectorLimit(db.Model):
    """A sector's share of an event's places: a floor (``min_percent`` of capacity held for the
    sector until ``until``, None: until booking closes) and/or a cap (``max_percent`` of capacity
    the sector's confirmed places may never exceed)."""

    __tablename__ = "sector_limits"
    __table_args__ = (
        UniqueConstraint("event_id", "sector_id"),
        CheckConstraint("min_percent IS NULL OR min_percent BETWEEN 0 AND 100", name="min_percent"),
        CheckConstraint("max_percent IS NULL OR max_percent BETWEEN 0 AND 100", name="max_percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    sector_id: Mapped[int] = mapped_column(ForeignKey("sectors.id"), index=True)
    min_percent: Mapped[int | None] = mapped_column()
    max_percent: Mapped[int | None] = mapped_column()
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()
    sector: Mapped[Sector] = relationship()


class BookingStatus(enum.StrEnum):
    confirmed = "confirmed"
    waitlisted = "waitlisted"
    cancelled = "cancelled"


# A booking that holds a place or a place in the queue.
ACTIVE_STATUSES = (BookingStatus.confirmed, BookingStatus.waitlisted)


class BookingGroup(db.Model):
    """A team booked in one form by one booker (a training co-ordinator): each colleague has
    their own booking; the booker has a secret link to the group's page, made like a manage
    link (``tokens.team_token``). The booker's name and address are personal data: the purge
    blanks them with the event's bookings."""

    __tablename__ = "booking_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    token_salt: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    booker_name: Mapped[str] = mapped_column(String(120))
    booker_email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()


class Booking(db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        # One active booking per address per event, enforced by the database itself.
        Index(
            "uq_bookings_active_email",
            "event_id",
            "email_key",
            unique=True,
            sqlite_where=text("status != 'cancelled'"),
            postgresql_where=text("status != 'cancelled'"),
        ),
        Index("ix_bookings_event_status_queued", "event_id", "status", "queued_at"),
        # The sector statistics read only this index, never the table (bookings.stats.service).
        Index("ix_bookings_sector_stats", "event_id", "sector_id", "status", "attended_at"),
        Index("ix_bookings_lscb_stats", "event_id", "lscb_id", "status", "attended_at"),
        # The booking's count of places under the event's lock (booking.service._counts)
        # reads only this index: at 3,000 bookings 0.4 ms instead of 1.5 ms on SQLite.
        Index(
            "ix_bookings_places",
            "event_id",
            "status",
            "sector_id",
            "allocation_id",
            "email_key",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    reference: Mapped[str] = mapped_column(String(9), unique=True)
    # The manage-link token is an HMAC of this salt under the app's secret key, so links can be
    # written into any later e-mail, yet the database alone yields no working link. The token is
    # found by its SHA-256, so a guessed token is never compared against stored secrets.
    token_salt: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[BookingStatus] = mapped_column(string_enum(BookingStatus, "booking_status"))
    sector_id: Mapped[int] = mapped_column(ForeignKey("sectors.id"), index=True)
    lscb_id: Mapped[int] = mapped_column(ForeignKey("lscbs.id"), index=True)
    # The LSCB's reserved place this booking took; kept when it is cancelled, for the take-up.
    allocation_id: Mapped[int | None] = mapped_column(
        ForeignKey("allocations.id", ondelete="SET NULL"), index=True
    )
    # The team booking this one was made in, if any.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("booking_groups.id", ondelete="SET NULL"), index=True
    )

    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    job_title: Mapped[str] = mapped_column(String(200), default="")
    dietary_needs: Mapped[str] = mapped_column(Text, default="")
    access_needs: Mapped[str] = mapped_column(Text, default="")

    # When the delegate joined the queue: see ``waiting_order``.
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
    sector: Mapped[Sector] = relationship()
    lscb: Mapped[Lscb] = relationship()
    allocation: Mapped[Allocation | None] = relationship()
    group: Mapped[BookingGroup | None] = relationship()

    @property
    def attended(self) -> bool:
        return self.attended_at is not None

    @hybrid_property
    def is_active(self) -> bool:
        """Confirmed or waitlisted: the booking still counts for its event."""
        return self.status in ACTIVE_STATUSES

    @is_active.inplace.expression
    @classmethod
    def _is_active_expression(cls) -> ColumnElement[bool]:
        return cls.status.in_(ACTIVE_STATUSES)

    @classmethod
    def waiting_order(cls) -> tuple[InstrumentedAttribute, ...]:
        """Waiting-list order (invariant 2): who joined the queue first, then who was written
        first."""
        return (cls.queued_at, cls.id)
