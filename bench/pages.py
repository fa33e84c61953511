"""Public pages per second over real HTTP against gunicorn, beside a hello-world Flask app.

    .venv/bin/python -m bench.pages [--seconds 2] [--rounds 5] [--clients 6] [--workers 4]

On a temporary SQLite file (and a private PostgreSQL database on BENCH_DATABASE_URL) loaded with
the Board's demo, it serves the app as `make serve` does and, in the same run, a hello-world
Flask app under the same gunicorn settings (the floor). Client processes get:

- hello: the floor, ``/`` of a Flask app returning a short string;
- event page: the upcoming event with the longest programme, as a new visitor (no cookie),
  answered from the worker's keep of public pages (each kept a second, so each worker renders
  it about once a second; bookings/web/kept.py);
- events list: ``/events``, likewise;
- same app, empty route: the production app answering a route that does nothing, which is
  the most any of its pages could reach;
- event page, not kept: the same page from a third server with the keep switched off, so
  rendered on every request (what a page costs to make).

The servers run side by side and every figure is taken in each of --rounds rounds, so each
ratio is the median of ratios measured seconds apart.

Goal: event page and events list at least 0.25x hello world.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from bench import private_postgres
from bench._http import Server, rate
from bench._summary import record

# The setting that switches the keep of public pages off (bookings/web/kept.py).
NOT_KEPT = "FLASK_PUBLIC_PAGES_KEPT_SECONDS"


def hello_app() -> Flask:
    app = Flask("hello")

    @app.get("/")
    def hello():
        return "Hello, World!"

    return app


def _prepare(url: str) -> str:
    """The demo in a fresh schema; the slug of the upcoming event with the most slots."""
    from bookings import create_app
    from bookings.db import db, utcnow
    from bookings.demo import loader
    from bookings.events.models import Event, EventStatus, ProgrammeSlot

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        db.drop_all()
        db.create_all()
        loader.load()
        slug = db.session.scalar(
            select(Event.slug)
            .join(ProgrammeSlot)
            .where(Event.status == EventStatus.published, Event.starts_at > utcnow())
            .group_by(Event.id)
            .order_by(func.count(ProgrammeSlot.id).desc())
            .limit(1)
        )
        db.engine.dispose()
    return slug


def app_with_empty_route() -> Flask:
    """The production app plus ``/_bench/empty``: what any page of this app costs before its
    own work (sessions, login, rate limits, security headers, the database session)."""
    from bookings import create_app

    app = create_app()

    @app.get("/_bench/empty")
    def empty():
        return "Hello, World!"

    return app


def run(label: str, url: str, workers: int, clients: int, seconds: float, rounds: int):
    """Both servers run side by side; each round measures every figure in turn, so that each
    ratio compares figures taken moments apart on a machine whose load moves."""
    slug = _prepare(url)
    env = {"DATABASE_URL": url, "FLASK_SECRET_KEY": "bench", "FLASK_MAIL_SEND_AFTER_REQUEST": "0"}
    servers = [Server("bench.pages:hello_app()", workers)]
    try:
        servers.append(Server("bench.pages:app_with_empty_route()", workers, env))
        servers.append(Server("bench.pages:app_with_empty_route()", workers, env | {NOT_KEPT: "0"}))
    except Exception:
        for started in servers:
            started.stop()
        raise
    hello, server, afresh = servers
    page = f"/events/{slug}"
    try:
        targets = {
            "same app, empty route": (server.port, "/_bench/empty", "", (200,)),
            "event page": (server.port, page, "", (200,)),
            "events list": (server.port, "/events", "", (200,)),
            "event page, not kept": (afresh.port, page, "", (200,)),
        }
        for port, path, headers, expect in targets.values():
            rate(port, path, 0.5, clients, headers, expect)  # warm every worker
        floors, figures = [], {name: [] for name in targets}
        ratios = {name: [] for name in targets}
        for _ in range(rounds):
            floor = rate(hello.port, "/", seconds, clients)
            floors.append(floor)
            for name, (port, path, headers, expect) in targets.items():
                value = rate(port, path, seconds, clients, headers, expect)
                figures[name].append(value)
                ratios[name].append(value / max(floor, 1))
        rss = server.worker_rss_mib()
    finally:
        for started in servers:
            started.stop()
    floor = statistics.median(floors)
    print(f"{label}: hello world {floor:7.1f} req/s (floor; median of {rounds} rounds)  [{page}]")
    result = {"hello world": floor}
    for name in targets:
        value, ratio = statistics.median(figures[name]), statistics.median(ratios[name])
        result[name] = value
        goal = "   (goal 0.25)" if name in ("event page", "events list") else ""
        print(f"  {name:<22} {value:7.1f} req/s   ratio {ratio:.3f}{goal}")
        record(name, label, value, "req/s", floor, "hello world", goal.strip(" ()"))
    print(f"  worker RSS after: {', '.join(f'{size:.0f}' for size in rss)} MiB")
    record("one worker's RSS after the page benchmark", label, max(rss), "MiB", goal="< 100 MiB")
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2, help="per figure per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 4)))
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args(argv)
    print(f"pages benchmark: {args.workers} gunicorn workers, {args.clients} client processes")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        run("SQLite", url, args.workers, args.clients, args.seconds, args.rounds)
    if args.sqlite_only:
        return
    with private_postgres("bench_pages") as pg:
        if pg is not None:
            run("PostgreSQL", pg, args.workers, args.clients, args.seconds, args.rounds)


if __name__ == "__main__":
    main()
