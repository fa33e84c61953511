"""The demo's statistics: the 2005 conference's recorded figures and made-up delegates for past
events, as the data file's ``[recorded_figures]`` and ``[delegates]`` describe them.

Rows are inserted in bulk: past events cannot be booked through the booking rules, and the
whole demo must load in a second or two.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from bookings.booking.models import (
    Allocation,
    Booking,
    BookingGroup,
    BookingStatus,
    Lscb,
    LscbKind,
    Sector,
)
from bookings.booking.service import active_lscbs, active_sectors, availability, new_reference
from bookings.db import db, require_unit_of_work, unit_of_work, utcnow
from bookings.demo import data
from bookings.events.models import Event, EventKind, EventStatus, Venue
from bookings.london import london_datetime
from bookings.stats.models import FigureBasis, RecordedFigures, RecordedSectorFigure


def sector_weight(name: str) -> int:
    """A sector's share of made-up delegates, found by a word of its name so that renamed or
    added sectors still get one."""
    settings = data()["delegates"]
    folded = name.casefold()
    weights = settings["weights"].items()
    return next((w for word, w in weights if word in folded), settings["other_weight"])


def load_demo_statistics() -> dict[str, int]:
    """Record the 2005 figures and give every past event made-up demo delegates, as
    one unit of work (or within the caller's).

    Events that already have bookings or recorded figures are left alone, so a second run adds
    nothing.
    """
    with unit_of_work():
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
        lscbs = _lscbs()
        start = (db.session.scalar(select(func.max(Booking.id))) or 0) + 1
        rows: list[dict] = []
        for event in events:
            rows += _demo_rows(event, sectors, weights, start + len(rows), lscbs)
        if rows:
            db.session.execute(insert(Booking), rows)
        return {
            "recorded figure sets": recorded,
            "demo delegates": len(rows),
            "past events with demo delegates": len(events),
        }


# --------------------------------------------------------------------------- recorded figures


def _sectors() -> list[Sector]:
    sectors = active_sectors()
    if sectors:
        return sectors
    sectors = [Sector(name=name, position=i) for i, name in enumerate(data()["sectors"], 1)]
    db.session.add_all(sectors)
    db.session.flush()
    return sectors


def _lscbs() -> list[Lscb]:
    lscbs = active_lscbs()
    if lscbs:
        return lscbs
    lscbs = [
        Lscb(name=spec["name"], kind=LscbKind(spec["kind"]), position=i)
        for i, spec in enumerate(data()["lscbs"], 1)
    ]
    db.session.add_all(lscbs)
    db.session.flush()
    return lscbs


def _sector_for(names: list[str], sectors: list[Sector]) -> Sector:
    """The first of ``names`` that is a sector, or a new sector with the first name."""
    by_name = {s.name.casefold(): s for s in sectors}
    for name in names:
        if name.casefold() in by_name:
            return by_name[name.casefold()]
    sector = Sector(name=names[0], position=len(sectors) + 1)
    db.session.add(sector)
    db.session.flush()
    sectors.append(sector)
    return sector


def _conference_2005(spec: dict[str, Any]) -> Event:
    event = db.session.scalar(select(Event).where(Event.slug == spec["slug"]))
    if event is not None:
        return event
    place = data()["venues"][spec["venue"]]
    venue = db.session.scalar(select(Venue).where(Venue.name == place["name"])) or Venue(**place)
    event = Event(
        slug=spec["slug"],
        title=spec["title"],
        kind=EventKind(spec["kind"]),
        status=EventStatus.published,
        summary=spec["summary"],
        notes=spec["notes"],
        venue=venue,
        starts_at=london_datetime(spec["day"], spec["starts"]),
        ends_at=london_datetime(spec["day"], spec["ends"]),
        capacity=spec["capacity"],
    )
    db.session.add(event)
    db.session.flush()
    return event


def _record_2005(sectors: list[Sector]) -> int:
    spec = data()["recorded_figures"]
    event = _conference_2005(spec["event"])
    exists = db.session.scalar(
        select(RecordedFigures.id).where(RecordedFigures.event_id == event.id)
    )
    if exists is not None:
        return 0
    figures = RecordedFigures(
        event=event, basis=FigureBasis(spec["basis"]), total=None, source=spec["source"]
    )
    # Percentages are held in tenths (335 = 33.5%).
    figures.lines = [
        RecordedSectorFigure(
            sector=_sector_for(line["sectors"], sectors), value=round(line["percent"] * 10)
        )
        for line in spec["lines"]
    ]
    db.session.add(figures)
    db.session.flush()
    return 1


# --------------------------------------------------------------------------- made-up delegates


def _row(
    event: Event,
    n: int,
    sector: Sector,
    status: BookingStatus,
    queued_at: datetime,
    salt: str,
    lscbs: list[Lscb],
    *,
    cancelled_at: datetime | None = None,
    attended_at: datetime | None = None,
    created_at: datetime | None = None,
    allocation: Allocation | None = None,
) -> dict:
    """One made-up delegate's booking as a row, plainly fake: "Demo delegate 123"; through
    ``allocation``'s link, it holds one of that LSCB's reserved places."""
    now = utcnow()
    return {
        "event_id": event.id,
        "reference": new_reference(),
        "token_salt": "",
        # No link is ever sent to a demo delegate; the hash only has to be unique.
        "token_hash": hashlib.sha256(f"demo-{n}-{salt}".encode()).hexdigest(),
        "status": status,
        "sector_id": sector.id,
        # Spread over the LSCBs in turn, leaving the random draws as they were.
        "lscb_id": allocation.lscb_id if allocation else lscbs[n % len(lscbs)].id,
        "allocation_id": allocation.id if allocation else None,
        "name": f"Demo delegate {n}",
        "email": f"demo-{n}@example.org",
        "email_key": f"demo-{n}@example.org",
        "organisation": f"Demo organisation ({sector.name})",
        "job_title": "Made-up demo delegate",
        "queued_at": queued_at,
        "confirmed_at": queued_at if status != BookingStatus.waitlisted else None,
        "cancelled_at": cancelled_at,
        "attended_at": attended_at,
        "created_at": created_at or now,
        "updated_at": now,
    }


def _demo_rows(
    event: Event, sectors: list[Sector], weights: list[int], start: int, lscbs: list[Lscb]
) -> list[dict]:
    """Made-up delegates for one past event: most events fill three-quarters or more of their
    places; about one in three (with a fixed number of places) filled up, and a few delegates
    joined its waiting list and never got a place.

    Cancellations come before the others book, so no freed place is ever owed to the waiting
    list and confirmed bookings never exceed the places.
    """
    settings = data()["delegates"]
    rng = random.Random(event.id)
    places = event.capacity if event.capacity > 0 else settings["places_if_unlimited"]
    full = event.capacity > 0 and rng.random() < settings["full"]
    if full:
        size = places
    else:
        size = max(settings["at_least"], round(places * rng.uniform(*settings["filled"])))
    booked_at = event.starts_at - timedelta(days=settings["booked_days_before"])
    cancelled_booked_at = booked_at - timedelta(days=settings["cancelled_booked_days_earlier"])
    rows: list[dict] = []
    confirmed = 0

    def add(status: BookingStatus, queued_at: datetime) -> None:
        sector = rng.choices(sectors, weights)[0]
        salt = str(rng.random())
        attended = status == BookingStatus.confirmed and rng.random() < settings["attended"]
        cancelled_at = queued_at + timedelta(days=settings["cancelled_after_days"])
        rows.append(
            _row(
                event,
                start + len(rows),
                sector,
                status,
                queued_at,
                salt,
                lscbs,
                cancelled_at=cancelled_at if status == BookingStatus.cancelled else None,
                attended_at=event.starts_at if attended else None,
            )
        )

    while confirmed < size:
        if rng.random() < settings["cancelled"]:
            add(BookingStatus.cancelled, cancelled_booked_at)
        else:
            add(BookingStatus.confirmed, booked_at)
            confirmed += 1
    if full:
        for day in range(rng.randint(*settings["waiting"])):
            add(BookingStatus.waitlisted, booked_at + timedelta(days=day + 1))
    return rows


# --------------------------------------------------------------------------- upcoming events


def book_upcoming(
    events: list[Event],
    full: Event,
    opened_at: datetime,
    now: datetime,
    taken: dict[Allocation, int] | None = None,
) -> dict[str, int]:
    """Made-up delegates for the upcoming events, as the data file's ``[now]`` describes them:
    ``full`` fills every place and then its waiting list, the others some of theirs. Runs in
    the caller's unit of work; writes no outbox rows, so nobody made up is ever e-mailed.

    Bookings come in between ``opened_at`` (booking opened) and an hour ago, in queue order:
    cancellations among the first, the waiting list only once the last place has gone, so that
    no freed place is owed to anyone waiting and no event has more confirmed than places.
    General bookings take only the places not held back (for LSCBs or sectors' floors); the
    LSCBs' reserved places are taken, ``taken`` of each allocation, through their links.
    """
    require_unit_of_work("the demo's upcoming bookings")
    settings = data()["now"]
    sectors = _sectors()
    weights = [sector_weight(sector.name) for sector in sectors]
    lscbs = _lscbs()
    start = (db.session.scalar(select(func.max(Booking.id))) or 0) + 1
    until = now - timedelta(hours=1)
    rows: list[dict] = []
    for event in events:
        rng = random.Random(f"upcoming-{event.slug}")
        # Only the general places: those held for LSCBs or sectors' floors are not theirs.
        places = (event.capacity - availability(event, now).held) or data()["delegates"][
            "places_if_unlimited"
        ]
        size = places if event is full else round(places * rng.uniform(*settings["booked"]))
        waiting = settings["waiting"] if event is full else 0
        cancelled = round(size * data()["delegates"]["cancelled"])
        # Everyone's moment of booking, in order; the waiting list joins in the last quarter.
        spread = sorted(rng.uniform(0, 0.75) for _ in range(cancelled + size))
        spread += sorted(rng.uniform(0.75, 1) for _ in range(waiting))
        for i, share in enumerate(spread):
            queued_at = opened_at + (until - opened_at) * share
            if i < cancelled:
                status, cancelled_at = BookingStatus.cancelled, queued_at + timedelta(hours=2)
            else:
                status, cancelled_at = BookingStatus.confirmed, None
            if i >= cancelled + size:
                status = BookingStatus.waitlisted
            rows.append(
                _row(
                    event,
                    start + len(rows),
                    rng.choices(sectors, weights)[0],
                    status,
                    queued_at,
                    str(rng.random()),
                    lscbs,
                    cancelled_at=cancelled_at,
                    created_at=queued_at,
                )
            )
    links = _through_links(taken or {}, opened_at, until, start + len(rows), sectors, weights)
    rows += links
    if rows:
        db.session.execute(insert(Booking), rows)
    statuses = [row["status"] for row in rows]
    return {
        "reserved places taken through LSCBs' links": len(links),
        "places booked on upcoming events": statuses.count(BookingStatus.confirmed),
        f"on the waiting list of the full {full.title}": statuses.count(BookingStatus.waitlisted),
    }


def _through_links(
    taken: dict[Allocation, int],
    opened_at: datetime,
    until: datetime,
    start: int,
    sectors: list[Sector],
    weights: list[int],
) -> list[dict]:
    """Made-up delegates who booked ``taken`` of each allocation's reserved places through its
    LSCB's link (never more than it reserves)."""
    rows: list[dict] = []
    for allocation, count in taken.items():
        rng = random.Random(f"link-{allocation.event_id}-{allocation.lscb_id}")
        for _ in range(min(count, allocation.reserved)):
            queued_at = opened_at + (until - opened_at) * rng.uniform(0, 1)
            rows.append(
                _row(
                    allocation.event,
                    start + len(rows),
                    rng.choices(sectors, weights)[0],
                    BookingStatus.confirmed,
                    queued_at,
                    str(rng.random()),
                    [],
                    created_at=queued_at,
                    allocation=allocation,
                )
            )
    return rows


def book_team(event: Event, spec: dict[str, Any]) -> int:
    """A made-up training co-ordinator's team: the event's first ``size`` confirmed made-up
    bookings become colleagues booked together in one form (one moment, one organisation).
    Like every demo booking it writes no e-mail, and the team has no working link."""
    require_unit_of_work("the demo's team booking")
    colleagues = list(
        db.session.scalars(
            select(Booking)
            .where(Booking.event_id == event.id, Booking.status == BookingStatus.confirmed)
            .order_by(*Booking.waiting_order())
            .limit(spec["size"])
        )
    )
    booked_at = colleagues[0].queued_at
    group = BookingGroup(
        event=event,
        booker_name=spec["booker"],
        booker_email=spec["email"],
        token_salt="",
        token_hash=hashlib.sha256(f"demo-team-{event.id}".encode()).hexdigest(),
        created_at=booked_at,
    )
    db.session.add(group)
    for booking in colleagues:
        booking.group = group
        booking.organisation = spec["organisation"]
        booking.queued_at = booking.confirmed_at = booking.created_at = booked_at
    db.session.flush()
    return len(colleagues)
