"""What a delegate hears: about their own booking (confirmed, waitlisted, promoted, cancelled,
the lost-links reminder) and about its event (cancelled, moved, a message from the organisers).

The first half queues a message in the caller's transaction (nothing is rendered then); the
second half words each kind when the sender finds it due, from the booking as it then stands.
The manage link is derived again from the booking (:func:`manage_url`), so no secret is stored
in the outbox. A booking purged or deleted before its message went gets nothing: the message
is withdrawn, never sent to "Purged delegate".

Calendar files are ``METHOD:PUBLISH`` copies of the feed's VEVENT (same UID). A calendar that
already holds the event takes such a copy as an update only when its SEQUENCE is not lower than
the one it has, and many programs open it as a file to import rather than apply it by
themselves; the wording says so instead of promising that the calendar changes by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from bookings.booking.models import Booking, BookingGroup, BookingStatus
from bookings.booking.tokens import manage_token, team_token
from bookings.db import db
from bookings.events.models import Event
from bookings.feeds import service as feeds
from bookings.london import format_date, format_datetime, format_time_range
from bookings.mail import service as mail
from bookings.mail.models import OutboxMessage

# What a preview shows instead of a delegate's manage link, which is a key to their booking.
LINK_PLACEHOLDER = "[their private booking link]"


def manage_url(booking: Booking) -> str:
    return url_for("booking.manage", token=manage_token(booking), _external=True)


def team_url(group: BookingGroup) -> str:
    return url_for("booking.team", token=team_token(group), _external=True)


def _queue(kind: str, booking: Booking, **data: Any) -> OutboxMessage:
    return mail.queue(kind, booking.email, booking_id=booking.id, data=data)


# ----------------------------------------------------------------------------- queueing


def confirmed(booking: Booking) -> OutboxMessage:
    return _queue("confirmed", booking)


def waitlisted(booking: Booking, position: int | None) -> OutboxMessage:
    # The position when the delegate joined: by the time the message goes it may have moved.
    return _queue("waitlisted", booking, position=position)


def promoted(booking: Booking) -> OutboxMessage:
    return _queue("promoted", booking)


def cancelled(booking: Booking) -> OutboxMessage:
    return _queue("cancelled", booking)


def links(recipient: str, bookings: Sequence[Booking]) -> OutboxMessage:
    """One message listing these bookings' links; it is about an address, not one booking."""
    return mail.queue("links", recipient, data={"bookings": [b.id for b in bookings]})


def team_summary(group: BookingGroup) -> OutboxMessage:
    """The booker's one message about the whole team; each colleague hears on their own."""
    return mail.queue("team_summary", group.booker_email, data={"group": group.id})


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


def organisers_message_test(event: Event, recipient: str, subject: str, body: str) -> OutboxMessage:
    """The organiser's own test copy: about the event, not a booking, so it is worded for a
    made-up delegate and names nobody."""
    return mail.queue(
        "organisers_message",
        recipient,
        data={"subject": subject, "body": body, "test": True, "event": event.id},
    )


def organisers_message_preview(booking: Booking, subject: str, body: str) -> mail.Rendered:
    """The e-mail ``booking``'s delegate would get, by the renderer the sender uses, with
    their manage link (a key to their booking) shown as a placeholder; the message row it
    reads is never added to the outbox."""
    unsaved = OutboxMessage(
        kind="organisers_message", booking_id=booking.id, data={"subject": subject, "body": body}
    )
    rendered = _organisers_message(unsaved, db.session)
    link = manage_url(booking)
    return replace(
        rendered,
        body_text=rendered.body_text.replace(link, LINK_PLACEHOLDER),
        body_html=rendered.body_html.replace(link, LINK_PLACEHOLDER),
    )


# ----------------------------------------------------------------------------- rendering


def delegate(message: OutboxMessage, session: Session) -> Booking:
    """The booking a message is about, or :class:`~bookings.mail.service.NotSendable`."""
    booking = session.get(Booking, message.booking_id) if message.booking_id else None
    if booking is None:
        raise mail.NotSendable("the booking no longer exists")
    if booking.purged_at is not None:
        raise mail.NotSendable("the booking's personal data has been purged")
    return booking


def about(booking: Booking) -> dict[str, Any]:
    """What every template about one booking reads."""
    return {"booking": booking, "event": booking.event, "venue": booking.event.venue}


def calendar_file(booking: Booking) -> dict[str, Any]:
    """The event's VEVENT as the feeds have it now (same UID, current SEQUENCE and STATUS)."""
    event = booking.event
    return {"ics": feeds.calendar_file(event), "ics_filename": f"{event.slug}.ics"}


@mail.renderer("confirmed")
def _confirmed(message: OutboxMessage, session: Session) -> mail.Rendered:
    booking = delegate(message, session)
    return mail.from_templates(
        "confirmed",
        f"Your place is confirmed: {booking.event.title}",
        **about(booking),
        **calendar_file(booking),
        manage_url=manage_url(booking),
    )


