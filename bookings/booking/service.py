"""The booking rules: capacity, the waiting list, the manage link, team bookings, the
organisers' changes to delegates' bookings, and the reference lists (sectors, LSCBs).
Delegates' pages and the console call these.

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
import math
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, contains_eager

from bookings.accounts import service as accounts
from bookings.accounts.models import AuditEntry
from bookings.booking import notifications
from bookings.booking.models import (
    ACTIVE_STATUSES,
    Allocation,
    Booking,
    BookingGroup,
    BookingStatus,
    Lscb,
    LscbKind,
    Sector,
    SectorLimit,
)
from bookings.booking.tokens import allocation_token, manage_token, team_token
from bookings.db import db, paged, require_unit_of_work, unit_of_work, utcnow
from bookings.events.models import Event, EventStatus
from bookings.london import format_stamp
from bookings.mail import service as mail
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
    """What a general booking can get now. ``held``: places held back for LSCBs' allocations
    and sectors' floors; ``capped``: names of the sectors at their cap, whose delegates join
    the waiting list whatever is left; ``floors``: (sector, places, until) still held for a
    sector's floor."""

    state: BookingState
    capacity: int
    confirmed: int
    waitlisted: int
    opens_at: datetime | None = None
    held: int = 0
    capped: tuple[str, ...] = ()
    floors: tuple[tuple[str, int, datetime | None], ...] = ()

    @property
    def places_left(self) -> int:
        return max(self.capacity - self.confirmed - self.held, 0)

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


class CapOverrun(Exception):
    """The change would put a sector above its cap; the message says which, for the organiser."""


class CapacityTooLow(Exception):
    """Capacity may not fall below the confirmed places plus those still held back."""


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


class PlaceKind(enum.StrEnum):
    """Which of the event's places a confirmed booking took (see ``_Places.decide``)."""

    reserved = "reserved"  # one of its LSCB's reserved places, through the LSCB's link
    floor = "floor"  # one held for its sector's floor
    general = "general"


@dataclass
class _Places:
    """An event's places as counted now: confirmed bookings by sector and by the allocation
    whose link they came through, the allocations and the sector limits. Held places are
    counted from these, never stored; ``decide`` is the one decision of who gets what."""

    event: Event
    now: datetime
    confirmed: int = 0
    waitlisted: int = 0
    by_sector: dict[int, int] = field(default_factory=dict)
    by_allocation: dict[int, int] = field(default_factory=dict)
    allocations: list[Allocation] = field(default_factory=list)
    limits: dict[int, SectorLimit] = field(default_factory=dict)
    duplicate: bool = False

    @property
    def released(self) -> bool:
        """The allocations no longer hold places: released, or their release time has passed
        (the release itself then happens at the next locked change or sender round)."""
        event = self.event
        return event.allocations_released_at is not None or (
            event.allocations_release_at is not None and event.allocations_release_at <= self.now
        )

    def reserved_left(self, allocation: Allocation) -> int:
        """Reserved places its LSCB can still take through its link: an allocation is taken by
        the first ``reserved`` confirmed bookings made through that link."""
        if self.released:
            return 0
        return max(allocation.reserved - self.by_allocation.get(allocation.id, 0), 0)

    def floor_places(self, limit: SectorLimit | None, capacity: int | None = None) -> int:
        """Places the sector's floor holds while it stands: ``min_percent`` of capacity (or of
        ``capacity``, a capacity proposed), rounded up (10% of 25 holds 3)."""
        if limit is None or not limit.min_percent or (limit.until and limit.until <= self.now):
            return 0
        return math.ceil(
            limit.min_percent * (self.event.capacity if capacity is None else capacity) / 100
        )

    def floor_left(self, sector_id: int) -> int:
        return max(
            self.floor_places(self.limits.get(sector_id)) - self.by_sector.get(sector_id, 0), 0
        )

    def cap_places(self, sector_id: int, capacity: int | None = None) -> int | None:
        """The most confirmed places the sector may have (``max_percent`` of capacity, or of
        a proposed ``capacity``, rounded down), None without a cap."""
        limit = self.limits.get(sector_id)
        if limit is None or limit.max_percent is None:
            return None
        return limit.max_percent * (self.event.capacity if capacity is None else capacity) // 100

    def refuse_over_caps(self, capacity: int | None = None) -> None:
        """No change may leave a sector above its cap (invariant 6): raises ``CapOverrun``."""
        for sector_id, limit in self.limits.items():
            cap = self.cap_places(sector_id, capacity)
            confirmed = self.by_sector.get(sector_id, 0)
            if cap is not None and confirmed > cap:
                raise CapOverrun(
                    f"{limit.sector.name} already has {confirmed} confirmed places, more than "
                    f"its cap of {cap} (at most {limit.max_percent}% of "
                    f"{self.event.capacity if capacity is None else capacity} places)."
                )

    def at_cap(self, sector_id: int) -> bool:
        cap = self.cap_places(sector_id)
        return cap is not None and self.by_sector.get(sector_id, 0) >= cap

    @property
    def held(self) -> int:
        """Places general bookings cannot take: reserved places not yet taken and floors not
        yet met, never more than the places not confirmed."""
        held = sum(self.reserved_left(a) for a in self.allocations)
        held += sum(self.floor_left(sector_id) for sector_id in self.limits)
        return min(held, max(self.event.capacity - self.confirmed, 0))

    @property
    def general_left(self) -> int:
        return max(self.event.capacity - self.confirmed - self.held, 0)

    def decide(self, sector_id: int, allocation: Allocation | None) -> PlaceKind | None:
        """The place a delegate of ``sector_id`` (through ``allocation``'s link, if any) gets
        now, None for the waiting list. In this order:

        1. a sector at its cap gets no place, whatever is free (invariant 6);
        2. a booking through an LSCB's link takes one of its reserved places while any is left
           and they are not released;
        3. a delegate of a sector whose floor is not yet met takes a floor place;
        4. otherwise a general place: capacity less confirmed less held;
        5. otherwise none: the waiting list.
        No place is ever given beyond capacity (invariant 1)."""
        if self.confirmed >= self.event.capacity or self.at_cap(sector_id):
            return None
        if allocation is not None and self.reserved_left(allocation) > 0:
            return PlaceKind.reserved
        if self.floor_left(sector_id) > 0:
            return PlaceKind.floor
        if self.general_left > 0:
            return PlaceKind.general
        return None

    def take(self, booking: Booking) -> None:
        """Count ``booking`` as confirmed."""
        self.confirmed += 1
        self.by_sector[booking.sector_id] = self.by_sector.get(booking.sector_id, 0) + 1
        if booking.allocation_id is not None:
            self.by_allocation[booking.allocation_id] = (
                self.by_allocation.get(booking.allocation_id, 0) + 1
            )

    def unmet_floors(self) -> tuple[tuple[str, int, datetime | None], ...]:
        return tuple(
            (limit.sector.name, self.floor_left(limit.sector_id), limit.until)
            for limit in self.limits.values()
            if self.floor_left(limit.sector_id)
        )

    def capped_names(self) -> tuple[str, ...]:
        return tuple(
            limit.sector.name for limit in self.limits.values() if self.at_cap(limit.sector_id)
        )


