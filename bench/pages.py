"""Public pages per second over real HTTP against gunicorn, beside a hello-world Flask app.

    .venv/bin/python -m bench.pages [--seconds 8] [--clients 6] [--workers 4]

On a temporary SQLite file (and a private PostgreSQL database on BENCH_DATABASE_URL) loaded with
the Board's demo, it serves the app as `make serve` does and, in the same run, a hello-world
Flask app under the same gunicorn settings (the floor). Client processes get:

- hello: the floor, ``/`` of a Flask app returning a short string;
- event page: the upcoming event with the longest programme, as a new visitor (no cookie);
- event page, 304: the same with the ETag of an earlier answer (a browser revisiting);
- events list: ``/events``.

Goal: event page and events list at least 0.25x hello world.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from bench import private_postgres
from bench._http import Server, get, rate


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


def run(label: str, url: str, workers: int, clients: int, seconds: float) -> dict[str, float]:
    slug = _prepare(url)
    env = {"DATABASE_URL": url, "FLASK_SECRET_KEY": "bench", "FLASK_MAIL_SEND_AFTER_REQUEST": "0"}
    hello = Server("bench.pages:hello_app()", workers)
    try:
        floor = rate(hello.port, "/", seconds, clients)
    finally:
        hello.stop()
    server = Server("bookings:create_app()", workers, env)
    try:
        page = f"/events/{slug}"
        _, response = get(server.port, page)
        cookie = re.search(rb"\r\nSet-Cookie: ([^;\r]+)", response, re.IGNORECASE)
        headers = f"Cookie: {cookie.group(1).decode()}\r\n" if cookie else ""
        _, revisit = get(server.port, page, headers)
        etag = re.search(rb"\r\nETag: ([^\r]+)", revisit, re.IGNORECASE)
        figures = {"event page": rate(server.port, page, seconds, clients)}
        if etag:
            headers += f"If-None-Match: {etag.group(1).decode()}\r\n"
            figures["event page, 304"] = rate(server.port, page, seconds, clients, headers, (304,))
        figures["events list"] = rate(server.port, "/events", seconds, clients)
        rss = server.worker_rss_mib()
    finally:
        server.stop()
    print(f"{label}: hello world {floor:7.1f} req/s (floor)  [{slug}, {len(response)} bytes]")
    for name, value in figures.items():
        print(f"  {name:<18} {value:7.1f} req/s   ratio {value / floor:.3f}   (goal 0.25)")
    print(f"  worker RSS after: {', '.join(f'{size:.0f}' for size in rss)} MiB")
    return {"hello": floor, **figures}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 4)))
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args(argv)
    print(f"pages benchmark: {args.workers} gunicorn workers, {args.clients} client processes")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        run("SQLite", url, args.workers, args.clients, args.seconds)
    if args.sqlite_only:
        return
    with private_postgres("bench_pages") as pg:
        if pg is not None:
            run("PostgreSQL", pg, args.workers, args.clients, args.seconds)


if __name__ == "__main__":
    main()
