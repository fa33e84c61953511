"""What bounds bookings at one event: the time each holds the event's lock.

    .venv/bin/python -m bench._lock [--database URL] [--n 300]

Not run by ``make bench`` (it explains a figure rather than making one). In process, one
request at a time, at bench.booking's event with room for all (SQLite in a temporary file, or
``--database``): the booking POST and the one-INSERT floor POST end to end, the booking's time
from taking the event's lock to the end of its commit (while it holds the lock, every other
booking at the event waits), and what one small SELECT costs on the DB-API cursor, as a
prebuilt Core statement, and through the ORM session with its statement built on the spot.
"""

from __future__ import annotations

import argparse
import itertools
import re
import statistics
import tempfile
import time
from pathlib import Path

from flask import redirect
from sqlalchemy import bindparam, event, select, text

from bench.booking import _prepare


def _median_ms(samples: list[float]) -> str:
    samples = sorted(samples)
    p90 = samples[int(len(samples) * 0.9)]
    return f"median {statistics.median(samples) * 1000:.3f} ms, p90 {p90 * 1000:.3f} ms"


def _per_call_us(run, n: int) -> float:
    for _ in range(n // 10):
        run()
    started = time.perf_counter()
    for _ in range(n):
        run()
    return (time.perf_counter() - started) / n * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="")
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'lock.sqlite3'}"
        prepared = _prepare(url)
        from bookings import create_app
        from bookings.booking import service
        from bookings.db import db
        from bookings.events.models import Event
        from bookings.extensions import csrf

        config = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"}
        app = create_app(config | {"MAIL_SEND_AFTER_REQUEST": False})

        @app.post("/_bench/insert")
        def insert():
            db.session.execute(text("INSERT INTO bench_floor (note) VALUES (:n)"), {"n": "x"})
            db.session.commit()
            return redirect("/", code=303)

        csrf.exempt(insert)
        client = app.test_client()
        page = f"/events/{prepared.plain}"
        html = client.get(page).get_data(as_text=True)
        fields = {
            "csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[1],
            "sector": re.search(r'<option value="(\d+)">', html)[1],
            "lscb": re.search(r'<option value="(\d+)">Lambeth', html)[1],
            "organisation": "Bench",
            "job_title": "Tester",
            "privacy": "y",
        }
        counter = itertools.count()

        def book() -> None:
            n = next(counter)
            data = {**fields, "name": f"Bench {n}", "email": f"bench{n}@example.org"}
            assert client.post(f"{page}/book", data=data).status_code == 303

        def floor() -> None:
            assert client.post("/_bench/insert", data=fields).status_code == 303

        took: dict[str, list[float]] = {"booking": [], "floor": [], "lock": []}
        for name, run in (("booking", book), ("floor", floor)):
            for _ in range(args.n // 10):
                run()
            for _ in range(args.n):
                started = time.perf_counter()
                run()
                took[name].append(time.perf_counter() - started)

        real_lock = service._lock_for_booking
        locked_at: list[float] = []

        def timed_lock(key):
            locked_at.append(time.perf_counter())
            return real_lock(key)

        def committed(_session) -> None:
            if locked_at:
                took["lock"].append(time.perf_counter() - locked_at.pop())

        service._lock_for_booking = timed_lock
        event.listen(db.session, "after_commit", committed)
        try:
            for _ in range(args.n):
                book()
        finally:
            service._lock_for_booking = real_lock
            event.remove(db.session, "after_commit", committed)

        print(f"database: {url.split(':')[0]}; {args.n} requests each, one at a time")
        print(f"  booking POST, end to end:               {_median_ms(took['booking'])}")
        print(f"  floor POST (one INSERT), end to end:    {_median_ms(took['floor'])}")
        print(f"  booking, from its lock to its commit:   {_median_ms(took['lock'])}")
        most = 1 / statistics.median(took["lock"])
        print(f"  so at most {most:,.0f} bookings a second at one event, however many cores")

        with app.app_context():
            connection = db.session.connection()
            cursor_sql = "SELECT id FROM events WHERE slug = " + (
                "?" if url.startswith("sqlite") else "%s"
            )
            raw = connection.connection.dbapi_connection
            prebuilt = select(Event.id).where(Event.slug == bindparam("slug"))

            def dbapi() -> None:
                cursor = raw.cursor()
                cursor.execute(cursor_sql, ("bench",))
                cursor.fetchall()
                cursor.close()

            costs = {
                "DB-API cursor": dbapi,
                "prebuilt Core statement on the session's connection": lambda: connection.execute(
                    prebuilt, {"slug": "bench"}
                ).all(),
                "ORM session, statement built on the spot": lambda: db.session.execute(
                    select(Event.id).where(Event.slug == "bench")
                ).all(),
            }
            print("  one small SELECT:")
            for name, run in costs.items():
                print(f"    {name:<55} {_per_call_us(run, 3000):7.1f} µs")
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