def _places_for(
    events: Sequence[Event], now: datetime, *, held: bool = True, email_key: str | None = None
) -> dict[int, _Places]:
    """Every event's ``_Places`` in three queries, however many events; in one when the caller
    knows the events hold no places (``held=False``: no allocations, no sector limits). With
    ``email_key`` the same count says whether that address has an active booking
    (``_Places.duplicate``), so the booking's duplicate check costs no query of its own."""
    places = {event.id: _Places(event, now) for event in events}
    if not places:
        return {}
    ids = list(places)
    rows = db.session.execute(_counts(email_key is not None), {"ids": ids, "email_key": email_key})
    for event_id, status, sector_id, allocation_id, n, *same_address in rows:
        counted = places[event_id]
        if same_address and same_address[0]:
            counted.duplicate = True
        if status == BookingStatus.waitlisted:
            counted.waitlisted += n
            continue
        counted.confirmed += n
        counted.by_sector[sector_id] = counted.by_sector.get(sector_id, 0) + n
        if allocation_id is not None:
            counted.by_allocation[allocation_id] = counted.by_allocation.get(allocation_id, 0) + n
    if not held:
        return places
    allocations, limits = _held_lists()
    for allocation in db.session.scalars(allocations, {"ids": ids}):
        places[allocation.event_id].allocations.append(allocation)
    for limit in db.session.scalars(limits, {"ids": ids}):
        places[limit.event_id].limits[limit.sector_id] = limit
    return places


@cache
def _held_lists() -> tuple[Select, Select]:
    """``_places_for``'s allocations (with their LSCBs) and sector limits (with their
    sectors), built once per process."""
    ids = bindparam("ids", expanding=True)
    allocations = (
        select(Allocation)
        .join(Allocation.lscb)
        .options(contains_eager(Allocation.lscb))
        .where(Allocation.event_id.in_(ids))
        .order_by(*Lscb.display_order())
    )
    limits = (
        select(SectorLimit)
        .join(SectorLimit.sector)
        .options(contains_eager(SectorLimit.sector))
        .where(SectorLimit.event_id.in_(ids))
        .order_by(*Sector.display_order())
    )
    return allocations, limits


@cache
def _counts(with_address: bool) -> Select:
    """``_places_for``'s count, built once per process: the booking's own statement."""
    columns = [
        Booking.event_id,
        Booking.status,
        Booking.sector_id,
        Booking.allocation_id,
        func.count(),
    ]
    if with_address:
        columns.append(func.count(case((Booking.email_key == bindparam("email_key"), 1))))
    return (
        select(*columns)
        .where(Booking.event_id.in_(bindparam("ids", expanding=True)), Booking.is_active)
        .group_by(Booking.event_id, Booking.status, Booking.sector_id, Booking.allocation_id)
    )


def _places(
    event: Event, now: datetime, *, held: bool = True, email_key: str | None = None
) -> _Places:
    return _places_for([event], now, held=held, email_key=email_key)[event.id]


def _state(event: Event, places_left: int, now: datetime) -> BookingState:
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
    return BookingState.open if places_left > 0 else BookingState.full


def _availability(places: _Places) -> Availability:
    event = places.event
    return Availability(
        state=_state(event, places.general_left, places.now),
        capacity=event.capacity,
        confirmed=places.confirmed,
        waitlisted=places.waitlisted,
        opens_at=event.booking_opens_at,
        held=places.held,
        capped=places.capped_names(),
        floors=places.unmet_floors(),
    )


def availability_for(
    events: Iterable[Event], now: datetime | None = None
) -> dict[int, Availability]:
    """Availability of many events in the same few queries as of one."""
    places = _places_for(list(events), now or utcnow())
    return {event_id: _availability(counted) for event_id, counted in places.items()}


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


def manage_url(booking: Booking) -> str:
    """The delegate's private link to their booking (a key to it), for other features' mail."""
    return notifications.manage_url(booking)


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


def _take_write_lock(where: ColumnElement[bool], params: dict | None = None) -> None:
    """SQLite has no row locks: take the database's write lock, which WAL and the busy timeout
    make others queue for. At the start of a transaction ``BEGIN IMMEDIATE`` takes it without
    writing anything; once the transaction has begun (a write, a savepoint) a no-op UPDATE of
    the event's row does."""
    connection = db.session.connection()
    if not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    events = Event.__table__
    connection.execute(update(events).where(where).values(id=events.c.id), params)


