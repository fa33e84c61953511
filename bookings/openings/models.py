"""A request to hear once when an event's booking opens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bookings.db import UTCDateTime, db, utcnow
from bookings.events.models import Event


class OpeningAlert(db.Model):
    """Personal data kept only until its e-mail is written (or the event is over: the purge).
    ``token_hash`` finds the address's alerts from its unsubscribe link (an HMAC of the
    address key, never stored)."""

    __tablename__ = "opening_alerts"
    __table_args__ = (UniqueConstraint("event_id", "email_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[Event] = relationship()
