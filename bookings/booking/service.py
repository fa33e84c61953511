"""The booking rules: capacity, the waiting list, the manage link. Views and the console call these.

Every function that changes places takes the event's lock first and commits once, so the
capacity check, the change, the promotions and the outbox e-mails share one transaction. The
lock is taken as late as possible and never to free a place only (pretix's rule): reads before it
are plain, and everything that decides is re-read after it.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from bookings.booking import notifications
from bookings.booking.models import Booking, BookingStatus, Sector
from bookings.booking.tokens import manage_token
from bookings.db import db, utcnow
from bookings.events import notifications as event_notifications
from bookings.events.models import Event, EventStatus

REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L


class BookingState(enum.StrEnum):
    draft = "draft"
    not_open = "not_open"
    open = "open"
    full = "full"
    closed = "closed"
    started = "started"
    cancelled = "cancelled"


REFUSALS = {
    BookingState.draft: "This event is not published yet.",
    BookingState.not_open: "Booking for this event has not opened yet.",
    BookingState.closed: "Booking for this event has closed.",
    BookingState.started: "This event has already started, so it can no longer be booked.",
    BookingState.cancelled: "This event has been cancelled.",
}


@dataclass(frozen=True)
class Availability:
    state: BookingState
    capacity: int
    confirmed: int
    waitlisted: int
    opens_at: datetime | None = None

    @property
    def places_left(self) -> int:
        return max(self.capacity - self.confirmed, 0)

    @property
    def bookable(self) -> bool:
        """The form takes bookings: a place or a place on the waiting list."""
        return self.state in (BookingState.open, BookingState.full)

    @property
    def action(self) -> str:
        """What booking does now, for buttons and headings."""
        return "Join the waiting list" if self.state == BookingState.full else "Book a place"


@dataclass(frozen=True)
class DelegateDetails:
    name: str
    email: str
    organisation: str
    job_title: str
    sector_id: int
    dietary_needs: str = ""
    access_needs: str = ""


class BookingRefused(Exception):
    """The event cannot take this booking; the message says why, for the delegate."""


class AlreadyBooked(Exception):
    """This address already holds an active booking for the event."""


class CapacityTooLow(Exception):
    """Capacity may not fall below the number of confirmed places."""


@dataclass(frozen=True)
class Placed:
    booking: Booking
    token: str


# ----------------------------------------------------------------------------- availability


def _counts(event_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    if not event_ids:
        return {}
    rows = db.session.execute(
        select(
            Booking.event_id,
            func.count(case((Booking.status == BookingStatus.confirmed, 1))),
            func.count(case((Booking.status == BookingStatus.waitlisted, 1))),
        )
        .where(Booking.event_id.in_(event_ids))
        .group_by(Booking.event_id)
    )
    return {event_id: (confirmed, waitlisted) for event_id, confirmed, waitlisted in rows}


def _state(event: Event, confirmed: int, now: datetime) -> BookingState:
    if event.status == EventStatus.cancelled:
        return BookingState.cancelled
    if event.status != EventStatus.published:
        return BookingState.draft
    if event.starts_at <= now:
        return BookingState.started
    if event.booking_opens_at is not None and now < event.booking_opens_at:
        return BookingState.not_open
    if event.booking_closes_at is not None and now >= event.booking_closes_at:
        return BookingState.closed
    return BookingState.open if confirmed < event.capacity else BookingState.full


def availability_for(
    events: Iterable[Event], now: datetime | None = None
) -> dict[int, Availability]:
    """Availability of many events in one query."""
    events = list(events)
    now = now or utcnow()
    counts = _counts([event.id for event in events])
    result = {}
    for event in events:
        confirmed, waitlisted = counts.get(event.id, (0, 0))
        result[event.id] = Availability(
            state=_state(event, confirmed, now),
            capacity=event.capacity,
            confirmed=confirmed,
            waitlisted=waitlisted,
            opens_at=event.booking_opens_at,
        )
    return result


def availability(event: Event, now: datetime | None = None) -> Availability:
    return availability_for([event], now)[event.id]


# ----------------------------------------------------------------------------- tokens


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token(booking: Booking) -> str:
    booking.token_salt = secrets.token_hex(16)
    token = manage_token(booking)
    booking.token_hash = _token_hash(token)
    return token


def new_reference() -> str:
    raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def booking_for_token(token: str) -> Booking | None:
    """The booking a manage link points to, or None for an unknown or guessed token."""
    if not token or len(token) > 100:
        return None
    booking = db.session.scalar(select(Booking).where(Booking.token_hash == _token_hash(token)))
    if booking is None or not hmac.compare_digest(manage_token(booking), token):
        return None
    return booking


def email_key(address: str) -> str:
    return address.strip().casefold()


# ----------------------------------------------------------------------------- locking


def _lock_event(event_id: int) -> Event:
    """Take the event's write lock for the rest of the transaction and return it fresh.

    PostgreSQL: a row lock (SELECT ... FOR UPDATE). SQLite has no row locks; a no-op UPDATE
    takes the database write lock, which WAL and the busy timeout make others queue for.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("UPDATE events SET id = id WHERE id = :id"), {"id": event_id})
        query = select(Event).where(Event.id == event_id)
    else:
        query = select(Event).where(Event.id == event_id).with_for_update()
    event = db.session.scalar(query.execution_options(populate_existing=True))
    if event is None:
        raise BookingRefused("This event does not exist.")
    return event


