"""Organisers' messages to an event's delegates: queued through the outbox, a copy kept."""

from __future__ import annotations

from sqlalchemy import select

from bookings.accounts import service as accounts
from bookings.booking.models import ACTIVE_STATUSES, BookingStatus
from bookings.db import db
from bookings.events import notifications
from bookings.events.manage_models import EventMessage
from bookings.events.manage_service import active_bookings

AUDIENCE_STATUSES = {
    "confirmed": (BookingStatus.confirmed,),
    "waitlisted": (BookingStatus.waitlisted,),
    "both": ACTIVE_STATUSES,
}


def for_event(event_id: int) -> list[EventMessage]:
    return list(
        db.session.scalars(
            select(EventMessage)
            .where(EventMessage.event_id == event_id)
            .order_by(EventMessage.sent_at.desc(), EventMessage.id.desc())
        )
    )


def send(event_id: int, audience: str, subject: str, body: str, sent_by: str) -> EventMessage:
    """One e-mail per delegate in the audience and the copy, in one commit."""
    recipients = active_bookings(event_id, AUDIENCE_STATUSES[audience])
    subject, body = " ".join(subject.split()), body.strip()
    for booking in recipients:
        notifications.organisers_message(booking, subject, body)
    message = EventMessage(
        event_id=event_id,
        audience=audience,
        subject=subject,
        body=body,
        recipients=len(recipients),
        sent_by=sent_by,
    )
    db.session.add(message)
    accounts.audit(
        "event.message",
        "event",
        event_id,
        f"E-mailed {len(recipients)} delegates ({audience}): {subject}",
    )
    db.session.commit()
    return message
