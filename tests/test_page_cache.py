"""Public pages are kept rendered, yet every change shows on the next request, and nothing of
one visitor's own (their CSRF token, their messages, being signed in) reaches another."""

from __future__ import annotations

import re

import pytest
from flask import g
from sqlalchemy import func, select

from bookings.booking import service
from bookings.booking.models import Booking
from bookings.db import db, unit_of_work
from bookings.events.models import Event, EventStatus, ProgrammeSlot, SlotKind, Speaker
from tests.conftest import Factory
from tests.test_booking import details, form_data

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def sector(make):
    return make.sector("Health")


def _places(page: str) -> str:
    return re.search(r"<strong>(\d+ places? left)</strong>", page)[1]


def _edit(event_id: int, **values) -> None:
    with unit_of_work():
        event = db.session.get(Event, event_id)
        for name, value in values.items():
            setattr(event, name, value)


def test_a_booking_changes_places_left_on_the_next_request(client, make, sector):
    event = make.event(capacity=3)
    page = f"/events/{event.slug}"
    assert _places(client.get(page).text) == "3 places left"
    assert _places(client.get(page).text) == "3 places left"  # kept
    assert client.post(f"{page}/book", data=form_data(sector)).status_code == 303
    after = client.get(page).text
    assert _places(after) == "2 places left"
    assert re.search(r'<p class="badge badge-open">2 places left</p>', after)
    service.book(event.id, details(sector, 2))
    service.book(event.id, details(sector, 3))
    body = client.get(page).text
    assert "This event is full" in body
    assert "Join the waiting list" in body
    listed = client.get("/events").text
    assert "Full" in listed


def test_the_events_list_shows_places_left_as_they_change(client, make, sector):
    event = make.event(capacity=2)
    before = client.get("/events").text
    service.book(event.id, details(sector, 1))
    after = client.get("/events").text
    assert before != after
    assert "1 place left" in after or "1 left" in after


def test_a_renamed_event_changes_its_page_the_lists_and_the_feed(client, make):
    event = make.event(title="Neglect and the first year")
    for url in (f"/events/{event.slug}", "/events", "/", "/feeds/all.ics"):
        assert "Neglect and the first year" in client.get(url).text, url
    _edit(event.id, title="Neglect in the first year of life")
    for url in (f"/events/{event.slug}", "/events", "/", "/feeds/all.ics"):
        body = client.get(url).text
        assert "Neglect in the first year of life" in body, url
        assert "Neglect and the first year" not in body, url


def test_a_programme_change_shows_on_the_event_page(client, make):
    event = make.event()
    page = f"/events/{event.slug}"
    assert "Keynote" not in client.get(page).text
    with unit_of_work():
        slot = ProgrammeSlot(
            event_id=event.id,
            title="Keynote",
            kind=SlotKind.talk,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
        )
        db.session.add(slot)
    assert "Keynote" in client.get(page).text
    with unit_of_work():
        slot = db.session.scalar(select(ProgrammeSlot).where(ProgrammeSlot.event_id == event.id))
        slot.speakers.append(Speaker(name="Dr Ada Lovelace", organisation="UCL", position=1))
    assert "Dr Ada Lovelace" in client.get(page).text


def test_a_cancelled_or_unpublished_event_shows_at_once(client, make):
    event = make.event()
    page = f"/events/{event.slug}"
    assert client.get(page).status_code == 200
    _edit(event.id, status=EventStatus.cancelled)
    assert "This event has been cancelled" in client.get(page).text
    _edit(event.id, status=EventStatus.draft)
    assert client.get(page).status_code == 404


