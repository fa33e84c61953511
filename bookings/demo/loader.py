"""Turns the data file into rows: the Board's events, networks and meetings as the reports give
them, plus a current season copied forward from the day of loading, a recent event copied to
the week before it and one to the day after (whose reminder `make run`'s sender writes); then
the statistics (``delegates.py``) and what is going on (``activity.py``).

The file says what the reports say; this module adds only what depends on the day of loading
(the copies and their booking windows) and the instants of London wall-clock times.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

import click
from sqlalchemy import func, select

from bookings.accounts.models import OrganiserUser, Role
from bookings.accounts.service import MIN_PASSWORD_LENGTH
from bookings.booking.models import Booking, Lscb, LscbKind, Sector
from bookings.db import db, unit_of_work, utcnow
from bookings.demo import activity, aftercare, data
from bookings.demo.delegates import load_demo_statistics
from bookings.events.models import (
    Event,
    EventKind,
    EventStatus,
    ProgrammeSlot,
    SlotKind,
    Speaker,
    Venue,
)
from bookings.london import london_date, london_datetime, london_day_bounds
from bookings.networks.models import Meeting, MeetingStatus, Network
from bookings.networks.service import NETWORK_FIELDS
from bookings.papers.models import Audience, Paper

SECTORS: list[str] = data()["sectors"]


def _events() -> list[dict[str, Any]]:
    """Each event with the templates it is ``like`` merged in, in order; its own keys win."""
    templates = data()["templates"]
    merged = []
    for spec in data()["events"]:
        event: dict[str, Any] = {}
        for name in spec.get("like", []):
            event |= templates[name]
        merged.append(event | spec)
    return merged


EVENTS = _events()


# --------------------------------------------------------------------------- loading


def database_is_empty() -> bool:
    """No events, venues, networks, meetings, bookings or organiser accounts.

    Sectors and LSCBs are reference data and do not count: the demo adds only the ones missing.
    """
    content = (Event, Venue, Network, Meeting, Booking, OrganiserUser)
    return all(db.session.scalar(select(model.id).limit(1)) is None for model in content)


def clear() -> None:
    """Deletes every row of every table, children before parents, in one transaction."""
    with unit_of_work():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())


def load(today: date | None = None) -> dict[str, int]:
    """Adds the demo (the reports' records and their copies, the statistics and what is going
    on) in one unit of work; returns what it added, for the command."""
    with unit_of_work():
        now = utcnow()
        today = today or london_date(now)
        account = data()["organiser"]
        organiser = OrganiserUser(email=account["email"], name=account["name"], role=Role.admin)
        organiser.set_password(_organiser_password(account["password"]))
        venues = {key: Venue(**spec) for key, spec in data()["venues"].items()}
        networks = {spec["slug"]: _network(spec) for spec in data()["networks"]}
        events = [_event(spec, venues, networks) for spec in EVENTS]

        weeks = season_weeks(today)
        opens_at = london_day_bounds(today - timedelta(days=data()["season"]["opened_days_ago"]))[0]
        copies = {
            archived_slug(spec): _event(spec, venues, networks, weeks[spec["season"]], opens_at)
            for spec in EVENTS
            if "season" in spec
        }
        recent = next(spec for spec in EVENTS if archived_slug(spec) == data()["now"]["recent"])
        copies[archived_slug(recent)] = _event(
            recent, venues, networks, weeks_back(recent["day"], today)
        )
        soon = next(spec for spec in EVENTS if archived_slug(spec) == data()["now"]["tomorrow"])
        copies[f"{archived_slug(soon)} (tomorrow)"] = _event(
            soon, venues, networks, days=(today + timedelta(days=1) - soon["day"]).days
        )
        events += copies.values()
        later = copies.pop(data()["now"]["not_yet_open"])
        later.booking_opens_at = london_datetime(
            today + timedelta(days=data()["now"]["opens_in_days"]), time(9)
        )
        papers = [
            _paper(spec, copies[archived_slug(recent)], today) for spec in data()["now"]["papers"]
        ]
        meetings_weeks = weeks[data()["season"]["meetings_season"]]
        for spec in data()["networks"]:
            location = spec.get("default_location", "")
            networks[spec["slug"]].meetings += [
                _meeting(meeting, location, meetings_weeks) for meeting in _season_meetings(spec)
            ]

        sectors = _missing_sectors()
        lscbs = _missing_lscbs()
        db.session.add_all(
            [organiser, *venues.values(), *networks.values(), *events, *sectors, *lscbs, *papers]
        )
        db.session.flush()
        statistics = load_demo_statistics()
        return (
            statistics
            | activity.load(organiser, copies, opens_at, now)
            | aftercare.load(copies[archived_slug(recent)], now)
            | {
                # Counted afterwards: the statistics add the 2005 conference that holds its figures.
                "events": db.session.scalar(select(func.count(Event.id))),
                "upcoming events": sum(event.starts_at > now for event in events),
                "programme slots": sum(len(event.slots) for event in events),
                "papers": len(papers),
                "venues": len(venues),
                "networks and sub-groups": len(networks),
                "meetings": sum(len(network.meetings) for network in networks.values()),
                "sectors": len(sectors),
                "LSCBs": len(lscbs),
                f"organiser account ({organiser.email})": 1,
            }
        )


# --------------------------------------------------------------------------- the current season


def weeks_forward(first: date, today: date, lead: timedelta | None = None) -> int:
    """The whole number of weeks that moves ``first`` to a day at least ``lead`` (the data's
    ``lead_days``) after ``today``.

    Whole weeks keep every weekday; rebuilding each instant with ``london_datetime`` from the
    moved London date keeps every wall-clock time, whichever side of a clock change it lands.
    """
    if lead is None:
        lead = timedelta(days=data()["season"]["lead_days"])
    return max(-((first - today - lead).days // 7), 0)


def weeks_back(first: date, today: date, lag: timedelta | None = None) -> int:
    """The whole number of weeks that moves ``first`` to the latest day at least ``lag`` (the
    data's ``recent_days_ago``) before ``today``: the same weekday, a week or so ago."""
    if lag is None:
        lag = timedelta(days=data()["now"]["recent_days_ago"])
    return max((today - lag - first).days // 7, 0)


def season_weeks(today: date) -> dict[str, int]:
    """For each copied season, the weeks that bring its first event or meeting ahead of today."""
    firsts: dict[str, date] = {}
    for season, day in _season_days():
        firsts[season] = min(day, firsts.get(season, day))
    return {season: weeks_forward(first, today) for season, first in firsts.items()}


def _season_days() -> Iterator[tuple[str, date]]:
    for spec in EVENTS:
        if "season" in spec:
            yield spec["season"], spec["day"]
    season = data()["season"]["meetings_season"]
    for spec in data()["networks"]:
        for meeting in _season_meetings(spec):
            yield season, meeting["day"]


def _season_meetings(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """A network's dated meetings from the start of the current season's meetings on."""
    first = data()["season"]["meetings_from"]
    return [meeting for meeting in spec["meetings"] if meeting.get("day", date.min) >= first]


def _moved(day: date, weeks: int) -> date:
    return day + timedelta(weeks=weeks)


# --------------------------------------------------------------------------- builders


def _organiser_password(default: str) -> str:
    password = os.environ.get("DEMO_ORGANISER_PASSWORD") or default
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.ClickException(
            f"DEMO_ORGANISER_PASSWORD must have at least {MIN_PASSWORD_LENGTH} characters."
        )
    return password


def _missing_sectors() -> list[Sector]:
    existing = set(db.session.scalars(select(Sector.name)))
    return [
        Sector(name=name, position=position)
        for position, name in enumerate(SECTORS, start=1)
        if name not in existing
    ]


def _missing_lscbs() -> list[Lscb]:
    """The data file's LSCBs that the database (seeded by its migration) does not have yet."""
    existing = set(db.session.scalars(select(Lscb.name)))
    return [
        Lscb(name=spec["name"], kind=LscbKind(spec["kind"]), position=position)
        for position, spec in enumerate(data()["lscbs"], start=1)
        if spec["name"] not in existing
    ]


def _at(day: date, spec: dict[str, Any]) -> tuple[datetime, datetime | None]:
    """A spec's London ``starts`` (and ``ends``, if it has one) on ``day`` as UTC instants."""
    ends = spec.get("ends")
    return london_datetime(day, spec["starts"]), london_datetime(day, ends) if ends else None


def _meeting(spec: dict[str, Any], location: str, weeks: int = 0) -> Meeting:
    status = MeetingStatus(spec.get("status", MeetingStatus.confirmed))
    day = _moved(spec["day"], weeks) if "day" in spec else None
    starts_at, ends_at = _at(day, spec) if day and "starts" in spec else (None, None)
    return Meeting(
        day=day,
        starts_at=starts_at,
        ends_at=ends_at,
        status=status,
        location=location,
        note=spec.get("note", ""),
    )


def _network(spec: dict[str, Any]) -> Network:
    location = spec.get("default_location", "")
    return Network(
        **{field: spec.get(field, "") for field in NETWORK_FIELDS},
        meetings=[_meeting(meeting, location) for meeting in spec["meetings"]],
    )


def _slot(spec: dict[str, Any], day: date, position: int) -> ProgrammeSlot:
    starts_at, ends_at = _at(day, spec)
    return ProgrammeSlot(
        starts_at=starts_at,
        ends_at=ends_at,
        kind=SlotKind(spec["kind"]),
        title=spec["title"],
        description=spec.get("description", ""),
        position=position,
        speakers=[
            Speaker(name=speaker["name"], organisation=speaker["organisation"], position=n)
            for n, speaker in enumerate(spec.get("speakers", []))
        ],
    )


def archived_slug(spec: dict[str, Any]) -> str:
    """The slug of the event as the reports date it: the data file's name for its copies."""
    day = spec["day"]
    return spec["slug"].format(year=day.year, date=day.isoformat())


def _series(spec: dict[str, Any], weeks: int) -> str | None:
    """The series name, with the year in which the (moved) series begins."""
    if "series" not in spec:
        return None
    first = min(s["day"] for s in EVENTS if s.get("series") == spec["series"])
    return spec["series"].format(year=_moved(first, weeks).year)


def _paper(spec: dict[str, Any], event: Event, today: date) -> Paper:
    days = spec.get("embargo_days")
    return Paper(
        event=event,
        title=spec["title"],
        audience=Audience(spec["audience"]),
        url=spec["url"],
        embargo_until=london_day_bounds(today + timedelta(days=days))[0] if days else None,
    )


def _event(
    spec: dict[str, Any],
    venues: dict[str, Venue],
    networks: dict[str, Network],
    weeks: int = 0,
    opens_at: datetime | None = None,
    days: int = 0,
) -> Event:
    """The event of ``spec``, moved by ``weeks`` (or ``days``, for the event tomorrow)."""
    window = data()["booking_window"]
    day = _moved(spec["day"], weeks) + timedelta(days=days)
    starts_at, ends_at = _at(day, spec)
    if opens_at is None:
        opened = day - timedelta(weeks=window["opens_weeks_before"])
        opens_at = london_datetime(opened, window["opens_at"])
    closed = day - timedelta(days=window["closes_days_before"])
    return Event(
        slug=spec["slug"].format(year=day.year, date=day.isoformat()),
        title=spec["title"],
        kind=EventKind(spec["kind"]),
        status=EventStatus.published,
        summary=spec["summary"],
        description=spec.get("description", ""),
        notes=spec.get("notes", ""),
        venue=venues[spec["venue"]],
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=spec["capacity"],
        booking_opens_at=opens_at,
        booking_closes_at=london_datetime(closed, window["closes_at"]),
        series=_series(spec, weeks + days // 7),
        host_network=networks.get(spec.get("host", "")),
        slots=[_slot(slot, day, n) for n, slot in enumerate(spec.get("programme", []))],
    )
