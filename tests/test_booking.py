"""Booking rules (service) and the delegate's pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bookings.booking import service
from bookings.booking.models import Booking, BookingStatus
from bookings.db import OutsideUnitOfWork, db, unit_of_work, utcnow
from bookings.events.models import EventStatus
from bookings.mail.models import OutboxMessage
from bookings.mail.outbox import render
from tests.conftest import default_lscb, form_lscb


def details(sector, n: int = 1, **kw) -> service.DelegateDetails:
    return service.DelegateDetails(
        name=kw.pop("name", f"Delegate {n}"),
        email=kw.pop("email", f"delegate{n}@example.org"),
        organisation=kw.pop("organisation", "Barnet Council"),
        job_title=kw.pop("job_title", "Social worker"),
        sector_id=sector.id,
        lscb_id=default_lscb().id,
        **kw,
    )


def outbox_kinds(booking_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(OutboxMessage.kind)
            .where(OutboxMessage.booking_id == booking_id)
            .order_by(OutboxMessage.id)
        )
    )


@pytest.fixture
def sector(make):
    return make.sector("Health")


# ----------------------------------------------------------------------------- rules


def test_places_fill_then_the_waiting_list_takes_arrivals_in_order(make, sector):
    event = make.event(capacity=2)
    placed = [service.book(event.id, details(sector, n)) for n in range(1, 6)]
    statuses = [p.booking.status for p in placed]
    assert statuses == [BookingStatus.confirmed] * 2 + [BookingStatus.waitlisted] * 3
    assert [service.waiting_position(p.booking) for p in placed[2:]] == [1, 2, 3]
    a = service.availability(event)
    assert (a.confirmed, a.waitlisted, a.places_left, a.state) == (2, 3, 0, "full")
    assert outbox_kinds(placed[0].booking.id) == ["confirmed"]
    assert outbox_kinds(placed[3].booking.id) == ["waitlisted"]


def test_cancelling_a_place_promotes_the_longest_waiting_once(make, sector):
    event = make.event(capacity=1)
    first, second, third = (service.book(event.id, details(sector, n)) for n in (1, 2, 3))
    service.cancel(first.booking.id)
    db.session.expire_all()
    assert first.booking.status == BookingStatus.cancelled
    assert second.booking.status == BookingStatus.confirmed
    assert third.booking.status == BookingStatus.waitlisted
    assert service.waiting_position(third.booking) == 1
    assert outbox_kinds(first.booking.id) == ["confirmed", "cancelled"]
    assert outbox_kinds(second.booking.id) == ["waitlisted", "promoted"]
    # Cancelling again changes nothing and promotes nobody else.
    service.cancel(first.booking.id)
    db.session.expire_all()
    assert third.booking.status == BookingStatus.waitlisted
    assert outbox_kinds(first.booking.id) == ["confirmed", "cancelled"]


def test_cancelling_from_the_waiting_list_frees_no_place(make, sector):
    event = make.event(capacity=1)
    service.book(event.id, details(sector, 1))
    waiting = service.book(event.id, details(sector, 2))
    last = service.book(event.id, details(sector, 3))
    service.cancel(waiting.booking.id)
    db.session.expire_all()
    assert last.booking.status == BookingStatus.waitlisted
    assert service.waiting_position(last.booking) == 1


def test_raising_capacity_promotes_in_order_and_lowering_stops_at_confirmed(make, sector):
    event = make.event(capacity=1)
    placed = [service.book(event.id, details(sector, n)) for n in range(1, 5)]
    promoted = service.change_capacity(event.id, 3)
    assert [b.id for b in promoted] == [placed[1].booking.id, placed[2].booking.id]
    assert service.availability(event).confirmed == 3
    with pytest.raises(service.CapacityTooLow, match="3 places are already confirmed"):
        service.change_capacity(event.id, 2)
    assert service.availability(event).capacity == 3


def test_one_active_booking_per_address_per_event(make, sector):
    event = make.event()
    first = service.book(event.id, details(sector, 1, email="Jan.Pearson@example.org"))
    with pytest.raises(service.AlreadyBooked):
        service.book(event.id, details(sector, 2, email="  jan.pearson@EXAMPLE.org "))
    assert db.session.scalar(select(func.count(Booking.id))) == 1
    service.cancel(first.booking.id)
    again = service.book(event.id, details(sector, 3, email="jan.pearson@example.org"))
    assert again.booking.status == BookingStatus.confirmed
    # Another event is a separate booking.
    other = make.event()
    service.book(other.id, details(sector, 4, email="jan.pearson@example.org"))


def test_the_event_lock_is_refused_outside_a_unit_of_work(make):
    """Outside a unit the lock would end at the next stray commit, before the change it
    guards is written."""
    event = make.event()
    with pytest.raises(OutsideUnitOfWork):
        service.lock_event(event.id)
    with unit_of_work():
        assert service.lock_event(event.id).id == event.id


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"status": EventStatus.draft}, "not published"),
        ({"status": EventStatus.cancelled}, "cancelled"),
        ({"booking_opens_at": utcnow() + timedelta(days=3)}, "not opened yet"),
        ({"booking_closes_at": utcnow() - timedelta(hours=1)}, "closed"),
        ({"starts_at": utcnow() - timedelta(minutes=5)}, "already started"),
    ],
)
def test_no_booking_unless_the_event_is_open(make, sector, change, reason):
    event = make.event(**change)
    with pytest.raises(service.BookingRefused, match=reason):
        service.book(event.id, details(sector))
    assert db.session.scalar(select(func.count(Booking.id))) == 0
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_retired_sectors_are_not_offered_or_accepted(make):
    retired = make.sector("Olympics liaison", retired=True)
    event = make.event()
    with pytest.raises(service.BookingRefused):
        service.book(event.id, details(retired))
    assert retired not in service.active_sectors()


def test_references_are_short_and_unambiguous_and_tokens_are_long(make, sector):
    event = make.event(capacity=40)
    placed = [service.book(event.id, details(sector, n)) for n in range(30)]
    for p in placed:
        assert re.fullmatch(r"[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}", p.booking.reference)
        assert len(p.token) >= 22  # 128 bits in base64url
        assert p.token not in (p.booking.token_hash, p.booking.token_salt)
        assert service.booking_for_token(p.token).id == p.booking.id
    assert len({p.booking.reference for p in placed}) == 30
    token = placed[0].token
    tampered = token[:-1] + ("B" if token.endswith("A") else "A")
    assert tampered != token
    assert service.booking_for_token(tampered) is None
    assert service.booking_for_token("") is None


# ----------------------------------------------------------------------------- pages


def form_data(sector_, **kw) -> dict[str, str]:
    data = {
        "name": "Sally Jones",
        "email": "sally.jones@example.org",
        "organisation": "Greenwich PCT",
        "job_title": "Director of Children's Services",
        "sector": str(sector_.id),
        "lscb": form_lscb(),
        "dietary_needs": "Vegetarian",
        "access_needs": "",
        "privacy": "y",
    }
    data.update(kw)
    return data


def test_event_page_shows_places_left_and_the_form(client, make, sector):
    event = make.event(capacity=12)
    page = client.get(f"/events/{event.slug}").text
    assert "12 places left" in page
    assert 'id="booking-form"' in page
    assert "Health" in page


def test_booking_through_the_page_confirms_and_shows_the_reference(client, make, sector):
    event = make.event(capacity=3, title="Child sexual abuse seminar")
    response = client.post(f"/events/{event.slug}/book", data=form_data(sector))
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Your place is booked" in page.text
    booking = db.session.scalar(select(Booking))
    assert booking.reference in page.text
    assert booking.dietary_needs == "Vegetarian"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    event_page = client.get(f"/events/{event.slug}").text
    assert "2 places left" in event_page
    assert '<a class="button" href="#book">Book a place</a>' in event_page


def test_a_full_event_puts_the_delegate_on_the_waiting_list_with_a_position(client, make, sector):
    event = make.event(capacity=1)
    client.post(f"/events/{event.slug}/book", data=form_data(sector, email="a@example.org"))
    page = client.get(f"/events/{event.slug}").text
    assert '<a class="button" href="#book">Join the waiting list</a>' in page
    response = client.post(
        f"/events/{event.slug}/book", data=form_data(sector, email="b@example.org")
    )
    page = client.get(response.headers["Location"]).text
    assert "You are on the waiting list" in page
    assert "number 1" in page


def test_bad_input_is_shown_next_to_each_field_and_kept(client, make, sector):
    event = make.event()
    response = client.post(
        f"/events/{event.slug}/book",
        data=form_data(sector, name="", email="not-an-address", sector="-1", privacy=""),
    )
    assert response.status_code == 422
    page = response.text
    assert "There is a problem" in page
    assert page.count("Enter your full name.") == 2  # summary and field
    assert "Enter an e-mail address like name@example.org." in page
    assert "Choose the sector you work in." in page
    assert "Please agree to the privacy notice" in page
    assert 'value="Greenwich PCT"' in page
    assert 'value="not-an-address"' in page
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_over_long_fields_are_refused_not_truncated(client, make, sector):
    event = make.event()
    response = client.post(
        f"/events/{event.slug}/book", data=form_data(sector, organisation="x" * 201)
    )
    assert response.status_code == 422
    assert "at most 200 characters" in response.text
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_booking_a_cancelled_or_past_event_says_why(client, make, sector):
    cancelled = make.event(status=EventStatus.cancelled)
    past = make.event(starts_at=utcnow() - timedelta(days=2))
    page = client.post(f"/events/{cancelled.slug}/book", data=form_data(sector))
    assert page.status_code == 409
    assert "This event has been cancelled." in page.text
    page = client.post(f"/events/{past.slug}/book", data=form_data(sector))
    assert "already started" in page.text
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_a_second_booking_offers_to_resend_the_link(client, make, sector):
    event = make.event()
    client.post(f"/events/{event.slug}/book", data=form_data(sector))
    again = client.post(f"/events/{event.slug}/book", data=form_data(sector, name="Someone"))
    assert again.status_code == 409
    assert "E-mail me my booking link" in again.text
    assert "Sally Jones" not in again.text
    assert db.session.scalar(select(func.count(Booking.id))) == 1


def test_manage_link_updates_needs_and_cancels_with_confirmation(client, make, sector):
    event = make.event(capacity=1)
    mine = service.book(event.id, details(sector, 1))
    waiting = service.book(event.id, details(sector, 2))
    url = f"/bookings/{mine.token}"
    saved = client.post(f"{url}/needs", data={"dietary_needs": "Halal", "access_needs": "Ramp"})
    assert saved.status_code == 303
    page = client.get(url).text
    assert "Halal" in page and "Ramp" in page
    confirm = client.get(f"{url}/cancel")
    assert "Yes, cancel my booking" in confirm.text
    assert service.booking_for_token(mine.token).status == BookingStatus.confirmed
    done = client.post(f"{url}/cancel")
    assert done.status_code == 303
    assert "Cancelled" in client.get(url).text
    db.session.expire_all()
    assert waiting.booking.status == BookingStatus.confirmed


def test_needs_cannot_change_on_a_cancelled_booking_or_after_the_event(client, make, sector):
    event = make.event()
    placed = service.book(event.id, details(sector, dietary_needs="None"))
    service.cancel(placed.booking.id)
    page = client.post(
        f"/bookings/{placed.token}/needs", data={"dietary_needs": "Vegan"}, follow_redirects=True
    )
    assert "This booking is cancelled" in page.text
    db.session.expire_all()
    assert db.session.get(Booking, placed.booking.id).dietary_needs == "None"

    other = service.book(make.event(slug="later").id, details(sector, 2))
    after = other.booking.event.ends_at + timedelta(minutes=1)
    with pytest.raises(service.BookingRefused, match="has taken place"):
        service.update_needs(other.booking, "Vegan", "", now=after)


def test_unknown_or_guessed_manage_tokens_get_404(client, make, sector):
    event = make.event()
    placed = service.book(event.id, details(sector))
    for token in ("nope", placed.token[:-2], placed.booking.token_hash, placed.booking.reference):
        assert client.get(f"/bookings/{token}").status_code == 404
        assert client.post(f"/bookings/{token}/cancel").status_code == 404


def test_lost_link_page_says_the_same_for_known_and_unknown_addresses(client, make, sector):
    event = make.event()
    placed = service.book(event.id, details(sector, email="known@example.org"))
    known = client.post("/bookings/lost-link", data={"email": "known@example.org"})
    unknown = client.post("/bookings/lost-link", data={"email": "stranger@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("known@", "X@") == unknown.text.replace("stranger@", "X@")
    links = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "links")).all()
    assert [m.recipient for m in links] == ["known@example.org"]
    # The e-mail carries the link the delegate already had, which goes on working: a
    # stranger asking for it cannot stop it.
    sent = re.search(r"/bookings/([A-Za-z0-9_-]{20,})", render(links[0]).body_text).group(1)
    assert sent == placed.token
    assert client.get(f"/bookings/{placed.token}").status_code == 200


def test_a_forged_host_cannot_have_a_manage_link_mailed_pointing_elsewhere(client, make, sector):
    service.book(make.event().id, details(sector, email="known@example.org"))
    forged = client.post(
        "/bookings/lost-link",
        data={"email": "known@example.org"},
        headers={"Host": "evil.example.com"},
    )
    assert forged.status_code == 400
    links = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "links")).all()
    assert links == []


def test_lost_link_requests_are_rate_limited(database_url, tmp_path):
    from bookings.extensions import limiter
    from tests.conftest import make_app

    app = make_app(database_url, tmp_path, RATELIMIT_ENABLED=True)
    with app.app_context():
        db.create_all()
        limiter.reset()
        client = app.test_client()
        answers = [
            client.post("/bookings/lost-link", data={"email": f"x{n}@example.org"}).status_code
            for n in range(6)
        ]
        assert answers == [200] * 5 + [429]
        assert (
            "Please wait a few minutes"
            in client.post("/bookings/lost-link", data={"email": "y@example.org"}).text
        )
        assert client.get("/bookings/lost-link").status_code == 200
        limiter.reset()
        # The requests shared this app context, so their session is still open: end it first.
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_forged_or_missing_csrf_tokens_are_refused(csrf_app):
    from tests.conftest import Factory

    make = Factory()
    sector = make.sector("Police")
    event = make.event()
    client = csrf_app.test_client()
    response = client.post(f"/events/{event.slug}/book", data=form_data(sector))
    assert response.status_code in (400, 422)
    forged = client.post(f"/events/{event.slug}/book", data=form_data(sector, csrf_token="forged"))
    assert forged.status_code in (400, 422)
    assert db.session.scalar(select(func.count(Booking.id))) == 0
    page = client.get(f"/events/{event.slug}").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    ok = client.post(f"/events/{event.slug}/book", data=form_data(sector, csrf_token=token))
    assert ok.status_code == 303


# ----------------------------------------------------------------------------- JSON


def test_api_lists_availability_without_personal_data(client, make, sector):
    event = make.event(capacity=2, title="Train the trainer")
    service.book(event.id, details(sector, 1, name="Private Person"))
    body = client.get("/api/events").get_json()
    (listed,) = body["events"]
    assert listed["slug"] == event.slug
    assert (listed["capacity"], listed["confirmed"], listed["places_left"]) == (2, 1, 1)
    assert listed["booking_open"] is True
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", listed["starts_at"])
    single = client.get(f"/api/events/{event.slug}").get_json()
    assert single["programme"] == []
    assert "Private Person" not in client.get("/api/events").text
    assert "delegate1@example.org" not in client.get(f"/api/events/{event.slug}").text
    assert client.get("/api/events/nothing").status_code == 404
    assert client.get("/api/events?kind=party").status_code == 400
