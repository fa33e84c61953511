"""The booking rules: capacity, the waiting list, the manage link, the organisers' changes
to delegates' bookings, and the reference lists (sectors, LSCBs). Delegates' pages and the
console call these.

One transaction per change: every public function here that changes data runs in
``with unit_of_work():`` and never commits or rolls back itself, so the change, its promotions,
its outbox e-mails and its audit entry are committed together, or not at all. Called from
another service's unit, a function joins it; a refusal raised inside rolls back the whole
change, which the outermost unit owns.

Every change of places takes the event's lock (``lock_event``) first. The lock is taken as
late as possible and never to free a place only (pretix's rule): reads before it are plain, and
everything that decides is re-read after it. Audit entries name a delegate only by booking
reference.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import NamedTuple

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    ScalarSelect,
    Select,
    case,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, contains_eager

from bookings.accounts import service as accounts
from bookings.booking import notifications
from bookings.booking.models import ACTIVE_STATUSES, Booking, BookingStatus, Lscb, Sector
from bookings.booking.tokens import manage_token
from bookings.db import db, paged, require_unit_of_work, unit_of_work, utcnow
from bookings.events.models import Event, EventStatus
from bookings.london import format_stamp
from bookings.mail.service import Rendered
from bookings.stats.models import RecordedSectorFigure
from bookings.web.downloads import spreadsheet_csv

REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
REFERENCE_LENGTH = 8


class BookingState(enum.StrEnum):
    draft = "draft"
    not_open = "not_open"
    open = "open"
    full = "full"
    closed = "closed"
    started = "started"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        """The state in organisers' words, for the console."""
        return STATE_LABELS[self]


STATE_LABELS = {
    BookingState.draft: "Not published, so not bookable",
    BookingState.not_open: "Not open yet",
    BookingState.open: "Open",
    BookingState.full: "Full: the waiting list is open",
    BookingState.closed: "Closed",
    BookingState.started: "Closed: the event has started",
    BookingState.cancelled: "Cancelled",
}

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
    lscb_id: int = field(kw_only=True)


class BookingRefused(Exception):
    """The event cannot take this booking; the message says why, for the delegate."""


class AlreadyBooked(Exception):
    """This address already holds an active booking for the event."""


class CapacityTooLow(Exception):
    """Capacity may not fall below the number of confirmed places."""


class NotWaitlisted(Exception):
    """Only a delegate on the waiting list can be given a place by override."""


class NotConfirmed(Exception):
    """Only a delegate with a confirmed place can be checked in."""


class ReferenceListError(ValueError):
    """The change to the sector or LSCB list is not allowed; the message says why, for the
    admin."""


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


def _confirmed(event_id: int) -> int:
    return _counts([event_id]).get(event_id, (0, 0))[0]


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


def availability_from(event: Event, confirmed: int, waitlisted: int, now: datetime) -> Availability:
    """Availability from counts already read (``counted``), for pages that read them with the
    event's own row. ``event`` needs only status, capacity, start and booking window, so a
    query row with those columns does."""
    return Availability(
        state=_state(event, confirmed, now),
        capacity=event.capacity,
        confirmed=confirmed,
        waitlisted=waitlisted,
        opens_at=event.booking_opens_at,
    )


def counted(status: BookingStatus, event_id: ColumnElement[int]) -> ScalarSelect[int]:
    """The number of an event's bookings in ``status``, as a scalar subquery to select beside
    the event's columns (``availability_from``)."""
    return (
        select(func.count())
        .where(Booking.event_id == event_id, Booking.status == status)
        .scalar_subquery()
    )


def availability_for(
    events: Iterable[Event], now: datetime | None = None
) -> dict[int, Availability]:
    """Availability of many events in one query."""
    events = list(events)
    now = now or utcnow()
    counts = _counts([event.id for event in events])
    return {
        event.id: availability_from(event, *counts.get(event.id, (0, 0)), now) for event in events
    }


def availability(event: Event, now: datetime | None = None) -> Availability:
    return availability_for([event], now)[event.id]


# ----------------------------------------------------------------------------- tokens, references


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token(booking: Booking) -> str:
    booking.token_salt = secrets.token_hex(16)
    token = manage_token(booking)
    booking.token_hash = _token_hash(token)
    return token


def _shaped_reference(raw: str) -> str:
    """The reference as delegates quote it: two groups of four, ``ABCD-2345``."""
    return f"{raw[:4]}-{raw[4:]}"


