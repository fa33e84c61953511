"""The one "booking is open" e-mail, worded when it goes, with the unsubscribe link."""

from __future__ import annotations

from flask import url_for
from sqlalchemy.orm import Session

from bookings.booking import service as booking_service
from bookings.events.models import Event, EventStatus
from bookings.mail import service as mail
from bookings.mail.models import OutboxMessage
from bookings.openings import service


@mail.renderer(service.MAIL_KIND)
def _booking_opens(message: OutboxMessage, session: Session) -> mail.Rendered:
    event = session.get(Event, (message.data or {}).get("event") or 0)
    if event is None or event.status != EventStatus.published:
        raise mail.NotSendable("the event is no longer published")
    key = booking_service.email_key(message.recipient)
    return mail.from_templates(
        service.MAIL_KIND,
        f"Booking is open: {event.title}",
        booking=None,
        event=event,
        venue=event.venue,
        event_url=url_for("events.show", slug=event.slug, _anchor="book", _external=True),
        unsubscribe_url=url_for(
            "openings.unsubscribe", token=service.unsubscribe_token(key), _external=True
        ),
    )