def test_an_unchanged_page_answers_304_and_a_changed_one_200(client, make, sector):
    event = make.event(capacity=5)
    page = f"/events/{event.slug}"
    first = client.get(page)
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert "Cookie" in first.headers["Vary"]
    etag = first.headers["ETag"]
    again = client.get(page, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    service.book(event.id, details(sector, 1))
    changed = client.get(page, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert _places(changed.text) == "4 places left"
    listed = client.get("/events")
    assert (
        client.get("/events", headers={"If-None-Match": listed.headers["ETag"]}).status_code == 304
    )


def test_no_304_while_a_message_waits_to_be_shown(client, make, sector):
    event = make.event()
    page = f"/events/{event.slug}"
    etag = client.get(page).headers["ETag"]
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Your change was saved.")]
    response = client.get(page, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert "Your change was saved." in response.text


def _fresh_token_per_request(app) -> None:
    """The fixture's app context outlives requests, so Flask-WTF's per-request copy of the
    token (in ``g``) would be shared by every client; in production each request has its own."""

    @app.after_request
    def forget(response):
        g.pop("csrf_token", None)
        return response


def test_each_visitor_gets_their_own_valid_csrf_token(csrf_app):
    _fresh_token_per_request(csrf_app)
    make = Factory()
    sector = make.sector("Police")
    event = make.event()
    page = f"/events/{event.slug}"
    first, second = csrf_app.test_client(), csrf_app.test_client()
    token_1 = TOKEN.search(first.get(page).text)[1]
    token_2 = TOKEN.search(second.get(page).text)[1]  # the kept page, another session
    assert token_1 != token_2
    assert first.get(page).headers["ETag"] != second.get(page).headers["ETag"]
    # One visitor's token is no good in another's session, and each one's own is.
    stolen = second.post(
        f"{page}/book", data=form_data(sector, email="a@example.org", csrf_token=token_1)
    )
    assert stolen.status_code in (400, 422)
    for client, token, email in ((first, token_1, "a@example.org"), (second, token_2, "b@x.org")):
        response = client.post(
            f"{page}/book", data=form_data(sector, email=email, csrf_token=token)
        )
        assert response.status_code == 303
    assert db.session.scalar(select(func.count(Booking.id))) == 2


def test_a_signed_in_organiser_never_gets_a_visitors_page(csrf_app):
    _fresh_token_per_request(csrf_app)
    make = Factory()
    sector = make.sector("Police")
    event = make.event(capacity=4)
    page = f"/events/{event.slug}"
    visitor = csrf_app.test_client()
    visitor_page = visitor.get(page)
    assert "Log out" not in visitor_page.text

    organiser = csrf_app.test_client()
    user = make.organiser()
    login_page = organiser.get("/login").text
    token = TOKEN.search(login_page) or re.search(r'name="csrf_token" value="([^"]+)"', login_page)
    signed_in = organiser.post(
        "/login",
        data={"email": user.email, "password": "correct horse battery", "csrf_token": token[1]},
    )
    assert signed_in.status_code == 302
    response = organiser.get(page, headers={"If-None-Match": visitor_page.headers["ETag"]})
    assert response.status_code == 200
    assert "Log out" in response.text
    service.book(event.id, details(sector, 1))
    fresh = organiser.get(page)
    assert _places(fresh.text) == "3 places left"
    booked = organiser.post(
        f"{page}/book", data=form_data(sector, csrf_token=TOKEN.search(fresh.text)[1])
    )
    assert booked.status_code == 303
    assert "Log out" not in visitor.get(page).text


def test_a_changed_venue_or_event_shows_in_a_feed_already_built(client, make):
    from bookings.events.models import Venue

    first = make.event(title="Private fostering")
    second = make.event(title="Missing children")
    body = client.get("/feeds/all.ics").text
    assert "Private fostering" in body and "Missing children" in body
    with unit_of_work():
        db.session.get(Venue, second.venue_id).name = "Friends House"
    assert "Friends House" in client.get("/feeds/all.ics").text
    _edit(first.id, title="Private fostering: the law")
    body = client.get("/feeds/all.ics").text
    assert "Private fostering: the law" in body
    assert "Friends House" in body
    assert body.count("BEGIN:VEVENT") == 2
