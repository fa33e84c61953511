"""Demo statistics: the 2005 conference's recorded figures and made-up delegates for past events.

Every delegate made here is plainly fake ("Demo delegate 123", demo-123@example.org), so no one
mistakes the demo for real people. Rows are inserted in bulk: past events cannot be booked
through the booking rules, and the whole demo must load in a second or two.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, insert, select

from bookings.booking.models import Booking, BookingStatus, Sector
from bookings.booking.service import _new_reference
from bookings.db import db, utcnow
from bookings.events.models import Event, EventKind, EventStatus, Venue
from bookings.london import london_datetime
from bookings.stats.models import FigureBasis, RecordedFigures, RecordedSectorFigure

REPORT = "Manager's progress report, 19 July 2006 (“Last year attendance was …”)"
# The July 2006 report's figures for the 2005 conference, with the sector names it uses.
REPORTED_2005 = {"Health": 20, "Police": 12, "Social Services": 33, "Education": 9, "Probation": 2}
# Our sector names for the report's; the first that exists is used.
ALIASES = {
    "Health": ("Health",),
    "Police": ("Police",),
    "Social Services": ("Social care", "Social services", "Children's social care"),
    "Education": ("Education",),
    "Probation": ("Probation",),
}
# Demo spread: the report's shares, the rest (24%) over the other sectors.
WEIGHTS = {
    "health": 20,
    "police": 12,
    "social": 33,
    "education": 9,
    "probation": 2,
    "voluntary": 12,
    "youth": 4,
}
OTHER_WEIGHT = 8
CONFERENCE_2005_SLUG = "safeguarding-londons-children-2005"
ATTENDANCE = 0.85
CANCELLED = 0.06
# The share of past events that filled up, and how many then joined the waiting list.
FULL = 0.35
WAITING = (2, 6)


def _sectors() -> list[Sector]:
    sectors = list(
        db.session.scalars(
            select(Sector).where(Sector.retired.is_(False)).order_by(Sector.position, Sector.name)
        )
    )
    if sectors:
        return sectors
    from bookings.demo import SECTORS

    sectors = [Sector(name=name, position=i) for i, name in enumerate(SECTORS, 1)]
    db.session.add_all(sectors)
    db.session.flush()
    return sectors


def sector_weight(name: str) -> int:
    """A sector's share of made-up delegates, found by name so that renamed or added sectors
    still get one."""
    folded = name.casefold()
    return next((w for key, w in WEIGHTS.items() if key in folded), OTHER_WEIGHT)


def _sector_for(reported: str, sectors: list[Sector]) -> Sector:
    by_name = {s.name.casefold(): s for s in sectors}
    for alias in ALIASES[reported]:
        if alias.casefold() in by_name:
            return by_name[alias.casefold()]
    sector = Sector(name=ALIASES[reported][0], position=len(sectors) + 1)
    db.session.add(sector)
    db.session.flush()
    sectors.append(sector)
    return sector


def _conference_2005() -> Event:
    """The 2005 conference. The reports give no date, only "last year"; December is assumed."""
    event = db.session.scalar(select(Event).where(Event.slug == CONFERENCE_2005_SLUG))
    if event is not None:
        return event
    venue = db.session.scalar(
        select(Venue).where(Venue.name.ilike("%Queen Elizabeth II%") | Venue.name.ilike("%QEII%"))
    ) or Venue(
        name="Queen Elizabeth II Conference Centre",
        address="Broad Sanctuary, Westminster, London",
        postcode="SW1P 3EE",
    )
    starts = london_datetime(date(2005, 12, 1), time(9, 30))
    event = Event(
        slug=CONFERENCE_2005_SLUG,
        title="Safeguarding London's Children 2005",
        kind=EventKind.conference,
        status=EventStatus.published,
        summary="The London Child Protection Committee's annual conference, 2005.",
        notes="Date assumed: the reports say only that it was held in 2005 (December).",
        venue=venue,
        starts_at=starts,
        ends_at=starts + timedelta(hours=7),
        capacity=0,
    )
    db.session.add(event)
    db.session.flush()
    return event


def _record_2005(sectors: list[Sector]) -> int:
    event = _conference_2005()
    exists = db.session.scalar(
        select(RecordedFigures.id).where(RecordedFigures.event_id == event.id)
    )
    if exists is not None:
        return 0
    figures = RecordedFigures(event=event, basis=FigureBasis.percentages, total=None, source=REPORT)
    figures.lines = [
        RecordedSectorFigure(sector=_sector_for(name, sectors), value=share * 10)
        for name, share in REPORTED_2005.items()
    ]
    db.session.add(figures)
    db.session.flush()
    return 1


def _demo_rows(event: Event, sectors: list[Sector], weights: list[int], start: int) -> list[dict]:
    """Made-up delegates for one past event: most events fill three-quarters or more of their
    places; about one in three (with a fixed number of places) filled up, and a few delegates
    joined its waiting list and never got a place.

    Cancellations come before the others book, so no freed place is ever owed to the waiting
    list and confirmed bookings never exceed the places.
    """
    rng = random.Random(event.id)
    places = event.capacity if event.capacity > 0 else 60
    full = event.capacity > 0 and rng.random() < FULL
    size = places if full else max(5, round(places * rng.uniform(0.75, 0.95)))
    now = utcnow()
    booked_at = event.starts_at - timedelta(days=30)
    rows: list[dict] = []
    confirmed = 0

    def add(status: BookingStatus, queued_at: datetime) -> None:
        n = start + len(rows)
        sector = rng.choices(sectors, weights)[0]
        salt = f"demo-{n}-{rng.random()}"
        attended = status == BookingStatus.confirmed and rng.random() < ATTENDANCE
        rows.append(
            {
                "event_id": event.id,
                "reference": _new_reference(),
                "token_salt": "",
                # No link is ever sent to a demo delegate; the hash only has to be unique.
                "token_hash": hashlib.sha256(salt.encode()).hexdigest(),
                "status": status,
                "sector_id": sector.id,
                "name": f"Demo delegate {n}",
                "email": f"demo-{n}@example.org",
                "email_key": f"demo-{n}@example.org",
                "organisation": f"Demo organisation ({sector.name})",
                "job_title": "Made-up demo delegate",
                "queued_at": queued_at,
                "confirmed_at": queued_at if status != BookingStatus.waitlisted else None,
                "cancelled_at": (
                    queued_at + timedelta(days=7) if status == BookingStatus.cancelled else None
                ),
                "attended_at": event.starts_at if attended else None,
                "created_at": now,
                "updated_at": now,
            }
        )

    while confirmed < size:
        if rng.random() < CANCELLED:
            add(BookingStatus.cancelled, booked_at - timedelta(days=14))
        else:
            add(BookingStatus.confirmed, booked_at)
            confirmed += 1
    if full:
        for day in range(rng.randint(*WAITING)):
            add(BookingStatus.waitlisted, booked_at + timedelta(days=day + 1))
    return rows


def load_demo_statistics() -> dict[str, int]:
    """Record the 2005/06 figures and give every past event made-up demo delegates; one commit."""
    now = utcnow()
    sectors = _sectors()
    recorded = _record_2005(sectors)
    weights = [sector_weight(sector.name) for sector in sectors]
    with_figures = select(RecordedFigures.event_id)
    with_bookings = select(Booking.event_id).distinct()
    events = list(
        db.session.scalars(
            select(Event)
            .where(
                Event.status == EventStatus.published,
                Event.ends_at <= now,
                Event.id.not_in(with_figures),
                Event.id.not_in(with_bookings),
            )
            .order_by(Event.starts_at)
        )
    )
    start = (db.session.scalar(select(func.max(Booking.id))) or 0) + 1
    rows: list[dict] = []
    for event in events:
        rows += _demo_rows(event, sectors, weights, start + len(rows))
    if rows:
        db.session.execute(insert(Booking), rows)
    db.session.commit()
    return {
        "recorded figure sets": recorded,
        "demo delegates": len(rows),
        "past events with demo delegates": len(events),
    }
