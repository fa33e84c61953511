"""The Board's professional networks and sub-groups, and their meetings."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bookings.db import FeedItem, UTCDateTime, db, string_enum


class MeetingStatus(enum.StrEnum):
    confirmed = "confirmed"
    provisional = "provisional"
    tbc = "tbc"
    cancelled = "cancelled"


class Network(FeedItem, db.Model):
    __tablename__ = "networks"
    # Shown in every meeting's calendar entry: a change must reach subscribers, so each
    # meeting's SEQUENCE grows with the network's.
    sequence_fields = ("name", "chair", "default_location", "contact_name", "contact_email")
    shown_by = ("meetings",)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    chair: Mapped[str] = mapped_column(String(200), default="")
    chair_organisation: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    remit: Mapped[str] = mapped_column(Text, default="")
    membership: Mapped[str] = mapped_column(Text, default="")
    papers_url: Mapped[str] = mapped_column(String(500), default="")
    default_location: Mapped[str] = mapped_column(String(300), default="")
    # As Event's: a stale edit form cannot overwrite a newer save (not the feed SEQUENCE).
    version: Mapped[int] = mapped_column(default=1)

    meetings: Mapped[list[Meeting]] = relationship(
        back_populates="network", cascade="all, delete-orphan", order_by="Meeting.day"
    )

    __mapper_args__ = {"version_id_col": version}


class Meeting(FeedItem, db.Model):
    """One meeting. ``day`` is the London date (None while "tbc"); ``starts_at``/``ends_at``
    are set only when the time is known, otherwise the meeting is an all-day entry."""

    __tablename__ = "meetings"
    # The id is in the feed UID: SQLite must never hand a deleted meeting's id out again.
    __table_args__ = {"sqlite_autoincrement": True}
    sequence_fields = ("day", "starts_at", "ends_at", "location", "status")

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date | None] = mapped_column(Date, index=True)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[MeetingStatus] = mapped_column(
        string_enum(MeetingStatus, "meeting_status"), default=MeetingStatus.confirmed
    )
    location: Mapped[str] = mapped_column(String(300), default="")
    note: Mapped[str] = mapped_column(String(300), default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # As Event's: a stale edit form cannot overwrite a newer save (not the feed SEQUENCE).
    version: Mapped[int] = mapped_column(default=1)

    network: Mapped[Network] = relationship(back_populates="meetings")

    __mapper_args__ = {"version_id_col": version}

    @property
    def in_feeds(self) -> bool:
        """A meeting without a date is shown on pages but never put in a calendar."""
        return self.day is not None
