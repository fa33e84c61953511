"""The outbox row: what to send, written in the same transaction as the change it reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bookings.db import UTCDateTime, db, utcnow


class OutboxMessage(db.Model):
    """One message to send: its kind, whom it is about and to, and what it cannot read back.

    The text is rendered by the kind's renderer when the message is due, from the booking and
    event as they then stand; ``data`` holds only what is gone by then (the old time of a moved
    event, an organiser's words, a waiting-list position at the time of joining).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "sent_at", "next_attempt_at"),
        Index("uq_outbox_once_key", "once_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The site the change was made on ("https://host/"), so that links point where the
    # delegate booked even when no SERVER_NAME is configured; empty outside a request.
    site_url: Mapped[str] = mapped_column(String(300), default="")

    # Set on messages that go at most once ("reminder:42": booking 42's reminder): the unique
    # index makes a second writer's INSERT do nothing, however many senders race.
    once_key: Mapped[str | None] = mapped_column(String(80))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A sender claims a message until this time, so two senders never deliver it twice.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set instead of ``sent_at`` when the message can no longer be sent (its booking was
    # purged); ``last_error`` says why. Never retried.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
