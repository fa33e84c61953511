"""Queries and changes behind the organiser console's event pages.

Rules about places (capacity, the waiting list, cancellations) stay in
``bookings.booking.service``; these functions call it. Every change is written to the audit
log in the same commit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from bookings import london
from bookings.accounts import service as accounts
from bookings.booking import service as booking_service
from bookings.booking.models import ACTIVE_STATUSES, Booking
from bookings.db import db, saved_unless_stale, unit_of_work, utcnow
from bookings.events import notifications
from bookings.events import service as event_service
from bookings.events.models import (
    Event,
    EventKind,
    EventStatus,
    ProgrammeSlot,
    SlotKind,
    Speaker,
    Venue,
)
from bookings.london import NonexistentLocalTime, london_datetime, wall_clock
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
ACTIVE = ACTIVE_STATUSES


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


# ----------------------------------------------------------------------------- queries


def upcoming_events() -> list[Event]:
    """Every event not yet over, drafts included, soonest first."""
    return list(
        db.session.scalars(
            select(Event)
            .options(joinedload(Event.venue))
            .where(Event.ends_at > utcnow())
            .order_by(Event.starts_at)
        )
    )


def past_events(limit: int = 50) -> list[Event]:
    return list(
        db.session.scalars(
            select(Event)
            .options(joinedload(Event.venue))
            .where(Event.ends_at <= utcnow())
            .order_by(Event.starts_at.desc())
            .limit(limit)
        )
    )


def event(event_id: int) -> Event | None:
    """An event with its venue, host and programme, drafts included."""
    return db.session.scalar(
        select(Event).options(*event_service.WITH_PROGRAMME).where(Event.id == event_id)
    )


def venue_choices() -> list[tuple[int, str]]:
    return [
        (r.id, r.name)
        for r in db.session.execute(select(Venue.id, Venue.name).order_by(Venue.name))
    ]


def network_choices() -> list[tuple[int, str]]:
    return list(
        (r.id, r.name)
        for r in db.session.execute(select(Network.id, Network.name).order_by(Network.name))
    )


def active_bookings(event_id: int, statuses=ACTIVE) -> list[Booking]:
    return list(
        db.session.scalars(
            select(Booking)
            .where(Booking.event_id == event_id, Booking.status.in_(statuses))
            .order_by(Booking.id)
        )
    )


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
        db.session.flush()
    return venue


def _apply(event: Event, data: EventData) -> None:
    event.title = data.title.strip()
    event.kind = data.kind
    event.summary = data.summary.strip()
    event.description = data.description.strip()
    event.notes = data.notes.strip()
    event.starts_at = data.starts_at
    event.ends_at = data.ends_at
    venue = _venue(data)
    # Both: the feed SEQUENCE listener watches venue_id, which the relationship alone fills
    # only during the flush; the relationship keeps event.venue current for the e-mails.
    event.venue_id = venue.id if venue else None
    event.venue = venue
    event.booking_opens_at = data.booking_opens_at
    event.booking_closes_at = data.booking_closes_at
    event.series = (data.series or "").strip() or None
    event.host_network_id = data.host_network_id or None


# ----------------------------------------------------------------------------- changes


def create_event(data: EventData) -> Event:
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
    db.session.commit()
    return event


def update_event(
    event_id: int, data: EventData, version: int, *, notify_delegates: bool
) -> tuple[Event, int]:
    """Save an organiser's edit unless someone else saved first.

    When the start moves, the programme moves with it. When the time or venue of a published
    event changes and ``notify_delegates`` is set, each active delegate is e-mailed the change
    with the new calendar file, in the same commit. Returns the event and the number of
    delegates told.
    """
    event = db.session.get(Event, event_id)
    if event is None:
        raise LookupError(event_id)
    with saved_unless_stale(event, version, "event"):
        told = _save_edit(event, data, notify_delegates)
    return event, told


def _save_edit(event: Event, data: EventData, notify_delegates: bool) -> int:
    before = accounts.snapshot(event, AUDITED_FIELDS)
    _apply(event, data)
    if data.slug and data.slug != event.slug:
        if unique_slug(data.slug, exclude_id=event.id) != data.slug:
            db.session.rollback()
            raise EventChangeRefused(f"Another event already uses the web address {data.slug}.")
        event.slug = data.slug
    moved_slots = _move_programme(event, before["starts_at"], before["ends_at"])
    db.session.flush()
    told = 0
    time_changed = (before["starts_at"], before["ends_at"]) != (event.starts_at, event.ends_at)
    venue_changed = before["venue_id"] != event.venue_id
    published = event.status == EventStatus.published
    if (time_changed or venue_changed) and notify_delegates and published:
        was_starts_at = before["starts_at"] if time_changed else None
        for booking in active_bookings(event.id):
            notifications.event_moved(booking, was_starts_at, venue_changed)
            told += 1
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
    for programme_slot in event.slots:
        refusal = None
        try:
            if delta:
                programme_slot.starts_at = _moved(programme_slot.starts_at, delta)
                programme_slot.ends_at = _moved(programme_slot.ends_at, delta)
        except NonexistentLocalTime:
            refusal = (
                f"Moved with the event, the session {programme_slot.title} would fall in the "
                "hour London skips when the clocks go forward. Change it first."
            )
        else:
            if _outside_event(event, programme_slot.starts_at, programme_slot.ends_at):
                refusal = (
                    f"The session {programme_slot.title} would then run outside the event. "
                    "Change or remove it in the programme first."
                )
        if refusal:
            db.session.rollback()
            raise EventChangeRefused(refusal)
    return len(event.slots) if delta else 0


def publish(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        raise LookupError(event_id)
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
    db.session.commit()
    return event


def unpublish(event_id: int) -> Event:
    """Back to draft, only while nobody holds a place: delegates must never lose an event
    silently (cancel it instead, and they are told)."""
    event = db.session.get(Event, event_id)
    if event is None:
        raise LookupError(event_id)
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
    db.session.commit()
    return event


def cancel_event(event_id: int, reason: str) -> int:
    """Cancel the event and its bookings; returns how many delegates were e-mailed."""
    event = db.session.get(Event, event_id)
    if event is None:
        raise LookupError(event_id)
    refusal = event.why_not_cancellable()
    if refusal:
        raise EventChangeRefused(refusal)
    with unit_of_work():
        accounts.audit(
            "event.cancel",
            "event",
            event.id,
            f"Cancelled {event.title}",
            {"status": [event.status.value, "cancelled"], "cancellation_reason": ["", reason]},
        )
        return len(booking_service.cancel_event(event_id, reason))


def change_capacity(event_id: int, capacity: int) -> list[Booking]:
    """Through the booking service: raising promotes the waiting list, lowering stops at the
    confirmed count (``CapacityTooLow``)."""
    event = db.session.get(Event, event_id)
    if event is None:
        raise LookupError(event_id)
    before = event.capacity
    with unit_of_work():
        accounts.audit(
            "event.capacity",
            "event",
            event.id,
            f"Changed the places of {event.title}",
            {"capacity": [str(before), str(capacity)]},
        )
        return booking_service.change_capacity(event_id, capacity)


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


def duplicate_event(event_id: int, title: str, weeks: int) -> Event:
    """A draft copy with its programme, every date moved by ``weeks`` weeks."""
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
    db.session.commit()
    return copy


# ----------------------------------------------------------------------------- programme


@dataclass
class SlotData:
    starts_at: datetime
    ends_at: datetime | None
    kind: SlotKind
    title: str
    description: str
    room: str
    capacity: int | None
    speakers: list[tuple[str, str]]


SLOT_FIELDS = ("title", "starts_at", "ends_at", "room", "kind")


class SlotRefused(ValueError):
    """The session cannot go in the programme as given.

    ``problems`` pairs a ``SlotData`` field with what is wrong with it, for the form to show
    next to the field.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(" ".join(message for _, message in problems))
        self.problems = problems


