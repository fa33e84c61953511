"""Records the organiser console keeps with an event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bookings.db import UTCDateTime, db, utcnow


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
