"""What each delegate hears, written to the outbox in the caller's transaction (never sent here).

Each function renders one message (plain text and an HTML alternative) and adds an
``OutboxMessage`` to the session; the caller's commit makes it part of the change it reports, so
a rolled-back change sends nothing and a committed one is never forgotten. ``bookings.mail.sender``
delivers what is queued.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import g, has_request_context, render_template, url_for

from bookings.booking.models import Booking
from bookings.db import db
from bookings.feeds.ical import event_attachment
from bookings.mail.models import OutboxMessage

# Set in ``flask.g`` when a request queued mail; the after-request hook then makes one attempt.
QUEUED_FLAG = "mail_queued"


def _manage_url(token: str) -> str:
    return url_for("booking.manage", token=token, _external=True)


def _event_url(booking: Booking) -> str:
    return url_for("events.show", slug=booking.event.slug, _external=True)


def _one_line(text: str) -> str:
    """Header-safe: a title with a stray newline must not break (or inject) a header."""
    return " ".join(text.split())


def _queue(
    kind: str,
    booking: Booking | None,
    recipient: str,
    subject: str,
    template: str,
    *,
    with_calendar: bool = False,
    **context,
) -> OutboxMessage:
    event = booking.event if booking else None
    subject = _one_line(subject)
    context = {
        "booking": booking,
        "event": event,
        "venue": event.venue if event else None,
        "subject": subject,
        **context,
    }
    message = OutboxMessage(
        kind=kind,
        booking_id=booking.id if booking else None,
        recipient=recipient.strip(),
        subject=subject,
        body_text=render_template(f"mail/{template}.txt", **context),
        body_html=render_template(f"mail/{template}.html", **context),
        attempts=0,
        last_error="",
    )
    if with_calendar and event is not None:
        message.ics = event_attachment(event)
        message.ics_filename = f"{event.slug}.ics"
    db.session.add(message)
    if has_request_context():
        setattr(g, QUEUED_FLAG, True)
    return message


def confirmed(booking: Booking, token: str) -> OutboxMessage:
    return _queue(
        "confirmed",
        booking,
        booking.email,
        f"Your place is confirmed: {booking.event.title}",
        "confirmed",
        with_calendar=True,
        manage_url=_manage_url(token),
    )


def waitlisted(booking: Booking, token: str, position: int | None) -> OutboxMessage:
    return _queue(
        "waitlisted",
        booking,
        booking.email,
        f"You are on the waiting list: {booking.event.title}",
        "waitlisted",
        manage_url=_manage_url(token),
        position=position,
    )


def promoted(booking: Booking, token: str) -> OutboxMessage:
    return _queue(
        "promoted",
        booking,
        booking.email,
        f"A place has come free for you: {booking.event.title}",
        "promoted",
        with_calendar=True,
        manage_url=_manage_url(token),
    )


def cancelled(booking: Booking) -> OutboxMessage:
    return _queue(
        "cancelled",
        booking,
        booking.email,
        f"Booking cancelled: {booking.event.title}",
        "cancelled",
        event_url=_event_url(booking),
    )


def links(recipient: str, bookings: Sequence[tuple[Booking, str]]) -> OutboxMessage:
    entries = [(booking, _manage_url(token)) for booking, token in bookings]
    return _queue("links", None, recipient, "Your booking links", "links", entries=entries)


# ----------------------------------------------------------------------------- organiser console


def event_cancelled(booking: Booking, reason: str) -> OutboxMessage:
    """The whole event is off: told to confirmed and waitlisted delegates alike."""
    return _queue(
        "event_cancelled",
        booking,
        booking.email,
        f"Event cancelled: {booking.event.title}",
        "event_cancelled",
        reason=reason,
    )


def event_moved(booking: Booking, token: str, changes: Sequence[str]) -> OutboxMessage:
    """The time or venue changed; the calendar file replaces the delegate's copy (same UID)."""
    return _queue(
        "event_moved",
        booking,
        booking.email,
        f"Change of time or place: {booking.event.title}",
        "event_moved",
        with_calendar=True,
        manage_url=_manage_url(token),
        changes=list(changes),
    )


def organisers_message(booking: Booking, token: str, subject: str, body: str) -> OutboxMessage:
    return _queue(
        "organisers_message",
        booking,
        booking.email,
        f"{subject} ({booking.event.title})",
        "organisers_message",
        manage_url=_manage_url(token),
        message_subject=subject,
        message_body=body,
    )
