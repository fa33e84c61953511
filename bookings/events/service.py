"""The events' rules: which events the public sees, and the organisers' changes from draft to
cancellation, their places and their messages to delegates. The programme's rules are in
``bookings.events.programme``; other packages use only this module.

Every public function that changes data is one unit of work (``bookings.db.unit_of_work``):
the change, its audit entry and its e-mails (outbox rows) are committed together or not at
all. Rules about places (capacity, the waiting list, cancelling bookings) are
``bookings.booking.service``'s; the functions here call them inside their own unit, which the
booking rules join.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from bookings.accounts import service as accounts
from bookings.accounts.models import AuditEntry
from bookings.booking import service as booking_service
from bookings.booking.models import Booking
from bookings.db import db, paged, saved_unless_stale, unit_of_work, utcnow
from bookings.events import programme
from bookings.events.models import (
    Event,
    EventKind,
    EventMessage,
    EventStatus,
    ProgrammeSlot,
    Speaker,
    Venue,
)
from bookings.london import (
    NonexistentLocalTime,
    format_datetime,
    london_date,
    london_datetime,
    wall_clock,
)
from bookings.networks.models import Network

AUDITED_FIELDS = (
    "title",
    "slug",
    "status",
    "starts_at",
    "ends_at",
    "venue_id",
    "capacity",
    "booking_opens_at",
    "booking_closes_at",
)
# What an event's page shows with it, loaded in three queries whatever the programme's length.
WITH_PROGRAMME = (
    joinedload(Event.venue),
    joinedload(Event.host_network),
    selectinload(Event.slots).selectinload(ProgrammeSlot.speakers),
)


class EventChangeRefused(ValueError):
    """The change is not allowed; the message says why, for the organiser."""


@dataclass
class EventData:
    title: str
    slug: str
    kind: EventKind
    summary: str
    description: str
    notes: str
    starts_at: datetime
    ends_at: datetime
    venue_id: int | None
    booking_opens_at: datetime | None
    booking_closes_at: datetime | None
    series: str | None
    host_network_id: int | None
    capacity: int = 0
    new_venue_name: str = ""
    new_venue_address: str = ""
    new_venue_postcode: str = ""


# ----------------------------------------------------------------------------- public pages


class Listing(NamedTuple):
    events: list[Event]
    availability: dict[int, booking_service.Availability]


class PublicEvent(NamedTuple):
    event: Event
    availability: booking_service.Availability


def _in_time(query: Select, *, past: bool, now: datetime) -> Select:
    """Upcoming events (not yet over) soonest first, or past ones latest first."""
    if past:
        return query.where(Event.is_past(now)).order_by(Event.starts_at.desc())
    return query.where(~Event.is_past(now)).order_by(Event.starts_at)


def public_events(kind: EventKind | None = None, *, past: bool = False) -> list[Event]:
    """Upcoming events the lists show (``Event.listed_on``), or the archive of past public
    ones; one query whatever their number."""
    now = utcnow()
    query = select(Event).options(joinedload(Event.venue))
    query = query.where(Event.is_public if past else Event.listed_on(london_date(now)))
    if kind is not None:
        query = query.where(Event.kind == kind)
    return list(db.session.scalars(_in_time(query, past=past, now=now)))


def listing(
    kind: EventKind | None = None, *, past: bool = False, limit: int | None = None
) -> Listing:
    """The events of a public list with their places left."""
    events = public_events(kind, past=past)[:limit]
    return Listing(events, booking_service.availability_for(events))


def public_event(slug: str) -> Event | None:
    """An event by slug with venue, programme and speakers; drafts are not public."""
    return db.session.scalar(
        select(Event).options(*WITH_PROGRAMME).where(Event.slug == slug, Event.is_public)
    )


def public_event_page(slug: str) -> PublicEvent | None:
    event = public_event(slug)
    return None if event is None else PublicEvent(event, booking_service.availability(event))


def public_event_id(slug: str) -> int | None:
    """Just the id: the booking POST needs nothing more until it has the event's lock."""
    return db.session.scalar(select(Event.id).where(Event.slug == slug, Event.is_public))


# ----------------------------------------------------------------------------- console pages


class Dashboard(NamedTuple):
    events: list[Event]
    availability: dict[int, booking_service.Availability]
    days_to_go: dict[int, int]
    activity: list[AuditEntry]


class EventLists(NamedTuple):
    """The console's events list: a page of upcoming events and one of past ones, each
    matching ``q``, with their places."""

    upcoming: Pagination
    past: Pagination
    availability: dict[int, booking_service.Availability]
    q: str


class EventPage(NamedTuple):
    event: Event
    availability: booking_service.Availability
    messages: list[EventMessage]
    history: list[AuditEntry]


