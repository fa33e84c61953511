"""The LSCBs' take-up of their reserved places and the sector mix against its limits: figures
checked against bookings made by hand, the pages, the CSVs, the query counts and the purge."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import date, datetime, time, timedelta

import pytest

from bookings.booking.models import Allocation, SectorLimit
from bookings.db import db, utcnow
from bookings.london import london_date, london_datetime
from bookings.models import Booking, BookingStatus, EventKind
from bookings.stats import service
from bookings.stats.service import Filters, TakeUp

_numbers = itertools.count(1)


def allocate(event, lscb, reserved: int = 2) -> Allocation:
    n = next(_numbers)
    allocation = Allocation(
        event=event, lscb=lscb, reserved=reserved, token_salt=f"s{n}", token_hash=f"alloc-{n}"
    )
    db.session.add(allocation)
    db.session.commit()
    return allocation


def book(
    event,
    sector,
    lscb,
    allocation: Allocation | None = None,
    *,
    status: BookingStatus = BookingStatus.confirmed,
    confirmed_at: datetime | None = None,
    cancelled_at: datetime | None = None,
    attended: bool = False,
) -> Booking:
    """A booking written directly (past events cannot be booked through the rules); with
    ``allocation`` it took one of the LSCB's reserved places."""
    k = next(_numbers)
    at = confirmed_at or utcnow() - timedelta(days=20)
    booking = Booking(
        event=event,
        sector=sector,
        lscb=lscb,
        allocation=allocation,
        reference=f"L{k:08d}",
        token_salt="salt",
        token_hash=f"lscb-stats-{k}",
        status=status,
        name=f"Delegate {k}",
        email=f"delegate{k}@example.org",
        email_key=f"delegate{k}@example.org",
        organisation="Hackney Learning Trust",
        job_title="Designated teacher",
        queued_at=at,
        confirmed_at=at if status != BookingStatus.waitlisted else None,
        cancelled_at=cancelled_at
        or (at + timedelta(hours=1) if status == BookingStatus.cancelled else None),
        attended_at=event.starts_at if attended else None,
    )
    db.session.add(booking)
    db.session.commit()
    return booking


def past(day: date, hour: int = 10) -> datetime:
    return london_datetime(day, time(hour))


@pytest.fixture
def sectors(make):
    names = ["Health", "Police", "Social care", "Education"]
    return {name: make.sector(name, position=i) for i, name in enumerate(names)}


@pytest.fixture
def lscbs(make):
    names = ["Barnet", "Camden", "Hackney", "Outside London"]
    return {name: make.lscb(name, position=i) for i, name in enumerate(names)}


def _by_name(table) -> dict[str, TakeUp]:
    return {row.lscb.name: row.figures for row in table.rows}


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


# ----------------------------------------------------------------------------- take-up


@pytest.fixture
def held_event(make, sectors, lscbs):
    """An upcoming event holding 2 places for each of three LSCBs until its release: Barnet took
    both, Camden one (a second was given back), Hackney none; Camden also booked a general
    place, and Outside London, with nothing reserved, booked one."""
    release = utcnow() + timedelta(days=7)
    event = make.event(capacity=30, allocations_release_at=release)
    health = sectors["Health"]
    barnet, camden = (allocate(event, lscbs[n]) for n in ("Barnet", "Camden"))
    allocate(event, lscbs["Hackney"])
    book(event, health, lscbs["Barnet"], barnet)
    book(event, sectors["Police"], lscbs["Barnet"], barnet)
    book(event, health, lscbs["Camden"], camden)
    book(event, health, lscbs["Camden"], camden, status=BookingStatus.cancelled)
    book(event, health, lscbs["Camden"])
    book(event, health, lscbs["Outside London"])
    book(event, health, lscbs["Hackney"], status=BookingStatus.waitlisted)
    return event


def test_take_up_counts_what_each_lscb_did_with_its_places_before_the_release(app, held_event):
    table = service.event_take_up(held_event.id)

    assert list(_by_name(table)) == ["Barnet", "Camden", "Hackney"]
    figures = _by_name(table)
    assert figures["Barnet"] == TakeUp(reserved=2, taken=2, held=0, booked=2, events=1)
    # The cancelled reserved place went back to Camden; its general booking is not "taken".
    assert figures["Camden"] == TakeUp(reserved=2, taken=1, held=1, booked=2, events=1)
    assert figures["Hackney"] == TakeUp(reserved=2, taken=0, held=2, booked=0, events=1)
    assert table.totals == TakeUp(reserved=6, taken=3, held=3, booked=4, events=3)
    assert table.totals.taken_percent == 50


