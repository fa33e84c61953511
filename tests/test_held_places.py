"""Places held back: LSCBs' allocations, their links and their release, sectors' floors and caps,
all decided together under the event's lock (invariants 1, 2 and 6)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bookings.accounts.models import AuditEntry
from bookings.booking import service
from bookings.booking.models import Allocation, Booking, BookingStatus, LscbKind
from bookings.db import db, utcnow
from bookings.mail import sender


@pytest.fixture
def health(make):
    return make.sector("Health")


@pytest.fixture
def police(make):
    return make.sector("Police")


@pytest.fixture
def social(make):
    return make.sector("Social care")


@pytest.fixture
def lambeth(make):
    return make.lscb("Lambeth")


@pytest.fixture
def camden(make):
    return make.lscb("Camden")


@pytest.fixture
def outside(make):
    return make.lscb("Outside London", kind=LscbKind.outside)


_n = iter(range(1, 10_000))


def details(sector, lscb) -> service.DelegateDetails:
    n = next(_n)
    return service.DelegateDetails(
        name=f"Delegate {n}",
        email=f"held{n}@example.org",
        organisation="A council",
        job_title="Social worker",
        sector_id=sector.id,
        lscb_id=lscb.id,
    )


def allocation_of(event, lscb) -> Allocation:
    return db.session.scalar(
        select(Allocation).where(Allocation.event_id == event.id, Allocation.lscb_id == lscb.id)
    )


def book(event, sector, lscb, allocation=None, now=None) -> Booking:
    placed = service.book(
        event.id,
        details(sector, lscb),
        now,
        allocation_id=allocation.id if allocation else None,
    )
    return placed.booking


def statuses(event) -> dict[str, int]:
    rows = db.session.execute(
        select(Booking.status, func.count())
        .where(Booking.event_id == event.id)
        .group_by(Booking.status)
    )
    return {status.value: n for status, n in rows}


# ----------------------------------------------------------------------------- allocations


def test_one_form_holds_places_for_every_london_lscb_and_general_bookings_see_the_rest(
    make, health, lambeth, camden, outside
):
    event = make.event(capacity=10)
    covered = service.allocate(event.id, 2, utcnow() + timedelta(days=7))
    assert covered == 2  # Lambeth and Camden; not "Outside London"
    availability = service.availability(event)
    assert (availability.held, availability.places_left) == (4, 6)

    for _ in range(6):
        assert book(event, health, outside).status == BookingStatus.confirmed
    assert service.availability(event).state == service.BookingState.full
    # Booking without the link: the reserved places are not for them.
    assert book(event, health, lambeth).status == BookingStatus.waitlisted


def test_a_link_booking_takes_a_reserved_place_then_a_general_one_then_the_waiting_list(
    make, health, lambeth, camden
):
    event = make.event(capacity=5)
    service.allocate(event.id, 2, utcnow() + timedelta(days=7))
    link = allocation_of(event, lambeth)
    first, second = book(event, health, lambeth, link), book(event, health, lambeth, link)
    assert (first.status, second.status) == (BookingStatus.confirmed,) * 2
    assert service.availability(event).places_left == 1  # Camden's 2 still held
    third = book(event, health, lambeth, link)
    assert third.status == BookingStatus.confirmed  # the last general place
    assert book(event, health, lambeth, link).status == BookingStatus.waitlisted
    rows = {row.allocation.lscb.name: row for row in service.held_places(event).allocations}
    assert (rows["Lambeth"].reserved, rows["Lambeth"].taken, rows["Lambeth"].left) == (2, 2, 0)
    assert (rows["Camden"].taken, rows["Camden"].left) == (0, 2)


def test_the_link_records_its_own_lscb(make, health, lambeth, camden):
    event = make.event(capacity=5)
    service.allocate(event.id, 1, None)
    booking = book(event, health, camden, allocation_of(event, lambeth))
    assert booking.lscb.name == "Lambeth"


def test_a_cancelled_reserved_place_goes_back_to_its_lscb_before_the_release(
    make, health, lambeth, camden
):
    event = make.event(capacity=3)
    service.set_allocation(event.id, lambeth.id, 1)
    link = allocation_of(event, lambeth)
    holder = book(event, health, lambeth, link)
    general = [book(event, health, camden) for _ in range(2)]
    waiting_general = book(event, health, camden)
    waiting_link = book(event, health, lambeth, link)
    assert [b.status for b in (*general, waiting_general, waiting_link)] == [
        BookingStatus.confirmed,
        BookingStatus.confirmed,
        BookingStatus.waitlisted,
        BookingStatus.waitlisted,
    ]
    service.cancel(holder.id)
    # Not the longest-waiting delegate: the place is Lambeth's, and a Lambeth delegate waits.
    assert waiting_link.status == BookingStatus.confirmed
    assert waiting_general.status == BookingStatus.waitlisted


def test_a_cancelled_reserved_place_joins_the_general_pool_after_the_release(
    make, health, lambeth, camden
):
    event = make.event(capacity=2)
    release = utcnow() + timedelta(days=3)
    service.allocate(event.id, 1, release)
    link = allocation_of(event, lambeth)
    holder = book(event, health, lambeth, link)
    book(event, health, camden)
    waiting = book(event, health, camden)
    assert waiting.status == BookingStatus.waitlisted
    service.cancel(holder.id, now=release + timedelta(hours=1))
    assert waiting.status == BookingStatus.confirmed


def test_the_release_frees_unclaimed_places_exactly_once_and_promotes_in_queue_order(
    make, health, lambeth, camden
):
    event = make.event(capacity=3)
    release = utcnow() + timedelta(days=3)
    service.allocate(event.id, 1, release)
    book(event, health, lambeth, allocation_of(event, lambeth))
    book(event, health, camden)
    first, second, third = (book(event, health, camden) for _ in range(3))
    assert service.availability(event).places_left == 0

    later = release + timedelta(minutes=1)
    assert sender.run_round_jobs(later)["release held places"] == 1
    db.session.expire_all()
    assert [b.status for b in (first, second, third)] == [
        BookingStatus.confirmed,  # Camden's unclaimed place
        BookingStatus.waitlisted,
        BookingStatus.waitlisted,
    ]
    # A second sender, or the same one after a restart, sees the stamp.
    assert sender.run_round_jobs(later + timedelta(minutes=1))["release held places"] == 0
    audits = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "event.release"))
    assert [a.summary for a in audits] == [
        "Released 1 unclaimed reserved places to the general pool"
    ]


def test_a_booking_after_the_release_time_releases_lazily(make, health, lambeth, camden):
    event = make.event(capacity=2)
    release = utcnow() + timedelta(days=3)
    service.allocate(event.id, 1, release)
    book(event, health, camden)
    waiting = book(event, health, camden)
    late = book(event, health, camden, now=release + timedelta(minutes=1))
    db.session.refresh(event)
    assert event.allocations_released_at is not None
    # The delegate who waited got the released place; the late one waits.
    assert (waiting.status, late.status) == (BookingStatus.confirmed, BookingStatus.waitlisted)


def test_the_link_still_books_after_the_release_as_a_general_booking(make, health, lambeth):
    event = make.event(capacity=3)
    release = utcnow() + timedelta(days=1)
    service.allocate(event.id, 2, release)
    link = allocation_of(event, lambeth)
    after = release + timedelta(hours=1)
    offer = service.link_offer(link, after)
    assert (offer.left, offer.released) == (0, True)
    booking = book(event, health, lambeth, link, now=after)
    assert booking.status == BookingStatus.confirmed
    assert booking.allocation_id is None  # a general place: the allocation's take-up is over


def test_capacity_cannot_fall_below_confirmed_plus_held(make, health, lambeth):
    event = make.event(capacity=10)
    service.set_allocation(event.id, lambeth.id, 3)
    for _ in range(4):
        book(event, health, lambeth)
    with pytest.raises(service.CapacityTooLow, match="4 places are confirmed and 3 are held"):
        service.change_capacity(event.id, 6)
    service.change_capacity(event.id, 7)


def test_allocations_cannot_hold_more_than_the_free_places(make, health, lambeth, camden):
    event = make.event(capacity=5)
    book(event, health, lambeth)
    with pytest.raises(service.HeldPlacesError, match="only 4 of the event's 5 places"):
        service.allocate(event.id, 3, None)
    with pytest.raises(service.HeldPlacesError, match="before the event starts"):
        service.allocate(event.id, 1, event.starts_at + timedelta(hours=1))
    assert db.session.scalar(select(func.count()).select_from(Allocation)) == 0


def test_an_allocation_with_bookings_cannot_be_removed(make, health, lambeth):
    event = make.event(capacity=5)
    service.set_allocation(event.id, lambeth.id, 2)
    link = allocation_of(event, lambeth)
    book(event, health, lambeth, link)
    with pytest.raises(service.HeldPlacesError, match="Set its places to 0 instead"):
        service.remove_allocation(event.id, link.id)
    service.set_allocation(event.id, lambeth.id, 0)
    assert service.availability(event).places_left == 4


def test_an_unknown_or_other_events_link_finds_nothing(make, health, lambeth):
    event, other = make.event(), make.event()
    service.set_allocation(event.id, lambeth.id, 1)
    row = service.held_places(event).allocations[0]
    assert service.allocation_for_link(event.slug, row.token).id == row.allocation.id
    assert service.allocation_for_link(other.slug, row.token) is None
    assert service.allocation_for_link(event.slug, row.token[:-1] + "x") is None
    with pytest.raises(service.BookingRefused, match="not valid for this event"):
        service.book(other.id, details(health, lambeth), allocation_id=row.allocation.id)


# ----------------------------------------------------------------------------- sector limits


def limits(event, *rows):
    service.set_sector_limits(
        event.id,
        [service.LimitInput(sector.id, low, high, until) for sector, low, high, until in rows],
    )


def test_a_capped_sector_joins_the_waiting_list_while_general_places_are_free(
    make, social, health, lambeth
):
    event = make.event(capacity=10)
    limits(event, (social, None, 30, None))
    placed = [book(event, social, lambeth) for _ in range(4)]
    assert [b.status for b in placed].count(BookingStatus.confirmed) == 3
    availability = service.availability(event)
    assert availability.capped == ("Social care",)
    assert availability.places_left == 7
    assert book(event, health, lambeth).status == BookingStatus.confirmed


def test_promotion_skips_a_capped_sector_keeping_order_within_each_sector(
    make, social, health, lambeth
):
    event = make.event(capacity=4)
    limits(event, (social, None, 50, None))
    confirmed = [book(event, social, lambeth), book(event, social, lambeth)]
    confirmed += [book(event, health, lambeth), book(event, health, lambeth)]
    social_waiting = [book(event, social, lambeth), book(event, social, lambeth)]
    health_waiting = book(event, health, lambeth)
    reasons = service.waiting_reasons(event)
    assert reasons[social_waiting[0].id].startswith("Passed over while Social care is at its cap")

    service.cancel(confirmed[2].id)  # a health place frees: social care is at its cap
    assert health_waiting.status == BookingStatus.confirmed
    assert [b.status for b in social_waiting] == [BookingStatus.waitlisted] * 2

    service.cancel(confirmed[0].id)  # a social care place frees: the first of them gets it
    assert [b.status for b in social_waiting] == [BookingStatus.confirmed, BookingStatus.waitlisted]


def test_a_floor_holds_places_for_its_sector_until_its_date(make, police, health, lambeth):
    event = make.event(capacity=10)
    until = utcnow() + timedelta(days=5)
    limits(event, (police, 20, None, until))
    assert service.availability(event).places_left == 8
    general = [book(event, health, lambeth) for _ in range(9)]
    assert [b.status for b in general].count(BookingStatus.confirmed) == 8
    assert book(event, police, lambeth).status == BookingStatus.confirmed  # a floor place
    # After the floor's date its unclaimed place is general, and the sender promotes into it.
    assert service.availability(event, until + timedelta(minutes=1)).places_left == 1
    sender.run_round_jobs(until + timedelta(minutes=1))
    db.session.expire_all()
    assert general[8].status == BookingStatus.confirmed


def test_sector_limits_are_validated(make, police, social, health, lambeth):
    event = make.event(capacity=10)
    with pytest.raises(service.HeldPlacesError, match="floor cannot be above the cap"):
        limits(event, (police, 40, 30, None))
    with pytest.raises(service.HeldPlacesError, match="add up to 110%"):
        limits(event, (police, 60, None, None), (social, 50, None, None))
    with pytest.raises(service.HeldPlacesError, match="0 to 100"):
        limits(event, (police, None, 101, None))
    for _ in range(3):
        book(event, social, lambeth)
    with pytest.raises(service.HeldPlacesError, match="already has 3 confirmed places"):
        limits(event, (social, None, 20, None))
    limits(event, (social, None, 30, None))
    limits(event, (social, None, None, None))  # an empty row removes the limit
    assert service.held_places(event).limits == []


def test_the_cap_also_binds_a_link_booking(make, social, lambeth):
    event = make.event(capacity=10)
    service.set_allocation(event.id, lambeth.id, 3)
    limits(event, (social, None, 10, None))
    link = allocation_of(event, lambeth)
    assert book(event, social, lambeth, link).status == BookingStatus.confirmed
    assert book(event, social, lambeth, link).status == BookingStatus.waitlisted


# ----------------------------------------------------------------------------- the API


def test_the_api_shows_allocations_and_sector_limits_without_tokens(client, make, police, lambeth):
    event = make.event(capacity=10)
    release = utcnow() + timedelta(days=3)
    service.allocate(event.id, 2, release)
    limits(event, (police, 10, 40, release))
    token = service.held_places(event).allocations[0].token
    response = client.get(f"/api/events/{event.slug}")
    data = response.get_json()
    assert data["allocations"] == [
        {
            "lscb": "Lambeth",
            "reserved": 2,
            "taken": 0,
            "release_at": data["allocations"][0]["release_at"],
        }
    ]
    assert data["allocations"][0]["release_at"].startswith(release.strftime("%Y-%m-%d"))
    assert data["sector_limits"] == [
        {
            "sector": "Police",
            "min_percent": 10,
            "max_percent": 40,
            "until": data["sector_limits"][0]["until"],
        }
    ]
    assert data["places_left"] == 7
    assert token not in response.text


# ------------------------------------------------------------------ racing, with own sessions


def test_two_senders_racing_the_release_release_once(app, make, health, lambeth, camden):
    """Threads with their own sessions, as two sender processes would be."""
    event = make.event(capacity=3)
    release = utcnow() + timedelta(days=2)
    service.allocate(event.id, 1, release)
    book(event, health, camden)
    waiting = [book(event, health, camden) for _ in range(3)]
    later = release + timedelta(minutes=1)
    results: list[int] = []
    barrier = threading.Barrier(3)

    def run_sender() -> None:
        with app.app_context():
            barrier.wait()
            results.append(sender.run_round_jobs(later).get("release held places", 0))
            db.session.remove()

    def run_cancel() -> None:
        with app.app_context():
            barrier.wait()
            service.cancel(waiting[2].id, now=later)
            db.session.remove()

    threads = [threading.Thread(target=run_sender) for _ in range(2)]
    threads.append(threading.Thread(target=run_cancel))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.expire_all()
    assert sum(results) <= 1
    audits = db.session.scalar(select(func.count()).where(AuditEntry.action == "event.release"))
    assert audits == 1
    assert statuses(event) == {"confirmed": 3, "cancelled": 1}


# ----------------------------------------------------------------------------- pages


def test_the_allocations_page_holds_places_shows_links_and_refuses_clearly(
    client, login, make, health, lambeth, camden
):
    login()
    event = make.event(capacity=10)
    page = f"/manage/events/{event.id}/allocations"
    assert client.get(page).status_code == 200
    refused = client.post(page, data={"places": "6", "release_date": "", "release_time": ""})
    assert refused.status_code == 422
    assert "That would hold 12 places, but only 10" in refused.text
    done = client.post(
        page,
        data={
            "places": "2",
            "release_date": event.starts_at.date().isoformat(),
            "release_time": "",
        },
    )
    assert done.status_code == 302
    shown = client.get(page).text
    token = service.held_places(event).allocations[0].token
    assert f"/events/{event.slug}/lscb/{token}" in shown
    assert "Held 2 places for each of 2 LSCBs" in shown  # the audit entry

    one = client.post(f"{page}/lscb", data={"lscb": str(camden.id), "reserved": "3"})
    assert one.status_code == 302
    assert allocation_of(event, camden).reserved == 3
    camden_allocation = allocation_of(event, camden)
    removed = client.post(f"{page}/{camden_allocation.id}/remove")
    assert removed.status_code == 302
    assert allocation_of(event, camden) is None


def test_the_sector_limits_page_saves_and_explains_refusals(
    client, login, make, police, social, lambeth
):
    login()
    event = make.event(capacity=20)
    page = f"/manage/events/{event.id}/sector-limits"
    assert client.get(page).status_code == 200
    refused = client.post(page, data={f"min_{police.id}": "50", f"max_{police.id}": "20"})
    assert refused.status_code == 422
    assert "Police: the floor cannot be above the cap." in refused.text
    saved = client.post(page, data={f"min_{police.id}": "10", f"max_{social.id}": "35"})
    assert saved.status_code == 302
    assert {
        (limit.sector.name, limit.min_percent, limit.max_percent)
        for limit in service.held_places(event).limits
    } == {
        ("Police", 10, None),
        ("Social care", None, 35),
    }


def test_the_event_page_tells_a_capped_sector_before_they_book(
    client, make, social, police, lambeth
):
    event = make.event(capacity=10)
    limits(event, (social, None, 10, None), (police, 20, None, None))
    book(event, social, lambeth)
    page = client.get(f"/events/{event.slug}").text
    assert "Social care places are full: bookings from social care join the waiting list" in page
    assert "2 places are held for police: bookings from police can take them" in page


def test_the_lscb_link_books_with_its_lscb_and_a_guessed_one_is_a_404(
    client, make, health, lambeth, camden
):
    event = make.event(capacity=10)
    release = utcnow() + timedelta(days=2)
    service.allocate(event.id, 2, release)
    row = next(
        r for r in service.held_places(event).allocations if r.allocation.lscb_id == lambeth.id
    )
    url = f"/events/{event.slug}/lscb/{row.token}"
    page = client.get(url)
    assert page.status_code == 200
    assert "2 places are held for Lambeth" in page.text
    assert 'name="lscb"' not in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert client.get(f"/events/{event.slug}/lscb/{row.token[:-2]}ab").status_code == 404

    posted = client.post(
        url,
        data={
            "name": "Ruth Adeyemi",
            "email": "ruth@example.org",
            "organisation": "Lambeth Council",
            "job_title": "Social worker",
            "sector": str(health.id),
            "privacy": "y",
        },
    )
    assert posted.status_code == 303
    booking = db.session.scalar(select(Booking))
    assert (booking.lscb.name, booking.allocation_id) == ("Lambeth", row.allocation.id)
    assert "1 place is held for Lambeth" in client.get(url).text


def test_the_cancel_preview_names_who_would_really_get_the_place(make, social, health, lambeth):
    event = make.event(capacity=2)
    limits(event, (social, None, 50, None))
    social_holder, health_holder = book(event, social, lambeth), book(event, health, lambeth)
    book(event, social, lambeth)  # waits longest, but social care is at its cap
    health_waiting = book(event, health, lambeth)
    assert service.cancellation(health_holder).next_in_line.id == health_waiting.id
    assert service.cancellation(social_holder).next_in_line.sector_id == social.id


def test_capacity_counts_a_floor_at_the_new_capacity(make, police, health, lambeth):
    event = make.event(capacity=10)
    limits(event, (police, 50, None, None))
    for _ in range(4):
        book(event, health, lambeth)
    # At 8 places the floor holds 4 for police: 4 confirmed + 4 held fit, 7 would not.
    with pytest.raises(service.CapacityTooLow, match="capacity cannot go below 8"):
        service.change_capacity(event.id, 7)
    service.change_capacity(event.id, 8)


def test_the_lscb_link_checks_its_own_csrf_token(csrf_app):
    from tests.conftest import Factory

    make = Factory()
    health, lambeth = make.sector("Health"), make.lscb("Lambeth")
    event = make.event()
    service.set_allocation(event.id, lambeth.id, 1)
    url = f"/events/{event.slug}/lscb/{service.held_places(event).allocations[0].token}"
    client = csrf_app.test_client()
    form = {
        "name": "Jan Pearson",
        "email": "jan@example.org",
        "organisation": "Lambeth",
        "job_title": "Nurse",
        "sector": str(health.id),
        "privacy": "y",
    }
    assert client.post(url, data=form).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    page = client.get(url).text
    form["csrf_token"] = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    assert client.post(url, data=form).status_code == 303


def test_an_override_never_takes_a_place_held_for_an_lscb(make, health, lambeth, camden):
    event = make.event(capacity=3)
    service.set_allocation(event.id, lambeth.id, 1)
    book(event, health, camden)
    book(event, health, camden)
    waiting = book(event, health, camden)
    booking, raised = service.confirm_with_override(waiting.id, "The speaker's colleague")
    assert (booking.status, raised) == (BookingStatus.confirmed, True)
    db.session.refresh(event)
    assert event.capacity == 4
    assert service.held_places(event).allocations[0].left == 1


def test_allocations_cannot_change_once_their_release_time_has_passed(make, lambeth):
    event = make.event(capacity=5)
    release = utcnow() + timedelta(days=1)
    service.allocate(event.id, 1, release)
    with pytest.raises(service.HeldPlacesError, match="were released on"):
        service.set_allocation(event.id, lambeth.id, 2, now=release + timedelta(minutes=1))
    assert allocation_of(event, lambeth).reserved == 1


def test_neither_a_smaller_capacity_nor_an_override_takes_a_sector_past_its_cap(
    make, social, health, lambeth
):
    event = make.event(capacity=10)
    service.set_sector_limits(event.id, [service.LimitInput(social.id, None, 50, None)])
    for _ in range(5):
        assert book(event, social, lambeth).status == BookingStatus.confirmed
    waiting = book(event, social, lambeth)
    assert waiting.status == BookingStatus.waitlisted

    # 5 social-care places are half of 10, but more than half of 8.
    with pytest.raises(service.CapacityTooLow, match="Social care already has 5 confirmed"):
        service.change_capacity(event.id, 8)
    # At 12 places the cap is 6: the waiting one gets the sixth.
    assert [b.id for b in service.change_capacity(event.id, 12)] == [waiting.id]
    waiting = book(event, social, lambeth)
    assert waiting.status == BookingStatus.waitlisted

    with pytest.raises(service.CapOverrun, match="Social care is at its cap"):
        service.confirm_with_override(waiting.id, "A speaker's colleague")
    db.session.refresh(waiting)
    assert waiting.status == BookingStatus.waitlisted
    confirmed_social = db.session.scalar(
        select(func.count(Booking.id)).where(
            Booking.event_id == event.id,
            Booking.sector_id == social.id,
            Booking.status == BookingStatus.confirmed,
        )
    )
    assert confirmed_social == 6


def test_an_event_cannot_move_to_before_its_release(make, lambeth):
    from bookings.events import service as events
    from bookings.events.models import Event

    event = make.event(capacity=10)
    release = event.starts_at - timedelta(days=7)
    service.allocate(event.id, 2, release)
    db.session.refresh(event)
    earlier = event.starts_at - timedelta(days=8)
    data = events.EventData(
        title=event.title,
        slug=event.slug,
        kind=event.kind,
        summary=event.summary,
        description=event.description,
        notes=event.notes,
        starts_at=earlier,
        ends_at=earlier + (event.ends_at - event.starts_at),
        venue_id=event.venue_id,
        booking_opens_at=event.booking_opens_at,
        booking_closes_at=event.booking_closes_at,
        series=event.series,
        host_network_id=event.host_network_id,
    )
    with pytest.raises(events.EventChangeRefused, match="Change the release time"):
        events.update_event(event.id, data, event.version, notify_delegates=False)
    db.session.expire_all()
    assert db.session.get(Event, event.id).starts_at == release + timedelta(days=7)
