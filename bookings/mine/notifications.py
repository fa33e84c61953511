"""The e-mail with a delegate's "my bookings" link, derived when it goes (never stored)."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from bookings.booking import service as booking_service
from bookings.booking.models import Booking
from bookings.mail import service as mail
from bookings.mail.models import OutboxMessage
from bookings.mine import service


@mail.renderer(service.MAIL_KIND)
def _my_bookings(message: OutboxMessage, session: Session) -> mail.Rendered:
    key = booking_service.email_key(message.recipient)
    live = session.scalar(
        select(Booking.id).where(Booking.email_key == key, Booking.purged_at.is_(None)).limit(1)
    )
    if live is None:
        raise mail.NotSendable("the address has no booking left")
    token = service.link_token(key)
    return mail.from_templates(
        "my_bookings",
        "Your bookings with the London Safeguarding Children Board",
        booking=None,
        page_url=url_for("mine.page", token=token, _external=True),
        feed_url=url_for("mine.feed", token=token, _external=True),
    )