def lock_event(event_id: int) -> Event:
    """Take the event's write lock for the rest of the unit of work and return it fresh.

    PostgreSQL: a row lock (SELECT ... FOR UPDATE); SQLite: the database's write lock (see
    ``_take_write_lock``). Outside a unit of work a lock would end at the next stray commit,
    so it is refused there.
    """
    locked = _lock_for_booking(event_id)
    if locked is None:
        raise BookingRefused("This event does not exist.")
    return locked[0]


def _lock_for_booking(key: int | str) -> tuple[Event, bool] | None:
    """The event's lock (``lock_event``), the event found by its id or (the public form) by
    the address of a public event, read fresh in the same statement that says whether it
    holds places at all (allocations or sector limits): without, a booking's count needs no
    query of either."""
    require_unit_of_work("the event's lock")
    by_slug = isinstance(key, str)
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    where, query = _booking_lock(by_slug, row_lock=not sqlite)
    params = {"key": key}
    if sqlite:
        _take_write_lock(where, params)
    row = db.session.execute(query, params).first()
    return None if row is None else (row[0], bool(row[1]))


@cache
def _booking_lock(by_slug: bool, row_lock: bool) -> tuple[ColumnElement[bool], Select]:
    """The booking lock's statement, built once per process: a booking is the request that
    queues, so what it can skip it does (see docs/performance.md)."""
    key = bindparam("key")
    where = and_(Event.slug == key, Event.is_public) if by_slug else Event.id == key
    held = or_(
        select(Allocation.id).where(Allocation.event_id == Event.id).exists(),
        select(SectorLimit.id).where(SectorLimit.event_id == Event.id).exists(),
    )
    query = select(Event, held.label("held")).where(where)
    if row_lock:
        query = query.with_for_update(of=Event)
    return where, query.execution_options(populate_existing=True)


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
    # A count of those ahead, not the whole queue: a booking joining a long list reads one row.
    return 1 + db.session.scalar(
        select(func.count()).where(
            Booking.event_id == booking.event_id,
            Booking.status == BookingStatus.waitlisted,
            or_(
                Booking.queued_at < booking.queued_at,
                and_(Booking.queued_at == booking.queued_at, Booking.id < booking.id),
            ),
        )
    )


def _promote(event: Event, now: datetime, places: _Places | None = None) -> list[Booking]:
    """Fill free places from the waiting list. Caller holds the lock.

    The queue is walked in order and each delegate is given what ``_Places.decide`` would give
    them booking now: so a freed reserved place goes to the longest-waiting delegate who booked
    through that LSCB's link (until the release), a freed floor place to the longest-waiting of
    its sector, a general place to the longest-waiting delegate of any sector not at its cap.
    Delegates of a capped sector are passed over, keeping their order within the sector
    (``waiting_reasons`` says why on the console's waiting list)."""
    if event.status != EventStatus.published or event.starts_at <= now:
        return []
    places = places or _places(event, now)
    if places.confirmed >= event.capacity:
        return []
    by_id = {allocation.id: allocation for allocation in places.allocations}
    # Without held places or caps nobody is passed over: the first few waiting are enough.
    plain = not places.allocations and not places.limits
    promoted = []
    for booking in _waiting_list(event.id, places.general_left if plain else None):
        if places.confirmed >= event.capacity:
            break
        if places.decide(booking.sector_id, by_id.get(booking.allocation_id)) is None:
            continue
        booking.status = BookingStatus.confirmed
        booking.confirmed_at = now
        places.take(booking)
        notifications.promoted(booking)
        promoted.append(booking)
    return promoted


def waiting_reasons(
    event: Event, bookings: Iterable[Booking] | None = None, now: datetime | None = None
) -> dict[int, str]:
    """Why each waiting delegate of ``bookings`` (by default the whole waiting list) is passed
    over by the promotion: their sector is at its cap. For the console's waiting list."""
    places = _places(event, now or utcnow())
    capped = {
        sector_id: limit for sector_id, limit in places.limits.items() if places.at_cap(sector_id)
    }
    if not capped:
        return {}
    reasons = {}
    waiting = _waiting_list(event.id) if bookings is None else bookings
    for booking in waiting:
        if booking.status != BookingStatus.waitlisted:
            continue
        limit = capped.get(booking.sector_id)
        if limit is not None:
            reasons[booking.id] = (
                f"Passed over while {limit.sector.name} is at its cap of {limit.max_percent}% "
                f"({places.cap_places(booking.sector_id)} places, all confirmed)."
            )
    return reasons


def _release_if_due(event: Event, now: datetime) -> list[Booking]:
    """Release the allocations' unclaimed places to the general pool once the release time
    has passed, and promote from the waiting list. Caller holds the lock: whoever holds it
    first stamps the event, and everyone after sees the stamp (exactly once, invariant 6)."""
    release_at = event.allocations_release_at
    if event.allocations_released_at is not None or release_at is None or release_at > now:
        return []
    unclaimed = _places(event, release_at - timedelta(microseconds=1))
    freed = sum(unclaimed.reserved_left(a) for a in unclaimed.allocations)
    event.allocations_released_at = now
    db.session.flush()
    accounts.audit(
        "event.release",
        "event",
        event.id,
        f"Released {freed} unclaimed reserved places to the general pool",
    )
    return _promote(event, now)


