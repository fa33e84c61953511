"""Queries behind the public event pages; one query per list, whatever the number of events."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from bookings.db import db, utcnow
from bookings.events.models import Event, EventKind, EventStatus, ProgrammeSlot

PUBLIC_STATUSES = (EventStatus.published, EventStatus.cancelled)
# What an event's page shows with it, loaded in three queries whatever the programme's length.
WITH_PROGRAMME = (
    joinedload(Event.venue),
    joinedload(Event.host_network),
    selectinload(Event.slots).selectinload(ProgrammeSlot.speakers),
)


def public_events(kind: EventKind | None = None, *, past: bool = False) -> list[Event]:
    """Upcoming (soonest first) or past (latest first) events the public may see."""
    now = utcnow()
    query = select(Event).options(joinedload(Event.venue)).where(Event.status.in_(PUBLIC_STATUSES))
    if past:
        query = query.where(Event.ends_at <= now).order_by(Event.starts_at.desc())
    else:
        # A cancelled event stays listed, marked, for a fortnight so people who booked see it.
        recent_cancel = now - timedelta(days=14)
        query = (
            query.where(Event.ends_at > now)
            .where((Event.status == EventStatus.published) | (Event.cancelled_at >= recent_cancel))
            .order_by(Event.starts_at)
        )
    if kind is not None:
        query = query.where(Event.kind == kind)
    return list(db.session.scalars(query))


def public_event(slug: str) -> Event | None:
    """An event by slug with venue, programme and speakers; drafts are not public."""
    return db.session.scalar(
        select(Event)
        .options(*WITH_PROGRAMME)
        .where(Event.slug == slug, Event.status.in_(PUBLIC_STATUSES))
    )


def public_event_id(slug: str) -> int | None:
    """Just the id: the booking POST needs nothing more until it has the event's lock."""
    return db.session.scalar(
        select(Event.id).where(Event.slug == slug, Event.status.in_(PUBLIC_STATUSES))
    )