def test_released_counts_the_places_nobody_held_at_the_release(app, make, sectors, lscbs):
    day = past(date(2011, 11, 29))
    released_at = day - timedelta(days=7)
    event = make.event(
        starts_at=day, allocations_release_at=released_at, allocations_released_at=released_at
    )
    health = sectors["Health"]
    before, after = released_at - timedelta(days=3), released_at + timedelta(days=2)
    barnet, camden, hackney = (allocate(event, lscbs[n]) for n in ("Barnet", "Camden", "Hackney"))
    book(event, health, lscbs["Barnet"], barnet, confirmed_at=before, attended=True)
    # Taken and given back before the release: released with the other.
    book(
        event, health, lscbs["Camden"], camden, status=BookingStatus.cancelled, confirmed_at=before
    )
    # Held at the release, cancelled after it: not released, and no longer taken.
    book(
        event,
        health,
        lscbs["Hackney"],
        hackney,
        status=BookingStatus.cancelled,
        confirmed_at=before,
        cancelled_at=after,
    )
    book(event, health, lscbs["Hackney"], hackney, confirmed_at=before)

    figures = _by_name(service.event_take_up(event.id))

    assert figures["Barnet"] == TakeUp(
        reserved=2, taken=1, released=1, attended=1, booked=1, events=1
    )
    assert figures["Camden"] == TakeUp(reserved=2, taken=0, released=2, events=1)
    assert figures["Hackney"] == TakeUp(reserved=2, taken=1, released=0, booked=1, events=1)


def test_a_release_time_passed_counts_as_the_release_before_its_stamp(
    client, login, make, sectors, lscbs
):
    """The booking rules treat the places as released once the time has passed (the release
    itself is stamped at the next locked change or sender round): so do the statistics."""
    login()
    release = utcnow() - timedelta(hours=2)
    event = make.event(allocations_release_at=release)
    barnet = allocate(event, lscbs["Barnet"])
    book(
        event, sectors["Health"], lscbs["Barnet"], barnet, confirmed_at=release - timedelta(days=1)
    )

    assert _by_name(service.event_take_up(event.id))["Barnet"] == TakeUp(
        reserved=2, taken=1, released=1, booked=1, events=1
    )
    page = client.get(f"/manage/stats/events/{event.id}").get_data(as_text=True)
    assert "1 place not taken joined the general pool" in page


def test_take_up_across_events_adds_up_by_lscb_with_the_filters(app, make, sectors, lscbs):
    network = make.network()
    health = sectors["Health"]
    first = make.event(starts_at=past(date(2010, 5, 10)), host_network=network)
    second = make.event(starts_at=past(date(2011, 6, 10)), kind=EventKind.conference)
    make.event(starts_at=past(date(2011, 7, 10)))  # reserves nothing
    a = allocate(first, lscbs["Barnet"], 3)
    allocate(first, lscbs["Camden"], 1)
    b = allocate(second, lscbs["Barnet"], 2)
    book(first, health, lscbs["Barnet"], a, attended=True)
    book(first, health, lscbs["Barnet"], a)
    book(second, health, lscbs["Barnet"], b, attended=True)
    book(second, health, lscbs["Barnet"])

    every = service.take_up_across(Filters())
    assert every.events == 2
    assert _by_name(every)["Barnet"] == TakeUp(
        reserved=5, taken=3, held=2, attended=2, booked=4, events=2
    )
    assert _by_name(every)["Camden"] == TakeUp(reserved=1, held=1, events=1)

    year = service.take_up_across(Filters(board_year=2011))
    assert year.events == 1 and list(_by_name(year)) == ["Barnet"]
    assert _by_name(year)["Barnet"].reserved == 2
    assert service.take_up_across(Filters(network_id=network.id)).totals.reserved == 4
    assert service.take_up_across(Filters(kind=EventKind.conference)).totals.booked == 2
    assert service.take_up_across(Filters(date_from=date(2012, 1, 1))).rows == []


