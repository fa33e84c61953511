"""Public pages kept for a second (bookings/web/kept.py): every visitor still gets their own
CSRF token, any change shows once the kept time is over, each filter of the events list is a
page of its own, made-up query strings add no pages, and nothing that belongs to one visitor
(a flashed message, an organiser's menu) is kept."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from bookings.booking import service
from bookings.db import db
from bookings.events.models import Event, EventKind
from bookings.web import kept
from tests.test_booking import details, form_data

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
KEPT_FOR = 1.0


@pytest.fixture
def keep(app):
    """The keep switched on as in production (the tests' default is off)."""
    app.config["PUBLIC_PAGES_KEPT_SECONDS"] = KEPT_FOR
    return app.extensions[kept.KEY]


@pytest.fixture
def sector(make):
    return make.sector("Health")


@pytest.fixture
def later(monkeypatch):
    """Move the keep's clock on by some seconds, as the time between two visits."""
    moved = [0.0]
    real = kept.clock
    monkeypatch.setattr(kept, "clock", lambda: real() + moved[0])

    def _later(seconds: float) -> None:
        moved[0] += seconds

    return _later


def elsewhere(event_id: int, **values) -> None:
    """A change committed by another worker: its own connection, not this app's session."""
    with db.engine.begin() as connection:
        connection.execute(update(Event).where(Event.id == event_id).values(**values))
    # A worker's next request has a session of its own; the tests' requests share one.
    db.session.remove()


def test_each_visitor_books_with_their_own_token_from_a_kept_page(csrf_app):
    from tests.conftest import Factory

    csrf_app.config["PUBLIC_PAGES_KEPT_SECONDS"] = KEPT_FOR
    make = Factory()
    sector = make.sector("Police")
    event = make.event(capacity=5)
    slug = event.slug
    first, second = csrf_app.test_client(), csrf_app.test_client()
    rendered = first.get(f"/events/{slug}")
    first_token = TOKEN.search(rendered.text)[1]
    elsewhere(event.id, capacity=9)
    from_keep = second.get(f"/events/{slug}")
    assert "5 places left" in from_keep.text, "the second visitor was answered from the keep"
    second_token = TOKEN.search(from_keep.text)[1]
    assert second_token != first_token
    assert "\x00" not in from_keep.text
    for response in (rendered, from_keep):  # a proxy must not keep a visitor's token
        assert response.headers["Cache-Control"] == "private, no-cache"
    stolen = second.post(f"/events/{slug}/book", data=form_data(sector, csrf_token=first_token))
    assert stolen.status_code in (400, 422), "one visitor's token is no good to another"
    for client, token, n in ((first, first_token, 1), (second, second_token, 2)):
        data = form_data(sector, csrf_token=token, email=f"visitor{n}@example.org")
        assert client.post(f"/events/{slug}/book", data=data).status_code == 303


def test_a_change_made_elsewhere_shows_when_the_kept_time_is_over(keep, client, make, later):
    event = make.event(capacity=12, title="Neglect and the toxic trio")
    assert "12 places left" in client.get(f"/events/{event.slug}").text
    assert "Neglect and the toxic trio" in client.get("/events").text
    elsewhere(event.id, capacity=20, title="Neglect: the toxic trio revisited")
    later(KEPT_FOR / 2)
    assert "12 places left" in client.get(f"/events/{event.slug}").text
    assert "Neglect and the toxic trio" in client.get("/events").text
    later(KEPT_FOR)
    page = client.get(f"/events/{event.slug}").text
    assert "20 places left" in page
    assert "Neglect: the toxic trio revisited" in page
    assert "Neglect: the toxic trio revisited" in client.get("/events").text


def test_bookings_show_once_the_kept_time_is_over(keep, client, make, sector, later):
    event = make.event(capacity=2)
    assert "2 places left" in client.get(f"/events/{event.slug}").text
    assert client.post(f"/events/{event.slug}/book", data=form_data(sector)).status_code == 303
    later(KEPT_FOR)
    assert "1 place left" in client.get(f"/events/{event.slug}").text
    service.book(event.id, details(sector, 2))
    later(KEPT_FOR)
    page = client.get(f"/events/{event.slug}").text
    assert "1 place left" not in page
    assert "waiting list" in page.lower()


def test_each_filter_of_the_events_list_is_a_page_of_its_own(keep, client, make):
    make.event(title="Seminar on private fostering", kind=EventKind.seminar)
    make.event(title="Annual conference 2027", kind=EventKind.conference)
    everything = client.get("/events").text
    conferences = client.get("/events?kind=conference").text
    assert "Seminar on private fostering" in everything
    assert "Annual conference 2027" in conferences
    assert "Seminar on private fostering" not in conferences


def test_a_flashed_message_reaches_its_visitor_only(app, keep, make):
    event = make.event()
    page = f"/events/{event.slug}"
    other = app.test_client()
    assert other.get(page).status_code == 200
    assert keep, "the page is kept"
    told = app.test_client()
    with told.session_transaction() as session:
        session["_flashes"] = [("message", "Your place was handed on to Priya Shah.")]
    assert "handed on to Priya Shah" in told.get(page).text
    assert "handed on to Priya Shah" not in told.get(page).text
    assert "handed on to Priya Shah" not in other.get(page).text


def test_an_organiser_sees_their_menu_and_visitors_never_do(app, keep, client, make, login):
    event = make.event()
    page = f"/events/{event.slug}"
    visitor = app.test_client()
    assert "Log out" not in visitor.get(page).text
    login()
    assert "Log out" in client.get(page).text
    assert "Log out" not in visitor.get(page).text
    assert "Organiser log in" in visitor.get(page).text


def test_made_up_query_strings_find_the_same_pages_and_add_none(keep, client, make):
    event = make.event(title="Working with fathers")
    for n in range(kept.MOST_PAGES + 40):
        for address in (
            f"/events?utm_source={n}",
            f"/events?when=x{n}",
            f"/events?when=y{n}&when=past",
            f"/events/{event.slug}?ref={n}",
        ):
            response = client.get(address)
            assert response.status_code == 200
            assert "Working with fathers" in response.text
    assert len(keep) == 2, "the events list and the event page, once each"
    assert "Working with fathers" not in client.get("/events?when=past").text
    assert len(keep) == 3


def test_the_keep_holds_no_more_than_its_bytes(keep, client, make, monkeypatch):
    monkeypatch.setattr(kept, "MOST_BYTES", 1)
    event = make.event(capacity=12)
    assert "12 places left" in client.get(f"/events/{event.slug}").text
    assert not keep


def test_without_a_kept_time_every_visit_is_rendered_afresh(app, client, make):
    assert app.config["PUBLIC_PAGES_KEPT_SECONDS"] == 0
    event = make.event(capacity=12)
    assert "12 places left" in client.get(f"/events/{event.slug}").text
    elsewhere(event.id, capacity=15)
    assert "15 places left" in client.get(f"/events/{event.slug}").text
    assert not app.extensions[kept.KEY]
