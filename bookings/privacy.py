"""The purge of delegates' personal data once their events are over (invariant 5).

A purged booking keeps what the statistics need (event, sector, status, attendance, dates) and
loses everything that says who the delegate was. Their e-mails go from the outbox too, since a
message holds a name and an address. Only counts are logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, String, and_, cast, delete, func, literal, or_, select, update

from bookings.booking.models import Booking
from bookings.db import db, london_day_bounds, utcnow
from bookings.events.models import Event
from bookings.mail.models import OutboxMessage

log = logging.getLogger(__name__)

PURGED_NAME = "Purged delegate"


@dataclass(frozen=True)
class PurgeResult:
    before: date
    events: int
    bookings: int
    messages: int


def _cutoff(before: date) -> datetime:
    """Events that ended before London midnight at the start of ``before``."""
    return london_day_bounds(before)[0]


def _targets(before: date) -> ColumnElement[bool]:
    """Bookings not yet purged, of events that ended before the day."""
    ended = select(Event.id).where(Event.ends_at < _cutoff(before))
    return and_(Booking.event_id.in_(ended), Booking.purged_at.is_(None))


def preview(before: date) -> PurgeResult:
    """What a purge would do, without doing it."""
    condition = _targets(before)
    events, bookings = db.session.execute(
        select(func.count(func.distinct(Booking.event_id)), func.count(Booking.id)).where(condition)
    ).one()
    return PurgeResult(before, events, bookings, _messages_count(condition, before))


def _message_condition(condition: ColumnElement[bool], before: date) -> ColumnElement[bool]:
    purged_ids = select(Booking.id).where(condition)
    purged_keys = select(Booking.email_key).where(condition)
    # Link reminders name no single booking; they go when sent to a purged delegate before then.
    return or_(
        OutboxMessage.booking_id.in_(purged_ids),
        and_(
            OutboxMessage.booking_id.is_(None),
            OutboxMessage.created_at < _cutoff(before),
            func.lower(OutboxMessage.recipient).in_(purged_keys),
        ),
    )


def _messages_count(condition: ColumnElement[bool], before: date) -> int:
    return db.session.scalar(
        select(func.count(OutboxMessage.id)).where(_message_condition(condition, before))
    )


def purge(before: date, now: datetime | None = None) -> PurgeResult:
    """Replace personal data on bookings of events that ended before ``before``; one commit."""
    now = now or utcnow()
    condition = _targets(before)
    events = db.session.scalar(select(func.count(func.distinct(Booking.event_id))).where(condition))
    messages = db.session.execute(
        delete(OutboxMessage)
        .where(_message_condition(condition, before))
        .execution_options(synchronize_session=False)
    ).rowcount
    marker = literal("purged-") + cast(Booking.id, String)
    bookings = db.session.execute(
        update(Booking)
        .where(condition)
        .values(
            name=PURGED_NAME,
            email="",
            email_key=marker,
            organisation="",
            job_title="",
            dietary_needs="",
            access_needs="",
            # The manage link stops working: no token hashes to this.
            token_salt="",
            token_hash=marker,
            purged_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    db.session.expire_all()
    log.info(
        "privacy purge before %s: %d bookings at %d events purged, %d outbox messages deleted",
        before.isoformat(),
        bookings,
        events,
        messages,
    )
    return PurgeResult(before, events, bookings, messages)