@mail.every_round("release held places")
def release_due(now: datetime) -> int:
    """The sender's round job: release every event whose release time has passed, and
    promote where a sector's floor has lapsed; several senders may run it at once."""
    due = db.session.scalars(
        select(Event.id)
        .where(
            Event.allocations_released_at.is_(None),
            Event.allocations_release_at <= now,
        )
        .order_by(Event.id)
    ).all()
    lapsed = db.session.scalars(
        select(Event.id)
        .join(SectorLimit, SectorLimit.event_id == Event.id)
        .where(
            SectorLimit.min_percent > 0,
            SectorLimit.until <= now,
            Event.starts_at > now,
            Event.status == EventStatus.published,
            select(Booking.id)
            .where(Booking.event_id == Event.id, Booking.status == BookingStatus.waitlisted)
            .exists(),
        )
        .distinct()
    ).all()
    done = 0
    for event_id in sorted(set(due) | set(lapsed)):
        event = lock_event(event_id)
        was_released = event.allocations_released_at is not None
        _release_if_due(event, now)
        done += not was_released and event.allocations_released_at is not None
        if event_id in lapsed:
            done += len(_promote(event, now))
    return done


# ----------------------------------------------------------------------------- delegates' changes


class NoSuchEvent(LookupError):
    """No public event has this address (``book_at``): the page is a 404."""


def book(
    event_id: int,
    details: DelegateDetails,
    now: datetime | None = None,
    *,
    allocation_id: int | None = None,
) -> Placed:
    """Give the delegate a place, or a place on the waiting list (see ``_place``)."""
    return _book(event_id, details, now, allocation_id)


def book_at(slug: str, details: DelegateDetails, now: datetime | None = None) -> Placed:
    """``book`` for the public form: the event is found by its address under its lock, in the
    lock's own statement; ``NoSuchEvent`` when no public event has it (drafts have none)."""
    return _book(slug, details, now, None)


def _book(
    key: int | str,
    details: DelegateDetails,
    now: datetime | None,
    allocation_id: int | None,
) -> Placed:
    """Book at the event of id ``key``, or of address ``key`` (the public form)."""
    event_id = key if isinstance(key, int) else None
    try:
        with unit_of_work():
            draft = _draft(details, _entries(details, event_id, allocation_id))
            locked = _lock_for_booking(key)
            if locked is None:
                if event_id is None:
                    raise NoSuchEvent()
                raise BookingRefused("This event does not exist.")
            event, held = locked
            return _place(event, draft, now, held=held, allocation_id=allocation_id)
    except IntegrityError:
        # The partial unique index caught a duplicate that slipped past the check.
        raise AlreadyBooked() from None


def _entries(
    details: DelegateDetails, event_id: int | None, allocation_id: int | None
) -> tuple[int, int]:
    """The booking's sector and LSCB, checked in one query: the sector must be on the form's
    list (not retired); the LSCB too, or be the one of the link's allocation (which may have
    retired since the places were held for it)."""
    params = {
        "sector_id": details.sector_id,
        "lscb_id": details.lscb_id,
        "allocation_id": allocation_id,
        "event_id": event_id,
    }
    retired, lscb_found = db.session.execute(
        _entries_check(allocation_id is not None), params
    ).one()
    if retired is None or retired:
        raise BookingRefused("Please choose your sector from the list.")
    if allocation_id is None:
        if lscb_found is None or lscb_found:
            raise BookingRefused("Please choose your LSCB from the list.")
        return details.sector_id, details.lscb_id
    if lscb_found is None:
        raise BookingRefused("This booking link is not valid for this event.")
    return details.sector_id, lscb_found


@cache
def _entries_check(linked: bool) -> Select:
    """``_entries``' statement, built once per process."""
    sector_retired = select(Sector.retired).where(Sector.id == bindparam("sector_id"))
    if linked:
        lscb = select(Allocation.lscb_id).where(
            Allocation.id == bindparam("allocation_id"),
            Allocation.event_id == bindparam("event_id"),
        )
    else:
        lscb = select(Lscb.retired).where(Lscb.id == bindparam("lscb_id"))
    return select(sector_retired.scalar_subquery(), lscb.scalar_subquery())


def _place(
    event: Event,
    draft: Placed,
    now: datetime | None,
    *,
    held: bool = True,
    allocation_id: int | None = None,
    waitlist: bool = False,
) -> Placed:
    """The one decision of a booking, under the event's lock (taken by the caller, ``held``
    saying whether the event holds places at all), of the delegate's ``draft``, in this
    order (``waitlist``: to the waiting list whatever places are free, for a team that waits
    as one):

    0. release the allocations if their release time has passed (and promote: earlier
       delegates on the waiting list go first);
    1. refuse what the event's state refuses (draft, not open, closed, started, cancelled);
    2. refuse a second active booking for the address;
    3. place by ``_Places.decide``: the sector's cap, then the LSCB's reserved place (for a
       booking through the LSCB's link, ``allocation_id``; the booking records the LSCB of
       the link), then the sector's floor, then a general place, else the waiting list.
    """
    booking = draft.booking
    # Read the clock under the lock, so queue order is the order in which the lock was won.
    now = now or utcnow()
    _release_if_due(event, now)
    places = _places(event, now, held=held, email_key=booking.email_key)
    state = _state(event, places.general_left, now)
    if state in REFUSALS:
        raise BookingRefused(REFUSALS[state])
    if places.duplicate:
        raise AlreadyBooked()

    allocation = next((a for a in places.allocations if a.id == allocation_id), None)
    if places.released:
        allocation = None
    kind = None if waitlist else places.decide(booking.sector_id, allocation)
    booking.event = event
    booking.allocation_id = allocation.id if allocation else None
    booking.status = BookingStatus.confirmed if kind else BookingStatus.waitlisted
    booking.queued_at = now
    booking.confirmed_at = now if kind else None
    db.session.add(booking)
    db.session.flush()
    if booking.status == BookingStatus.confirmed:
        notifications.confirmed(booking)
    else:
        notifications.waitlisted(booking, waiting_position(booking))
    return draft