def _outside_event(
    event: Event, starts_at: datetime, ends_at: datetime | None
) -> list[tuple[str, str]]:
    """Why a session's times do not fit inside its event; empty when they do."""
    problems = []
    if ends_at is not None and ends_at <= starts_at:
        problems.append(("ends_at", "The session must end after it starts."))
    if not event.starts_at <= starts_at < event.ends_at:
        problems.append(("starts_at", "The session must start during the event."))
    if ends_at is not None and ends_at > event.ends_at:
        problems.append(("ends_at", "The session must end by the time the event ends."))
    return problems


def _overlap(
    a_start: datetime, a_end: datetime | None, b_start: datetime, b_end: datetime | None
) -> bool:
    """Sessions touching end to start do not overlap; an open-ended one ("12.45 onwards:
    lunch") holds its room from its start until the next session there."""
    a_end, b_end = a_end or a_start, b_end or b_start
    return a_start == b_start or (a_start < b_end and b_start < a_end)


def _room_clash(event_id: int, data: SlotData, slot_id: int | None) -> ProgrammeSlot | None:
    """Another session of the event in the same named room at an overlapping time."""
    room = data.room.strip().casefold()
    if not room:
        return None
    query = select(ProgrammeSlot).where(
        ProgrammeSlot.event_id == event_id, ProgrammeSlot.room != ""
    )
    if slot_id is not None:
        query = query.where(ProgrammeSlot.id != slot_id)
    for other in db.session.scalars(query.order_by(ProgrammeSlot.starts_at)):
        if other.room.strip().casefold() == room and _overlap(
            data.starts_at, data.ends_at, other.starts_at, other.ends_at
        ):
            return other
    return None


