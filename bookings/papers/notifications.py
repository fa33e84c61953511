"""What a delegate hears of papers: one "the papers are posted" e-mail, worded when it goes
from the papers they may see then, with their manage link (where the delegates' papers are)."""

from __future__ import annotations

from flask import url_for
from sqlalchemy.orm import Session

from bookings.booking import service as booking_service
from bookings.booking.models import Booking
from bookings.mail import service as mail
from bookings.mail.models import OutboxMessage
from bookings.papers import service


@mail.renderer("papers_posted")
def _papers_posted(message: OutboxMessage, session: Session) -> mail.Rendered:
    booking = session.get(Booking, message.booking_id) if message.booking_id else None
    if booking is None or booking.purged_at is not None:
        raise mail.NotSendable("the booking's personal data has been purged")
    event = booking.event
    return mail.from_templates(
        "papers_posted",
        f"Papers and presentations are posted: {event.title}",
        booking=booking,
        event=event,
        venue=event.venue,
        papers=service.papers_for_booking(booking),
        manage_url=booking_service.manage_url(booking),
        event_url=url_for("events.show", slug=event.slug, _external=True),
    )
