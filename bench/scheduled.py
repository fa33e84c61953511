"""How long the sender takes to write and send a day's scheduled messages for 10,000 bookings.

    .venv/bin/python -m bench.scheduled [--bookings 10000] [--events 20]

For SQLite (a temporary file) and PostgreSQL (BENCH_DATABASE_URL, default the local `test`
server, in a private database): the bookings are spread over events that all start tomorrow
at 10am, with their joining instructions turned off, so the day's messages are one reminder
per booking. At 9am London time one sender, as ``flask mail send`` runs it, writes them (its
round job, ``ROUND_LIMIT`` a round) and sends them to ``.eml`` files (no MAIL_SERVER); the
figures are the time to write, to send, and the messages sent per second.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import tempfile
import time
from datetime import time as clock
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from bench import private_postgres
from bookings import create_app
from bookings.db import db, utcnow
from bookings.london import london_date, london_datetime


def _prepare(bookings: int, events: int) -> None:
    """Fresh schema; ``events`` events tomorrow sharing ``bookings`` confirmed bookings."""
    from bookings.booking.models import Booking, BookingStatus, Lscb
    from bookings.models import Event, EventKind, EventStatus, Sector, Venue
    from bookings.scheduled.models import DEFAULTS, ScheduledKind, ScheduledSetting

    db.drop_all()
    db.create_all()
    sector, lscb = Sector(name="Health", position=1), Lscb(name="Lambeth", position=1)
    venue = Venue(name="QEII Centre", directions="Opposite Westminster Abbey.")
    db.session.add_all([sector, lscb, venue])
    tomorrow = london_date(utcnow()) + timedelta(days=1)
    starts = london_datetime(tomorrow, clock(10))
    made = [
        Event(
            slug=f"bench-{n}",
            title=f"Benchmark seminar {n}",
            kind=EventKind.seminar,
            status=EventStatus.published,
            starts_at=starts,
            ends_at=starts + timedelta(hours=3),
            capacity=bookings,
            venue=venue,
        )
        for n in range(events)
    ]
    db.session.add_all(made)
    db.session.flush()
    joining = DEFAULTS[ScheduledKind.joining]
    db.session.add_all(
        ScheduledSetting(
            event_id=event.id,
            kind=ScheduledKind.joining,
            enabled=False,
            days=joining.days,
            at=joining.at,
            subject=joining.subject,
            intro=joining.intro,
        )
        for event in made
    )
    booked = utcnow() - timedelta(days=10)
    rows = [
        {
            "event_id": made[n % events].id,
            "reference": f"B{n:08d}",
            "token_salt": f"{n:032x}",
            "token_hash": hashlib.sha256(f"bench-{n}".encode()).hexdigest(),
            "status": BookingStatus.confirmed,
            "sector_id": sector.id,
            "lscb_id": lscb.id,
            "name": f"Bench delegate {n}",
            "email": f"bench-{n}@example.org",
            "email_key": f"bench-{n}@example.org",
            "queued_at": booked,
            "confirmed_at": booked,
        }
        for n in range(bookings)
    ]
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Booking), rows[start : start + 5000])
    db.session.commit()


def run(label: str, url: str, bookings: int, events: int) -> dict[str, float]:
    from bookings.mail.models import OutboxMessage
    from bookings.mail.sender import run_round_jobs, send_due

    with tempfile.TemporaryDirectory() as instance:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "SERVER_NAME": "bench.test"}
        )
        app.instance_path = instance
        with app.app_context():
            _prepare(bookings, events)
            nine = london_datetime(london_date(utcnow()), clock(9))
            began = time.perf_counter()
            while sum(run_round_jobs(nine).values()):
                pass
            written_in = time.perf_counter() - began
            sent = 0
            while report := send_due(limit=200, now=nine + timedelta(minutes=1)):
                sent += report.sent
                if report.sent + report.failed + report.withdrawn + report.deferred == 0:
                    break
            total = time.perf_counter() - began
            written = db.session.scalar(select(func.count(OutboxMessage.id)))
            files = len(list((Path(instance) / "mail").glob("*.eml")))
            db.session.remove()
            db.engine.dispose()
    assert written == sent == files == bookings, (written, sent, files)
    figures = {"write": written_in, "send": total - written_in, "rate": sent / total}
    print(
        f"{label:<10} {bookings} reminders: written in {figures['write']:.1f} s, "
        f"sent in {figures['send']:.1f} s ({figures['rate']:.0f} messages/s overall)"
    )
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args(argv)
    logging.getLogger("bookings.mail").setLevel(logging.WARNING)  # a line per message otherwise
    print(f"scheduled messages benchmark: {args.bookings} bookings at {args.events} events")
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args.bookings, args.events)
    with private_postgres("bench_scheduled") as pg:
        if pg is not None:
            run("PostgreSQL", pg, args.bookings, args.events)


if __name__ == "__main__":
    main()