def _draft(details: DelegateDetails, entries: tuple[int, int]) -> Placed:
    """The delegate's booking as far as it is known before the event's lock: who they are,
    their checked sector and LSCB (``entries``), reference and link. Made before the lock, so
    that the others queueing for it wait for none of this; ``_place`` decides the rest."""
    sector_id, lscb_id = entries
    booking = Booking(
        sector_id=sector_id,
        lscb_id=lscb_id,
        reference=new_reference(),
        name=details.name.strip(),
        email=details.email.strip(),
        email_key=email_key(details.email),
        organisation=details.organisation.strip(),
        job_title=details.job_title.strip(),
        dietary_needs=details.dietary_needs.strip(),
        access_needs=details.access_needs.strip(),
    )
    return Placed(booking, _new_token(booking))


def cancel(booking_id: int, now: datetime | None = None) -> Booking:
    """Cancel a booking; a freed place goes to the longest-waiting delegate in the same unit."""
    with unit_of_work():
        event, booking = _lock_booking(booking_id)
        if booking.is_active:
            _cancel_locked(event, booking, now or utcnow())
        return booking


def _cancel_locked(event: Event, booking: Booking, now: datetime) -> list[Booking]:
    """Cancel under the event's lock; returns those the freed place went to. A release that
    fell due goes first, so a reserved place freed after the release time joins the general
    pool; before it, ``_promote`` gives it back to its LSCB."""
    promoted = _release_if_due(event, now)
    was_confirmed = booking.status == BookingStatus.confirmed
    booking.status = BookingStatus.cancelled
    booking.cancelled_at = now
    db.session.flush()
    notifications.cancelled(booking)
    return promoted + (_promote(event, now) if was_confirmed else [])


def change_capacity(event_id: int, capacity: int, now: datetime | None = None) -> list[Booking]:
    """Set a new capacity; raising it promotes from the waiting list in order. It may not fall
    below the confirmed places plus those still held (floors counted at the new capacity)."""
    with unit_of_work():
        now = now or utcnow()
        event = lock_event(event_id)
        promoted = _release_if_due(event, now)
        places = _places(event, now)
        held = sum(places.reserved_left(a) for a in places.allocations)
        held += sum(
            max(places.floor_places(limit, capacity) - places.by_sector.get(sector_id, 0), 0)
            for sector_id, limit in places.limits.items()
        )
        if capacity < places.confirmed + held:
            if held:
                raise CapacityTooLow(
                    f"{places.confirmed} places are confirmed and {held} are held for LSCBs "
                    f"and sectors; capacity cannot go below {places.confirmed + held}."
                )
            raise CapacityTooLow(
                f"{places.confirmed} places are already confirmed; capacity cannot go below that."
            )
        try:
            places.refuse_over_caps(capacity)
        except CapOverrun as overrun:
            raise CapacityTooLow(str(overrun)) from None
        event.capacity = capacity
        db.session.flush()
        return promoted + _promote(event, now)


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


# ----------------------------------------------------------------------------- held places
# Organisers' allocations for LSCBs and limits for sectors. Each change takes the event's lock,
# since it changes what general bookings can get, and is audited.


class HeldPlacesError(ValueError):
    """The allocation or sector limit is not allowed; the message says why, for the organiser."""


@dataclass(frozen=True)
class AllocationRow:
    """One LSCB's allocation as the console shows it; ``token``: its booking link's secret."""

    allocation: Allocation
    reserved: int
    taken: int
    left: int
    token: str


@dataclass(frozen=True)
class HeldPlaces:
    """An event's allocations and sector limits with what they hold now."""

    event: Event
    allocations: list[AllocationRow]
    limits: list[SectorLimit]
    availability: Availability
    released: bool
    floor_places: dict[int, int]
    cap_places: dict[int, int | None]
    confirmed_by_sector: dict[int, int]
    history: list[AuditEntry]


HELD_PLACES_ACTIONS = (
    "event.allocate",
    "event.allocation",
    "event.allocation_remove",
    "event.release",
    "event.sector_limits",
)


def held_places(event: Event, now: datetime | None = None) -> HeldPlaces:
    """The allocations page's and the sector-limits page's figures, in five queries."""
    places = _places(event, now or utcnow())
    rows = [
        AllocationRow(
            allocation=a,
            reserved=a.reserved,
            taken=min(places.by_allocation.get(a.id, 0), a.reserved),
            left=places.reserved_left(a),
            token=allocation_token(a),
        )
        for a in places.allocations
    ]
    limits = list(places.limits.values())
    return HeldPlaces(
        event=event,
        allocations=rows,
        limits=limits,
        availability=_availability(places),
        released=places.released,
        floor_places={limit.sector_id: places.floor_places(limit) for limit in limits},
        cap_places={limit.sector_id: places.cap_places(limit.sector_id) for limit in limits},
        confirmed_by_sector=dict(places.by_sector),
        history=list(
            db.session.scalars(
                select(AuditEntry)
                .where(
                    AuditEntry.target_type == "event",
                    AuditEntry.target_id == event.id,
                    AuditEntry.action.in_(HELD_PLACES_ACTIONS),
                )
                .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                .limit(50)
            )
        ),
    )


def _check_held(places: _Places) -> None:
    """Held places may not exceed the places not yet confirmed."""
    held = sum(places.reserved_left(a) for a in places.allocations)
    held += sum(places.floor_left(sector_id) for sector_id in places.limits)
    free = max(places.event.capacity - places.confirmed, 0)
    if held > free:
        raise HeldPlacesError(
            f"That would hold {held} places, but only {free} of the event's "
            f"{places.event.capacity} places are not yet confirmed."
        )


