"""Organiser console: an event's delegates, booking by phone, override, CSV, check-in, messages."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from sqlalchemy import func, select

from bookings.booking import service as booking_service
from bookings.db import db, utcnow
from bookings.mail.outbox import render
from bookings.models import AuditEntry, Booking, BookingStatus, Event, EventMessage, OutboxMessage
from tests.conftest import default_lscb, form_lscb


def _book(event, sector, n, **kw):
    details = booking_service.DelegateDetails(
        name=kw.get("name", f"Delegate {n}"),
        email=f"delegate{n}@example.org",
        organisation=kw.get("organisation", "Barnet Council"),
        job_title="Nurse",
        sector_id=sector.id,
        lscb_id=default_lscb().id,
        dietary_needs=kw.get("dietary_needs", ""),
    )
    return booking_service.book(event.id, details).booking


def _outbox(kind: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def test_search_and_filter(client, login, make):
    login()
    health, police = make.sector("Health"), make.sector("Police")
    event = make.event(capacity=2)
    a = _book(event, health, 1, name="Amira Khan", organisation="Whittington Health")
    _book(event, police, 2, name="Brian Osei", organisation="Met Police")
    _book(event, police, 3, name="Carla Diaz")  # waiting list
    url = f"/manage/events/{event.id}/delegates"

    page = client.get(url, query_string={"q": "whittington"}).text
    assert "Amira Khan" in page and "Brian Osei" not in page
    page = client.get(url, query_string={"q": a.reference.replace("-", "").lower()}).text
    assert "Amira Khan" in page and "Carla Diaz" not in page
    page = client.get(url, query_string={"status": "waitlisted"}).text
    assert "Carla Diaz" in page and "Amira Khan" not in page
    page = client.get(url, query_string={"sector": str(police.id)}).text
    assert "Brian Osei" in page and "Carla Diaz" in page and "Amira Khan" not in page


def test_book_on_behalf_uses_the_public_rules_and_emails(client, login, make):
    organiser = login()
    sector = make.sector("Health")
    event = make.event(capacity=1)
    form = {
        "name": "Dana Smith",
        "email": "dana@example.org",
        "organisation": "Camden",
        "job_title": "Health visitor",
        "sector": str(sector.id),
        "lscb": form_lscb(),
        "privacy": "y",
    }
    response = client.post(f"/manage/events/{event.id}/delegates/new", data=form)
    assert response.status_code == 302
    booking = db.session.scalar(select(Booking))
    assert booking.status == BookingStatus.confirmed
    assert [m.recipient for m in _outbox("confirmed")] == ["dana@example.org"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "booking.create"))
    assert booking.reference in entry.summary and entry.user_email == organiser.email

    again = client.post(f"/manage/events/{event.id}/delegates/new", data=form)
    assert again.status_code == 422
    assert "already has a booking" in again.text

    form["email"] = "eve@example.org"
    client.post(f"/manage/events/{event.id}/delegates/new", data=form)
    eve = db.session.scalar(select(Booking).where(Booking.email == "eve@example.org"))
    assert eve.status == BookingStatus.waitlisted

    event.booking_closes_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    form["email"] = "late@example.org"
    closed = client.post(f"/manage/events/{event.id}/delegates/new", data=form)
    assert closed.status_code == 422
    assert "Booking for this event has closed." in closed.text


def test_refused_booking_by_phone_leaves_no_audit_entry_and_no_email(client, login, make):
    login()
    sector = make.sector("Health")
    event = make.event(capacity=1)
    form = {
        "name": "Dana Smith",
        "email": "dana@example.org",
        "organisation": "Camden",
        "job_title": "Health visitor",
        "sector": str(sector.id),
        "lscb": form_lscb(),
        "privacy": "y",
    }
    url = f"/manage/events/{event.id}/delegates/new"
    assert client.post(url, data=form).status_code == 302
    assert client.post(url, data=form).status_code == 422  # the same address again

    event.booking_closes_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    form["email"] = "late@example.org"
    assert client.post(url, data=form).status_code == 422

    db.session.expire_all()
    entries = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.startswith("booking."))
    ).all()
    assert entries == ["booking.create"]
    assert [m.recipient for m in db.session.scalars(select(OutboxMessage))] == ["dana@example.org"]
    assert db.session.scalar(select(func.count(Booking.id))) == 1


def test_cancel_promotes_the_waiting_list(client, login, make):
    login()
    sector = make.sector()
    event = make.event(capacity=1)
    first = _book(event, sector, 1)
    second = _book(event, sector, 2)
    client.post(f"/manage/events/{event.id}/delegates/{first.id}/cancel")
    db.session.expire_all()
    assert db.session.get(Booking, first.id).status == BookingStatus.cancelled
    assert db.session.get(Booking, second.id).status == BookingStatus.confirmed
    assert len(_outbox("cancelled")) == 1 and len(_outbox("promoted")) == 1


def test_override_needs_a_reason_and_is_recorded(client, login, make):
    user = login()
    sector = make.sector()
    event = make.event(capacity=1)
    _book(event, sector, 1)
    _book(event, sector, 2)
    third = _book(event, sector, 3)
    url = f"/manage/events/{event.id}/delegates/{third.id}/override"

    refused = client.post(url, data={"reason": ""})
    assert refused.status_code == 422
    db.session.expire_all()
    assert db.session.get(Booking, third.id).status == BookingStatus.waitlisted

    client.post(url, data={"reason": "Speaker's colleague", "confirm": "y"})
    db.session.expire_all()
    assert db.session.get(Booking, third.id).status == BookingStatus.confirmed
    event = db.session.get(Event, event.id)
    assert event.capacity == 2  # never more confirmed than places
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "booking.override"))
    assert entry.user_email == user.email
    assert "Speaker's colleague" in entry.summary and third.reference in entry.summary
    assert "Delegate 3" not in entry.summary
    assert [m.recipient for m in _outbox("promoted")] == ["delegate3@example.org"]


def test_csv_has_bom_and_a_column_per_field(client, login, make):
    login()
    sector = make.sector("Voluntary and community")
    event = make.event()
    booking = _book(event, sector, 1, name="Zoë Ní Bhriain", dietary_needs="Vegan")
    _book(event, sector, 2, name="=HYPERLINK(1)")
    response = client.get(f"/manage/events/{event.id}/delegates.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    zoe = next(r for r in rows if r["Reference"] == booking.reference)
    assert zoe["Name"] == "Zoë Ní Bhriain"
    assert zoe["E-mail"] == "delegate1@example.org"
    assert zoe["Sector"] == "Voluntary and community"
    assert zoe["Dietary needs"] == "Vegan"
    assert zoe["Status"] == "confirmed"
    assert any(r["Name"] == "'=HYPERLINK(1)" for r in rows)


def test_check_in_and_undo(client, login, make):
    login()
    sector = make.sector()
    event = make.event(capacity=1)
    booking = _book(event, sector, 1, name="Farah Ali", organisation="Hackney")
    waiting = _book(event, sector, 2)
    page = client.get(f"/manage/events/{event.id}/check-in", query_string={"q": "hackney"})
    assert "Farah Ali" in page.text
    assert "<strong>0</strong> attended of <strong>1</strong> confirmed" in page.text

    response = client.post(
        f"/manage/events/{event.id}/check-in/{booking.id}", data={"q": "hackney"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"q=hackney#booking-{booking.id}")
    page = client.get(f"/manage/events/{event.id}/check-in")
    assert "<strong>1</strong> attended of <strong>1</strong> confirmed" in page.text
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).attended

    client.post(f"/manage/events/{event.id}/check-in/{booking.id}/undo")
    db.session.expire_all()
    assert not db.session.get(Booking, booking.id).attended

    client.post(f"/manage/events/{event.id}/check-in/{waiting.id}")
    db.session.expire_all()
    assert not db.session.get(Booking, waiting.id).attended


def test_message_to_confirmed_delegates_keeps_a_copy(client, login, make):
    login()
    sector = make.sector()
    event = make.event(capacity=1)
    _book(event, sector, 1)
    _book(event, sector, 2)  # waiting list: not in the "confirmed" audience
    response = client.post(
        f"/manage/events/{event.id}/message",
        data={
            "audience": "confirmed",
            "subject": "Room change",
            "body": "We are in Room 4.",
            # The check page's "Send to 1 delegate" (tests/test_messages.py has the steps).
            "recipients": "1",
            "confirm": "yes",
        },
    )
    assert response.status_code == 302
    (mail,) = _outbox("organisers_message")
    assert mail.recipient == "delegate1@example.org"
    assert "We are in Room 4." in render(mail).body_text
    copy = db.session.scalar(select(EventMessage))
    assert (copy.recipients, copy.subject) == (1, "Room change")
    assert "Room change" in client.get(f"/manage/events/{event.id}").text


def test_print_views(client, login, make):
    login()
    sector = make.sector()
    event = make.event()
    _book(event, sector, 1, name="Grace Hopper")
    for path in ("delegates/print", "badges"):
        page = client.get(f"/manage/events/{event.id}/{path}")
        assert page.status_code == 200
        assert "Grace Hopper" in page.text
        # The A4 page rule sits in the page's own stylesheet (no inline styles under the CSP).
        styles = ""
        for href in re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text):
            with client.get(href) as sheet:
                styles += sheet.get_data(as_text=True)
        assert "size: A4" in styles
