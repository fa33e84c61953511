"""What is going on in the demo, as the data file's ``[now]`` says: places held for every London
LSCB at one event and a sector mix at another, bookings on the upcoming events (one of them
full, with a waiting list; some through LSCBs' links) and what the demo organiser did lately
(the audit log and the messages kept with their events).

All in one unit of work, after the rest of the demo is in. Messages are kept as the console keeps
them, but never put in the outbox: `make mail` has nothing to send to anyone made up.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bookings.accounts import service as accounts
from bookings.accounts.models import AuditEntry, OrganiserUser
from bookings.booking.models import Allocation
from bookings.booking.service import (
    LimitInput,
    active_sectors,
    allocate,
    audience_size,
    set_sector_limits,
)
from bookings.db import db, unit_of_work
from bookings.demo import data
from bookings.demo.delegates import book_team, book_upcoming
from bookings.events.models import Event, EventMessage
from bookings.london import london_date, london_datetime


def _entry(spec: dict[str, Any], event: Event, at: datetime, user: OrganiserUser) -> None:
    """One line of ``[[now.log]]``: its audit entry, worded as the console words it, and for a
    message the copy kept with the event."""
    if spec["did"] == "created":
        accounts.audit(
            "event.create", "event", event.id, f"Created draft {event.title}", user=user
        ).at = at
    elif spec["did"] == "published":
        accounts.audit(
            "event.publish",
            "event",
            event.id,
            f"Published {event.title}",
            {"status": ["draft", "published"]},
            user=user,
        ).at = at
    else:
        audience, subject = spec["audience"], spec["subject"]
        told = audience_size(event.id, audience, at)
        db.session.add(
            EventMessage(
                event_id=event.id,
                audience=audience,
                subject=subject,
                body=spec["body"].strip(),
                recipients=told,
                sent_by=user.email,
                sent_at=at,
            )
        )
        accounts.audit(
            "event.message",
            "event",
            event.id,
            f"E-mailed {told} delegates ({audience}): {subject}",
            user=user,
        ).at = at


def _by(user: OrganiserUser, at: datetime, action: str, event: Event) -> None:
    """The audit entry the service just wrote for ``action``, as the demo organiser's at ``at``
    (the service, run by the command, has nobody signed in)."""
    db.session.flush()
    for entry in db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == action,
            AuditEntry.target_id == event.id,
            AuditEntry.user_id.is_(None),
        )
    ):
        entry.user_id, entry.user_email, entry.at = user.id, user.email, at


def _hold_places(
    spec: dict[str, Any], event: Event, user: OrganiserUser, now: datetime
) -> tuple[int, dict[Allocation, int]]:
    """Hold the places of ``[now.held_places]`` for every London LSCB, through the booking
    rules; returns how many LSCBs, and how many of each allocation's places its LSCB's
    delegates have taken."""
    today = london_date(now)
    day = london_date(event.starts_at)
    release_at = london_datetime(
        day - timedelta(days=spec["release_days_before"]), spec["release_at"]
    )
    covered = allocate(event.id, spec["reserved"], release_at, now=now)
    _by(
        user,
        london_datetime(today - timedelta(days=spec["days_ago"]), spec["at"]),
        "event.allocate",
        event,
    )
    allocations = db.session.scalars(select(Allocation).where(Allocation.event_id == event.id))
    taken = {a: spec["taken"][a.lscb.name] for a in allocations if a.lscb.name in spec["taken"]}
    return covered, taken


def _limit_sectors(spec: dict[str, Any], event: Event, user: OrganiserUser, now: datetime) -> int:
    """The sector limits of ``[now.sector_limits]``, through the booking rules; a limit whose
    sector the database does not have is left out. Returns how many were set."""
    today = london_date(now)
    day = london_date(event.starts_at)
    until = london_datetime(day - timedelta(days=spec["until_days_before"]), spec["until_at"])
    sectors = {sector.name.casefold(): sector for sector in active_sectors()}
    rows = [
        LimitInput(
            sector_id=sectors[line["sector"].casefold()].id,
            min_percent=line.get("min_percent"),
            max_percent=line.get("max_percent"),
            until=until if "min_percent" in line else None,
        )
        for line in spec["limits"]
        if line["sector"].casefold() in sectors
    ]
    set_sector_limits(event.id, rows, now)
    _by(
        user,
        london_datetime(today - timedelta(days=spec["days_ago"]), spec["at"]),
        "event.sector_limits",
        event,
    )
    return len(rows)


def load(
    organiser: OrganiserUser, copies: dict[str, Event], opened_at: datetime, now: datetime
) -> dict[str, int]:
    """Book the upcoming copies and write the organiser's recent activity; ``copies`` are the
    season's (and the recent) copies by the slug of the archived event they copy."""
    settings = data()["now"]
    log = settings["log"]
    today = london_date(now)
    with unit_of_work():
        held = settings["held_places"]
        covered, taken = _hold_places(held, copies[held["event"]], organiser, now)
        limits = settings["sector_limits"]
        limited = _limit_sectors(limits, copies[limits["event"]], organiser, now)
        upcoming = [event for event in copies.values() if event.starts_at > now]
        summary = book_upcoming(upcoming, copies[settings["full"]], opened_at, now, taken)
        team = settings["team"]
        summary[f"colleagues booked as one team on {copies[team['event']].title}"] = book_team(
            copies[team["event"]], team
        )
        for spec in log:
            at = london_datetime(today - timedelta(days=spec["days_ago"]), spec["at"])
            _entry(spec, copies[spec["event"]], at, organiser)
    messages = sum(1 for spec in log if spec["did"] == "message")
    return summary | {
        "audit log entries": len(log) + 2,
        "organiser messages": messages,
        "LSCBs with places held": covered,
        "sector limits": limited,
    }