def _check_release(event: Event, release_at: datetime | None, now: datetime) -> None:
    if release_at is not None and release_at >= event.starts_at:
        raise HeldPlacesError("The release time must be before the event starts.")
    if event.allocations_released_at is not None:
        raise HeldPlacesError(
            "The held places were released on "
            f"{format_stamp(event.allocations_released_at)}, so allocations can no longer change."
        )
    if release_at is not None and release_at <= now:
        raise HeldPlacesError("The release time must be in the future.")


def _new_allocation(event: Event, lscb_id: int, reserved: int) -> Allocation:
    allocation = Allocation(event_id=event.id, lscb_id=lscb_id, reserved=reserved)
    allocation.token_salt = secrets.token_hex(16)
    allocation.token_hash = _token_hash(allocation_token(allocation))
    db.session.add(allocation)
    return allocation


def allocate(
    event_id: int,
    reserved: int,
    release_at: datetime | None,
    kind: LscbKind = LscbKind.london,
    now: datetime | None = None,
) -> int:
    """Hold ``reserved`` places for every active LSCB of ``kind`` (London's boards: "2 for
    every London LSCB") until ``release_at``; existing allocations of those LSCBs are set to
    ``reserved``. Returns how many LSCBs it covers."""
    with unit_of_work():
        now = now or utcnow()
        event = lock_event(event_id)
        _release_if_due(event, now)
        _check_release(event, release_at, now)
        if reserved < 0:
            raise HeldPlacesError("Enter 0 or more places.")
        existing = {
            a.lscb_id: a
            for a in db.session.scalars(select(Allocation).where(Allocation.event_id == event.id))
        }
        lscbs = [lscb for lscb in active_lscbs() if lscb.kind == kind]
        for lscb in lscbs:
            if lscb.id in existing:
                existing[lscb.id].reserved = reserved
            else:
                _new_allocation(event, lscb.id, reserved)
        event.allocations_release_at = release_at
        db.session.flush()
        _check_held(_places(event, now))
        accounts.audit(
            "event.allocate",
            "event",
            event.id,
            f"Held {reserved} places for each of {len(lscbs)} LSCBs until "
            f"{format_stamp(release_at) or 'the event'}",
        )
        return len(lscbs)


def set_allocation(event_id: int, lscb_id: int, reserved: int, now: datetime | None = None) -> None:
    """Hold ``reserved`` places for one LSCB (creating its allocation and link if new)."""
    with unit_of_work():
        now = now or utcnow()
        event = lock_event(event_id)
        _release_if_due(event, now)
        _check_release(event, event.allocations_release_at, now)
        if reserved < 0:
            raise HeldPlacesError("Enter 0 or more places.")
        lscb = db.session.get(Lscb, lscb_id)
        if lscb is None:
            raise HeldPlacesError("Choose an LSCB from the list.")
        allocation = db.session.scalar(
            select(Allocation).where(Allocation.event_id == event.id, Allocation.lscb_id == lscb_id)
        )
        was = allocation.reserved if allocation else 0
        if allocation is None:
            allocation = _new_allocation(event, lscb_id, reserved)
        allocation.reserved = reserved
        db.session.flush()
        _check_held(_places(event, now))
        accounts.audit(
            "event.allocation",
            "event",
            event.id,
            f"Places held for {lscb.name}: {reserved}",
            {"reserved": [str(was), str(reserved)]},
        )


def remove_allocation(event_id: int, allocation_id: int, now: datetime | None = None) -> None:
    """Remove an LSCB's allocation and its link; refused once bookings came through it (their
    take-up is history: set its places to 0 instead)."""
    with unit_of_work():
        event = lock_event(event_id)
        allocation = db.session.get(Allocation, allocation_id)
        if allocation is None or allocation.event_id != event.id:
            raise LookupError(allocation_id)
        used = db.session.scalar(select(func.count()).where(Booking.allocation_id == allocation.id))
        if used:
            raise HeldPlacesError(
                f"{used} bookings came through {allocation.lscb.name}'s link, so its "
                "allocation stays for the statistics. Set its places to 0 instead."
            )
        accounts.audit(
            "event.allocation_remove",
            "event",
            event.id,
            f"Removed the places held for {allocation.lscb.name}",
        )
        db.session.delete(allocation)
        db.session.flush()
        _promote(event, now or utcnow())


@dataclass(frozen=True)
class LimitInput:
    """One sector's row of the sector-limits form; all None: no limit."""

    sector_id: int
    min_percent: int | None
    max_percent: int | None
    until: datetime | None


