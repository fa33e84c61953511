"""Build time of /feeds/all.ics for 1,000 and 10,000 events (5 programme slots each), and the 304.

    .venv/bin/python -m bench.feeds [--events 1000 10000] [--repeat 7] [--sqlite-only]

For each size it fills a temporary SQLite database (and, unless --sqlite-only, a private
PostgreSQL database on BENCH_DATABASE_URL) in bulk (events over the coming years at 20 venues,
5 slots with a speaker each, 12 networks with 12 meetings each), then times, in process through
Flask's test client (so Flask's own request handling is counted), the median of --repeat runs:

- cold, fresh process: the first request answered by a new process (app made, nothing cached),
  as a worker's first after a start;
- cold, cache emptied: the serialised-component cache emptied in a warm process;
- after one change: one event edited, so one VEVENT is serialised again and the rest reused;
- unchanged, 200: a client that sends no validator;
- 304, If-None-Match and If-Modified-Since: the validators' aggregate queries only;
- one event's own feed (the event and its 5 slots), cold.

Goal: 10,000 events under 1 s, and a 304 under 5 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

from sqlalchemy import insert, update

from bench import private_postgres
from bench._summary import record

GOALS = {
    "cold: first request of a fresh process": "< 1,000 ms",
    "after one event changed": "< 100 ms",
    "304, If-None-Match": "< 5 ms",
}

SLOTS_PER_EVENT = 5
VENUES = 20
NETWORKS = 12
MEETINGS_PER_NETWORK = 12
DESCRIPTION = (
    "A half-day seminar for professionals who work with children and families: health, police, "
    "social care, education, probation and the voluntary sector. Speakers from across London "
    "share what serious case reviews have taught them, with time for questions; lunch included."
)


def _fill(n_events: int) -> None:
    from bookings.db import db
    from bookings.events.models import (
        Event,
        EventKind,
        EventStatus,
        ProgrammeSlot,
        SlotKind,
        Speaker,
        Venue,
    )
    from bookings.london import london_datetime
    from bookings.networks.models import Meeting, MeetingStatus, Network

    now = datetime.now(UTC).replace(microsecond=0)
    stamp = {"created_at": now, "updated_at": now, "sequence": 0}
    db.session.execute(
        insert(Venue),
        [
            {
                "id": v + 1,
                "name": f"Venue {v + 1}",
                "address": f"{v + 1} Southwark Street, London",
                "postcode": "SE1 0AL",
                "directions": "",
            }
            for v in range(VENUES)
        ],
    )
    kinds = [EventKind.seminar] * 8 + [EventKind.mini_conference] + [EventKind.conference]
    first_day = date.today() + timedelta(days=1)
    events, slots, speakers = [], [], []
    for n in range(n_events):
        day = first_day + timedelta(days=n // 3)  # three events a day, for as long as it takes
        starts = london_datetime(day, clock(9 + 2 * (n % 3)))
        events.append(
            {
                "id": n + 1,
                "slug": f"event-{n + 1}",
                "title": f"Safeguarding seminar {n + 1}: lessons from serious case reviews",
                "kind": kinds[n % len(kinds)],
                "status": EventStatus.published,
                "summary": "What London's serious case reviews teach every agency.",
                "description": DESCRIPTION,
                "notes": "Free to LSCB member agencies.",
                "venue_id": n % VENUES + 1,
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=2),
                "capacity": 80,
                "cancellation_reason": "",
                "version": 1,
                **stamp,
            }
        )
        for s in range(SLOTS_PER_EVENT):
            slot_id = n * SLOTS_PER_EVENT + s + 1
            slots.append(
                {
                    "id": slot_id,
                    "event_id": n + 1,
                    "starts_at": starts + timedelta(minutes=24 * s),
                    "ends_at": starts + timedelta(minutes=24 * (s + 1)),
                    "kind": SlotKind.talk,
                    "title": f"Session {s + 1}",
                    "description": "",
                    "room": "Main hall",
                    "position": s,
                    **stamp,
                }
            )
            speakers.append(
                {
                    "slot_id": slot_id,
                    "name": f"Speaker {s + 1}",
                    "organisation": "Barnet",
                    "position": 0,
                }
            )
    for table, rows in ((Event, events), (ProgrammeSlot, slots), (Speaker, speakers)):
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(table), rows[start : start + 5000])
    db.session.execute(
        insert(Network),
        [
            {
                "id": k + 1,
                "slug": f"network-{k + 1}",
                "name": f"Network {k + 1}",
                "chair": "Chair",
                "chair_organisation": "",
                "contact_name": "Contact",
                "contact_email": f"network{k + 1}@example.org",
                "remit": "",
                "membership": "",
                "papers_url": "",
                "default_location": "London Councils, 59½ Southwark Street",
                **stamp,
            }
            for k in range(NETWORKS)
        ],
    )
    meetings = []
    for k in range(NETWORKS):
        for m in range(MEETINGS_PER_NETWORK):
            day = first_day + timedelta(days=30 * m + k)
            timed = m % 3 != 0
            meetings.append(
                {
                    "network_id": k + 1,
                    "day": day,
                    "starts_at": london_datetime(day, clock(10)) if timed else None,
                    "ends_at": london_datetime(day, clock(12)) if timed else None,
                    "status": MeetingStatus.provisional if m % 4 == 0 else MeetingStatus.confirmed,
                    "location": "",
                    "note": "",
                    **stamp,
                }
            )
    db.session.execute(insert(Meeting), meetings)
    db.session.commit()


# --clock cpu: this process's CPU time instead of the wall clock, for a machine whose other
# load makes wall times meaningless (on SQLite the database work is in this process too).
CLOCK = {"name": "wall", "clock": time.perf_counter}


def _median_ms(
    run: Callable[[], object], repeat: int, before: Callable[[], object] = lambda: None
) -> float:
    """The median time of ``run``; ``before`` runs first each time, untimed."""
    clock_ = CLOCK["clock"]
    times = []
    for _ in range(repeat):
        before()
        started = clock_()
        run()
        times.append((clock_() - started) * 1000)
    return statistics.median(times)


def _once_ms(run: Callable[[], object]) -> float:
    started = CLOCK["clock"]()
    run()
    return (CLOCK["clock"]() - started) * 1000


_FRESH = """
import sys, time
from bookings import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "bench",
                  "SERVER_NAME": "bookings.test", "MAIL_SEND_AFTER_REQUEST": False})
