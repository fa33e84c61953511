"""Public pages kept for a second (bookings/web/kept.py): every visitor still gets their own
CSRF token, a change made elsewhere shows once the kept time is over and one made here at once,
and nothing that belongs to one visitor (a flashed message, an organiser's menu) is kept."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from bookings.booking import service
from bookings.db import db
from bookings.events.models import Event
from bookings.web import kept
from tests.test_booking import details, form_data

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


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

    make = Factory()
    sector = make.sector("Police")
    event = make.event(capacity=5)
    first, second = csrf_app.test_client(), csrf_app.test_client()
    rendered = first.get(f"/events/{event.slug}")
    first_token = TOKEN.search(rendered.text)[1]
    from_keep = second.get(f"/events/{event.slug}")
    assert csrf_app.extensions[kept.KEY], "the first visit's page was kept"
    kept_page = from_keep.text
    second_token = TOKEN.search(kept_page)[1]
    for response in (rendered, from_keep):  # a proxy must not keep a visitor's token
        assert response.headers["Cache-Control"] == "private, no-cache"
    assert second_token != first_token
    assert "\x00" not in kept_page
    stolen = second.post(
        f"/events/{event.slug}/book", data=form_data(sector, csrf_token=first_token)
    )
    assert stolen.status_code in (400, 422), "one visitor's token is no good to another"
    for client, token, n in ((first, first_token, 1), (second, second_token, 2)):
        data = form_data(sector, csrf_token=token, email=f"visitor{n}@example.org")
        assert client.post(f"/events/{event.slug}/book", data=data).status_code == 303


def test_a_change_made_elsewhere_shows_when_the_kept_time_is_over(app, client, make, later):
    event = make.event(capacity=12, title="Neglect and the toxic trio")
    assert "12 places left" in client.get(f"/events/{event.slug}").text
    elsewhere(event.id, capacity=20, title="Neglect: the toxic trio revisited")
    later(app.config["PUBLIC_PAGES_KEPT_SECONDS"] / 2)
    assert "12 places left" in client.get(f"/events/{event.slug}").text
    later(app.config["PUBLIC_PAGES_KEPT_SECONDS"])
    page = client.get(f"/events/{event.slug}").text
    assert "20 places left" in page
    assert "Neglect: the toxic trio revisited" in page
    listing = client.get("/events").text
    assert "Neglect: the toxic trio revisited" in listing


def test_a_booking_made_here_shows_at_once(client, make, sector):
    event = make.event(capacity=2)
    assert "2 places left" in client.get(f"/events/{event.slug}").text
    assert "2 places left" in client.get("/events").text
    assert client.post(f"/events/{event.slug}/book", data=form_data(sector)).status_code == 303
    assert "1 place left" in client.get(f"/events/{event.slug}").text
    service.book(event.id, details(sector, 2))
    page = client.get(f"/events/{event.slug}").text
    assert "1 place left" not in page
    assert "waiting list" in page.lower()


def test_a_flashed_message_reaches_its_visitor_only(app, make):
    event = make.event()
    page = f"/events/{event.slug}"
    other = app.test_client()
    assert other.get(page).status_code == 200  # the page is kept
    told = app.test_client()
    with told.session_transaction() as session:
        session["_flashes"] = [("message", "Your place was handed on to Priya Shah.")]
    assert "handed on to Priya Shah" in told.get(page).text
    assert "handed on to Priya Shah" not in told.get(page).text
    assert "handed on to Priya Shah" not in other.get(page).text


def test_an_organiser_sees_their_menu_and_visitors_never_do(app, client, make, login):
    event = make.event()
    page = f"/events/{event.slug}"
    visitor = app.test_client()
    assert "Log out" not in visitor.get(page).text
    login()
    assert "Log out" in client.get(page).text
    assert "Log out" not in visitor.get(page).text
    assert "Organiser log in" in visitor.get(page).text


def test_hostile_query_strings_cannot_grow_the_keep(app, client, make):
    make.event()
    for n in range(kept.MOST_PAGES + 40):
        assert client.get(f"/events?utm_source={n}").status_code == 200
    assert len(app.extensions[kept.KEY]) <= kept.MOST_PAGES


def test_without_a_kept_time_every_visit_is_rendered_afresh(app, client, make):
    app.config["PUBLIC_PAGES_KEPT_SECONDS"] = 0
    event = make.event(capacity=12)
    assert "12 places left" in client.get(f"/events/{event.slug}").text
    elsewhere(event.id, capacity=15)
    assert "15 places left" in client.get(f"/events/{event.slug}").text
    assert not app.extensions[kept.KEY]
