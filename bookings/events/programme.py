"""The programme of an event: sessions that lie inside the event, one at a time in each named
room. Part of the events' rules; other packages use ``bookings.events.service``.

Each change is one unit of work with its audit entry. A session's changes move its event's
update time through the feed listener (``FeedItem.part_of``), never by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import select

from bookings import london
from bookings.accounts import service as accounts
from bookings.db import db, saved_unless_stale, unit_of_work
from bookings.events.models import Event, ProgrammeSlot, SlotKind, Speaker

SLOT_FIELDS = ("title", "starts_at", "ends_at", "room", "kind")


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


class SlotRefused(ValueError):
    """The session cannot go in the programme as given.

    ``problems`` pairs a ``SlotData`` field with what is wrong with it, for the form to show
    next to the field.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(" ".join(message for _, message in problems))
        self.problems = problems


# ----------------------------------------------------------------------------- rules


def outside_event(
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
    problems = outside_event(event, data.starts_at, data.ends_at)
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


# ----------------------------------------------------------------------------- queries


def slot(event_id: int, slot_id: int) -> ProgrammeSlot | None:
    return db.session.scalar(
        select(ProgrammeSlot).where(ProgrammeSlot.id == slot_id, ProgrammeSlot.event_id == event_id)
    )


# ----------------------------------------------------------------------------- changes


def add_slot(event_id: int, data: SlotData) -> ProgrammeSlot:
    """Add a session; ``SlotRefused`` when it does not fit the event or its room is taken."""
    with unit_of_work():
        event = db.session.get(Event, event_id)
        if event is None:
            raise LookupError(event_id)
        _check_slot(event, data)
        slot = ProgrammeSlot(event_id=event_id)
        _apply_slot(slot, data)
        db.session.add(slot)
        db.session.flush()
        accounts.audit("slot.create", "event", event_id, f"Added {slot.title} to the programme")
    return slot


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
    with unit_of_work():
        accounts.audit(
            "slot.delete", "event", slot.event_id, f"Removed {slot.title} from the programme"
        )
        db.session.delete(slot)
