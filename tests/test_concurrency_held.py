"""Invariants 1 and 6 under real concurrency (gunicorn workers, real HTTP, SQLite and
PostgreSQL): LSCBs' links racing each other and general bookings for the last reserved places,
a sector's cap, and cancellations racing the release."""

from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bookings.accounts.models import AuditEntry
from bookings.booking import service
from bookings.booking.models import Booking, BookingStatus
from bookings.db import db, utcnow
from bookings.events.models import Event
from bookings.mail import sender
from tests.test_concurrency import Delegate, _run_all, gunicorn

pytestmark = pytest.mark.slow

CAPACITY = 6
RESERVED = 2


class LinkDelegate(Delegate):
    """A delegate booking through an LSCB's own link (the form has no LSCB field)."""

    def __init__(self, base: str, path: str, n: int, sector_id: int) -> None:
        super().__init__(base, "", n, sector_id, 0)
        self.path = path

    def prepare(self) -> None:
        with self.opener.open(self.base + self.path, timeout=30) as page:
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
                "privacy": "y",
            }
        ).encode()
        barrier.wait()
        try:
            with self.opener.open(self.base + self.path, data, timeout=60) as response:
                self.status, self.body = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            self.status, self.body = error.code, error.read().decode()


def _confirmed(**where) -> list[Booking]:
    db.session.expire_all()
    query = select(Booking).where(Booking.status == BookingStatus.confirmed)
    for name, value in where.items():
        query = query.where(getattr(Booking, name) == value)
    return list(db.session.scalars(query))


def test_link_bookings_race_each_other_and_general_bookings(app, make, tmp_path):
    health = make.sector("Health")
    lambeth, camden = make.lscb("Lambeth"), make.lscb("Camden")
    event = make.event(capacity=CAPACITY)
    service.set_allocation(event.id, lambeth.id, RESERVED)
    row = service.held_places(event).allocations[0]
    path = f"/events/{event.slug}/lscb/{row.token}"
    url = str(app.config["SQLALCHEMY_DATABASE_URI"])
    with gunicorn(url, app.config["SECRET_KEY"], tmp_path) as base:
        through_link = [LinkDelegate(base, path, n, health.id) for n in range(10)]
        general = [Delegate(base, event.slug, n, health.id, camden.id) for n in range(10, 22)]
        everyone = through_link + general
        for delegate in everyone:
            delegate.prepare()
        barrier = threading.Barrier(len(everyone))
        _run_all([lambda d=d: d.book(barrier) for d in everyone])

    assert [d.status for d in everyone] == [200] * len(everyone), [d.body[:200] for d in everyone]
    confirmed = _confirmed(event_id=event.id)
    assert len(confirmed) == CAPACITY
    general_confirmed = [b for b in confirmed if b.allocation_id is None]
    # General bookings never took a place held for Lambeth; Lambeth's link took all it held.
    assert len(general_confirmed) <= CAPACITY - RESERVED
    assert len(confirmed) - len(general_confirmed) >= RESERVED
    assert all(b.lscb_id == lambeth.id for b in confirmed if b.allocation_id is not None)


def test_a_sectors_cap_holds_under_simultaneous_bookings(app, make, tmp_path):
    social, health = make.sector("Social care"), make.sector("Health")
    lambeth = make.lscb("Lambeth")
    event = make.event(capacity=CAPACITY)
    service.set_sector_limits(event.id, [service.LimitInput(social.id, None, 50, None)])
    url = str(app.config["SQLALCHEMY_DATABASE_URI"])
    with gunicorn(url, app.config["SECRET_KEY"], tmp_path) as base:
        delegates = [
            Delegate(base, event.slug, n, (social if n % 3 else health).id, lambeth.id)
            for n in range(18)
        ]
        for delegate in delegates:
            delegate.prepare()
        barrier = threading.Barrier(len(delegates))
        _run_all([lambda d=d: d.book(barrier) for d in delegates])

    assert [d.status for d in delegates] == [200] * len(delegates)
    assert len(_confirmed(event_id=event.id)) == CAPACITY
    assert len(_confirmed(event_id=event.id, sector_id=social.id)) == CAPACITY // 2


def test_cancellations_race_the_release_and_it_happens_once(app, make, tmp_path):
    health = make.sector("Health")
    make.lscb("Lambeth")
    camden = make.lscb("Camden")
    event = make.event(capacity=CAPACITY)
    service.allocate(event.id, RESERVED, utcnow() + timedelta(days=1))
    details = [
        service.DelegateDetails(
            name=f"Delegate {n}",
            email=f"d{n}@example.org",
            organisation="A council",
            job_title="Nurse",
            sector_id=health.id,
            lscb_id=camden.id,
        )
        for n in range(CAPACITY + 10)
    ]
    placed = [service.book(event.id, d) for d in details]
    holders = [p for p in placed if p.booking.status == BookingStatus.confirmed]
    queue = [p for p in placed if p.booking.status == BookingStatus.waitlisted]
    assert len(holders) == CAPACITY - 2 * RESERVED  # Lambeth's and Camden's places are held
    # The release time passes.
    db.session.execute(
        update(Event)
        .where(Event.id == event.id)
        .values(allocations_release_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    url = str(app.config["SQLALCHEMY_DATABASE_URI"])
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
        try:
            with opener.open(f"{base}/bookings/{token}/cancel", data, timeout=60) as response:
                results.append(response.status)
        except urllib.error.HTTPError as error:
            results.append(error.code)

    def send_round(barrier: threading.Barrier) -> None:
        with app.app_context():
            barrier.wait()
            sender.run_round_jobs()
            db.session.remove()

    with gunicorn(url, app.config["SECRET_KEY"], tmp_path) as base:
        tokens = [p.token for p in holders]
        barrier = threading.Barrier(len(tokens) + 3)
        jobs = [lambda t=t: cancel(t, barrier) for t in tokens]
        jobs += [lambda: send_round(barrier) for _ in range(3)]
        _run_all(jobs)

    assert results == [200] * len(tokens)
    db.session.expire_all()
    releases = db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "event.release")
    )
    assert releases == 1
    assert db.session.get(Event, event.id).allocations_released_at is not None
    confirmed = _confirmed(event_id=event.id)
    assert len(confirmed) == CAPACITY
    # The places went to the queue in its order: the first CAPACITY waiting delegates.
    assert sorted(b.id for b in confirmed) == sorted(p.booking.id for p in queue[:CAPACITY])
    promoted = db.session.scalar(
        select(func.count()).where(Booking.event_id == event.id, Booking.confirmed_at.is_not(None))
    )
    assert promoted == len(holders) + CAPACITY