def _check_slot(event: Event, data: SlotData, slot_id: int | None = None) -> None:
    """Refuse a session outside its event or in a room another session holds then."""
    problems = _outside_event(event, data.starts_at, data.ends_at)
    clash = _room_clash(event.id, data, slot_id)
    if clash is not None:
        when = london.format_time_range(clash.starts_at, clash.ends_at)
        problems.append(("room", f"{clash.room} is already taken from {when} by {clash.title}."))
    if problems:
        raise SlotRefused(problems)


def _apply_slot(slot: ProgrammeSlot, data: SlotData) -> None:
    for f in fields(data):
        if f.name != "speakers":
            setattr(slot, f.name, getattr(data, f.name))
    slot.title = data.title.strip()
    slot.room = data.room.strip()
    slot.description = data.description.strip()
    slot.speakers = [
        Speaker(name=name, organisation=organisation, position=n)
        for n, (name, organisation) in enumerate(data.speakers)
    ]
    # Speakers are rows of their own: without this, a change to them alone would leave the
    # programme feed's Last-Modified where it was and If-Modified-Since would answer 304.
    slot.updated_at = utcnow()


def add_slot(event_id: int, data: SlotData) -> ProgrammeSlot:
    """Add a session; ``SlotRefused`` when it does not fit the event or its room is taken."""
    event = db.session.get(Event, event_id)
    if event is None:
        raise LookupError(event_id)
    _check_slot(event, data)
    slot = ProgrammeSlot(event_id=event_id)
    _apply_slot(slot, data)
    db.session.add(slot)
    db.session.flush()
    accounts.audit("slot.create", "event", event_id, f"Added {slot.title} to the programme")
    db.session.commit()
    return slot


def slot(event_id: int, slot_id: int) -> ProgrammeSlot | None:
    return db.session.scalar(
        select(ProgrammeSlot).where(ProgrammeSlot.id == slot_id, ProgrammeSlot.event_id == event_id)
    )


def update_slot(slot: ProgrammeSlot, data: SlotData, version: int) -> None:
    """Save a session unless someone else saved it first (``StaleEdit``); ``SlotRefused``
    when it does not fit the event or its room is taken."""
    with saved_unless_stale(slot, version, "session"):
        _check_slot(slot.event, data, slot.id)
        before = accounts.snapshot(slot, SLOT_FIELDS)
        _apply_slot(slot, data)
        accounts.audit(
            "slot.update",
            "event",
            slot.event_id,
            f"Edited {slot.title} in the programme",
            accounts.diff(before, accounts.snapshot(slot, SLOT_FIELDS)),
        )


def delete_slot(slot: ProgrammeSlot) -> None:
    accounts.audit(
        "slot.delete", "event", slot.event_id, f"Removed {slot.title} from the programme"
    )
    # A deleted row leaves no newer updated_at behind: the event's own one moves instead, by
    # a plain UPDATE, so an organiser editing the event is not told someone else saved it.
    db.session.execute(update(Event).where(Event.id == slot.event_id).values(updated_at=utcnow()))
    db.session.delete(slot)
    db.session.commit()
