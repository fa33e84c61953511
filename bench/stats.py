"""The attendance-by-sector pages over 200,000 bookings at 500 events.

    .venv/bin/python -m bench.stats [--events 500] [--bookings 200000] [--repeat 7] [--sqlite-only]

For SQLite (a temporary file) and PostgreSQL (BENCH_DATABASE_URL, default the local `test`
server, in a private database; skipped with --sqlite-only) it fills the database in bulk, logs
an organiser in and times, in process through Flask's test client (median of --repeat runs,
after one warm-up):

- the stats page for all events (events table, Board years, conference year on year);
- the stats page filtered to one Board year, and to one host network;
- the year-on-year conference table alone (the service function);
- one event's page and the events CSV download.

Goal: under 300 ms each.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path

from sqlalchemy import func, insert, select, text

from bench import private_postgres
from bench._summary import record
from bookings import create_app
from bookings.db import db, utcnow
from bookings.demo.delegates import sector_weight
from bookings.demo.loader import SECTORS
from bookings.london import london_datetime

PASSWORD = "bench password 123"
NETWORKS = 12
# Besides the conferences (hosted by the Board itself), one event in this many has no host.
UNHOSTED_EVERY = 5


def fill(events: int, bookings: int) -> None:
    """Events spread over 2005-2013, one conference a year, most hosted by one of the networks;
    bookings inserted in chunks."""
    from bookings.accounts.service import create_organiser
    from bookings.booking.models import Lscb
    from bookings.models import (
        Booking,
        BookingStatus,
        Event,
        EventKind,
        EventStatus,
        Network,
        Sector,
    )

    rng = random.Random(6)
    sectors = [Sector(name=name, position=i) for i, name in enumerate(SECTORS)]
    networks = [
        Network(slug=f"bench-network-{i}", name=f"Benchmark network {i}") for i in range(NETWORKS)
    ]
    lscb = Lscb(name="Lambeth", position=1)
    db.session.add_all([*sectors, *networks, lscb])
    db.session.flush()
    sector_ids = [sector.id for sector in sectors]
    weights = [sector_weight(sector.name) for sector in sectors]
    first = date(2005, 4, 1)
    span = (date(2014, 3, 31) - first).days
    event_ids = []
    for i in range(events):
        day = first + timedelta(days=i * span // events)
        kind = EventKind.seminar if i % 3 else EventKind.mini_conference
        if i % (events // 9 or 1) == 0:
            kind = EventKind.conference
        starts = london_datetime(day, clock(9, 30))
        event = Event(
            slug=f"bench-{i}",
            title=f"Benchmark event {i}",
            kind=kind,
            status=EventStatus.published,
            starts_at=starts,
            ends_at=starts + timedelta(hours=4),
            capacity=bookings // events + 50,
            series=f"Series {i % 5}" if i % 4 == 0 else None,
            host_network_id=(
                None
                if kind == EventKind.conference or i % UNHOSTED_EVERY == 0
                else networks[i % NETWORKS].id
            ),
        )
        db.session.add(event)
        db.session.flush()
        event_ids.append(event.id)
    create_organiser("bench@example.org", PASSWORD)
    db.session.commit()

    now = utcnow()
    chunk: list[dict] = []
    for n in range(bookings):
        event_id = event_ids[n % len(event_ids)]
        roll = rng.random()
        status = (
            BookingStatus.cancelled
            if roll < 0.05
            else BookingStatus.waitlisted
            if roll < 0.08
            else BookingStatus.confirmed
        )
        chunk.append(
            {
                "event_id": event_id,
                "reference": f"B{n:08d}",
                "token_salt": "",
                "token_hash": f"bench-{n}",
                "status": status,
                "sector_id": rng.choices(sector_ids, weights)[0],
                "lscb_id": lscb.id,
                "name": f"Demo delegate {n}",
                "email": f"demo-{n}@example.org",
                "email_key": f"demo-{n}@example.org",
                "queued_at": now,
                "attended_at": now if status == BookingStatus.confirmed and roll < 0.85 else None,
                "created_at": now,
                "updated_at": now,
            }
        )
        if len(chunk) == 10_000:
            db.session.execute(insert(Booking), chunk)
            chunk = []
    if chunk:
        db.session.execute(insert(Booking), chunk)
    db.session.commit()
    # On PostgreSQL, what autovacuum does soon after a bulk load: until the visibility map is
    # set, the planner cannot count from the covering index alone and reads the whole table.
    postgres = db.engine.dialect.name == "postgresql"
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if postgres else "ANALYZE"))


def _median_ms(action: Callable[[], object], repeat: int) -> float:
    action()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run(label: str, url: str, events: int, bookings: int, repeat: int) -> dict[str, float]:
    from bookings.networks.models import Network
    from bookings.stats import service

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False}
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        started = time.perf_counter()
        fill(events, bookings)
        print(
            f"{label}: filled {bookings} bookings at {events} events in "
            f"{time.perf_counter() - started:.1f} s"
        )
        client = app.test_client()
        client.post("/login", data={"email": "bench@example.org", "password": PASSWORD})
        one_event = events // 2 + 1
        network_id = db.session.scalar(select(func.min(Network.id)))

        def page(path: str) -> Callable[[], object]:
            def get() -> None:
                response = client.get(path)
                assert response.status_code == 200, response.status_code

            return get

        results = {
            "stats page, all events": _median_ms(page("/manage/stats/"), repeat),
            "stats page, one Board year": _median_ms(
                page("/manage/stats/?board_year=2008"), repeat
            ),
            "stats page, one host network": _median_ms(
                page(f"/manage/stats/?network={network_id}"), repeat
            ),
            "conference year on year": _median_ms(service.conference_table, repeat),
            "one event's page": _median_ms(page(f"/manage/stats/events/{one_event}"), repeat),
            "events CSV download": _median_ms(page("/manage/stats/events.csv"), repeat),
        }
        for name, ms in results.items():
            print(f"{label}: {name:<30} {ms:7.1f} ms (median of {repeat})")
        record(
            f"stats page, {bookings:,} bookings, {events} events",
            label,
            results["stats page, all events"],
            "ms",
            goal="< 150 ms",
        )
        db.session.remove()
        db.engine.dispose()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--bookings", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--sqlite-only", action="store_true", help="Skip PostgreSQL (no server needed)."
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run(
            "SQLite",
            f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
            args.events,
            args.bookings,
            args.repeat,
        )
    if args.sqlite_only:
        return
    with private_postgres("bench_stats") as pg:
        if pg is not None:
            run("PostgreSQL", pg, args.events, args.bookings, args.repeat)


if __name__ == "__main__":
    main()