def _console_events(*, past: bool) -> list[Event]:
    """Every event, drafts included, upcoming or past."""
    query = select(Event).options(joinedload(Event.venue))
    return list(db.session.scalars(_in_time(query, past=past, now=utcnow())))


def dashboard() -> Dashboard:
    """The upcoming events with their places and days to go, and the latest changes."""
    events = _console_events(past=False)
    today = london_date(utcnow())
    return Dashboard(
        events,
        booking_service.availability_for(events),
        {event.id: (london_date(event.starts_at) - today).days for event in events},
        accounts.recent_activity(12),
    )


# Events on a page of the console's list, upcoming and past alike.
EVENTS_PAGE_SIZE = 25


def event_lists(q: str = "", upcoming_page: int = 1, past_page: int = 1) -> EventLists:
    """Every event, drafts included, whose title, venue or series holds ``q``: upcoming
    soonest first and past latest first, a page of each (five statements however many)."""
    now = utcnow()
    query = select(Event).outerjoin(Event.venue).options(contains_eager(Event.venue))
    q = q.strip()
    if q:
        needle = q.lower()
        query = query.where(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (Event.title, Event.series, Venue.name)
                )
            )
        )
    upcoming = paged(_in_time(query, past=False, now=now), upcoming_page, EVENTS_PAGE_SIZE)
    past = paged(_in_time(query, past=True, now=now), past_page, EVENTS_PAGE_SIZE)
    return EventLists(
        upcoming,
        past,
        booking_service.availability_for([*upcoming.items, *past.items]),
        q,
    )


def event_page(event: Event) -> EventPage:
    """The console's page of one event: places, messages sent and its history."""
    return EventPage(
        event,
        booking_service.availability(event),
        messages_of(event.id),
        accounts.recent_activity(20, target_type="event", target_id=event.id),
    )


def event(event_id: int) -> Event | None:
    """An event with its venue, host and programme, drafts included."""
    return db.session.get(Event, event_id, options=WITH_PROGRAMME)


