"""Opening day: delegates arriving at the annual conference's page and booking, over real HTTP.

    .venv/bin/python -m bench.opening [--delegates 2000] [--seconds 120] [--capacity 800]
                                      [--workers 4] [--sqlite-only]

For PostgreSQL (a private database on BENCH_DATABASE_URL) and then SQLite (a temporary file) it
serves the app as `make serve` does (gunicorn, 4 workers, rate limits counted in Redis when it
answers on 127.0.0.1:6379, the after-request mail attempt off as with a `make mail` sender) and
sends --delegates delegates at one conference of --capacity places, arriving evenly over
--seconds (open loop: a slow answer does not slow the arrivals). Each delegate, from an address
of their own (X-Forwarded-For, trusted one hop as behind the proxy of docs/deploy.md), gets the
event page with a cookie jar, then posts the booking form with its CSRF token.

It reports the p50/p95/max of both requests and checks, from the database:
- no answer was 5xx, and every booking POST was answered 303;
- exactly --capacity bookings are confirmed, the rest waitlisted;
- the waiting order is the order the bookings were made (places went to the first ones), and
  no booking whose answer came back before another was sent stands behind it;
- every confirmed booking has its confirmation in the outbox, every waitlisted one its notice.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import socket
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import time as clock
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from bench import private_postgres
from bench._http import Server
from bench._summary import record

SLUG = "safeguarding-londons-children-opening"


def _prepare(url: str, capacity: int) -> None:
    from bookings import create_app
    from bookings.booking.models import Lscb
    from bookings.db import db, utcnow
    from bookings.london import london_datetime
    from bookings.models import Event, EventKind, EventStatus, Sector, Venue

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        db.drop_all()
        db.create_all()
        for n, name in enumerate(("Health", "Police", "Social care", "Education"), 1):
            db.session.add(Sector(name=name, position=n))
        for n, name in enumerate(("Lambeth", "Southwark", "Camden"), 1):
            db.session.add(Lscb(name=name, position=n))
        starts = london_datetime((utcnow() + timedelta(days=120)).date(), clock(9, 30))
        db.session.add(
            Event(
                slug=SLUG,
                title="Safeguarding London's Children: the annual conference",
                kind=EventKind.conference,
                status=EventStatus.published,
                starts_at=starts,
                ends_at=starts + timedelta(hours=7),
                capacity=capacity,
                booking_opens_at=utcnow() - timedelta(minutes=1),
                venue=Venue(name="QEII Centre", address="Broad Sanctuary", postcode="SW1P 3EE"),
            )
        )
        db.session.commit()
        db.engine.dispose()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class _Delegate:
    n: int
    page_s: float = 0.0
    book_s: float = 0.0
    sent: float = 0.0  # when the booking POST went, and when its answer came back
    answered: float = 0.0
    statuses: list[int] = field(default_factory=list)
    error: str = ""


def _delegate(base: str, d: _Delegate) -> None:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
    )
    address = f"10.{d.n // 65536 % 256}.{d.n // 256 % 256}.{d.n % 256}"
    headers = {"X-Forwarded-For": address}
    try:
        started = time.monotonic()
        request = urllib.request.Request(f"{base}/events/{SLUG}", headers=headers)
        with opener.open(request, timeout=120) as page:
            html = page.read().decode()
            d.statuses.append(page.status)
        d.page_s = time.monotonic() - started
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        options = re.findall(r'<option value="(\d+)">', html)
        data = urllib.parse.urlencode(
            {
                "csrf_token": token,
                "name": f"Delegate {d.n}",
                "email": f"delegate{d.n}@example.org",
                "organisation": "A London borough",
                "job_title": "Social worker",
                "sector": options[d.n % 4],
                "lscb": options[4 + d.n % 3],
                "privacy": "y",
            }
        ).encode()
        request = urllib.request.Request(f"{base}/events/{SLUG}/book", data, headers=headers)
        d.sent = time.monotonic()
        try:
            opener.open(request, timeout=120).close()
            d.statuses.append(200)
        except urllib.error.HTTPError as answer:
            d.statuses.append(answer.code)
        d.answered = time.monotonic()
        d.book_s = d.answered - d.sent
    except Exception as exc:  # counted and reported: a benchmark must not hide failures
        d.error = f"{type(exc).__name__}: {exc}"


def _p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * 0.95))] if values else float("nan")


def _percentiles(values: list[float]) -> str:
    values = sorted(values)
    if not values:
        return "-"
    p95 = _p95(values)
    return (
        f"p50 {statistics.median(values) * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms  "
        f"max {values[-1] * 1000:6.0f} ms"
    )


def _redis() -> str:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return "redis://127.0.0.1:6379/0"
    except OSError:
        return "memory://"


def run(label: str, url: str, delegates: int, seconds: float, capacity: int, workers: int):
    _prepare(url, capacity)
    env = {
        "DATABASE_URL": url,
        "FLASK_SECRET_KEY": "bench",
        "FLASK_MAIL_SEND_AFTER_REQUEST": "false",
        "FLASK_PROXY_FIX_X_FOR": "1",
        "FLASK_RATELIMIT_STORAGE_URI": _redis(),
        "FLASK_RATELIMIT_KEY_PREFIX": f"bench-opening-{os.getpid()}-{label}",
    }
    server = Server("bookings:create_app()", workers, env)
    try:
        crowd = [_Delegate(n) for n in range(delegates)]
        threads = []
        begin = time.monotonic()
        for d in crowd:
            wait = begin + d.n * seconds / delegates - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            thread = threading.Thread(target=_delegate, args=(server.base, d))
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
        took = time.monotonic() - begin
        rss = server.worker_rss_mib()
    finally:
        server.stop()
    errors = [d for d in crowd if d.error]
    server_errors = sum(status >= 500 for d in crowd for status in d.statuses)
    not_303 = sum(1 for d in crowd if len(d.statuses) == 2 and d.statuses[1] != 303)
    print(f"{label}: {delegates} delegates in {took:.0f} s, capacity {capacity}, {workers} workers")
    print(f"  event page  {_percentiles([d.page_s for d in crowd if d.page_s])}")
    print(f"  booking     {_percentiles([d.book_s for d in crowd if d.book_s])}")
    print(
        f"  5xx {server_errors}   POSTs not answered 303: {not_303}   client errors {len(errors)}"
    )
    for d in errors[:5]:
        print(f"    delegate {d.n}: {d.error}")
    print(f"  worker RSS after: {', '.join(f'{size:.0f}' for size in rss)} MiB")
    confirmed, waitlisted, out_of_order, untold = _check(url, crowd, capacity)
    for what, value in (
        ("event page", [d.page_s for d in crowd if d.page_s]),
        ("booking", [d.book_s for d in crowd if d.book_s]),
    ):
        record(f"opening day: {what} p95", label, _p95(value) * 1000, "ms", goal="< 1,000 ms")
    record("opening day: 5xx answers", label, server_errors, "", goal="0")
    record("opening day: bookings not answered 303", label, not_303, "", goal="0")
    record("opening day: delegates who got no answer", label, len(errors), "", goal="0")
    record("opening day: confirmed", label, confirmed, "", goal=f"{capacity}")
    record("opening day: waitlisted", label, waitlisted, "", goal=f"{delegates - capacity}")
    record("opening day: out of order or overtaken", label, out_of_order, "", goal="0")
    record("opening day: bookings without their e-mail", label, untold, "", goal="0")
    record("one worker's RSS after opening day", label, max(rss), "MiB", goal="< 100 MiB")


def _check(url: str, crowd: list[_Delegate], capacity: int) -> tuple[int, int, int, int]:
    """Prints what the database holds; returns the confirmed, the waitlisted, those out of
    queue order or overtaken, and the bookings whose e-mail is not in the outbox."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT b.email, b.status, b.id,"
                " (SELECT count(*) FROM outbox o"
                "  WHERE o.booking_id = b.id AND o.kind = 'confirmed'),"
                " (SELECT count(*) FROM outbox o"
                "  WHERE o.booking_id = b.id AND o.kind = 'waitlisted')"
                " FROM bookings b ORDER BY b.queued_at, b.id"
            )
        ).all()
    engine.dispose()
    statuses = [row[1] for row in rows]
    confirmed = statuses.count("confirmed")
    waitlisted = statuses.count("waitlisted")
    first_waiting = statuses.index("waitlisted") if waitlisted else len(statuses)
    in_order = all(s == "confirmed" for s in statuses[:first_waiting]) and all(
        s == "waitlisted" for s in statuses[first_waiting:]
    )
    # Each booking has exactly one e-mail of its outcome: a confirmation or a waiting notice.
    expected = {"confirmed": (1, 0), "waitlisted": (0, 1)}
    untold = sum((row[3], row[4]) != expected.get(row[1]) for row in rows)
    told = untold == 0
    rank = {int(row[0].removeprefix("delegate").split("@")[0]): i for i, row in enumerate(rows)}
    # No booking answered before another was sent may stand behind it in the queue.
    booked = sorted((d for d in crowd if d.n in rank and d.answered), key=lambda d: d.sent)
    by_answer = sorted(booked, key=lambda d: d.answered)
    overtaken, highest, i = 0, -1, 0
    for d in booked:
        while i < len(by_answer) and by_answer[i].answered < d.sent:
            highest = max(highest, rank[by_answer[i].n])
            i += 1
        overtaken += highest > rank[d.n]
    ok = confirmed == capacity and waitlisted == len(crowd) - capacity and in_order and told
    print(
        f"  stored {len(rows)}: confirmed {confirmed}, waitlisted {waitlisted}; "
        f"places to the first in the queue: {in_order}; overtaken: {overtaken}; "
        f"every one's e-mail in the outbox: {told}   {'OK' if ok and not overtaken else 'FAILED'}"
    )
    return confirmed, waitlisted, overtaken + (not in_order), untold


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delegates", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--capacity", type=int, default=800)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 4)))
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args(argv)
    settings = (args.delegates, args.seconds, args.capacity, args.workers)
    if not args.sqlite_only:
        with private_postgres("bench_opening") as pg:
            if pg is not None:
                run("PostgreSQL", pg, *settings)
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", f"sqlite:///{Path(tmp) / 'opening.sqlite3'}", *settings)


if __name__ == "__main__":
    main()
