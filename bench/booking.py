"""Bookings per second over real HTTP against gunicorn, beside the framework's floor.

    .venv/bin/python -m bench.booking [--seconds 10] [--clients 8] [--workers 4]

For SQLite (a temporary file) and PostgreSQL (BENCH_DATABASE_URL, default the local `test`
server, in a private database), it serves the app as `make serve` does and drives:

- booking: each client gets the event page once (cookie + CSRF token), then posts the booking
  form over and over with fresh addresses, at one event with room for all;
- floor: the same stack (gunicorn, Flask, Flask-SQLAlchemy, the same database) answering a POST
  with one INSERT and a commit: what the framework allows before any booking rule.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import itertools
import os
import re
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import time as clock
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, text

from bench import private_postgres
from bench._summary import record
from bookings import create_app
from bookings.db import db, utcnow
from bookings.london import london_datetime


def floor_app() -> Flask:
    """The production app plus one route that does a single INSERT (gunicorn target)."""
    app = create_app()

    @app.post("/_bench/insert")
    def insert():
        db.session.execute(text("INSERT INTO bench_floor (note) VALUES (:n)"), {"n": "x"})
        db.session.commit()
        return "ok"

    from bookings.extensions import csrf

    csrf.exempt(insert)
    return app


def _prepare(url: str) -> str:
    """Fresh schema, one sector, one event with room for every booking; returns its slug."""
    from bookings.booking.models import Lscb
    from bookings.models import Event, EventKind, EventStatus, Sector, Venue

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS bench_floor"))
            serial = "SERIAL" if conn.dialect.name == "postgresql" else "INTEGER"
            conn.execute(text(f"CREATE TABLE bench_floor (id {serial} PRIMARY KEY, note TEXT)"))
        db.create_all()
        day = (utcnow() + timedelta(days=60)).date()
        starts = london_datetime(day, clock(10))
        db.session.add(Sector(name="Health", position=1))
        db.session.add(Lscb(name="Lambeth", position=1))
        db.session.add(
            Event(
                slug="bench",
                title="Benchmark conference",
                kind=EventKind.conference,
                status=EventStatus.published,
                starts_at=starts,
                ends_at=starts + timedelta(hours=6),
                capacity=1_000_000,
                venue=Venue(name="QEII Centre"),
            )
        )
        db.session.commit()
        db.engine.dispose()
    return "bench"


class _Server:
    def __init__(self, url: str, workers: int, target: str) -> None:
        import socket
        import subprocess

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "FLASK_SECRET_KEY": "bench",
            "FLASK_MAIL_SEND_AFTER_REQUEST": "false",
        }
        command = [sys.executable, "-m", "gunicorn", "-w", str(workers)]
        command += ["-b", f"127.0.0.1:{self.port}", "--log-level", "warning", target]
        self.process = subprocess.Popen(
            command,
            env=env,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/", timeout=10).close()
                return
            except OSError:  # refused while starting, or slow to answer on a busy machine
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def _drive(post, clients: int, seconds: float) -> tuple[int, int]:
    """Run `post()` from `clients` threads for `seconds`; count successes and failures."""
    done, failed = [0] * clients, [0] * clients
    stop = time.monotonic() + seconds

    def loop(i: int) -> None:
        session = post(i)
        while time.monotonic() < stop:
            try:
                session()
                done[i] += 1
            except Exception:
                failed[i] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done), sum(failed)


def _booking_client(base: str, slug: str, counter: itertools.count):
    def make(_i: int):
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )
        with opener.open(f"{base}/events/{slug}") as page:
            html = page.read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        sector = re.search(r'<option value="(\d+)">Health', html).group(1)
        lscb = re.search(r'<option value="(\d+)">Lambeth', html).group(1)

        def post() -> None:
            n = next(counter)
            data = urllib.parse.urlencode(
                {
                    "csrf_token": token,
                    "name": f"Bench {n}",
                    "email": f"bench{n}@example.org",
                    "organisation": "Bench",
                    "job_title": "Tester",
                    "sector": sector,
                    "lscb": lscb,
                    "privacy": "y",
                }
            ).encode()
            # Do not follow the 303: one booking is one POST, as the floor is one POST.
            request = urllib.request.Request(f"{base}/events/{slug}/book", data)
            try:
                opener.open(request).close()
            except urllib.error.HTTPError as error:
                if error.code != 303:
                    raise

        return post

    return make


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _floor_client(base: str):
    def make(_i: int):
        def post() -> None:
            urllib.request.urlopen(f"{base}/_bench/insert", b"").close()

        return post

    return make


def run(label: str, url: str, workers: int, clients: int, seconds: float) -> dict[str, float]:
    slug = _prepare(url)
    server = _Server(url, workers, "bench.booking:floor_app()")
    try:
        counter = itertools.count()
        # Alternating rounds, so that the two figures see the same load on a shared machine.
        booked = booking_errors = floor = floor_errors = 0
        rounds = max(1, round(seconds / 2))
        for _ in range(rounds):
            done, failed = _drive(
                _booking_client(server.base, slug, counter), clients, seconds / rounds
            )
            booked, booking_errors = booked + done, booking_errors + failed
            done, failed = _drive(_floor_client(server.base), clients, seconds / rounds)
            floor, floor_errors = floor + done, floor_errors + failed
    finally:
        server.stop()
    _check(url, booked)
    result = {
        "bookings_per_s": booked / seconds,
        "floor_per_s": floor / seconds,
        "errors": booking_errors + floor_errors,
    }
    ratio = result["bookings_per_s"] / max(result["floor_per_s"], 1)
    record(
        f"bookings, {workers} workers, {clients} clients",
        label,
        result["bookings_per_s"],
        "/s",
        result["floor_per_s"],
        "one-INSERT POST",
        "0.5x",
    )
    print(
        f"{label:<11} bookings/s {result['bookings_per_s']:7.1f}   "
        f"floor inserts/s {result['floor_per_s']:7.1f}   ratio {ratio:.2f}   "
        f"errors {result['errors']}"
    )
    return result


def _check(url: str, booked: int) -> None:
    """The benchmark is only honest if every counted booking is really there."""
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM bookings")).scalar()
    engine.dispose()
    if stored < booked:
        raise SystemExit(f"only {stored} bookings stored for {booked} successful POSTs")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 4)))
    args = parser.parse_args(argv)
    print(
        f"booking benchmark: {args.workers} gunicorn workers, {args.clients} clients, "
        f"{args.seconds:.0f} s each"
    )
    with tempfile.TemporaryDirectory() as tmp:
        run(
            "SQLite",
            f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
            args.workers,
            args.clients,
            args.seconds,
        )
    with private_postgres("bench_booking") as pg:
        if pg is not None:
            run("PostgreSQL", pg, args.workers, args.clients, args.seconds)


if __name__ == "__main__":
    main()