def test_event_stats_page_shows_the_take_up_with_chart_and_csv(client, login, held_event):
    login()
    page = client.get(f"/manage/stats/events/{held_event.id}").get_data(as_text=True)

    assert "Places reserved for LSCBs" in page
    assert "6 places reserved for 3 LSCBs; 3 taken through their links (50%)" in page
    assert "3 still held until the release on" in page
    # The chart reads out every LSCB's figures; the table gives them too.
    assert "Barnet: 2 of 2 taken; Camden: 1 of 2 taken; Hackney: 0 of 2 taken." in page
    assert 'id="take-up"' in page

    rows = _csv(client.get(f"/manage/stats/events/{held_event.id}/take-up.csv"))
    assert rows[0][:7] == [
        "LSCB",
        "Reserved",
        "Taken",
        "Taken (%)",
        "Still held",
        "Released",
        "Attended",
    ]
    assert rows[1] == ["Barnet", "2", "2", "100", "0", "0", "0", "2"]
    assert rows[2] == ["Camden", "2", "1", "50", "1", "0", "0", "2"]
    assert rows[-1] == ["Total", "6", "3", "50", "3", "0", "0", "4"]


def test_take_up_page_across_events_filters_and_downloads(client, login, make, sectors, lscbs):
    login()
    early = make.event(starts_at=past(date(2010, 5, 10)))
    late = make.event(starts_at=past(date(2011, 6, 10)))
    book(early, sectors["Health"], lscbs["Barnet"], allocate(early, lscbs["Barnet"], 3))
    allocate(late, lscbs["Camden"], 2)

    page = client.get("/manage/stats/lscbs").get_data(as_text=True)
    assert "2 of the chosen events reserved places: 5 in all, 1 taken (20%)" in page
    assert "Barnet: 1 of 3 taken; Camden: 0 of 2 taken." in page

    filtered = client.get("/manage/stats/lscbs?board_year=2011").get_data(as_text=True)
    assert "1 of the chosen events reserved places: 2 in all" in filtered
    assert "Barnet" not in filtered.split('id="take-up"')[1]

    rows = _csv(client.get("/manage/stats/lscbs.csv?board_year=2010"))
    assert rows[0][:3] == ["LSCB", "Events", "Reserved"]
    assert rows[1] == ["Barnet", "1", "3", "1", "33", "2", "0", "0", "1"]
    assert rows[-1][0] == "Total"

    empty = client.get("/manage/stats/lscbs?date_from=2030-01-01").get_data(as_text=True)
    assert "None of the chosen events reserves places for an LSCB." in empty
    assert client.get("/manage/stats/lscbs?date_from=nonsense").status_code == 400
    assert client.get("/manage/stats/lscbs.csv?date_from=nonsense").status_code == 400


def test_no_reserved_places_no_take_up_section(client, login, make, sectors, lscbs):
    login()
    event = make.event()
    book(event, sectors["Health"], lscbs["Barnet"])
    page = client.get(f"/manage/stats/events/{event.id}").get_data(as_text=True)
    assert "Places reserved for LSCBs" not in page and "Sector mix" not in page


# ----------------------------------------------------------------------------- sector mix


def limit(event, sector, low=None, high=None, until=None) -> SectorLimit:
    row = SectorLimit(event=event, sector=sector, min_percent=low, max_percent=high, until=until)
    db.session.add(row)
    db.session.commit()
    return row


def test_sector_mix_sets_each_limit_beside_its_share(client, login, make, sectors, lscbs):
    """20 places: police at least 10% (2 places), education at least 25% (5), social care at
    most 35% (7); held, so attendance is set against the limits too."""
    login()
    event = make.event(starts_at=past(date(2011, 12, 5)), capacity=20, kind=EventKind.conference)
    until = past(date(2011, 11, 1), 17)
    limit(event, sectors["Police"], low=10, until=until)
    limit(event, sectors["Education"], low=25)
    limit(event, sectors["Social care"], high=35)
    barnet = lscbs["Barnet"]
    for _ in range(2):
        book(event, sectors["Police"], barnet, attended=True)
    for i in range(3):
        book(event, sectors["Education"], barnet, attended=i == 0)
    for i in range(8):
        book(event, sectors["Social care"], barnet, attended=i < 4)
    book(event, sectors["Health"], barnet, attended=True)

    lines = {line.sector.name: line for line in service.event_breakdown(event.id).sector_mix}

    assert list(lines) == ["Police", "Social care", "Education"]
    police, care, education = lines["Police"], lines["Social care"], lines["Education"]
    assert (police.confirmed, police.confirmed_percent, police.floor_places) == (2, 10.0, 2)
    assert police.floor_met is True and police.cap_kept is None and police.until == until
    assert (education.confirmed_percent, education.floor_places, education.floor_met) == (
        15.0,
        5,
        False,
    )
    assert (care.confirmed_percent, care.cap_places, care.cap_kept) == (40.0, 7, False)
    # 8 came: police 2 (25%), education 1 (12.5%), social care 4 (50%).
    assert (police.attended, police.attended_percent, police.attended_floor_met) == (2, 25.0, True)
    assert (education.attended_percent, education.attended_floor_met) == (12.5, False)
    assert (care.attended_percent, care.attended_cap_kept) == (50.0, False)

    page = client.get(f"/manage/stats/events/{event.id}").get_data(as_text=True)
    mix = page.split('id="sector-mix"')[1].split("</table>")[0]
    assert "at least 10% (2 places), held until" in mix
    assert "at most 35% (7 places)" in mix
    assert "Floor met" in mix and "Floor not met" in mix and "Over the cap" in mix

    rows = _csv(client.get(f"/manage/stats/events/{event.id}/sector-mix.csv"))
    assert rows[0][0] == "Sector" and rows[1][0] == "Police"
    assert rows[1][4:8] == ["2", "10.0", "met", ""]
    assert rows[2][3:8] == ["35", "8", "40.0", "", "over"]
    assert rows[3][8:12] == ["1", "12.5", "not met", ""]


