"""What an event's delegates hear when the organisers change or cancel it, or write to them.

Queued in the caller's transaction, worded when sent (see ``bookings.booking.notifications``,
whose helpers find the booking, withdraw a purged one's message and derive the manage link).

Calendar files are ``METHOD:PUBLISH`` copies of the feed's VEVENT (same UID). A calendar that
already holds the event takes such a copy as an update only when its SEQUENCE is not lower than
the one it has, and many programs open it as a file to import rather than apply it by
themselves; the wording says so instead of promising that the calendar changes by itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bookings.booking import notifications as delegate_mail
from bookings.booking.models import Booking
from bookings.london import format_date, format_datetime, format_time_range
from bookings.mail import service as mail
from bookings.mail.models import OutboxMessage


def _queue(kind: str, booking: Booking, **data: Any) -> OutboxMessage:
    return mail.queue(kind, booking.email, booking_id=booking.id, data=data)


# ----------------------------------------------------------------------------- queueing


def event_cancelled(booking: Booking) -> OutboxMessage:
    """The whole event is off: told to confirmed and waitlisted delegates alike. The
    organisers' reason is read from the event when the message goes."""
    return _queue("event_cancelled", booking)


def event_moved(
    booking: Booking, was_starts_at: datetime | None, venue_changed: bool
) -> OutboxMessage:
    """The time (``was_starts_at``: the old start, None if the time stayed) or the venue
    changed; the message says what it is now and what it was."""
    return _queue(
        "event_moved",
        booking,
        was_starts_at=was_starts_at.isoformat() if was_starts_at else None,
        venue_changed=venue_changed,
    )


def organisers_message(booking: Booking, subject: str, body: str) -> OutboxMessage:
    """The organisers' words are kept in the row: nothing else holds them per delegate."""
    return _queue("organisers_message", booking, subject=subject, body=body)


# ----------------------------------------------------------------------------- rendering


@mail.renderer("event_cancelled")
def _event_cancelled(message: OutboxMessage, session: Session) -> mail.Rendered:
    """A delegate who had a place (and so a calendar file) gets the event's cancelled VEVENT:
    same UID, STATUS:CANCELLED and the SEQUENCE the cancellation bumped."""
    booking = delegate_mail.delegate(message, session)
    event = booking.event
    calendar = delegate_mail.calendar_file(booking) if booking.confirmed_at else {}
    return mail.from_templates(
        "event_cancelled",
        f"Event cancelled: {event.title}",
        **delegate_mail.about(booking),
        **calendar,
        reason=event.cancellation_reason,
    )


def _changes(event, was_starts_at: datetime | None, venue_changed: bool) -> list[str]:
    lines = []
    if was_starts_at is not None:
        lines.append(
            f"The event now runs {format_date(event.starts_at)}, "
            f"{format_time_range(event.starts_at, event.ends_at)} "
            f"(it was {format_datetime(was_starts_at)})."
        )
    if venue_changed:
        place = event.venue.full_address if event.venue else "a venue to be confirmed"
        lines.append(f"The venue is now {place}.")
    return lines


@mail.renderer("event_moved")
def _event_moved(message: OutboxMessage, session: Session) -> mail.Rendered:
    booking = delegate_mail.delegate(message, session)
    event = booking.event
    was = message.data.get("was_starts_at")
    changes = _changes(
        event, datetime.fromisoformat(was) if was else None, bool(message.data.get("venue_changed"))
    )
    return mail.from_templates(
        "event_moved",
        f"Change of time or place: {event.title}",
        **delegate_mail.about(booking),
        **delegate_mail.calendar_file(booking),
        manage_url=delegate_mail.manage_url(booking),
        changes=changes,
    )


@mail.renderer("organisers_message")
def _organisers_message(message: OutboxMessage, session: Session) -> mail.Rendered:
    booking = delegate_mail.delegate(message, session)
    subject = message.data.get("subject", "")
    return mail.from_templates(
        "organisers_message",
        f"{subject} ({booking.event.title})",
        **delegate_mail.about(booking),
        manage_url=delegate_mail.manage_url(booking),
        message_subject=subject,
        message_body=message.data.get("body", ""),
    )
