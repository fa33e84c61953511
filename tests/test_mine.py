"""My bookings: the e-mailed link (same words whatever the address), the page, the private
feed's states and UIDs, and the link's end with the purge."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from bookings.booking import service as booking
from bookings.db import db, utcnow
from bookings.feeds.ical import event_uid
from bookings.london import london_date
from bookings.mail.sender import send_due
from bookings.mine.models import AddressLink
from bookings.privacy import service as privacy
from tests.test_mail import SMTPServer, details, text_part


@pytest.fixture
def smtp(app):
    """The real SMTP server of tests/test_mail.py, for the e-mails these pages send."""
    server = SMTPServer()
    server.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_TIMEOUT=5)
    yield server
    server.stop()


def _link(smtp, client, address: str) -> str:
    response = client.post("/bookings/mine", data={"email": address})
    assert response.status_code == 200
    send_due()
    [message] = [
        r.message
        for r in smtp.received
        if address.lower() in [to.lower() for to in r.rcpt_tos]
        if r.message["Subject"] == "Your bookings with the London Safeguarding Children Board"
    ]
    [token] = set(re.findall(r"http://bookings\.test/bookings/mine/([\w-]+)", text_part(message)))
    return token


def test_the_page_lists_every_booking_with_its_state_and_link(app, client, make, smtp):
    sector = make.sector()
    first = make.event(title="Morning seminar")
    full = make.event(title="Full seminar", capacity=0)
    other = make.event(title="Dropped seminar")
    a = booking.book(first.id, details(sector, email="Pat@Example.org"))
    b = booking.book(full.id, details(sector, email="pat@example.org"))
    c = booking.book(other.id, details(sector, email="PAT@example.org"))
    booking.cancel(c.booking.id)
    booking.book(first.id, details(sector, 2, email="someone.else@example.org"))
    token = _link(smtp, client, "pat@example.org")

    page = client.get(f"/bookings/mine/{token}")
    assert page.status_code == 200
    assert "no-store" in page.headers["Cache-Control"]
    assert page.headers["Referrer-Policy"] == "no-referrer"
    text = page.text
    for title in ("Morning seminar", "Full seminar", "Dropped seminar"):
        assert title in text
    assert "Place confirmed" in text and "On the waiting list" in text and "Cancelled" in text
    for placed in (a, b):
        assert f"/bookings/{placed.token}" in text
    assert "someone.else" not in text and "Delegate 2" not in text


def test_the_feed_says_where_each_booking_stands_with_the_public_uids(app, client, make, smtp):
    sector = make.sector()
    confirmed = make.event(title="Confirmed one")
    waiting = make.event(title="Waiting one", capacity=0)
    dropped = make.event(title="Dropped one")
    booking.book(confirmed.id, details(sector))
    booking.book(waiting.id, details(sector))
    booking.cancel(booking.book(dropped.id, details(sector)).booking.id)
    token = _link(smtp, client, "delegate1@example.org")
    response = client.get(f"/bookings/mine/{token}/calendar.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert (
        "no-store" in response.headers["Cache-Control"]
        and "private" in response.headers["Cache-Control"]
    )
    states = {
        str(component["uid"]): str(component["status"])
        for component in Calendar.from_ical(response.data).walk("VEVENT")
    }
    assert states == {
        event_uid(confirmed): "CONFIRMED",
        event_uid(waiting): "TENTATIVE",
        event_uid(dropped): "CANCELLED",
    }
    public = Calendar.from_ical(client.get("/feeds/events.ics").data)
    assert event_uid(confirmed) in {str(c["uid"]) for c in public.walk("VEVENT")}
    assert f"/bookings/mine/{token}" not in client.get("/calendars").text


def test_an_unknown_address_gets_the_same_words_and_no_mail(app, client, make, smtp):
    booking.book(make.event().id, details(make.sector()))
    known = client.post("/bookings/mine", data={"email": "delegate1@example.org"}).text
    unknown = client.post("/bookings/mine", data={"email": "nobody@example.org"}).text
    assert known.replace("delegate1@example.org", "X") == unknown.replace("nobody@example.org", "X")
    send_due()
    assert smtp.inbox.to("nobody@example.org") == []


def test_guessed_links_are_not_found(app, client, make):
    booking.book(make.event().id, details(make.sector()))
    for token in ("x" * 43, "delegate1@example.org", "a" * 200):
        assert client.get(f"/bookings/mine/{token}").status_code == 404
        assert client.get(f"/bookings/mine/{token}/calendar.ics").status_code == 404


def test_the_link_stops_working_after_the_purge(app, client, make, smtp):
    past = make.event()
    booking.book(past.id, details(make.sector()))
    past.starts_at, past.ends_at = (
        utcnow() - timedelta(days=3),
        utcnow() - timedelta(days=3, hours=-2),
    )
    db.session.commit()
    token = _link(smtp, client, "delegate1@example.org")
    assert client.get(f"/bookings/mine/{token}").status_code == 200
    privacy.purge(london_date(utcnow()))
    assert client.get(f"/bookings/mine/{token}").status_code == 404
    assert client.get(f"/bookings/mine/{token}/calendar.ics").status_code == 404
    assert db.session.scalars(select(AddressLink)).all() == []
