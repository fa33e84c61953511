"""The networks' rules: their public pages' queries, the organisers' changes to networks and
meetings, and the reader for meeting dates pasted in the reports' own style.

Every change is one unit of work with its audit entry. SEQUENCE and update times move through
the feed listener alone (``bookings.db.FeedItem``): a meeting's own fields, and the network's
fields that each meeting's calendar entry shows (``Network.sequence_fields``).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bookings.accounts import service as accounts
from bookings.db import db, saved_unless_stale, unit_of_work, utcnow
from bookings.london import NonexistentLocalTime, london_date, london_datetime
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
MEETING_FIELDS = ("day", "starts_at", "ends_at", "status", "location", "note")
WITH_MEETINGS = (selectinload(Network.meetings),)


class MeetingError(ValueError):
    """Meetings that cannot be saved; ``problems`` says why, one message each, for the
    organiser."""

    def __init__(self, *problems: str) -> None:
        super().__init__(" ".join(problems))
        self.problems = list(problems)


class SlugTaken(ValueError):
    """Another network already uses the web address name."""

    def __init__(self) -> None:
        super().__init__("Another network already uses this web address name.")


# ----------------------------------------------------------------------------- queries


def networks() -> list[Network]:
    return list(db.session.scalars(select(Network).options(*WITH_MEETINGS).order_by(Network.name)))


def network(slug: str) -> Network | None:
    return db.session.scalar(select(Network).options(*WITH_MEETINGS).where(Network.slug == slug))


def split_meetings(
    network: Network, today: date | None = None
) -> tuple[list[Meeting], list[Meeting]]:
    """Upcoming meetings (soonest first, undated "tbc" last) and past ones (latest first)."""
    today = today or london_date(utcnow())
    upcoming = [m for m in network.meetings if m.day is None or m.day >= today]
    upcoming.sort(key=lambda m: (m.day is None, m.day or today))
    past = sorted(
        (m for m in network.meetings if m.day is not None and m.day < today),
        key=lambda m: m.day,
        reverse=True,
    )
    return upcoming, past


class NetworkPage(NamedTuple):
    network: Network
    upcoming: list[Meeting]
    past: list[Meeting]


def networks_with_meetings() -> list[NetworkPage]:
    """Every network with its upcoming and past meetings, for the public list."""
    return [NetworkPage(n, *split_meetings(n)) for n in networks()]


def network_page(slug: str) -> NetworkPage | None:
    found = network(slug)
    return None if found is None else NetworkPage(found, *split_meetings(found))


def meeting_of(network_id: int, meeting_id: int) -> Meeting | None:
    return db.session.scalar(
        select(Meeting).where(Meeting.id == meeting_id, Meeting.network_id == network_id)
    )


def _slug_taken(slug: str, exclude_id: int | None = None) -> bool:
    query = select(Network.id).where(Network.slug == slug)
    if exclude_id is not None:
        query = query.where(Network.id != exclude_id)
    return db.session.scalar(query) is not None


# ----------------------------------------------------------------------------- networks


def create_network(values: dict[str, str]) -> Network:
    """Add a network; ``SlugTaken`` when its web address name is another's."""
    with unit_of_work():
        if _slug_taken(values["slug"].strip()):
            raise SlugTaken()
        network = Network()
        db.session.add(network)
        _write_network(network, values, {})
    return network


def update_network(network: Network, values: dict[str, str], version: int) -> None:
    """Save an edit unless someone else saved the network first (``StaleEdit``);
    ``SlugTaken`` when the new web address name is another's."""
    with saved_unless_stale(network, version, "network"):
        if _slug_taken(values["slug"].strip(), exclude_id=network.id):
            raise SlugTaken()
        _write_network(network, values, accounts.snapshot(network, NETWORK_FIELDS))


def _write_network(network: Network, values: dict[str, str], before: dict) -> None:
    """Set the fields and audit them (``before`` empty for a new network)."""
    creating = not before
    for name in NETWORK_FIELDS:
        setattr(network, name, values[name].strip())
    db.session.flush()
    accounts.audit(
        "network.create" if creating else "network.update",
        "network",
        network.id,
        f"{'Added' if creating else 'Edited'} network {network.name}",
        accounts.diff(before, accounts.snapshot(network, NETWORK_FIELDS)),
    )


# ----------------------------------------------------------------------------- meetings


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
    """Add one or several meetings in one unit of work: all or none."""
    with unit_of_work():
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
    return meetings


def add_pasted_meetings(
    network: Network, text: str, start: time | None, end: time | None, location: str
) -> list[Meeting]:
    """Add a meeting for each pasted line, at the usual time and place given; nothing when a
    line cannot be read (``MeetingError`` names each such line)."""
    parsed, errors = parse_meeting_lines(text)
    if errors:
        raise MeetingError(*errors)
    return add_meetings(
        network,
        [MeetingData(line.day, start, end, line.status, location or "") for line in parsed],
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
