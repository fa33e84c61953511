"""Bookings per second over real HTTP against gunicorn, beside the framework's floor.

    .venv/bin/python -m bench.booking [--seconds 10] [--clients 8] [--workers 4]

For SQLite (a temporary file) and PostgreSQL (BENCH_DATABASE_URL, default the local `test`
server, in a private database), it serves the app as `make serve` does and drives:

- booking: each client gets the event page once (cookie + CSRF token), then posts the booking
  form over and over with fresh addresses, at one event with room for all and no held places;
- held, general: the same at an event that holds places for eight London LSCBs (until a
  release a month off) and has sector limits (police and education floors, a social-care
  cap), the clients' sectors spread over the four limited and unlimited ones;
- held, link: the same event booked through the LSCBs' own links (one link per client, its
  reserved places never running out), taking reserved places: the goal is within 20% of
  "held, general";
- held, team: the same event booked by team forms of four colleagues each ("confirm those
  that fit"), counted per colleague: the goal is within 20% of "held, general";
- floor: the same stack (gunicorn, Flask, Flask-SQLAlchemy, the same database) answering a POST
  of the same form with one INSERT, a commit and a 303, from the same client code: what the
  framework allows before any booking rule.

--seconds is split into rounds of about 2 s, each running every scenario and the floor in
turn, so that all of them see the same load and the same bookings already made.
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
from dataclasses import dataclass
from datetime import time as clock
from datetime import timedelta
from pathlib import Path

from flask import Flask, redirect
from sqlalchemy import create_engine, select, text

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
        return redirect("/", code=303)  # as a booking answers

    from bookings.extensions import csrf

    csrf.exempt(insert)
    return app


# The sectors of the bench's bookings; at the held event police and education have floors,
# social care a cap. Each client books in one of them, in turn.
SECTORS = ("Health", "Police", "Social care", "Education")
# London LSCBs with places held at the held event, and how many each (never used up in a run).
LINK_LSCBS = (
    "Camden",
    "Hackney",
    "Islington",
    "Lambeth",
    "Southwark",
    "Lewisham",
    "Brent",
    "Ealing",
)
RESERVED_EACH = 50_000


@dataclass(frozen=True)
class Prepared:
    plain: str
    held: str
    # The held event's LSCBs' own booking links (paths), one per LSCB.
    links: list[str]


def _prepare(url: str) -> Prepared:
    """Fresh schema, the sectors and LSCBs, an event with room for every booking and another
    holding places for LSCBs with sector limits (through the booking rules' own service)."""
    from bookings.booking import service
    from bookings.booking.models import Allocation, Lscb, LscbKind
    from bookings.booking.tokens import allocation_token
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
        sectors = [Sector(name=name, position=i) for i, name in enumerate(SECTORS, 1)]
        db.session.add_all(sectors)
        db.session.add_all(
            Lscb(name=name, kind=LscbKind.london, position=i) for i, name in enumerate(LINK_LSCBS)
        )
        venue = Venue(name="QEII Centre")
        events = [
            Event(
                slug=slug,
                title=title,
                kind=EventKind.conference,
                status=EventStatus.published,
                starts_at=starts,
                ends_at=starts + timedelta(hours=6),
                capacity=1_000_000,
                venue=venue,
            )
            for slug, title in (("bench", "Benchmark conference"), ("held", "Held places"))
        ]
        db.session.add_all(events)
        db.session.commit()
        held = events[1]
        service.allocate(held.id, RESERVED_EACH, starts - timedelta(days=30))
        until = starts - timedelta(days=1)
        by_name = {sector.name: sector.id for sector in sectors}
        service.set_sector_limits(
            held.id,
            [
                service.LimitInput(by_name["Police"], 10, None, until),
                service.LimitInput(by_name["Education"], 10, None, until),
                service.LimitInput(by_name["Social care"], None, 35, None),
            ],
        )
        links = [
            f"/events/{held.slug}/lscb/{allocation_token(allocation)}"
            for allocation in db.session.scalars(
                select(Allocation).where(Allocation.event_id == held.id).order_by(Allocation.id)
            )
        ]
        db.engine.dispose()
    return Prepared("bench", "held", links)


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
    """Run `post()` from `clients` threads for `seconds`; count successes and failures. Each
    client is made (its page fetched for the cookie and token) before the clock starts."""
    done, failed = [0] * clients, [0] * clients
    stop: list[float] = []
    ready = threading.Barrier(clients, action=lambda: stop.append(time.monotonic() + seconds))

    def loop(i: int) -> None:
        try:
            session = post(i)
        except BaseException:
            ready.abort()  # the others stop waiting; the error shows in this thread
            raise
        ready.wait()
        while time.monotonic() < stop[0]:
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


def _form_client(base: str, pages: list[str], counter: itertools.count, lscb: bool = True):
    """Clients that each get one of ``pages`` (in turn) once for its cookie, CSRF token and
    choices, then post its booking form with fresh addresses; ``lscb``: the form asks for the
    LSCB (a link's form knows it)."""

    def make(i: int):
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )
        page_path = pages[i % len(pages)]
        with opener.open(base + page_path) as page:
            html = page.read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
        name = SECTORS[i % len(SECTORS)]
        sector = re.search(rf'<option value="(\d+)">{name}<', html).group(1)
        fields = {"sector": sector, "privacy": "y"}
        if token:
            fields["csrf_token"] = token.group(1)
        if lscb:
            fields["lscb"] = re.search(r'<option value="(\d+)">Lambeth', html).group(1)
        post_path = page_path if "/lscb/" in page_path else f"{page_path}/book"

        def post() -> None:
            n = next(counter)
            data = urllib.parse.urlencode(
                {
                    **fields,
                    "name": f"Bench {n}",
                    "email": f"bench{n}@example.org",
                    "organisation": "Bench",
                    "job_title": "Tester",
                }
            ).encode()
            # Do not follow the 303: one booking is one POST, as the floor is one POST.
            request = urllib.request.Request(base + post_path, data)
            try:
                opener.open(request).close()
            except urllib.error.HTTPError as error:
                if error.code != 303:
                    raise

        return post

    return make


