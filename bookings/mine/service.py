"""The rules of "my bookings": issue the link (by e-mail only), find an address's bookings
from it, and their private calendar."""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from bookings.booking import service as booking_service
from bookings.booking.models import Booking, BookingStatus
from bookings.db import db, insert_ignoring_duplicates, unit_of_work, utcnow
from bookings.events.models import Event
from bookings.feeds import service as feeds
from bookings.mail import service as mail
from bookings.mine.models import AddressLink

MAIL_KIND = "my_bookings"
FEED_STATUS = {
    BookingStatus.confirmed: "CONFIRMED",
    BookingStatus.waitlisted: "TENTATIVE",
    BookingStatus.cancelled: "CANCELLED",
}


def link_token(email_key: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, b"my-bookings:" + email_key.encode(), hashlib.sha256).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _bookings_of(email_key: str) -> list[Booking]:
    return list(
        db.session.scalars(
            select(Booking)
            .join(Booking.event)
            .options(joinedload(Booking.event).joinedload(Event.venue))
            .where(Booking.email_key == email_key, Booking.purged_at.is_(None))
            .order_by(Event.starts_at.desc(), Booking.id)
        )
    )


def send_link(address: str) -> None:
    """E-mail the address its "my bookings" link if it has any booking. The caller says the
    same whatever happened, so the page never tells a stranger whether an address booked."""
    key = booking_service.email_key(address)
    with unit_of_work():
        bookings = _bookings_of(key)
        if not bookings:
            return
        db.session.execute(
            insert_ignoring_duplicates(AddressLink)
            .values(token_hash=_hash(link_token(key)), email_key=key, created_at=utcnow())
            .on_conflict_do_nothing()
        )
        mail.queue(MAIL_KIND, bookings[0].email)


def bookings_for_token(token: str) -> list[Booking] | None:
    """The address's bookings, newest event first; None for an unknown or dead link (its
    bookings purged)."""
    if not token or len(token) > 100:
        return None
    link = db.session.get(AddressLink, _hash(token))
    if link is None or not hmac.compare_digest(link_token(link.email_key), token):
        return None
    return _bookings_of(link.email_key) or None


def manage_url(booking: Booking) -> str:
    return booking_service.manage_url(booking)


def calendar(bookings: list[Booking]) -> bytes:
    """The private feed: every booking's event, its STATUS saying where the booking stands."""
    return feeds.personal_calendar(
        "My LSCB bookings",
        "Your bookings of London Safeguarding Children Board events. Private: do not share.",
        [(b.event, FEED_STATUS[b.status]) for b in bookings],
    )
