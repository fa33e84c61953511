"""Venues, events, their programmes and the organisers' messages to their delegates.

Who may see an event is decided here once (``Event.is_public``, ``Event.listed_on``) and used
by the pages, the API and the feeds.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ColumnElement, ForeignKey, String, Text, and_, func, or_
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bookings.db import FeedItem, UTCDateTime, db, string_enum, utcnow
from bookings.london import london_day_bounds

if TYPE_CHECKING:
    from bookings.networks.models import Network


class EventKind(enum.StrEnum):
    seminar = "seminar"
    mini_conference = "mini_conference"
    conference = "conference"

    @property
    def label(self) -> str:
        return {"seminar": "Seminar", "mini_conference": "Mini-conference"}.get(
            self.value, "Conference"
        )


class EventStatus(enum.StrEnum):
    draft = "draft"
    published = "published"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        """As organisers say it: the value is for the database and the API."""
        return {"draft": "Draft", "published": "Published"}.get(self.value, "Cancelled")


PUBLIC_STATUSES = (EventStatus.published, EventStatus.cancelled)
# A cancelled event stays in the lists and feeds, marked, so that those who booked see it.
LISTED_AFTER_CANCELLING = timedelta(days=30)


class SlotKind(enum.StrEnum):
    registration = "registration"
    welcome = "welcome"
    talk = "talk"
    panel = "panel"
    workshop = "workshop"
    discussion = "discussion"
    break_ = "break"
    lunch = "lunch"
    ceremony = "ceremony"
    other = "other"

    @property
    def label(self) -> str:
        """As the programme says it ("Break", not "break_")."""
        return self.value.capitalize()


class Venue(db.Model):
    __tablename__ = "venues"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str] = mapped_column(String(500), default="")
    postcode: Mapped[str] = mapped_column(String(12), default="")
    directions: Mapped[str] = mapped_column(Text, default="")

    @property
    def full_address(self) -> str:
        return ", ".join(part for part in (self.name, self.address, self.postcode) if part)


class Event(FeedItem, db.Model):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        # The id is in the feed UID: SQLite must never hand a deleted event's id out again.
        {"sqlite_autoincrement": True},
    )
    # Both the key and the relationship: a change through either is seen before the flush.
    sequence_fields = ("title", "starts_at", "ends_at", "venue_id", "venue", "status")

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[EventKind] = mapped_column(string_enum(EventKind, "event_kind"))
    status: Mapped[EventStatus] = mapped_column(
        string_enum(EventStatus, "event_status"), default=EventStatus.draft
    )
    summary: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(String(300), default="")
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(default=0)
    booking_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    booking_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    series: Mapped[str | None] = mapped_column(String(200))
    host_network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancellation_reason: Mapped[str] = mapped_column(Text, default="")
    # When the LSCBs' unclaimed reserved places join the general pool (None: never by time), and
    # when that happened: set once, under the event's lock, by whoever released first.
    allocations_release_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    allocations_released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Optimistic concurrency for organisers' edits: a stale form cannot overwrite a newer save.
    version: Mapped[int] = mapped_column(default=1)

    venue: Mapped[Venue | None] = relationship()
    host_network: Mapped[Network | None] = relationship()
    slots: Mapped[list[ProgrammeSlot]] = relationship(
        back_populates="event",
        cascade="all, delete-orphan",
        order_by="(ProgrammeSlot.starts_at, ProgrammeSlot.position)",
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Event {self.slug}>"

    @hybrid_property
    def is_public(self) -> bool:
        """Published or cancelled: its page, its own feed and the API show it; drafts are
        nobody's business but the organisers'."""
        return self.status in PUBLIC_STATUSES

    @is_public.inplace.expression
    @classmethod
    def _is_public_expression(cls) -> ColumnElement[bool]:
        return cls.status.in_(PUBLIC_STATUSES)

    @hybrid_method
    def listed_on(self, today: date) -> bool:
        """In the lists of events and the subscription feeds on the London date ``today``:
        published, or cancelled less than ``LISTED_AFTER_CANCELLING`` ago (counted from a
        London midnight, so that the lists change once a day)."""
        if self.status == EventStatus.published:
            return True
        cancelled = self.cancelled_at or self.updated_at
        return self.status == EventStatus.cancelled and cancelled >= _cancelled_since(today)

    @listed_on.inplace.expression
    @classmethod
    def _listed_on_expression(cls, today: date) -> ColumnElement[bool]:
        return or_(
            cls.status == EventStatus.published,
            and_(
                cls.status == EventStatus.cancelled,
                func.coalesce(cls.cancelled_at, cls.updated_at) >= _cancelled_since(today),
            ),
        )

    @hybrid_method
    def is_past(self, now: datetime | None = None) -> bool:
        """Over: ended at or before ``now``. Upcoming is its negation, in every list."""
        return self.ends_at <= (now or utcnow())

    @is_past.inplace.expression
    @classmethod
    def _is_past_expression(cls, now: datetime | None = None) -> ColumnElement[bool]:
        return cls.ends_at <= (now or utcnow())

    def why_not_cancellable(self) -> str:
        """Why an organiser may not cancel the event; empty when they may."""
        if self.status == EventStatus.cancelled:
            return "This event is already cancelled."
        if self.status == EventStatus.draft:
            # Cancelling would put it on the public pages and in the feeds as cancelled.
            return (
                "This event is a draft: nobody can see or book it, so there is nothing to "
                "cancel. Leave it as a draft."
            )
        if self.is_past():
            return (
                "This event has already ended, so it cannot be cancelled and its delegates are "
                "not e-mailed."
            )
        return ""


class ProgrammeSlot(FeedItem, db.Model):
    __tablename__ = "programme_slots"
    __table_args__ = (
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="slot_order"),
        # The id is in the feed UID: SQLite must never hand a deleted session's id out again.
        {"sqlite_autoincrement": True},
    )
    sequence_fields = ("title", "starts_at", "ends_at", "room")
    part_of = "event_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Open-ended slots ("12.45 onwards: lunch") have no end.
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[SlotKind] = mapped_column(
        string_enum(SlotKind, "slot_kind"), default=SlotKind.talk
    )
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    room: Mapped[str] = mapped_column(String(120), default="")
    capacity: Mapped[int | None] = mapped_column()
    position: Mapped[int] = mapped_column(default=0)
    # As Event's: a stale session form cannot overwrite a newer save (not the feed SEQUENCE).
    version: Mapped[int] = mapped_column(default=1)

    event: Mapped[Event] = relationship(back_populates="slots")
    speakers: Mapped[list[Speaker]] = relationship(
        cascade="all, delete-orphan", order_by="Speaker.position", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version}


class Speaker(db.Model):
    __tablename__ = "speakers"

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(
        ForeignKey("programme_slots.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(default=0)

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation})" if self.organisation else self.name


class EventMessage(db.Model):
    """A copy of a message the organisers e-mailed to an event's delegates."""

    __tablename__ = "event_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    audience: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    recipients: Mapped[int] = mapped_column(default=0)
    sent_by: Mapped[str] = mapped_column(String(254), default="")
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _cancelled_since(today: date) -> datetime:
    return london_day_bounds(today - LISTED_AFTER_CANCELLING)[0]
