"""Invariants 1 and 2 under real concurrency: gunicorn workers, real HTTP, SQLite and PostgreSQL.

Each simulated delegate fetches the event page (session cookie and CSRF token), waits at a
barrier with all the others, then posts the booking form at the same moment.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bookings.booking import service
from bookings.booking.models import Booking, BookingStatus
from bookings.db import db
from bookings.mail.models import OutboxMessage
from tests.conftest import default_lscb

pytestmark = pytest.mark.slow

WORKERS = 4
DELEGATES = 24
CAPACITY = 5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(
    database_url: str,
    secret_key: str,
    instance: Path,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[str]:
    """Serve the app under gunicorn exactly as `make serve` does, on a free port."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FLASK_SECRET_KEY": secret_key,
        "FLASK_MAIL_SEND_AFTER_REQUEST": "false",
        "FLASK_SERVER_NAME": f"127.0.0.1:{port}",
        **(env or {}),
    }
    log = (instance / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{port}",
            *args,
            "bookings:create_app()",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=10).close()
                break
            except OSError:  # refused while starting, or slow to answer on a busy machine
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((instance / "gunicorn.log").read_text()) from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


class Delegate:
    """One browser: its own cookies, a GET for the form, then a POST at the starting gun."""

    def __init__(self, base: str, slug: str, n: int, sector_id: int, lscb_id: int) -> None:
        self.base, self.slug, self.n, self.sector_id = base, slug, n, sector_id
        self.lscb_id = lscb_id
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.status: int | None = None
        self.body = ""

    def prepare(self) -> None:
        with self.opener.open(f"{self.base}/events/{self.slug}", timeout=30) as page:
            html = page.read().decode()
        self.csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)

    def book(self, barrier: threading.Barrier) -> None:
        data = urllib.parse.urlencode(
            {
                "csrf_token": self.csrf,
                "name": f"Delegate {self.n}",
                "email": f"delegate{self.n}@example.org",
                "organisation": "Lambeth",
                "job_title": "Nurse",
                "sector": self.sector_id,
                "lscb": self.lscb_id,
                "privacy": "y",
            }
        ).encode()
        barrier.wait()
        try:
            with self.opener.open(f"{self.base}/events/{self.slug}/book", data, timeout=60) as r:
                self.status, self.body = r.status, r.read().decode()
        except urllib.error.HTTPError as error:
            self.status, self.body = error.code, error.read().decode()