def set_sector_limits(
    event_id: int, rows: Sequence[LimitInput], now: datetime | None = None
) -> None:
    """Replace the event's sector limits by ``rows`` (rows with nothing set remove a limit)."""
    with unit_of_work():
        now = now or utcnow()
        event = lock_event(event_id)
        sectors = {sector.id: sector for sector in all_sectors()}
        floors = 0
        for row in rows:
            name = sectors[row.sector_id].name if row.sector_id in sectors else "?"
            for value in (row.min_percent, row.max_percent):
                if value is not None and not 0 <= value <= 100:
                    raise HeldPlacesError(f"{name}: percentages are from 0 to 100.")
            if (
                row.min_percent is not None
                and row.max_percent is not None
                and row.min_percent > row.max_percent
            ):
                raise HeldPlacesError(f"{name}: the floor cannot be above the cap.")
            if row.until is not None and row.min_percent is None:
                raise HeldPlacesError(f"{name}: a date to hold places until needs a floor.")
            if row.until is not None and row.until >= event.starts_at:
                raise HeldPlacesError(f"{name}: hold the floor until a time before the event.")
            floors += row.min_percent or 0
        if floors > 100:
            raise HeldPlacesError(f"The floors add up to {floors}%, more than all the places.")
        existing = {
            limit.sector_id: limit
            for limit in db.session.scalars(
                select(SectorLimit).where(SectorLimit.event_id == event.id)
            )
        }
        changes = []
        for row in rows:
            if row.sector_id not in sectors:
                raise HeldPlacesError("Choose sectors from the list.")
            limit = existing.get(row.sector_id)
            if row.min_percent is None and row.max_percent is None:
                if limit is not None:
                    db.session.delete(limit)
                    changes.append(f"{sectors[row.sector_id].name}: none")
                continue
            if limit is None:
                limit = SectorLimit(event_id=event.id, sector_id=row.sector_id)
                db.session.add(limit)
            before = (limit.min_percent, limit.max_percent, limit.until)
            limit.min_percent, limit.max_percent, limit.until = (
                row.min_percent,
                row.max_percent,
                row.until,
            )
            if before != (row.min_percent, row.max_percent, row.until):
                changes.append(
                    f"{sectors[row.sector_id].name}: at least {row.min_percent or 0}%, "
                    f"at most {100 if row.max_percent is None else row.max_percent}%"
                )
        db.session.flush()
        places = _places(event, now)
        try:
            places.refuse_over_caps()
        except CapOverrun as overrun:
            raise HeldPlacesError(str(overrun)) from None
        _check_held(places)
        if changes:
            accounts.audit(
                "event.sector_limits", "event", event.id, "Sector limits: " + "; ".join(changes)
            )
        _promote(event, now, places)


def allocation_for_link(slug: str, token: str) -> Allocation | None:
    """The allocation an LSCB's booking link points to, with its event and LSCB; None for an
    unknown or guessed token, or one of another event."""
    if not token or len(token) > 100:
        return None
    allocation = db.session.scalar(
        select(Allocation)
        .join(Allocation.event)
        .options(contains_eager(Allocation.event))
        .where(Allocation.token_hash == _token_hash(token), Event.slug == slug, Event.is_public)
    )
    if allocation is None or not hmac.compare_digest(allocation_token(allocation), token):
        return None
    return allocation


@dataclass(frozen=True)
class LinkOffer:
    """What a booking through an LSCB's link gets now: ``left`` of its reserved places (0 once
    released), held until ``release_at``; ``availability``: the general places."""

    allocation: Allocation
    left: int
    release_at: datetime | None
    released: bool
    availability: Availability


def link_offer(allocation: Allocation, now: datetime | None = None) -> LinkOffer:
    places = _places(allocation.event, now or utcnow())
    counted = next(a for a in places.allocations if a.id == allocation.id)
    return LinkOffer(
        allocation=allocation,
        left=places.reserved_left(counted),
        release_at=allocation.event.allocations_release_at,
        released=places.released,
        availability=_availability(places),
    )


# ----------------------------------------------------------------------------- team bookings
# One booker (a training co-ordinator) books several colleagues at once. Each colleague is
# placed by ``_place``, the single booking's own path, so every capacity rule applies to them
# as to anyone; the whole team is decided under one lock, in one unit of work.

# The most people one team booking takes.
MAX_TEAM = 20


class TeamMode(enum.StrEnum):
    """What the booker chose for when fewer places are left than colleagues."""

    fit = "fit"  # confirm those that fit, in the form's order; the rest wait
    waitlist = "waitlist"  # the whole team waits together


@dataclass(frozen=True)
class TeamProblem:
    """Why one colleague (``index``: their row in the form, from 0) stops the team booking."""

    index: int
    message: str