def _lock_booking(booking_id: int) -> tuple[Event, Booking]:
    """Take the booking's event lock, then read the booking fresh under it."""
    event_id = db.session.scalar(select(Booking.event_id).where(Booking.id == booking_id))
    if event_id is None:
        raise LookupError(booking_id)
    event = _lock_event(event_id)
    booking = db.session.scalar(
        select(Booking).where(Booking.id == booking_id).execution_options(populate_existing=True)
    )
    return event, booking


def _waiting_list(event_id: int, limit: int | None = None) -> list[Booking]:
    query = (
        select(Booking)
        .where(Booking.event_id == event_id, Booking.status == BookingStatus.waitlisted)
        .order_by(Booking.queued_at, Booking.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def _promote(event: Event, now: datetime) -> list[Booking]:
    """Fill free places from the waiting list, longest-waiting first. Caller holds the lock."""
    confirmed, _ = _counts([event.id]).get(event.id, (0, 0))
    free = event.capacity - confirmed
    if free <= 0 or event.status != EventStatus.published or event.starts_at <= now:
        return []
    promoted = _waiting_list(event.id, free)
    for booking in promoted:
        booking.status = BookingStatus.confirmed
        booking.confirmed_at = now
        notifications.promoted(booking)
    return promoted


# ----------------------------------------------------------------------------- changes


def book(
    event_id: int,
    details: DelegateDetails,
    now: datetime | None = None,
    *,
    also: Callable[[Booking], object] | None = None,
) -> Placed:
    """Give the delegate a confirmed place, or a place on the waiting list when full.

    ``also`` adds the caller's own records (an audit entry) to the booking's transaction.
    """
    sector = db.session.get(Sector, details.sector_id)
    if sector is None or sector.retired:
        raise BookingRefused("Please choose your sector from the list.")
    key = email_key(details.email)

    event = _lock_event(event_id)
    # Read the clock under the lock, so queue order is the order in which the lock was won.
    now = now or utcnow()
    confirmed, _ = _counts([event.id]).get(event.id, (0, 0))
    state = _state(event, confirmed, now)
    if state in REFUSALS:
        db.session.rollback()
        raise BookingRefused(REFUSALS[state])
    duplicate = db.session.scalar(
        select(Booking.id).where(
            Booking.event_id == event.id,
            Booking.email_key == key,
            Booking.status != BookingStatus.cancelled,
        )
    )
    if duplicate is not None:
        db.session.rollback()
        raise AlreadyBooked()

    booking = Booking(
        event=event,
        sector=sector,
        reference=new_reference(),
        status=BookingStatus.confirmed if state == BookingState.open else BookingStatus.waitlisted,
        name=details.name.strip(),
        email=details.email.strip(),
        email_key=key,
        organisation=details.organisation.strip(),
        job_title=details.job_title.strip(),
        dietary_needs=details.dietary_needs.strip(),
        access_needs=details.access_needs.strip(),
        queued_at=now,
        confirmed_at=now if state == BookingState.open else None,
    )
    token = _new_token(booking)
    db.session.add(booking)
    try:
        db.session.flush()
        if booking.status == BookingStatus.confirmed:
            notifications.confirmed(booking)
        else:
            notifications.waitlisted(booking, waiting_position(booking))
        if also is not None:
            also(booking)
        db.session.commit()
    except IntegrityError:
        # The partial unique index caught a duplicate that slipped past the check.
        db.session.rollback()
        raise AlreadyBooked() from None
    return Placed(booking, token)


def cancel(
    booking_id: int, now: datetime | None = None, *, notify_delegate: bool = True
) -> Booking:
    """Cancel a booking; a freed place goes to the longest-waiting delegate in the same commit."""
    now = now or utcnow()
    event, booking = _lock_booking(booking_id)
    if booking.status == BookingStatus.cancelled:
        db.session.rollback()
        return booking
    was_confirmed = booking.status == BookingStatus.confirmed
    booking.status = BookingStatus.cancelled
    booking.cancelled_at = now
    db.session.flush()
    if notify_delegate:
        notifications.cancelled(booking)
    if was_confirmed:
        _promote(event, now)
    db.session.commit()
    return booking


def change_capacity(event_id: int, capacity: int, now: datetime | None = None) -> list[Booking]:
    """Set a new capacity; raising it promotes from the waiting list in order."""
    now = now or utcnow()
    event = _lock_event(event_id)
    confirmed, _ = _counts([event.id]).get(event.id, (0, 0))
    if capacity < confirmed:
        db.session.rollback()
        raise CapacityTooLow(
            f"{confirmed} places are already confirmed; capacity cannot go below that."
        )
    event.capacity = capacity
    db.session.flush()
    promoted = _promote(event, now)
    db.session.commit()
    return promoted


def update_needs(
    booking: Booking, dietary_needs: str, access_needs: str, now: datetime | None = None
) -> None:
    """Needs matter only for a place still to be used: not a cancelled one, nor after the day."""
    if booking.status == BookingStatus.cancelled:
        raise BookingRefused("This booking is cancelled, so there are no needs to change.")
    if booking.event.is_past(now):
        raise BookingRefused("This event has taken place, so its needs can no longer change.")
    booking.dietary_needs = dietary_needs.strip()
    booking.access_needs = access_needs.strip()
    db.session.commit()


def waiting_position(booking: Booking) -> int | None:
    """1 for the next delegate to get a place; None when not on the waiting list."""
    if booking.status != BookingStatus.waitlisted:
        return None
    ahead = db.session.scalar(
        select(func.count(Booking.id)).where(
            Booking.event_id == booking.event_id,
            Booking.status == BookingStatus.waitlisted,
            (Booking.queued_at < booking.queued_at)
            | ((Booking.queued_at == booking.queued_at) & (Booking.id < booking.id)),
        )
    )
    return (ahead or 0) + 1


def resend_links(address: str, now: datetime | None = None) -> int:
    """E-mail the manage links of the address's active bookings of events not yet over.

    The links are the ones already sent: a request for them, which anyone may make, must not
    stop a link the delegate holds (or one in a message still queued) from working.

    The caller shows the same message whatever this returns, so the page never tells a
    stranger whether an address has booked.
    """
    now = now or utcnow()
    bookings = list(
        db.session.scalars(
            select(Booking)
            .join(Booking.event)
            .options(contains_eager(Booking.event).joinedload(Event.venue))
            .where(
                Booking.email_key == email_key(address),
                Booking.status != BookingStatus.cancelled,
                Event.ends_at > now,
            )
            .order_by(Event.starts_at)
        )
    )
    if bookings:
        notifications.links(bookings[0].email, bookings)
        db.session.commit()
    return len(bookings)


def active_sectors() -> list[Sector]:
    return list(
        db.session.scalars(
            select(Sector).where(Sector.retired.is_(False)).order_by(Sector.position, Sector.name)
        )
    )


# ----------------------------------------------------------------------------- organiser console


class NotWaitlisted(Exception):
    """Only a delegate on the waiting list can be given a place by override."""


class NotConfirmed(Exception):
    """Only a delegate with a confirmed place can be checked in."""


def cancel_event(event_id: int, reason: str, now: datetime | None = None) -> list[Booking]:
    """Cancel the event and every active booking; each delegate is told why, in one commit.

    Returns the bookings cancelled (empty when the event was already cancelled).
    """
    now = now or utcnow()
    event = _lock_event(event_id)
    if event.status == EventStatus.cancelled:
        db.session.rollback()
        return []
    event.status = EventStatus.cancelled
    event.cancelled_at = now
    event.cancellation_reason = reason.strip()
    active = list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.event_id == event.id,
                Booking.status.in_((BookingStatus.confirmed, BookingStatus.waitlisted)),
            )
            .order_by(Booking.id)
        )
    )
    for booking in active:
        booking.status = BookingStatus.cancelled
        booking.cancelled_at = now
    db.session.flush()
    for booking in active:
        event_notifications.event_cancelled(booking)
    db.session.commit()
    return active