def _run_all(jobs) -> None:
    threads = [threading.Thread(target=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


def test_simultaneous_bookings_never_oversell(app, make, tmp_path):
    sector = make.sector("Social care")
    event = make.event(capacity=CAPACITY)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with gunicorn(str(url), app.config["SECRET_KEY"], tmp_path) as base:
        delegates = [
            Delegate(base, event.slug, n, sector.id, default_lscb().id) for n in range(DELEGATES)
        ]
        for delegate in delegates:
            delegate.prepare()
        barrier = threading.Barrier(DELEGATES)
        _run_all([lambda d=d: d.book(barrier) for d in delegates])

    assert [d.status for d in delegates] == [200] * DELEGATES, [d.body[:300] for d in delegates]
    for delegate in delegates:
        assert "Your place is booked" in delegate.body or "on the waiting list" in delegate.body
        assert "database is locked" not in delegate.body

    db.session.expire_all()
    bookings = db.session.scalars(select(Booking).order_by(Booking.queued_at, Booking.id)).all()
    confirmed = [b for b in bookings if b.status == BookingStatus.confirmed]
    waiting = [b for b in bookings if b.status == BookingStatus.waitlisted]
    assert len(confirmed) == CAPACITY
    assert len(waiting) == DELEGATES - CAPACITY
    # Arrival order: those who won the lock first got the places, the rest queue behind them.
    assert max(b.queued_at for b in confirmed) <= min(b.queued_at for b in waiting)
    # Each waiting delegate was told, on their own page, the place they really hold.
    shown = {d.n: re.search(r"On the waiting list: number (\d+)", d.body) for d in delegates}
    told = {n: int(match.group(1)) for n, match in shown.items() if match}
    actual = {
        int(b.email.removeprefix("delegate").split("@")[0]): p for p, b in enumerate(waiting, 1)
    }
    assert told == actual
    mails = db.session.scalars(select(OutboxMessage.kind)).all()
    assert sorted(mails) == sorted(["confirmed"] * CAPACITY + ["waitlisted"] * len(waiting))


def test_every_worker_shows_a_booking_once_the_kept_second_is_over(app, make, tmp_path):
    """Each worker keeps the event page for a second (bookings/web/kept.py): after a booking
    (made here, by this process), none of them shows the old count once that second is
    over."""
    sector = make.sector("Health")
    slug = make.event(capacity=CAPACITY).slug
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    kept_for = 1.0  # the default, set here as the servers' own
    env = {"FLASK_PUBLIC_PAGES_KEPT_SECONDS": str(kept_for)}
    with gunicorn(str(url), app.config["SECRET_KEY"], tmp_path, env) as base:

        def places_left_shown() -> set[str]:
            """What visitors at once see, over several connections (so several workers)."""
            seen: list[str] = []

            def visit() -> None:
                with urllib.request.urlopen(f"{base}/events/{slug}", timeout=30) as page:
                    seen.append(re.search(r"(\d+) places? left", page.read().decode())[1])

            _run_all([visit] * WORKERS * 4)
            return set(seen)

        assert places_left_shown() == {str(CAPACITY)}
        service.book_at(
            slug,
            service.DelegateDetails(
                name="Amira Khan",
                email="amira.khan@example.org",
                organisation="Whittington Health",
                job_title="Named nurse",
                sector_id=sector.id,
                lscb_id=default_lscb().id,
            ),
        )
        time.sleep(kept_for + 0.2)
        assert places_left_shown() == {str(CAPACITY - 1)}


def test_simultaneous_cancellations_promote_exactly_one_delegate_each(app, make, tmp_path):
    sector = make.sector("Police")
    event = make.event(capacity=CAPACITY)
    placed = [
        service.book(
            event.id,
            service.DelegateDetails(
                name=f"Delegate {n}",
                email=f"d{n}@example.org",
                organisation="Met Police",
                job_title="DS",
                sector_id=sector.id,
                lscb_id=default_lscb().id,
            ),
        )
        for n in range(CAPACITY + 8)
    ]
    holders, queue = placed[:CAPACITY], placed[CAPACITY:]
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    results: list[int] = []

    def cancel(token: str, barrier: threading.Barrier) -> None:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        with opener.open(f"{base}/bookings/{token}/cancel", timeout=30) as page:
            html = page.read().decode()
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        barrier.wait()
        data = urllib.parse.urlencode({"csrf_token": csrf}).encode()
        with opener.open(f"{base}/bookings/{token}/cancel", data, timeout=60) as response:
            results.append(response.status)

    with gunicorn(str(url), app.config["SECRET_KEY"], tmp_path) as base:
        # Every holder cancels twice at once (a double-click), all at the same moment.
        jobs = [p.token for p in holders] * 2
        barrier = threading.Barrier(len(jobs))
        _run_all([lambda t=t: cancel(t, barrier) for t in jobs])

    assert results == [200] * len(jobs)
    db.session.expire_all()
    statuses = {p.booking.id: db.session.get(Booking, p.booking.id).status for p in placed}
    assert all(statuses[p.booking.id] == BookingStatus.cancelled for p in holders)
    promoted = [p for p in queue if statuses[p.booking.id] == BookingStatus.confirmed]
    assert [p.booking.id for p in promoted] == [p.booking.id for p in queue[:CAPACITY]]
    assert all(statuses[p.booking.id] == BookingStatus.waitlisted for p in queue[CAPACITY:])
    counts = dict(
        db.session.execute(
            select(OutboxMessage.kind, func.count()).group_by(OutboxMessage.kind)
        ).all()
    )
    assert counts["promoted"] == CAPACITY
    assert counts["cancelled"] == CAPACITY


class Booker:
    """A training co-ordinator's browser: the team form, then a team's post at the gun."""

    def __init__(
        self, base: str, slug: str, n: int, size: int, mode: str, sector_id: int, lscb_id: int
    ) -> None:
        self.base, self.slug, self.n, self.size, self.mode = base, slug, n, size, mode
        self.sector_id, self.lscb_id = sector_id, lscb_id
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.status: int | None = None
        self.body = ""

    def prepare(self) -> None:
        with self.opener.open(f"{self.base}/events/{self.slug}/team", timeout=30) as page:
            html = page.read().decode()
        self.csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)

    def book(self, barrier: threading.Barrier) -> None:
        fields = {
            "csrf_token": self.csrf,
            "booker_name": f"Booker {self.n}",
            "booker_email": f"booker{self.n}@example.org",
            "mode": self.mode,
            "privacy": "y",
            "book": "1",
        }
        for i in range(self.size):
            row = {
                "name": f"Team {self.n} member {i}",
                "email": f"team{self.n}-{i}@example.org",
                "organisation": "Hackney",
                "job_title": "Social worker",
                "sector": self.sector_id,
                "lscb": self.lscb_id,
            }
            fields.update({f"colleagues-{i}-{k}": v for k, v in row.items()})
        data = urllib.parse.urlencode(fields).encode()
        barrier.wait()
        try:
            with self.opener.open(f"{self.base}/events/{self.slug}/team", data, timeout=60) as r:
                self.status, self.body = r.status, r.read().decode()
        except urllib.error.HTTPError as error:
            self.status, self.body = error.code, error.read().decode()


TEAMS = [(3, "fit"), (4, "waitlist"), (3, "waitlist"), (4, "fit"), (2, "waitlist"), (3, "fit")]


def test_team_bookings_racing_single_bookings_never_oversell_and_stay_whole(app, make, tmp_path):
    """Teams of either mode and single delegates all post at once for fewer places than
    them: never more confirmed than capacity; a "whole team" waits or is confirmed as one; a
    "fit" team is confirmed in its form's order; no one placed after the event filled up got
    a place; every booking has its one e-mail, every team one summary."""
    sector = make.sector("Education")
    capacity = 7
    event = make.event(capacity=capacity)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with gunicorn(str(url), app.config["SECRET_KEY"], tmp_path) as base:
        singles = [Delegate(base, event.slug, n, sector.id, default_lscb().id) for n in range(8)]
        bookers = [
            Booker(base, event.slug, n, size, mode, sector.id, default_lscb().id)
            for n, (size, mode) in enumerate(TEAMS)
        ]
        for client in (*singles, *bookers):
            client.prepare()
        barrier = threading.Barrier(len(singles) + len(bookers))
        _run_all([lambda c=c: c.book(barrier) for c in (*singles, *bookers)])

    everyone = (*singles, *bookers)
    assert [c.status for c in everyone] == [200] * len(everyone), [c.body[:300] for c in everyone]
    for booker in bookers:
        assert "Your team is booked" in booker.body

    db.session.expire_all()
    bookings = db.session.scalars(select(Booking).order_by(Booking.id)).all()
    assert len(bookings) == len(singles) + sum(size for size, _ in TEAMS)
    confirmed = [b for b in bookings if b.status == BookingStatus.confirmed]
    assert len(confirmed) <= capacity

    groups: dict[int, list[Booking]] = {}
    for booking in bookings:
        if booking.group_id:
            groups.setdefault(booking.group_id, []).append(booking)
    modes = {}
    for members in groups.values():
        n = int(members[0].email.removeprefix("team").split("-")[0])
        modes[members[0].group_id] = TEAMS[n][1]
        assert len(members) == TEAMS[n][0]
    # Bookings are written under the lock, so ids follow the order the lock was won in.
    full_since = None
    for booking in bookings:
        members = groups.get(booking.group_id, [])
        waits_whole = modes.get(booking.group_id) == "waitlist"
        if booking.status == BookingStatus.confirmed:
            assert full_since is None, "a booking got a place after the event had filled"
        elif not waits_whole and full_since is None:
            full_since = booking.id
        if waits_whole and booking is members[0]:
            states = {m.status for m in members}
            assert len(states) == 1, "a whole team was split"
            free = capacity - sum(1 for b in confirmed if b.id < booking.id)
            assert (states == {BookingStatus.confirmed}) == (free >= len(members)), booking.id
    for group_id, members in groups.items():
        if modes[group_id] == "fit":
            states = [m.status for m in members]
            assert states == sorted(states, key=lambda s: s != BookingStatus.confirmed)

    mails = db.session.scalars(select(OutboxMessage.kind)).all()
    assert sorted(mails) == sorted(
        ["confirmed"] * len(confirmed)
        + ["waitlisted"] * (len(bookings) - len(confirmed))
        + ["team_summary"] * len(TEAMS)
    )