# Colleagues per team booking at the held event ("held, team" counts each colleague).
TEAM_SIZE = 4
ROUND_SECONDS = 2


def _team_client(base: str, prepared: Prepared, counter: itertools.count):
    """Clients that each get the held event's team form once (cookie, CSRF token, choices),
    then post it again and again: one booker, ``TEAM_SIZE`` fresh colleagues in turn of the
    sectors, "confirm those that fit"."""
    path = f"/events/{prepared.held}/team"

    def make(_i: int):
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )
        with opener.open(base + path) as page:
            html = page.read().decode()
        fields = {
            "csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[1],
            "booker_name": "Bench co-ordinator",
            "booker_email": "coordinator@example.org",
            "mode": "fit",
            "privacy": "y",
        }
        sectors = [re.search(rf'<option value="(\d+)">{name}<', html)[1] for name in SECTORS]
        lambeth = re.search(r'<option value="(\d+)">Lambeth', html)[1]

        def post() -> None:
            data = dict(fields)
            for row in range(TEAM_SIZE):
                n = next(counter)
                data |= {
                    f"colleagues-{row}-name": f"Bench {n}",
                    f"colleagues-{row}-email": f"bench{n}@example.org",
                    f"colleagues-{row}-organisation": "Bench",
                    f"colleagues-{row}-job_title": "Tester",
                    f"colleagues-{row}-sector": sectors[row % len(sectors)],
                    f"colleagues-{row}-lscb": lambeth,
                }
            request = urllib.request.Request(base + path, urllib.parse.urlencode(data).encode())
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


def _floor_client(base: str, counter: itertools.count):
    """The booking clients' own machinery (cookie jar, a form of the same fields, a 303 not
    followed), so that the ratio compares what the server does, not what the client does."""

    def make(_i: int):
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

        def post() -> None:
            n = next(counter)
            data = urllib.parse.urlencode(
                {
                    "name": f"Bench {n}",
                    "email": f"bench{n}@example.org",
                    "organisation": "Bench",
                    "job_title": "Tester",
                    "sector": "1",
                    "lscb": "1",
                    "privacy": "y",
                }
            ).encode()
            try:
                opener.open(urllib.request.Request(f"{base}/_bench/insert", data)).close()
            except urllib.error.HTTPError as error:
                if error.code != 303:
                    raise

        return post

    return make


def run(label: str, url: str, workers: int, clients: int, seconds: float) -> dict[str, float]:
    prepared = _prepare(url)
    server = _Server(url, workers, "bench.booking:floor_app()")
    counter = itertools.count()
    held_page = f"/events/{prepared.held}"
    scenarios = {
        "booking": _form_client(server.base, [f"/events/{prepared.plain}"], counter),
        "held, general": _form_client(server.base, [held_page], counter),
        "held, link": _form_client(server.base, prepared.links, counter, lscb=False),
    }
    scenarios["held, team"] = _team_client(server.base, prepared, counter)
    counts = dict.fromkeys(scenarios, 0)
    floor = errors = 0
    # Rounds of every scenario and the floor in turn, so that each sees the same load on the
    # machine and the same number of bookings already made (the counts grow with them).
    rounds = max(1, round(seconds / ROUND_SECONDS))
    try:
        for _ in range(rounds):
            for name, client in scenarios.items():
                done, failed = _drive(client, clients, seconds / rounds)
                counts[name] += done * (TEAM_SIZE if name == "held, team" else 1)
                errors += failed
            done, failed = _drive(_floor_client(server.base, counter), clients, seconds / rounds)
            floor += done
            errors += failed
    finally:
        server.stop()
    _check(url, sum(counts.values()), counts["held, link"])
    result = {f"{name} per s": count / seconds for name, count in counts.items()}
    result |= {"floor_per_s": floor / seconds, "errors": errors}
    general = result["held, general per s"]
    print(
        f"{label:<11} bookings/s: "
        + "   ".join(f"{name} {result[f'{name} per s']:6.1f}" for name in counts)
        + f"   floor inserts/s {result['floor_per_s']:7.1f}   errors {result['errors']}"
    )
    for name in counts:
        if name.startswith("held, ") and name != "held, general":
            ratio = result[f"{name} per s"] / max(general, 1)
            print(f"{'':<11} {name} / held, general: {ratio:.2f} (goal 0.80 or more)")
    record(
        f"bookings, {workers} workers, {clients} clients",
        label,
        result["booking per s"],
        "/s",
        result["floor_per_s"],
        "one-INSERT POST",
        "0.5x",
    )
    for name in counts:
        if name.startswith("held, ") and name != "held, general":
            record(name, label, result[f"{name} per s"], "/s", general, "held, general", "0.8x")
    record("booking benchmark: failed requests", label, result["errors"], "", goal="0")
    return result


def _check(url: str, booked: int, linked: int) -> None:
    """The benchmark is only honest if every counted booking is really there, and the link
    bookings took reserved places."""
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM bookings")).scalar()
        reserved = conn.execute(
            text("SELECT count(*) FROM bookings WHERE allocation_id IS NOT NULL")
        ).scalar()
    engine.dispose()
    if stored < booked:
        raise SystemExit(f"only {stored} bookings stored for {booked} successful POSTs")
    if reserved < linked:
        raise SystemExit(f"only {reserved} reserved places taken for {linked} link bookings")


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