class TeamRefused(BookingRefused):
    """Some colleagues cannot be booked, so none is; ``problems`` names each of them."""

    def __init__(self, problems: Sequence[TeamProblem]) -> None:
        super().__init__(" ".join(p.message for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class TeamBooked:
    group: BookingGroup
    token: str
    members: list[Placed]


@dataclass(frozen=True)
class TeamMember:
    booking: Booking
    position: int | None


def _new_team_token(group: BookingGroup) -> str:
    group.token_salt = secrets.token_hex(16)
    token = team_token(group)
    group.token_hash = _token_hash(token)
    return token


def _who(details: DelegateDetails) -> str:
    return f"{details.name.strip()} ({details.email.strip()})"


def _duplicates(event_id: int, members: Sequence[DelegateDetails]) -> list[TeamProblem]:
    """Colleagues given twice in the form, or already booked on the event: by name."""
    keys = [email_key(m.email) for m in members]
    booked = set(
        db.session.scalars(
            select(Booking.email_key).where(
                Booking.event_id == event_id, Booking.email_key.in_(keys), Booking.is_active
            )
        )
    )
    problems, seen = [], set()
    for index, (member, key) in enumerate(zip(members, keys, strict=True)):
        if key in booked:
            problems.append(TeamProblem(index, f"{_who(member)} is already booked on this event."))
        elif key in seen:
            problems.append(TeamProblem(index, f"{_who(member)} is in the team more than once."))
        seen.add(key)
    return problems


def book_team(
    event_id: int,
    booker_name: str,
    booker_email: str,
    members: Sequence[DelegateDetails],
    mode: TeamMode,
    now: datetime | None = None,
) -> TeamBooked:
    """Book every colleague, or none: each gets their own booking, link and e-mail; the booker
    one summary. When fewer places are free than colleagues, ``mode`` says whether those that
    fit are confirmed (in the form's order) or the whole team joins the waiting list."""
    if not members:
        raise BookingRefused("Add at least one colleague to book.")
    if len(members) > MAX_TEAM:
        raise BookingRefused(
            f"A team booking takes at most {MAX_TEAM} people; please book the others in a "
            "second team booking."
        )
    try:
        with unit_of_work():
            locked = _lock_for_booking(event_id)
            if locked is None:
                raise BookingRefused("This event does not exist.")
            event, held = locked
            now = now or utcnow()
            _release_if_due(event, now)
            free = _places(event, now, held=held).general_left
            state = _state(event, free, now)
            if state in REFUSALS:
                raise BookingRefused(REFUSALS[state])
            problems = _duplicates(event.id, members)
            if problems:
                raise TeamRefused(problems)
            together = mode == TeamMode.waitlist and free < len(members)
            group = BookingGroup(
                event=event, booker_name=booker_name.strip(), booker_email=booker_email.strip()
            )
            token = _new_team_token(group)
            db.session.add(group)
            # Colleagues mostly share a sector and an LSCB: each pair is checked once.
            checked: dict[tuple[int, int], tuple[int, int]] = {}
            placed = []
            for member in members:
                pair = (member.sector_id, member.lscb_id)
                if pair not in checked:
                    checked[pair] = _entries(member, event.id, None)
                draft = _draft(member, checked[pair])
                placed.append(_place(event, draft, now, held=held, waitlist=together))
            for one in placed:
                one.booking.group = group
            db.session.flush()
            notifications.team_summary(group)
            return TeamBooked(group, token, placed)
    except IntegrityError:
        raise AlreadyBooked() from None


def group_for_token(token: str) -> BookingGroup | None:
    """The team a team link points to, or None for an unknown or guessed token."""
    if not token or len(token) > 100:
        return None
    group = db.session.scalar(
        select(BookingGroup).where(BookingGroup.token_hash == _token_hash(token))
    )
    if group is None or not hmac.compare_digest(team_token(group), token):
        return None
    return group


def team_members(group: BookingGroup) -> list[TeamMember]:
    """The team's bookings in the form's order, each with its waiting-list place (two
    queries, whatever the team's size)."""
    bookings = list(
        db.session.scalars(select(Booking).where(Booking.group_id == group.id).order_by(Booking.id))
    )
    positions = waiting_positions(group.event_id)
    return [TeamMember(b, positions.get(b.id)) for b in bookings]


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
    reasons: dict[int, str] = field(default_factory=dict)


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
    """The bookings ``filters`` match, with their sectors and LSCBs (one joined query), in
    order."""
    query = (
        select(Booking)
        .join(Booking.sector)
        .join(Booking.lscb)
        .options(contains_eager(Booking.sector), contains_eager(Booking.lscb))
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
    """One page of the delegates list: the same statements for 5 bookings or 5,000.
    ``reasons``: why waiting delegates on the page are passed over (``waiting_reasons``)."""
    rows = paged(_delegates_query(event.id, filters), page, PAGE_SIZE)
    return DelegateList(
        page=rows,
        positions=waiting_positions(event.id),
        availability=availability(event, now),
        sectors=all_sectors(),
        cancellable=not event.is_past(now),
        reasons=waiting_reasons(event, rows.items, now),
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
    "LSCB",
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
            b.lscb.name,
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
    next_in_line = None
    if frees_a_place:
        # The queue as ``_promote`` would walk it once this booking's place is free.
        places = _places(event, now)
        places.confirmed -= 1
        places.by_sector[booking.sector_id] -= 1
        if booking.allocation_id is not None:
            places.by_allocation[booking.allocation_id] -= 1
        by_id = {allocation.id: allocation for allocation in places.allocations}
        next_in_line = next(
            (
                b
                for b in _waiting_list(event.id)
                if places.decide(b.sector_id, by_id.get(b.allocation_id)) is not None
            ),
            None,
        )
    return CancelPreview(
        booking=booking,
        position=waiting_position(booking),
        next_in_line=next_in_line,
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
        places = _places(event, now)
        if places.at_cap(booking.sector_id):
            raise CapOverrun(
                f"{booking.sector.name} is at its cap for this event, so no one from it can be "
                "given a place until its cap or the capacity is raised (Sector limits)."
            )
        # Beyond the general places it would take one held for an LSCB or a sector.
        raised = places.general_left <= 0
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
                {"capacity": [str(event.capacity), str(event.capacity + 1)]},
            )
            event.capacity += 1
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
    Sector,
    "sector",
    "a sector",
    "sector",
    (Booking.sector_id, RecordedSectorFigure.sector_id, SectorLimit.sector_id),
)
LSCBS = ReferenceList(Lscb, "LSCB", "an LSCB", "lscb", (Booking.lscb_id, Allocation.lscb_id))


def active_entries(ref: ReferenceList) -> list:
    """The entries the booking form offers."""
    model = ref.model
    return list(
        db.session.scalars(
            select(model).where(model.retired.is_(False)).order_by(*model.display_order())
        )
    )


class Entry(NamedTuple):
    """A sector or an LSCB as the booking form offers it."""

    id: int
    name: str


def form_entries() -> tuple[list[Entry], list[Entry]]:
    """The sectors and the LSCBs the booking form offers, in one query of their ids and names:
    the booking POST reads them to validate the form, so they cost one statement, not two."""
    rows = db.session.connection().execute(_entries_lists())
    lists: tuple[list[Entry], list[Entry]] = ([], [])
    for n, entry_id, name, _position in rows:
        lists[n].append(Entry(entry_id, name))
    return lists


@cache
def _entries_lists() -> Select:
    """``form_entries``' statement, built once per process."""
    return union_all(
        *(
            select(literal(n).label("list"), model.id, model.name, model.position).where(
                model.retired.is_(False)
            )
            for n, model in enumerate((Sector, Lscb))
        )
    ).order_by("list", "position", "name")


def all_entries(ref: ReferenceList) -> list:
    """Every entry, retired ones too: old bookings still carry them."""
    return list(db.session.scalars(select(ref.model).order_by(*ref.model.display_order())))


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
