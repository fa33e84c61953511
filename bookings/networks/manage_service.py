"""Changes to networks and meetings from the organiser console, and the reader for meeting
dates pasted in the reports' own style. Every change is audited; a change subscribers must see
bumps the meeting's SEQUENCE (the ``FeedItem`` listener, or here for network fields the
meeting entries show)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bookings.accounts import service as accounts
from bookings.db import db, saved_unless_stale, utcnow
from bookings.london import NonexistentLocalTime, london_datetime, to_london
from bookings.networks.models import Meeting, MeetingStatus, Network

NETWORK_FIELDS = (
    "name",
    "slug",
    "chair",
    "chair_organisation",
    "contact_name",
    "contact_email",
    "remit",
    "membership",
    "papers_url",
    "default_location",
)
# Shown in every meeting's calendar entry: a change must reach subscribers (a new SEQUENCE).
FEED_NETWORK_FIELDS = ("name", "chair", "default_location", "contact_name", "contact_email")
MEETING_FIELDS = ("day", "starts_at", "ends_at", "status", "location", "note")


class MeetingError(ValueError):
    """A meeting that cannot be saved; the message says why, for the organiser."""


def network_by_id(network_id: int) -> Network | None:
    return db.session.scalar(
        select(Network).options(selectinload(Network.meetings)).where(Network.id == network_id)
    )


def slug_taken(slug: str, exclude_id: int | None = None) -> bool:
    query = select(Network.id).where(Network.slug == slug)
    if exclude_id is not None:
        query = query.where(Network.id != exclude_id)
    return db.session.scalar(query) is not None


def create_network(values: dict[str, str]) -> Network:
    network = Network()
    db.session.add(network)
    _write_network(network, values, {})
    db.session.commit()
    return network


def update_network(network: Network, values: dict[str, str], version: int) -> None:
    """Save an edit unless someone else saved the network first (``StaleEdit``)."""
    with saved_unless_stale(network, version, "network"):
        _write_network(network, values, accounts.snapshot(network, NETWORK_FIELDS))


def _write_network(network: Network, values: dict[str, str], before: dict) -> None:
    """Set the fields and audit them (``before`` empty for a new network); a change to what
    meetings' feed entries show bumps each meeting's SEQUENCE."""
    creating = not before
    for name in NETWORK_FIELDS:
        setattr(network, name, values[name].strip())
    db.session.flush()
    if not creating and any(before[f] != getattr(network, f) for f in FEED_NETWORK_FIELDS):
        for meeting in network.meetings:
            meeting.sequence = (meeting.sequence or 0) + 1
    accounts.audit(
        "network.create" if creating else "network.update",
        "network",
        network.id,
        f"{'Added' if creating else 'Edited'} network {network.name}",
        accounts.diff(before, accounts.snapshot(network, NETWORK_FIELDS)),
    )


@dataclass(frozen=True)
class MeetingData:
    day: date | None
    start: time | None
    end: time | None
    status: MeetingStatus
    location: str = ""
    note: str = ""


def _instants(data: MeetingData) -> tuple[datetime | None, datetime | None]:
    if data.day is None or data.start is None:
        return None, None
    try:
        starts = london_datetime(data.day, data.start)
        ends = london_datetime(data.day, data.end) if data.end else None
    except NonexistentLocalTime as exc:
        raise MeetingError(f"{exc}: the clocks go forward that night.") from None
    if ends is not None and ends <= starts:
        raise MeetingError("The meeting must end after it starts.")
    return starts, ends


def _apply_meeting(meeting: Meeting, data: MeetingData) -> None:
    if data.day is None and data.status != MeetingStatus.tbc:
        raise MeetingError("Only a meeting marked tbc may be without a date.")
    meeting.starts_at, meeting.ends_at = _instants(data)
    meeting.day = data.day
    if data.status == MeetingStatus.cancelled and meeting.status != MeetingStatus.cancelled:
        meeting.cancelled_at = utcnow()
    elif data.status != MeetingStatus.cancelled:
        meeting.cancelled_at = None
    meeting.status = data.status
    meeting.location = data.location.strip()
    meeting.note = data.note.strip()


def add_meetings(network: Network, items: list[MeetingData]) -> list[Meeting]:
    """Add one or several meetings in one commit (all or none)."""
    meetings = []
    for data in items:
        meeting = Meeting()
        _apply_meeting(meeting, data)
        meetings.append(meeting)
    # Attached only once all are valid, so a refused line leaves nothing half-added.
    network.meetings.extend(meetings)
    db.session.flush()
    days = ", ".join(str(m.day) if m.day else "tbc" for m in meetings)
    accounts.audit(
        "meeting.create", "network", network.id, f"Added meetings of {network.name}: {days}"
    )
    db.session.commit()
    return meetings


def meeting_of(network_id: int, meeting_id: int) -> Meeting | None:
    return db.session.scalar(
        select(Meeting).where(Meeting.id == meeting_id, Meeting.network_id == network_id)
    )


def update_meeting(meeting: Meeting, data: MeetingData, version: int) -> None:
    """Save an edit unless someone else saved the meeting first (``StaleEdit``);
    ``MeetingError`` when it cannot be saved as given."""
    with saved_unless_stale(meeting, version, "meeting"):
        before = accounts.snapshot(meeting, MEETING_FIELDS)
        _apply_meeting(meeting, data)
        accounts.audit(
            "meeting.update",
            "network",
            meeting.network_id,
            f"Edited the {meeting.day or 'tbc'} meeting of {meeting.network.name}",
            accounts.diff(before, accounts.snapshot(meeting, MEETING_FIELDS)),
        )


# ----------------------------------------------------------------------------- pasted dates

_MONTHS = (
    {name.lower(): n for n, name in enumerate(calendar.month_name) if name}
    | {name.lower(): n for n, name in enumerate(calendar.month_abbr) if name}
    | {"sept": 9}
)
_WEEKDAYS = {name.lower() for name in calendar.day_name} | {
    name.lower() for name in calendar.day_abbr
}
_FLAGS = {
    "prov": MeetingStatus.provisional,
    "provisional": MeetingStatus.provisional,
    "tbc": MeetingStatus.tbc,
    "tba": MeetingStatus.tbc,
    "cancelled": MeetingStatus.cancelled,
    "canceled": MeetingStatus.cancelled,
}


@dataclass(frozen=True)
class ParsedLine:
    line_no: int
    text: str
    day: date | None
    status: MeetingStatus


def parse_meeting_line(text: str) -> tuple[date | None, MeetingStatus]:
    """One line in the reports' style: "6 December 2011", "23 February (prov) 2012",
    "Tuesday 6th Dec 2011 (cancelled)", "tbc". Raises ValueError with a reason."""
    tokens = re.findall(r"[a-z]+|\d+", text.lower())
    day = month = year = None
    status = MeetingStatus.confirmed
    for token in tokens:
        if token in _FLAGS:
            status = _FLAGS[token]
        elif token in _WEEKDAYS or token in ("st", "nd", "rd", "th"):
            continue
        elif token in _MONTHS and month is None:
            month = _MONTHS[token]
        elif token.isdigit() and len(token) == 4 and year is None:
            year = int(token)
        elif token.isdigit() and len(token) <= 2 and day is None:
            day = int(token)
        else:
            raise ValueError(f"cannot read “{token}”")
    if day is None and month is None and year is None:
        if status == MeetingStatus.tbc:
            return None, status
        raise ValueError("no date found; write e.g. 6 December 2011, or tbc")
    if day is None or month is None or year is None:
        missing = [n for n, v in (("day", day), ("month", month), ("year", year)) if v is None]
        raise ValueError(f"the {' and '.join(missing)} is missing")
    try:
        return date(year, month, day), status
    except ValueError:
        raise ValueError(f"{day} {calendar.month_name[month]} {year} is not a date") from None


def parse_meeting_lines(text: str) -> tuple[list[ParsedLine], list[str]]:
    """Every non-empty line parsed, and a message per line that could not be."""
    parsed, errors = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            day, status = parse_meeting_line(line)
        except ValueError as problem:
            errors.append(f"Line {n} (“{line.strip()[:60]}”): {problem}.")
        else:
            parsed.append(ParsedLine(n, line.strip(), day, status))
    return parsed, errors


def local_time(value: datetime | None) -> time | None:
    return to_london(value).time().replace(tzinfo=None) if value else None
