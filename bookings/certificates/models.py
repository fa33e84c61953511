"""Per-event certificate settings and the certificates issued."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bookings.booking.models import Booking
from bookings.db import UTCDateTime, db, utcnow


class CertificateSettings(db.Model):
    """What an event's certificates say beyond the event itself; absent means the defaults."""

    __tablename__ = "certificate_settings"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    # None: worked out from the programme (``service.default_minutes``).
    learning_minutes: Mapped[int | None] = mapped_column()
    level: Mapped[str] = mapped_column(String(60), default="")
    after_evaluation: Mapped[bool] = mapped_column(default=False)


class Certificate(db.Model):
    """A booking's certificate, numbered once. ``issued_name`` is the name printed on it
    (personal data: the purge blanks it); the number, the event and the hours outlive it.
    The event's title and date, the hours and the level are kept as issued, so that later
    changes to the event do not change what a certificate already given says (None: issued
    before they were kept; the event's current facts are shown)."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), unique=True
    )
    number: Mapped[str] = mapped_column(String(24), unique=True)
    issued_name: Mapped[str] = mapped_column(String(120), default="")
    show_name: Mapped[bool] = mapped_column(default=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reissued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    demo: Mapped[bool] = mapped_column(default=False)
    event_title: Mapped[str | None] = mapped_column(String(200))
    event_date: Mapped[str | None] = mapped_column(String(40))
    learning_minutes: Mapped[int | None] = mapped_column()
    level: Mapped[str | None] = mapped_column(String(60))

    booking: Mapped[Booking] = relationship()
