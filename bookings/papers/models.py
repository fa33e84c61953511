"""A paper (a link or an uploaded file) of an event or a meeting, and the record that a
booking was told the papers are posted."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bookings.db import UTCDateTime, db, string_enum, utcnow
from bookings.events.models import Event


class Audience(enum.StrEnum):
    """Who may see a paper: anyone, the event's delegates through their manage link, or the
    organisers in the console."""

    everyone = "everyone"
    delegates = "delegates"
    organisers = "organisers"

    @property
    def label(self) -> str:
        return {
            "everyone": "Everyone (public pages)",
            "delegates": "The event's delegates (through their booking link)",
        }.get(self.value, "Organisers only")


class Paper(db.Model):
    """One item. A file is kept under ``instance/papers/`` by a random ``stored_name``; the
    uploaded name is only ever a download name. Before ``embargo_until`` only organisers see it."""

    __tablename__ = "papers"
    __table_args__ = (
        CheckConstraint(
            "(event_id IS NULL) != (meeting_id IS NULL)", name="paper_of_event_or_meeting"
        ),
        CheckConstraint("(url = '') != (stored_name = '')", name="paper_link_or_file"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    audience: Mapped[Audience] = mapped_column(string_enum(Audience, "paper_audience"))
    embargo_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    url: Mapped[str] = mapped_column(String(1000), default="")
    stored_name: Mapped[str] = mapped_column(String(64), default="")
    filename: Mapped[str] = mapped_column(String(200), default="")
    content_type: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    event: Mapped[Event | None] = relationship()

    @property
    def is_file(self) -> bool:
        return bool(self.stored_name)

    def released(self, now: datetime) -> bool:
        return self.embargo_until is None or self.embargo_until <= now


class PapersNotice(db.Model):
    """A booking has been told its event's papers are posted: the primary key makes it once."""

    __tablename__ = "papers_notices"

    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