def test_sector_mix_before_the_event_counts_bookings_only(client, login, make, sectors, lscbs):
    login()
    event = make.event(capacity=10)
    limit(event, sectors["Social care"], high=35)
    for _ in range(3):
        book(event, sectors["Social care"], lscbs["Barnet"])

    (line,) = service.event_breakdown(event.id).sector_mix
    assert (line.confirmed_percent, line.cap_places, line.cap_kept) == (30.0, 3, True)
    assert line.attended is None and line.attended_cap_kept is None
    page = client.get(f"/manage/stats/events/{event.id}").get_data(as_text=True)
    assert "Within the cap" in page and "who came" not in page


# ----------------------------------------------------------------------------- queries, purge


def test_take_up_pages_cost_the_same_queries_however_many_events(
    client, login, make, sectors, lscbs, count_queries
):
    login()
    focus = make.event(capacity=400)
    limit(focus, sectors["Police"], low=10)

    def grow(n: int) -> None:
        for i in range(n):
            event = make.event(starts_at=past(date(2010, 5, 1) + timedelta(days=i)))
            for name in ("Barnet", "Camden", "Hackney"):
                allocation = allocate(event, lscbs[name])
                book(event, sectors["Health"], lscbs[name], allocation, attended=True)
                book(focus, sectors["Police"], lscbs[name], allocate(focus, make.lscb()))
        limit(focus, make.sector(), high=30)

    urls = [
        "/manage/stats/lscbs",
        "/manage/stats/lscbs.csv",
        "/manage/stats/lscbs?board_year=2010",
        f"/manage/stats/events/{focus.id}",
        f"/manage/stats/events/{focus.id}/take-up.csv",
        f"/manage/stats/events/{focus.id}/sector-mix.csv",
    ]

    def measure() -> dict[str, int]:
        counts = {}
        for url in urls:
            assert client.get(url).status_code == 200, url
            with count_queries() as statements:
                client.get(url)
            counts[url] = len(statements)
        return counts

    grow(1)
    few = measure()
    grow(8)
    many = measure()
    assert many == few


def test_take_up_and_sector_mix_survive_the_purge(client, login, make, sectors, lscbs):
    from bookings.privacy import service as privacy

    login()
    day = past(date(2006, 12, 15))
    event = make.event(
        starts_at=day,
        capacity=20,
        allocations_release_at=day - timedelta(days=7),
        allocations_released_at=day - timedelta(days=7),
    )
    limit(event, sectors["Police"], low=10)
    allocation = allocate(event, lscbs["Barnet"], 3)
    book(
        event,
        sectors["Police"],
        lscbs["Barnet"],
        allocation,
        confirmed_at=day - timedelta(days=9),
        attended=True,
    )
    book(event, sectors["Health"], lscbs["Camden"], attended=True)
    urls = [
        f"/manage/stats/events/{event.id}/take-up.csv",
        f"/manage/stats/events/{event.id}/sector-mix.csv",
        "/manage/stats/lscbs.csv",
    ]
    before = [client.get(url).get_data(as_text=True) for url in urls]
    assert _csv(client.get(urls[0]))[1] == ["Barnet", "3", "1", "33", "0", "2", "1", "1"]

    assert privacy.purge(london_date(utcnow())).bookings == 2

    assert [client.get(url).get_data(as_text=True) for url in urls] == before