def new_reference() -> str:
    return _shaped_reference(
        "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    )


def reference_like(q: str) -> str | None:
    """The reference an organiser typed, however written: "abcd2345" and "ABCD-2345" both
    find ABCD-2345; None when ``q`` cannot be one."""
    raw = re.sub(r"[^A-Za-z0-9]", "", q).upper()
    return _shaped_reference(raw) if len(raw) == REFERENCE_LENGTH else None


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


def lock_event(event_id: int) -> Event:
    """Take the event's write lock for the rest of the unit of work and return it fresh.

    PostgreSQL: a row lock (SELECT ... FOR UPDATE). SQLite has no row locks; a no-op UPDATE
    takes the database write lock, which WAL and the busy timeout make others queue for. Outside
    a unit of work a lock would end at the next stray commit, so it is refused there.
    """
    require_unit_of_work("the event's lock")
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
    event = lock_event(event_id)
    booking = db.session.scalar(
        select(Booking).where(Booking.id == booking_id).execution_options(populate_existing=True)
    )
    return event, booking


# ----------------------------------------------------------------------------- the waiting list


def _waiting_list(event_id: int, limit: int | None = None) -> list[Booking]:
    query = (
        select(Booking)
        .where(Booking.event_id == event_id, Booking.status == BookingStatus.waitlisted)
        .order_by(*Booking.waiting_order())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def waiting_positions(event_id: int) -> dict[int, int]:
    """Booking id to place in the queue (1 = next), in one query."""
    ids = db.session.scalars(
        select(Booking.id)
        .where(Booking.event_id == event_id, Booking.status == BookingStatus.waitlisted)
        .order_by(*Booking.waiting_order())
    )
    return {booking_id: n for n, booking_id in enumerate(ids, start=1)}


def waiting_position(booking: Booking) -> int | None:
    """1 for the next delegate to get a place; None when not on the waiting list."""
    if booking.status != BookingStatus.waitlisted:
        return None
    return waiting_positions(booking.event_id).get(booking.id)


def _promote(event: Event, now: datetime) -> list[Booking]:
    """Fill free places from the waiting list, longest-waiting first. Caller holds the lock."""
    free = event.capacity - _confirmed(event.id)
    if free <= 0 or event.status != EventStatus.published or event.starts_at <= now:
        return []
    promoted = _waiting_list(event.id, free)
    for booking in promoted:
        booking.status = BookingStatus.confirmed
        booking.confirmed_at = now
        notifications.promoted(booking)
    return promoted


# ----------------------------------------------------------------------------- delegates' changes


def book(event_id: int, details: DelegateDetails, now: datetime | None = None) -> Placed:
    """Give the delegate a confirmed place, or a place on the waiting list when full."""
    try:
        with unit_of_work():
            return _place(event_id, details, now)
    except IntegrityError:
        # The partial unique index caught a duplicate that slipped past the check.
        raise AlreadyBooked() from None


def _place(event_id: int, details: DelegateDetails, now: datetime | None) -> Placed:
    sector = db.session.get(Sector, details.sector_id)
    if sector is None or sector.retired:
        raise BookingRefused("Please choose your sector from the list.")
    lscb = db.session.get(Lscb, details.lscb_id)
    if lscb is None or lscb.retired:
        raise BookingRefused("Please choose your LSCB from the list.")
    key = email_key(details.email)

    event = lock_event(event_id)
    # Read the clock under the lock, so queue order is the order in which the lock was won.
    now = now or utcnow()
    state = _state(event, _confirmed(event.id), now)
    if state in REFUSALS:
        raise BookingRefused(REFUSALS[state])
    duplicate = db.session.scalar(
        select(Booking.id).where(
            Booking.event_id == event.id, Booking.email_key == key, Booking.is_active
        )
    )
    if duplicate is not None:
        raise AlreadyBooked()

    booking = Booking(
        event=event,
        sector=sector,
        lscb=lscb,
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
    db.session.flush()
    if booking.status == BookingStatus.confirmed:
        notifications.confirmed(booking)
    else:
        notifications.waitlisted(booking, waiting_position(booking))
    return Placed(booking, token)


def cancel(booking_id: int, now: datetime | None = None) -> Booking:
    """Cancel a booking; a freed place goes to the longest-waiting delegate in the same unit."""
    with unit_of_work():
        event, booking = _lock_booking(booking_id)
        if booking.is_active:
            _cancel_locked(event, booking, now or utcnow())
        return booking


def _cancel_locked(event: Event, booking: Booking, now: datetime) -> list[Booking]:
    """Cancel under the event's lock; returns those the freed place went to."""
    was_confirmed = booking.status == BookingStatus.confirmed
    booking.status = BookingStatus.cancelled
    booking.cancelled_at = now
    db.session.flush()
    notifications.cancelled(booking)
    return _promote(event, now) if was_confirmed else []


def change_capacity(event_id: int, capacity: int, now: datetime | None = None) -> list[Booking]:
    """Set a new capacity; raising it promotes from the waiting list in order."""
    with unit_of_work():
        now = now or utcnow()
        event = lock_event(event_id)
        confirmed = _confirmed(event.id)
        if capacity < confirmed:
            raise CapacityTooLow(
                f"{confirmed} places are already confirmed; capacity cannot go below that."
            )
        event.capacity = capacity
        db.session.flush()
        return _promote(event, now)


def update_needs(
    booking: Booking, dietary_needs: str, access_needs: str, now: datetime | None = None
) -> None:
    """Needs matter only for a place still to be used: not a cancelled one, nor after the day."""
    with unit_of_work():
        if booking.status == BookingStatus.cancelled:
            raise BookingRefused("This booking is cancelled, so there are no needs to change.")
        if booking.event.is_past(now):
            raise BookingRefused("This event has taken place, so its needs can no longer change.")
        booking.dietary_needs = dietary_needs.strip()
        booking.access_needs = access_needs.strip()


def resend_links(address: str, now: datetime | None = None) -> int:
    """E-mail the manage links of the address's active bookings of events not yet over.

    The links are the ones already sent: a request for them, which anyone may make, must not
    stop a link the delegate holds (or one in a message still queued) from working.

    The caller shows the same message whatever this returns, so the page never tells a
    stranger whether an address has booked.
    """
    now = now or utcnow()
    with unit_of_work():
        bookings = list(
            db.session.scalars(
                select(Booking)
                .join(Booking.event)
                .options(contains_eager(Booking.event).joinedload(Event.venue))
                .where(
                    Booking.email_key == email_key(address),
                    Booking.is_active,
                    Event.ends_at > now,
                )
                .order_by(Event.starts_at)
            )
        )
        if bookings:
            notifications.links(bookings[0].email, bookings)
        return len(bookings)


# ----------------------------------------------------------------------------- the console's reads


STATUS_ORDER = {BookingStatus.confirmed: 0, BookingStatus.waitlisted: 1, BookingStatus.cancelled: 2}
# Rows on a page of the console's delegates and check-in lists.
PAGE_SIZE = 50


class DelegateSort(enum.StrEnum):
    """The orders of the delegates list; ``status`` (the default) is confirmed by name, then
    the waiting list in queue order, then cancellations."""

    status = "status"
    name = "name"
    organisation = "organisation"
    sector = "sector"
    booked = "booked"


@dataclass(frozen=True)
class Filters:
    """Which delegates a list shows, and in which order. ``arrived``: None for everyone,
    True for confirmed delegates checked in, False for confirmed ones not (yet) checked in."""

    q: str = ""
    status: BookingStatus | None = None
    sector_id: int | None = None
    arrived: bool | None = None
    sort: DelegateSort = DelegateSort.status
    descending: bool = False


@dataclass(frozen=True)
class DelegateList:
    """The console's delegates page: one page of the matching bookings and what is shown
    around them. ``cancellable``: whether the event is still to end, so bookings may be
    cancelled."""

    page: Pagination
    positions: dict[int, int]
    availability: Availability
    sectors: list[Sector]
    cancellable: bool


@dataclass(frozen=True)
class CheckInList:
    page: Pagination
    attended: int
    confirmed: int


@dataclass(frozen=True)
class Arrival:
    """A delegate marked as arrived (or not), with the event's counts after the change."""

    booking: Booking
    attended: int
    confirmed: int


def _order(filters: Filters) -> list[ColumnElement]:
    """ORDER BY for ``filters.sort``; ties fall to the name, then the booking's id, so that
    pages never share or skip a row."""
    name = func.lower(Booking.name)

    def way(column: ColumnElement) -> ColumnElement:
        return column.desc() if filters.descending else column.asc()

    if filters.sort == DelegateSort.name:
        return [way(name), way(Booking.id)]
    if filters.sort == DelegateSort.organisation:
        return [way(func.lower(Booking.organisation)), name, Booking.id]
    if filters.sort == DelegateSort.sector:
        return [way(Sector.position), way(Sector.name), name, Booking.id]
    if filters.sort == DelegateSort.booked:
        return [way(Booking.created_at), way(Booking.id)]
    return [
        way(case(*((Booking.status == s, n) for s, n in STATUS_ORDER.items()))),
        case((Booking.status == BookingStatus.confirmed, name), else_=""),
        *Booking.waiting_order(),
    ]


def _delegates_query(event_id: int, filters: Filters) -> Select:
    """The bookings ``filters`` match, with their sectors (one joined query), in order."""
    query = (
        select(Booking)
        .join(Booking.sector)
        .options(contains_eager(Booking.sector))
        .where(Booking.event_id == event_id)
    )
    q = filters.q.strip()
    if q:
        needle = q.lower()
        conditions = [
            func.lower(column).contains(needle, autoescape=True)
            for column in (Booking.name, Booking.email, Booking.organisation, Booking.reference)
        ]
        reference = reference_like(q)
        if reference:
            conditions.append(Booking.reference == reference)
        query = query.where(or_(*conditions))
    if filters.status is not None:
        query = query.where(Booking.status == filters.status)
    if filters.sector_id is not None:
        query = query.where(Booking.sector_id == filters.sector_id)
    if filters.arrived is not None:
        arrived = (
            Booking.attended_at.is_not(None) if filters.arrived else Booking.attended_at.is_(None)
        )
        query = query.where(Booking.status == BookingStatus.confirmed, arrived)
    return query.order_by(*_order(filters))


def delegates(event_id: int, filters: Filters = Filters()) -> list[Booking]:
    """Every matching booking with its sector, in one query: the CSV and the printed lists."""
    return list(db.session.scalars(_delegates_query(event_id, filters)))


def delegate_list(
    event: Event, filters: Filters = Filters(), page: int = 1, now: datetime | None = None
) -> DelegateList:
    """One page of the delegates list: the same statements for 5 bookings or 5,000."""
    return DelegateList(
        page=paged(_delegates_query(event.id, filters), page, PAGE_SIZE),
        positions=waiting_positions(event.id),
        availability=availability(event, now),
        sectors=all_sectors(),
        cancellable=not event.is_past(now),
    )


def _arrival_counts(event_id: int) -> tuple[int, int]:
    attended, confirmed = db.session.execute(
        select(func.count(Booking.attended_at), func.count(Booking.id)).where(
            Booking.event_id == event_id, Booking.status == BookingStatus.confirmed
        )
    ).one()
    return attended, confirmed


def check_in_list(
    event_id: int, q: str = "", page: int = 1, *, not_arrived: bool = False
) -> CheckInList:
    """A page of the confirmed delegates matching ``q`` by name (only those not yet arrived
    with ``not_arrived``), and how many of all confirmed have come."""
    attended, confirmed = _arrival_counts(event_id)
    filters = Filters(
        q=q,
        status=BookingStatus.confirmed,
        arrived=False if not_arrived else None,
        sort=DelegateSort.name,
    )
    return CheckInList(
        paged(_delegates_query(event_id, filters), page, PAGE_SIZE), attended, confirmed
    )


def booking_of(event_id: int, booking_id: int) -> Booking | None:
    return db.session.scalar(
        select(Booking).where(Booking.id == booking_id, Booking.event_id == event_id)
    )


CSV_COLUMNS = (
    "Reference",
    "Status",
    "Waiting list position",
    "Name",
    "E-mail",
    "Organisation",
    "Job title",
    "Sector",
    "Dietary needs",
    "Access needs",
    "Booked at",
    "Confirmed at",
    "Cancelled at",
    "Attended at",
)


def csv_export(event_id: int, filters: Filters = Filters()) -> str:
    """The delegate list as a spreadsheet (``spreadsheet_csv``: byte-order mark, safe cells)."""
    positions = waiting_positions(event_id)
    rows = [
        [
            b.reference,
            b.status.value,
            positions.get(b.id, ""),
            b.name,
            b.email,
            b.organisation,
            b.job_title,
            b.sector.name,
            b.dietary_needs,
            b.access_needs,
            format_stamp(b.created_at),
            format_stamp(b.confirmed_at),
            format_stamp(b.cancelled_at),
            format_stamp(b.attended_at),
        ]
        for b in delegates(event_id, filters)
    ]
    return spreadsheet_csv([CSV_COLUMNS, *rows])


# --------------------------------------------------------------------------- the console's changes


def book_on_behalf(event_id: int, details: DelegateDetails) -> Booking:
    """The public form's rules and e-mails, for a delegate who phoned; the organiser who booked
    is in the audit log, in the same unit as the booking."""
    with unit_of_work():
        booking = book(event_id, details).booking
        accounts.audit(
            "booking.create",
            "event",
            event_id,
            f"Booked {booking.reference} on a delegate's behalf ({booking.status.value})",
        )
        return booking


@dataclass(frozen=True)
class CancelPreview:
    """What an organiser's cancelling of a booking would do, for the confirmation page:
    ``position`` is the booking's place on the waiting list, ``next_in_line`` the delegate the
    freed place would go to, ``refusal`` why it cannot be cancelled (empty when it can)."""

    booking: Booking
    position: int | None
    next_in_line: Booking | None
    refusal: str


@dataclass(frozen=True)
class Cancelled:
    booking: Booking
    promoted: list[Booking]


def _why_not_cancellable(event: Event, booking: Booking, now: datetime) -> str:
    if not booking.is_active:
        return "This booking is already cancelled."
    if event.is_past(now):
        return "This event has ended, so its bookings stay as they were."
    return ""


def cancellation(booking: Booking, now: datetime | None = None) -> CancelPreview:
    """What cancelling ``booking`` would do now (plain reads: the change re-reads under the
    lock, and the waiting list may move before the organiser confirms)."""
    now = now or utcnow()
    event = booking.event
    frees_a_place = (
        booking.status == BookingStatus.confirmed
        and event.status == EventStatus.published
        and event.starts_at > now
    )
    waiting = _waiting_list(event.id, 1) if frees_a_place else []
    return CancelPreview(
        booking=booking,
        position=waiting_position(booking),
        next_in_line=waiting[0] if waiting else None,
        refusal=_why_not_cancellable(event, booking, now),
    )


def cancel_for_delegate(booking_id: int, now: datetime | None = None) -> Cancelled:
    """An organiser cancels a booking (the delegate phoned): as ``cancel``, audited, and
    refused once the event has ended (its attendance is history) and for a booking already
    cancelled (a second click changes nothing). Returns who the freed place went to."""
    with unit_of_work():
        now = now or utcnow()
        event, booking = _lock_booking(booking_id)
        refusal = _why_not_cancellable(event, booking, now)
        if refusal:
            raise BookingRefused(refusal)
        accounts.audit(
            "booking.cancel",
            "event",
            booking.event_id,
            f"Cancelled booking {booking.reference} ({booking.status.value})",
            {"status": [booking.status.value, "cancelled"]},
        )
        return Cancelled(booking, _cancel_locked(event, booking, now))


def confirm_with_override(
    booking_id: int, reason: str, now: datetime | None = None
) -> tuple[Booking, bool]:
    """Give a waitlisted delegate a place ahead of the queue, on an organiser's explicit say-so.

    Capacity grows by one when the event is full, so confirmed places still never exceed it;
    who decided and why go to the audit log. Returns the booking and whether capacity grew.
    """
    with unit_of_work():
        now = now or utcnow()
        event, booking = _lock_booking(booking_id)
        if booking.status != BookingStatus.waitlisted or event.status == EventStatus.cancelled:
            raise NotWaitlisted()
        confirmed = _confirmed(event.id)
        raised = confirmed >= event.capacity
        accounts.audit(
            "booking.override",
            "event",
            event.id,
            f"Gave {booking.reference} a place from the waiting list by override: {reason.strip()}",
            {"status": ["waitlisted", "confirmed"]},
        )
        if raised:
            accounts.audit(
                "event.capacity",
                "event",
                event.id,
                f"Places raised by one for the override of {booking.reference}",
                {"capacity": [str(event.capacity), str(confirmed + 1)]},
            )
            event.capacity = confirmed + 1
        booking.status = BookingStatus.confirmed
        booking.confirmed_at = now
        db.session.flush()
        notifications.promoted(booking)
        return booking, raised


def check_in(booking_id: int, now: datetime | None = None) -> Booking:
    """Mark a confirmed delegate as attended (idempotent: a second tap keeps the first time)."""
    with unit_of_work():
        booking = db.session.get(Booking, booking_id)
        if booking is None:
            raise LookupError(booking_id)
        if booking.status != BookingStatus.confirmed:
            raise NotConfirmed()
        if booking.attended_at is None:
            booking.attended_at = now or utcnow()
            accounts.audit(
                "booking.check_in", "event", booking.event_id, f"Checked in {booking.reference}"
            )
        return booking


def undo_check_in(booking_id: int) -> Booking:
    with unit_of_work():
        booking = db.session.get(Booking, booking_id)
        if booking is None:
            raise LookupError(booking_id)
        if booking.attended_at is not None:
            booking.attended_at = None
            accounts.audit(
                "booking.undo_check_in",
                "event",
                booking.event_id,
                f"Undid check-in of {booking.reference}",
            )
        return booking


def set_arrival(booking_id: int, arrived: bool, now: datetime | None = None) -> Arrival:
    """Check a delegate in (``arrived``) or undo it, and count the event's arrivals after the
    change: what the check-in page shows without reloading."""
    with unit_of_work():
        booking = check_in(booking_id, now) if arrived else undo_check_in(booking_id)
        return Arrival(booking, *_arrival_counts(booking.event_id))


def delegates_of(
    event_id: int, statuses: Sequence[BookingStatus] = ACTIVE_STATUSES
) -> list[Booking]:
    """An event's delegates with one of ``statuses`` (by default those holding or awaiting a
    place), in booking order: the audience of what the organisers tell them."""
    return list(
        db.session.scalars(
            select(Booking)
            .where(Booking.event_id == event_id, Booking.status.in_(statuses))
            .order_by(Booking.id)
        )
    )


def tell_event_moved(event_id: int, was_starts_at: datetime | None, venue_changed: bool) -> int:
    """E-mail every active delegate that the event's time (``was_starts_at``: the old start,
    None if only the venue changed) or venue changed; returns how many were told. Runs in the
    caller's unit of work, the edit's own."""
    require_unit_of_work("telling delegates of a change")
    told = delegates_of(event_id)
    for booking in told:
        notifications.event_moved(booking, was_starts_at, venue_changed)
    return len(told)


# ----------------------------------------------------------------------------- organisers' messages
# Who an audience is, decided here once: the console offers, previews, counts and sends by it.


class Audience(enum.StrEnum):
    confirmed = "confirmed"
    waitlisted = "waitlisted"
    both = "both"  # everyone holding a place or waiting for one
    attended = "attended"
    did_not_attend = "did_not_attend"


class AudienceRefused(ValueError):
    """The event has no such audience (yet): the message says why, for the organiser."""


class AudienceChanged(Exception):
    """The audience grew or shrank after the organiser confirmed its size: they confirm again."""

    def __init__(self, recipients: int) -> None:
        super().__init__(f"the audience now has {recipients} delegates")
        self.recipients = recipients


@dataclass(frozen=True)
class MessagePreview:
    """What the organiser checks before sending: how many get it, and the e-mail as the first
    of them will read it (None when nobody is in the audience)."""

    audience: Audience
    recipients: int
    sample: Rendered | None


def message_audiences(event: Event, now: datetime | None = None) -> list[Audience]:
    """The audiences an event has now: who came is known once it has started, who did not
    only once it is over (before that, "not checked in" means "not here yet")."""
    now = now or utcnow()
    audiences = [Audience.confirmed, Audience.waitlisted, Audience.both]
    if event.starts_at <= now:
        audiences.append(Audience.attended)
    if event.ends_at <= now:
        audiences.append(Audience.did_not_attend)
    return audiences


def _audience(event: Event, audience: str, now: datetime | None) -> Select:
    """The bookings of ``audience``, in booking order; refuses one the event does not have."""
    try:
        chosen = Audience(audience)
    except ValueError:
        raise AudienceRefused(f"{audience!r} is not an audience") from None
    if chosen not in message_audiences(event, now):
        raise AudienceRefused(
            "Who attended is known once the event has started, and who did not once it is over."
        )
    confirmed = Booking.status == BookingStatus.confirmed
    where = {
        Audience.confirmed: (confirmed,),
        Audience.waitlisted: (Booking.status == BookingStatus.waitlisted,),
        Audience.both: (Booking.is_active,),
        Audience.attended: (confirmed, Booking.attended_at.is_not(None)),
        Audience.did_not_attend: (confirmed, Booking.attended_at.is_(None)),
    }[chosen]
    return select(Booking).where(Booking.event_id == event.id, *where).order_by(Booking.id)


def _message_event(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        raise LookupError(event_id)
    return event


def audience_size(event_id: int, audience: str, now: datetime | None = None) -> int:
    """How many delegates a message to ``audience`` would reach now."""
    query = _audience(_message_event(event_id), audience, now)
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def preview_message(
    event_id: int, audience: str, subject: str, body: str, now: datetime | None = None
) -> MessagePreview:
    """The audience's size and the first recipient's e-mail, worded by the renderer that will
    send it; nothing is queued."""
    query = _audience(_message_event(event_id), audience, now)
    recipients = audience_size(event_id, audience, now)
    first = db.session.scalar(query.limit(1))
    sample = notifications.organisers_message_preview(first, subject, body) if first else None
    return MessagePreview(Audience(audience), recipients, sample)


def message_delegates(
    event_id: int,
    audience: str,
    subject: str,
    body: str,
    *,
    expected: int | None = None,
    now: datetime | None = None,
) -> int:
    """The organisers' message, one e-mail per delegate of the audience; returns how many.
    ``expected`` is the size the organiser confirmed: any other raises
    :class:`AudienceChanged` and queues nothing."""
    require_unit_of_work("a message to delegates")
    recipients = list(db.session.scalars(_audience(_message_event(event_id), audience, now)))
    if expected is not None and len(recipients) != expected:
        raise AudienceChanged(len(recipients))
    if not recipients:
        raise AudienceRefused("Nobody is in this audience, so there is no one to send it to.")
    for booking in recipients:
        notifications.organisers_message(booking, subject, body)
    return len(recipients)


def queue_test_message(event_id: int, recipient: str, subject: str, body: str) -> None:
    """The message to ``recipient`` (the organiser) as a made-up delegate would get it, marked
    as a test; no booking is attached, so no delegate's details or link are in it."""
    require_unit_of_work("a test message")
    notifications.organisers_message_test(_message_event(event_id), recipient, subject, body)


def cancel_event(event_id: int, reason: str, now: datetime | None = None) -> list[Booking]:
    """Cancel the event and every active booking; each delegate is told why, in one unit.

    Returns the bookings cancelled (empty when the event was already cancelled).
    """
    with unit_of_work():
        now = now or utcnow()
        event = lock_event(event_id)
        if event.status == EventStatus.cancelled:
            return []
        event.status = EventStatus.cancelled
        event.cancelled_at = now
        event.cancellation_reason = reason.strip()
        active = list(
            db.session.scalars(
                select(Booking)
                .where(Booking.event_id == event.id, Booking.is_active)
                .order_by(Booking.id)
            )
        )
        for booking in active:
            booking.status = BookingStatus.cancelled
            booking.cancelled_at = now
        db.session.flush()
        for booking in active:
            notifications.event_cancelled(booking)
        return active


# ----------------------------------------------------------------------------- reference lists
# The sector list and the LSCB list, kept by admins by the same rules. An entry in use is never
# deleted, only retired: old bookings and the statistics keep it, the booking form stops
# offering it.


@dataclass(frozen=True)
class ReferenceList:
    """One admin-kept list: its model, what the console calls an entry, and the columns whose
    rows use an entry (so it cannot be deleted)."""

    model: type[Sector] | type[Lscb]
    noun: str
    a_noun: str
    audit_kind: str
    uses: tuple[InstrumentedAttribute, ...]


SECTORS = ReferenceList(
    Sector, "sector", "a sector", "sector", (Booking.sector_id, RecordedSectorFigure.sector_id)
)
LSCBS = ReferenceList(Lscb, "LSCB", "an LSCB", "lscb", (Booking.lscb_id,))


def active_entries(ref: ReferenceList) -> list:
    """The entries the booking form offers."""
    model = ref.model
    return list(
        db.session.scalars(
            select(model).where(model.retired.is_(False)).order_by(*model.display_order())
        )
    )


def all_entries(ref: ReferenceList) -> list:
    """Every entry, retired ones too: old bookings still carry them."""
    return list(db.session.scalars(select(ref.model).order_by(*ref.model.display_order())))


class Choice(NamedTuple):
    """An entry of a reference list as the booking form offers it."""

    id: int
    name: str


@cache
def _choices_statement() -> CompoundSelect:
    """Both lists in one statement, built once per process."""
    parts = [
        select(literal(n).label("list"), model.id, model.name, model.position).where(
            model.retired.is_(False)
        )
        for n, model in enumerate((Sector, Lscb))
    ]
    return union_all(*parts).order_by(text("list"), text("position"), text("name"))


def reference_choices() -> tuple[tuple[Choice, ...], tuple[Choice, ...]]:
    """The active sectors and LSCBs as (id, name) in display order (``display_order``): what
    the booking form needs, in one Core query without ORM objects."""
    lists: tuple[list[Choice], list[Choice]] = ([], [])
    for n, entry_id, name, _position in db.session.connection().execute(_choices_statement()):
        lists[n].append(Choice(entry_id, name))
    return tuple(lists[0]), tuple(lists[1])


def active_sectors() -> list[Sector]:
    return active_entries(SECTORS)


def all_sectors() -> list[Sector]:
    return all_entries(SECTORS)


def active_lscbs() -> list[Lscb]:
    return active_entries(LSCBS)


def all_lscbs() -> list[Lscb]:
    return all_entries(LSCBS)


def entries_with_use(ref: ReferenceList) -> list[tuple]:
    """Every entry in order with the number of rows using it, in one query."""
    model = ref.model
    used = []
    query = select(model)
    for column in ref.uses:
        counted = select(column.label("entry_id"), func.count().label("n")).group_by(column)
        counted = counted.subquery()
        used.append(func.coalesce(counted.c.n, 0))
        query = query.outerjoin(counted, counted.c.entry_id == model.id)
    total = used[0]
    for more in used[1:]:
        total = total + more
    rows = db.session.execute(query.add_columns(total).order_by(*model.display_order()))
    return [(entry, int(n)) for entry, n in rows]


def sectors_with_use() -> list[tuple[Sector, int]]:
    return entries_with_use(SECTORS)


@dataclass(frozen=True)
class EntryUse:
    """One entry of a reference list, how many rows use it, and why it cannot be deleted
    (empty when it can): what its console and confirmation pages show."""

    ref: ReferenceList
    entry: Sector | Lscb
    used: int

    @property
    def what(self) -> str:
        """What uses an entry of this list."""
        return "bookings or recorded figures" if self.ref is SECTORS else "bookings or allocations"

    @property
    def delete_refusal(self) -> str:
        if not self.used:
            return ""
        return (
            f"{self.entry.name} is used by {self.used} {self.what}, so it cannot be "
            "deleted. Retire it instead: it stays in the statistics but leaves the form."
        )


def entry_use(ref: ReferenceList, entry_id: int) -> EntryUse | None:
    return next((EntryUse(ref, e, n) for e, n in entries_with_use(ref) if e.id == entry_id), None)


def _name_free(ref: ReferenceList, name: str, exclude_id: int | None = None) -> None:
    query = select(ref.model.id).where(func.lower(ref.model.name) == name.lower())
    if exclude_id is not None:
        query = query.where(ref.model.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise ReferenceListError(f"There is already {ref.a_noun} called {name}.")


def _clean(ref: ReferenceList, name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ReferenceListError(f"Enter the {ref.noun}'s name.")
    return name


def _entry(ref: ReferenceList, entry_id: int):
    entry = db.session.get(ref.model, entry_id)
    if entry is None:
        raise LookupError(entry_id)
    return entry


def add_entry(ref: ReferenceList, name: str):
    with unit_of_work():
        name = _clean(ref, name)
        _name_free(ref, name)
        last = db.session.scalar(select(func.max(ref.model.position))) or 0
        entry = ref.model(name=name, position=last + 1)
        db.session.add(entry)
        db.session.flush()
        accounts.audit(
            f"{ref.audit_kind}.create", ref.audit_kind, entry.id, f"Added {ref.noun} {name}"
        )
        return entry


def rename_entry(ref: ReferenceList, entry_id: int, name: str):
    with unit_of_work():
        entry = _entry(ref, entry_id)
        name = _clean(ref, name)
        _name_free(ref, name, exclude_id=entry.id)
        accounts.audit(
            f"{ref.audit_kind}.rename",
            ref.audit_kind,
            entry.id,
            f"Renamed {ref.noun} {entry.name} to {name}",
            {"name": [entry.name, name]},
        )
        entry.name = name
        return entry


def set_entry_retired(ref: ReferenceList, entry_id: int, retired: bool):
    with unit_of_work():
        entry = _entry(ref, entry_id)
        if entry.retired != retired:
            entry.retired = retired
            accounts.audit(
                f"{ref.audit_kind}.{'retire' if retired else 'restore'}",
                ref.audit_kind,
                entry.id,
                f"{'Retired' if retired else 'Restored'} {ref.noun} {entry.name}",
                {"retired": [str(not retired), str(retired)]},
            )
        return entry


def move_entry(ref: ReferenceList, entry_id: int, step: int) -> None:
    """Swap with the neighbour above (-1) or below (+1), renumbering the list 1..n."""
    with unit_of_work():
        ordered = all_entries(ref)
        index = next((i for i, e in enumerate(ordered) if e.id == entry_id), None)
        if index is None:
            raise LookupError(entry_id)
        other = index + step
        if 0 <= other < len(ordered):
            ordered[index], ordered[other] = ordered[other], ordered[index]
            for position, entry in enumerate(ordered, start=1):
                entry.position = position
            accounts.audit(
                f"{ref.audit_kind}.move",
                ref.audit_kind,
                entry_id,
                f"Moved {ref.noun} {ordered[other].name} {'up' if step < 0 else 'down'}",
            )


def delete_entry(ref: ReferenceList, entry_id: int) -> None:
    with unit_of_work():
        entry = _entry(ref, entry_id)
        refusal = entry_use(ref, entry.id).delete_refusal
        if refusal:
            raise ReferenceListError(refusal)
        accounts.audit(
            f"{ref.audit_kind}.delete", ref.audit_kind, entry.id, f"Deleted {ref.noun} {entry.name}"
        )
        db.session.delete(entry)