@mail.renderer("waitlisted")
def _waitlisted(message: OutboxMessage, session: Session) -> mail.Rendered:
    booking = delegate(message, session)
    return mail.from_templates(
        "waitlisted",
        f"You are on the waiting list: {booking.event.title}",
        **about(booking),
        manage_url=manage_url(booking),
        position=message.data.get("position"),
    )


@mail.renderer("promoted")
def _promoted(message: OutboxMessage, session: Session) -> mail.Rendered:
    booking = delegate(message, session)
    return mail.from_templates(
        "promoted",
        f"A place has come free for you: {booking.event.title}",
        **about(booking),
        **calendar_file(booking),
        manage_url=manage_url(booking),
    )


@mail.renderer("cancelled")
def _cancelled(message: OutboxMessage, session: Session) -> mail.Rendered:
    """No calendar file: the event goes ahead, so a PUBLISH file could not honestly remove
    the delegate's entry (only mark the whole event cancelled); the text says to delete it."""
    booking = delegate(message, session)
    return mail.from_templates(
        "cancelled",
        f"Booking cancelled: {booking.event.title}",
        **about(booking),
        event_url=url_for("events.show", slug=booking.event.slug, _external=True),
    )


@mail.renderer("links")
def _links(message: OutboxMessage, session: Session) -> mail.Rendered:
    """The bookings still live when the message goes, in the order they were listed."""
    wanted = [int(booking_id) for booking_id in message.data.get("bookings", [])]
    found = {
        booking.id: booking
        for booking in session.scalars(select(Booking).where(Booking.id.in_(wanted)))
        if booking.purged_at is None and booking.status != BookingStatus.cancelled
    }
    entries = [(found[i], manage_url(found[i])) for i in wanted if i in found]
    if not entries:
        raise mail.NotSendable("none of its bookings is still live")
    return mail.from_templates("links", "Your booking links", booking=None, entries=entries)


@mail.renderer("team_summary")
def _team_summary(message: OutboxMessage, session: Session) -> mail.Rendered:
    """Every colleague's reference and state as they stand when the message goes; no
    colleague's link (each has their own, in their own e-mail)."""
    group = session.get(BookingGroup, int((message.data or {}).get("group") or 0))
    if group is None:
        raise mail.NotSendable("the team booking no longer exists")
    if group.purged_at is not None:
        raise mail.NotSendable("the team booking's personal data has been purged")
    members = list(
        session.scalars(select(Booking).where(Booking.group_id == group.id).order_by(Booking.id))
    )
    waiting = [
        booking_id
        for booking_id in session.scalars(
            select(Booking.id)
            .where(Booking.event_id == group.event_id, Booking.status == BookingStatus.waitlisted)
            .order_by(*Booking.waiting_order())
        )
    ]
    positions = {booking_id: n for n, booking_id in enumerate(waiting, start=1)}
    event = group.event
    return mail.from_templates(
        "team_summary",
        f"Your team booking: {event.title}",
        booking=None,
        group=group,
        event=event,
        venue=event.venue,
        members=[(b, positions.get(b.id)) for b in members],
        team_url=team_url(group),
    )


@mail.renderer("event_cancelled")
def _event_cancelled(message: OutboxMessage, session: Session) -> mail.Rendered:
    """A delegate who had a place (and so a calendar file) gets the event's cancelled VEVENT:
    same UID, STATUS:CANCELLED and the SEQUENCE the cancellation bumped."""
    booking = delegate(message, session)
    event = booking.event
    calendar = calendar_file(booking) if booking.confirmed_at else {}
    return mail.from_templates(
        "event_cancelled",
        f"Event cancelled: {event.title}",
        **about(booking),
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
    booking = delegate(message, session)
    event = booking.event
    was = message.data.get("was_starts_at")
    changes = _changes(
        event, datetime.fromisoformat(was) if was else None, bool(message.data.get("venue_changed"))
    )
    return mail.from_templates(
        "event_moved",
        f"Change of time or place: {event.title}",
        **about(booking),
        **calendar_file(booking),
        manage_url=manage_url(booking),
        changes=changes,
    )


@dataclass(frozen=True)
class SampleDelegate:
    """Who a test copy is addressed to: placeholders where each delegate's own details go."""

    event: Event
    name: str = "[delegate's name]"
    reference: str = "[their booking reference]"


@mail.renderer("organisers_message")
def _organisers_message(message: OutboxMessage, session: Session) -> mail.Rendered:
    data = message.data or {}
    subject = data.get("subject", "")
    if data.get("test"):
        event = session.get(Event, data.get("event") or 0)
        if event is None:
            raise mail.NotSendable("the event no longer exists")
        booking, link, marker = SampleDelegate(event), None, "[Test] "
    else:
        booking = delegate(message, session)
        link, marker = manage_url(booking), ""
    return mail.from_templates(
        "organisers_message",
        f"{marker}{subject} ({booking.event.title})",
        **about(booking),
        manage_url=link,
        test=bool(marker),
        message_subject=subject,
        message_body=data.get("body", ""),
    )
