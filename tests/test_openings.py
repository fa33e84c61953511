"""Tell me when booking opens: the form on a not-yet-open event, one e-mail when it opens
(also with senders racing on PostgreSQL), a moved opening, unsubscribe, the purge."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bookings.db import db, utcnow
from bookings.london import london_date
from bookings.mail import sender
from bookings.mail.models import OutboxMessage
from bookings.openings import service
from bookings.openings.models import OpeningAlert
from bookings.privacy import service as privacy
from tests.conftest import make_app
from tests.test_mail import SMTPServer, text_part


@pytest.fixture
def smtp(app):
    """The real SMTP server of tests/test_mail.py, for the e-mails these pages send."""
    server = SMTPServer()
    server.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_TIMEOUT=5)
    yield server
    server.stop()


def _later(make, hours: int = 5, **kw):
    return make.event(slug="later", booking_opens_at=utcnow() + timedelta(hours=hours), **kw)


def _alerts() -> list[OpeningAlert]:
    db.session.expire_all()
    return list(db.session.scalars(select(OpeningAlert)))


def _messages() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == service.MAIL_KIND))
    )


def test_the_form_shows_only_before_booking_opens(app, client, make):
    _later(make)
    make.event(slug="open-now")
    assert "Tell me when booking opens" in client.get("/events/later").text
    assert "Tell me when booking opens" not in client.get("/events/open-now").text


def test_one_email_when_it_opens_then_the_address_is_gone(app, client, make, smtp):
    event = _later(make)
    for _ in range(2):
        response = client.post("/events/later/tell-me", data={"tell-email": "Pat@Example.org"})
        assert response.status_code == 200 and "once" in response.text
    assert len(_alerts()) == 1
    assert sender.run_round_jobs(utcnow())["tell when booking opens"] == 0
    assert _messages() == []

    opened = event.booking_opens_at + timedelta(minutes=1)
    assert sender.run_round_jobs(opened)["tell when booking opens"] == 1
    assert _alerts() == []
    assert sender.run_round_jobs(opened)["tell when booking opens"] == 0
    sender.send_due()
    [received] = smtp.received
    assert received.message["Subject"] == f"Booking is open: {event.title}"
    text = text_part(received.message)
    assert "http://bookings.test/events/later#book" in text
    [token] = re.findall(r"http://bookings\.test/bookings/alerts/([\w-]+)", text)
    assert token and "Pat@Example.org" not in text


def test_a_moved_opening_moves_the_email(app, make):
    event = _later(make, hours=5)
    service.subscribe(event.id, "pat@example.org")
    event.booking_opens_at = utcnow() + timedelta(days=2)
    db.session.commit()
    sender.run_round_jobs(utcnow() + timedelta(hours=6))
    assert _messages() == [] and len(_alerts()) == 1
    event.booking_opens_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert sender.run_round_jobs(utcnow())["tell when booking opens"] == 1


def test_a_cancelled_event_drops_the_address_without_mail(app, make):
    event = _later(make)
    service.subscribe(event.id, "pat@example.org")
    event.status = "cancelled"
    db.session.commit()
    assert sender.run_round_jobs(utcnow())["tell when booking opens"] == 0
    assert _alerts() == [] and _messages() == []


def test_unsubscribe_deletes_the_address_after_asking(app, client, make):
    first = _later(make)
    second = make.event(booking_opens_at=utcnow() + timedelta(days=1))
    service.subscribe(first.id, "pat@example.org")
    service.subscribe(second.id, "PAT@example.org")
    service.subscribe(second.id, "other@example.org")
    token = service.unsubscribe_token("pat@example.org")
    assert "Delete my address" in client.get(f"/bookings/alerts/{token}").text
    assert len(_alerts()) == 3
    response = client.post(f"/bookings/alerts/{token}")
    assert response.status_code == 200 and "deleted" in response.text
    assert [a.email for a in _alerts()] == ["other@example.org"]
    assert client.post("/bookings/alerts/not-a-token").status_code == 200


def test_a_bad_address_is_refused(app, client, make):
    _later(make)
    response = client.post("/events/later/tell-me", data={"tell-email": "not an address"})
    assert response.status_code == 422 and _alerts() == []


def test_the_purge_removes_alerts_of_ended_events_and_the_emails_they_wrote(app, make):
    event = _later(make)
    service.subscribe(event.id, "pat@example.org")
    service.subscribe(event.id, "sam@example.org")
    assert sender.run_round_jobs(event.booking_opens_at)["tell when booking opens"] == 2
    service.subscribe(event.id, "pat@example.org")
    sender.send_all_due()
    event.starts_at = utcnow() - timedelta(days=3)
    event.ends_at = utcnow() - timedelta(days=3, hours=-2)
    event.booking_opens_at = None
    db.session.commit()
    privacy.purge(london_date(utcnow()))
    assert _alerts() == []
    addresses = db.session.scalars(select(OutboxMessage.recipient)).all()
    assert "pat@example.org" not in addresses and "sam@example.org" not in addresses


def test_racing_senders_write_each_email_once(app, make, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite writes one transaction at a time; the race is PostgreSQL's")
    event = _later(make, hours=1)
    for n in range(40):
        service.subscribe(event.id, f"delegate{n}@example.org")
    opened = event.booking_opens_at + timedelta(minutes=1)
    barrier = threading.Barrier(3)
    done: list[int] = []

    def run() -> None:
        own = make_app(app.config["SQLALCHEMY_DATABASE_URI"], Path(app.instance_path))
        with own.app_context():
            barrier.wait()
            done.append(sender.run_round_jobs(opened)["tell when booking opens"])
            db.session.remove()
            db.engine.dispose()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(done) == 40
    recipients = [m.recipient for m in _messages()]
    assert len(recipients) == 40 and len(set(recipients)) == 40
    assert _alerts() == []