def confirm_with_override(booking_id: int, now: datetime | None = None) -> tuple[Booking, bool]:
    """Give a waitlisted delegate a place ahead of the queue, on an organiser's explicit say-so.

    Capacity grows by one when the event is full, so confirmed places still never exceed it;
    the caller records who decided and why. Returns the booking and whether capacity grew.
    """
    now = now or utcnow()
    event, booking = _lock_booking(booking_id)
    if booking.status != BookingStatus.waitlisted or event.status == EventStatus.cancelled:
        db.session.rollback()
        raise NotWaitlisted()
    confirmed, _ = _counts([event.id]).get(event.id, (0, 0))
    raised = confirmed >= event.capacity
    if raised:
        event.capacity = confirmed + 1
    booking.status = BookingStatus.confirmed
    booking.confirmed_at = now
    db.session.flush()
    notifications.promoted(booking)
    db.session.commit()
    return booking, raised


def check_in(booking_id: int, now: datetime | None = None) -> Booking:
    """Mark a confirmed delegate as attended (idempotent: a second tap keeps the first time)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise LookupError(booking_id)
    if booking.status != BookingStatus.confirmed:
        raise NotConfirmed()
    if booking.attended_at is None:
        booking.attended_at = now or utcnow()
        db.session.commit()
    return booking


def undo_check_in(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise LookupError(booking_id)
    booking.attended_at = None
    db.session.commit()
    return booking