def form_choices() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The venues and the networks an event form offers, by name."""
    venues = db.session.execute(select(Venue.id, Venue.name).order_by(Venue.name))
    networks = db.session.execute(select(Network.id, Network.name).order_by(Network.name))
    return [(r.id, r.name) for r in venues], [(r.id, r.name) for r in networks]


def messages_of(event_id: int) -> list[EventMessage]:
    return list(
        db.session.scalars(
            select(EventMessage)
            .where(EventMessage.event_id == event_id)
            .order_by(EventMessage.sent_at.desc(), EventMessage.id.desc())
        )
    )


def _get(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        raise LookupError(event_id)
    return event


# ----------------------------------------------------------------------------- helpers


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:100] or "event"


def unique_slug(wanted: str, exclude_id: int | None = None) -> str:
    """``wanted``, or ``wanted-2``, ``wanted-3`` ... whichever is free (one query)."""
    query = select(Event.slug).where((Event.slug == wanted) | Event.slug.like(f"{wanted}-%"))
    if exclude_id is not None:
        query = query.where(Event.id != exclude_id)
    taken = set(db.session.scalars(query))
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}-{n}" in taken:
        n += 1
    return f"{wanted}-{n}"


def _venue(data: EventData) -> Venue | None:
    name = data.new_venue_name.strip()
    if not name:
        return db.session.get(Venue, data.venue_id) if data.venue_id else None
    venue = db.session.scalar(select(Venue).where(Venue.name == name))
    if venue is None:
        venue = Venue(
            name=name,
            address=data.new_venue_address.strip(),
            postcode=data.new_venue_postcode.strip().upper(),
        )
        db.session.add(venue)
    return venue


def _apply(event: Event, data: EventData) -> None:
    event.title = data.title.strip()
    event.kind = data.kind
    event.summary = data.summary.strip()
    event.description = data.description.strip()
    event.notes = data.notes.strip()
    event.starts_at = data.starts_at
    event.ends_at = data.ends_at
    event.venue = _venue(data)
    event.booking_opens_at = data.booking_opens_at
    event.booking_closes_at = data.booking_closes_at
    event.series = (data.series or "").strip() or None
    event.host_network_id = data.host_network_id or None


def _moved(value: datetime | None, delta: timedelta) -> datetime | None:
    """``delta`` on the London wall clock: a 10am start stays 10am across a clock change.

    Raises ``NonexistentLocalTime`` when the moved time falls in the hour London skips.
    """
    if value is None:
        return None
    local = wall_clock(value) + delta
    return london_datetime(local.date(), local.time())


def _shift(value: datetime | None, weeks: int) -> datetime | None:
    return _moved(value, timedelta(weeks=weeks))


# ----------------------------------------------------------------------------- changes


def create_event(data: EventData) -> Event:
    with unit_of_work():
        event = Event(slug=unique_slug(data.slug or slugify(data.title)), status=EventStatus.draft)
        _apply(event, data)
        event.capacity = data.capacity
        db.session.add(event)
        db.session.flush()
        accounts.audit(
            "event.create",
            "event",
            event.id,
            f"Created draft {event.title}",
            accounts.diff({}, accounts.snapshot(event, AUDITED_FIELDS)),
        )
    return event


def update_event(
    event_id: int, data: EventData, version: int, *, notify_delegates: bool
) -> tuple[Event, int]:
    """Save an organiser's edit unless someone else saved first (``StaleEdit``).

    When the start moves, the programme moves with it. When the time or venue of a published
    event changes and ``notify_delegates`` is set, each active delegate is e-mailed the change
    with the new calendar file, in the same unit of work. Returns the event and the number of
    delegates told.
    """
    found = event(event_id)
    if found is None:
        raise LookupError(event_id)
    with saved_unless_stale(found, version, "event"):
        told = _save_edit(found, data, notify_delegates)
    return found, told


def _save_edit(event: Event, data: EventData, notify_delegates: bool) -> int:
    before = accounts.snapshot(event, AUDITED_FIELDS)
    _apply(event, data)
    if data.slug and data.slug != event.slug:
        if unique_slug(data.slug, exclude_id=event.id) != data.slug:
            raise EventChangeRefused(f"Another event already uses the web address {data.slug}.")
        event.slug = data.slug
    moved_slots = _move_programme(event, before["starts_at"], before["ends_at"])
    release = event.allocations_release_at
    if release is not None and event.allocations_released_at is None and release >= event.starts_at:
        raise EventChangeRefused(
            f"The places held for LSCBs are released on {format_datetime(release)}, which would "
            "then be after the event starts. Change the release time (Held places) first."
        )
    db.session.flush()
    told = 0
    time_changed = (before["starts_at"], before["ends_at"]) != (event.starts_at, event.ends_at)
    venue_changed = before["venue_id"] != event.venue_id
    if (
        (time_changed or venue_changed)
        and notify_delegates
        and event.status == EventStatus.published
    ):
        was_starts_at = before["starts_at"] if time_changed else None
        told = booking_service.tell_event_moved(event.id, was_starts_at, venue_changed)
    summary = f"Edited {event.title}"
    if moved_slots:
        summary += f"; moved {moved_slots} programme sessions with it"
    if told:
        summary += f"; told {told} delegates of the change"
    accounts.audit(
        "event.update",
        "event",
        event.id,
        summary,
        accounts.diff(before, accounts.snapshot(event, AUDITED_FIELDS)),
    )
    return told


def _move_programme(event: Event, old_start: datetime, old_end: datetime) -> int:
    """Move every session with the start, on the London wall clock, so a 10.30 session of a
    10.00 event stays at 10.30 across a clock change. Returns how many sessions moved.

    A session that would then lie outside the event (it also got shorter) refuses the edit.
    """
    if (event.starts_at, event.ends_at) == (old_start, old_end):
        return 0
    delta = wall_clock(event.starts_at) - wall_clock(old_start)
    for session in event.slots:
        try:
            if delta:
                session.starts_at = _moved(session.starts_at, delta)
                session.ends_at = _moved(session.ends_at, delta)
        except NonexistentLocalTime:
            raise EventChangeRefused(
                f"Moved with the event, the session {session.title} would fall in the "
                "hour London skips when the clocks go forward. Change it first."
            ) from None
        if programme.outside_event(event, session.starts_at, session.ends_at):
            raise EventChangeRefused(
                f"The session {session.title} would then run outside the event. "
                "Change or remove it in the programme first."
            )
    return len(event.slots) if delta else 0


def publish(event_id: int) -> Event:
    with unit_of_work():
        event = _get(event_id)
        if event.status != EventStatus.draft:
            raise EventChangeRefused("Only a draft can be published.")
        event.status = EventStatus.published
        accounts.audit(
            "event.publish",
            "event",
            event.id,
            f"Published {event.title}",
            {"status": ["draft", "published"]},
        )
    return event


def unpublish(event_id: int) -> Event:
    """Back to draft, only while nobody holds a place: delegates must never lose an event
    silently (cancel it instead, and they are told)."""
    with unit_of_work():
        event = _get(event_id)
        if event.status != EventStatus.published:
            raise EventChangeRefused("Only a published event can be unpublished.")
        held = db.session.scalar(
            select(func.count(Booking.id)).where(Booking.event_id == event.id, Booking.is_active)
        )
        if held:
            raise EventChangeRefused(
                f"{held} delegates have booked this event, so it cannot go back to draft. "
                "Cancel it instead: they will be told."
            )
        event.status = EventStatus.draft
        accounts.audit(
            "event.unpublish",
            "event",
            event.id,
            f"Unpublished {event.title}",
            {"status": ["published", "draft"]},
        )
    return event


def cancel_event(event_id: int, reason: str) -> int:
    """Cancel the event and its bookings; returns how many delegates were e-mailed."""
    with unit_of_work():
        event = _get(event_id)
        refusal = event.why_not_cancellable()
        if refusal:
            raise EventChangeRefused(refusal)
        status, title = event.status.value, event.title
        cancelled = booking_service.cancel_event(event_id, reason)
        accounts.audit(
            "event.cancel",
            "event",
            event_id,
            f"Cancelled {title}",
            {"status": [status, "cancelled"], "cancellation_reason": ["", reason]},
        )
    return len(cancelled)


def change_capacity(event_id: int, capacity: int) -> list[Booking]:
    """Through the booking rules: raising promotes the waiting list, lowering stops at the
    confirmed count (``booking_service.CapacityTooLow``, and nothing is recorded)."""
    with unit_of_work():
        event = _get(event_id)
        before, title = event.capacity, event.title
        promoted = booking_service.change_capacity(event_id, capacity)
        accounts.audit(
            "event.capacity",
            "event",
            event_id,
            f"Changed the places of {title}",
            {"capacity": [str(before), str(capacity)]},
        )
    return promoted


def duplicate_event(event_id: int, title: str, weeks: int) -> Event:
    """A draft copy with its programme, every date moved by ``weeks`` weeks on the London
    wall clock (``NonexistentLocalTime`` when a moved time falls in the hour London skips)."""
    with unit_of_work():
        original = event(event_id)
        if original is None:
            raise LookupError(event_id)
        copy = Event(
            slug=unique_slug(slugify(title)),
            title=title.strip(),
            kind=original.kind,
            status=EventStatus.draft,
            summary=original.summary,
            description=original.description,
            notes=original.notes,
            venue_id=original.venue_id,
            starts_at=_shift(original.starts_at, weeks),
            ends_at=_shift(original.ends_at, weeks),
            capacity=original.capacity,
            booking_opens_at=_shift(original.booking_opens_at, weeks),
            booking_closes_at=_shift(original.booking_closes_at, weeks),
            series=original.series,
            host_network_id=original.host_network_id,
        )
        for slot in original.slots:
            copy.slots.append(
                ProgrammeSlot(
                    starts_at=_shift(slot.starts_at, weeks),
                    ends_at=_shift(slot.ends_at, weeks),
                    kind=slot.kind,
                    title=slot.title,
                    description=slot.description,
                    room=slot.room,
                    capacity=slot.capacity,
                    position=slot.position,
                    speakers=[
                        Speaker(name=s.name, organisation=s.organisation, position=s.position)
                        for s in slot.speakers
                    ],
                )
            )
        db.session.add(copy)
        db.session.flush()
        accounts.audit(
            "event.duplicate",
            "event",
            copy.id,
            f"Duplicated {original.title} (id {original.id}) as {copy.title}, {weeks} weeks on",
        )
    return copy


def _words(subject: str, body: str) -> tuple[str, str]:
    """The subject on one line; the body with plain line ends (browsers send CRLF), so that
    its blank lines separate paragraphs."""
    return " ".join(subject.split()), body.replace("\r\n", "\n").replace("\r", "\n").strip()


def preview_message(
    event_id: int, audience: str, subject: str, body: str, now: datetime | None = None
) -> booking_service.MessagePreview:
    """What the organiser checks before sending: nothing is queued."""
    return booking_service.preview_message(event_id, audience, *_words(subject, body), now=now)


def send_test_message(event_id: int, subject: str, body: str, recipient: str) -> None:
    """One copy to the organiser, through the outbox like the real ones, marked as a test."""
    with unit_of_work():
        booking_service.queue_test_message(event_id, recipient, *_words(subject, body))


def send_message(
    event_id: int,
    audience: str,
    subject: str,
    body: str,
    sent_by: str,
    *,
    expected: int | None = None,
    now: datetime | None = None,
) -> EventMessage:
    """One e-mail per delegate of the audience, and the copy kept with the event.
    ``expected``: the audience's size the organiser confirmed; if it changed meanwhile,
    :class:`~bookings.booking.service.AudienceChanged` is raised and nothing is sent."""
    with unit_of_work():
        subject, body = _words(subject, body)
        told = booking_service.message_delegates(
            event_id, audience, subject, body, expected=expected, now=now
        )
        message = EventMessage(
            event_id=event_id,
            audience=audience,
            subject=subject,
            body=body,
            recipients=told,
            sent_by=sent_by,
        )
        db.session.add(message)
        accounts.audit(
            "event.message",
            "event",
            event_id,
            f"E-mailed {told} delegates ({audience}): {subject}",
        )
    return message
