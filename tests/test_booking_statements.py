"""The statements one booking costs, pinned: the booking POST is the busiest write of the site,
and each statement it adds is paid by every delegate while the others queue for the event's
lock. Counts, not timings (bench/booking.py measures the time). Lower a figure here when a
change saves a statement; never raise it to make a change pass."""

from __future__ import annotations

import pytest

from bookings.booking import service
from bookings.db import db
from tests.conftest import form_lscb

# The form's sectors and LSCBs; the sector and LSCB checked; on SQLite BEGIN IMMEDIATE (the
# event's lock); the event under its lock, saying whether it holds places; the count of its
# bookings, which also finds the address's booking; the booking; its outbox message.
PLAIN = {"sqlite": 7, "postgresql": 6}
# The same, and the event's allocations and its sector limits.
HELD = {"sqlite": 9, "postgresql": 8}


def _post(client, count_queries, slug: str, sector, n: int) -> list[str]:
    data = {
        "name": f"Delegate {n}",
        "email": f"delegate{n}@example.org",
        "organisation": "Barnet Council",
        "job_title": "Social worker",
        "sector": str(sector.id),
        "lscb": form_lscb(),
        "privacy": "y",
    }
    with count_queries() as statements:
        response = client.post(f"/events/{slug}/book", data=data)
    assert response.status_code == 303
    return statements


@pytest.fixture
def dialect(app) -> str:
    return db.engine.dialect.name


def test_a_booking_costs_a_fixed_number_of_statements(client, make, count_queries, dialect):
    sector = make.sector("Health")
    event = make.event(capacity=2)
    counts = [len(_post(client, count_queries, event.slug, sector, n)) for n in range(4)]
    # The third and fourth join the waiting list: their e-mail says their position.
    assert counts == [PLAIN[dialect]] * 2 + [PLAIN[dialect] + 1] * 2


def test_a_booking_at_an_event_holding_places_costs_a_fixed_number(
    client, make, count_queries, dialect
):
    sector = make.sector("Health")
    event = make.event(capacity=20)
    service.set_allocation(event.id, make.lscb().id, 3)
    service.set_sector_limits(event.id, [service.LimitInput(sector.id, 10, 50, None)])
    counts = [len(_post(client, count_queries, event.slug, sector, n)) for n in range(3)]
    assert counts == [HELD[dialect]] * 3