client = app.test_client()
clock = time.process_time if sys.argv[3] == "cpu" else time.perf_counter
started = clock()
assert client.get(sys.argv[2]).status_code == 200
print((clock() - started) * 1000)
"""


def _fresh_process_ms(app, path: str) -> float:
    """The first request a new worker answers: its own process, app made, nothing cached."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    out = subprocess.run(
        [sys.executable, "-c", _FRESH, url, path, CLOCK["name"]],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def bench(database_url: str, n_events: int, repeat: int) -> list[tuple[str, float, str]]:
    from bookings import create_app
    from bookings.db import db, utcnow
    from bookings.events.models import Event
    from bookings.feeds import ical

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": database_url.replace("{tmp}", folder),
                "SECRET_KEY": "bench",
                "SERVER_NAME": "bookings.test",
                "MAIL_SEND_AFTER_REQUEST": False,
            }
        )
        app.instance_path = folder
        results = []
        with app.app_context():
            db.drop_all()
            db.create_all()
            _fill(n_events)
            client = app.test_client()
            url = "/feeds/all.ics"

            def get(expect: int = 200, **headers) -> bytes:
                response = client.get(url, headers=headers)
                assert response.status_code == expect, response.status_code
                return response.data

            def cold() -> bytes:
                ical.clear_cache()
                return get()

            db.session.commit()
            results.append(
                ("cold: first request of a fresh process", _fresh_process_ms(app, url), "")
            )
            cold_ms = _median_ms(cold, max(1, repeat // 3))
            body = get()
            size = f"{len(body) / 1e6:.1f} MB, {body.count(b'BEGIN:VEVENT')} VEVENTs"
            results.append(("cold: component cache emptied", cold_ms, size))

            counter = iter(range(10**9))

            def change() -> None:
                db.session.execute(
                    update(Event)
                    .where(Event.id == 1)
                    .values(description=f"Edited {next(counter)}", updated_at=utcnow())
                )
                db.session.commit()

            # The edit and its commit are the organiser's request, not the feed's: untimed.
            results.append(("after one event changed", _median_ms(get, repeat, change), ""))
            results.append(("unchanged, no validator (200)", _median_ms(get, repeat), ""))
            head = client.get(url)
            etag, last_modified = head.headers["ETag"], head.headers["Last-Modified"]
            results.append(
                (
                    "304, If-None-Match",
                    _median_ms(lambda: get(304, **{"If-None-Match": etag}), repeat * 5),
                    "",
                )
            )
            results.append(
                (
                    "304, If-Modified-Since",
                    _median_ms(
                        lambda: get(304, **{"If-Modified-Since": last_modified}), repeat * 5
                    ),
                    "",
                )
            )
            url = "/feeds/events/event-2.ics"
            results.append(("one event and its 5 slots, cold", _median_ms(cold, repeat), ""))
            db.session.remove()
            db.engine.dispose()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.feeds", description=__doc__)
    parser.add_argument("--events", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--sqlite-only",
        action="store_true",
        help="not also on PostgreSQL (BENCH_DATABASE_URL, default the local test server)",
    )
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = parser.parse_args(argv)
    CLOCK.update(
        name=args.clock, clock=time.process_time if args.clock == "cpu" else time.perf_counter
    )
    print(f"{'database':<10} {'events':>7}  {'what':<40} {'ms':>9}  notes ({args.clock} clock)")

    def run(label: str, url: str) -> None:
        for n_events in args.events:
            for what, ms, notes in bench(url, n_events, args.repeat):
                print(f"{label:<10} {n_events:>7}  {what:<40} {ms:>9.1f}  {notes}")
                if n_events == max(args.events) and what in GOALS:
                    record(
                        f"all.ics, {n_events:,} events: {what}", label, ms, "ms", goal=GOALS[what]
                    )

    run("SQLite", "sqlite:///{tmp}/bench.sqlite3")
    if not args.sqlite_only:
        with private_postgres("bench_feeds") as url:
            if url is not None:
                run("PostgreSQL", url)


if __name__ == "__main__":
    main()
