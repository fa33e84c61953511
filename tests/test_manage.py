"""Organiser console: events from draft to cancellation, capacity and the programme."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from bookings.booking import service as booking_service
from bookings.db import db, london_datetime, to_london, utcnow
from bookings.models import (
    AuditEntry,
    Booking,
    BookingStatus,
    Event,
    EventStatus,
    OutboxMessage,
    ProgrammeSlot,
)

NEXT_YEAR = utcnow().year + 1


def _details(sector_id: int, n: int) -> booking_service.DelegateDetails:
    return booking_service.DelegateDetails(
        name=f"Delegate {n}",
        email=f"delegate{n}@example.org",
        organisation="Barnet Council",
        job_title="Social worker",
        sector_id=sector_id,
    )


def _event_form(**overrides) -> dict:
    data = {
        "title": "Child sexual exploitation: what works",
        "kind": "seminar",
        "start_date": f"{NEXT_YEAR}-06-12",
        "start_time": "09:30",
        "end_time": "13:00",
        "venue": "0",
        "new_venue_name": "Southwark Cathedral",
        "new_venue_address": "London Bridge",
        "new_venue_postcode": "se1 9da",
        "capacity": "80",
        "host_network": "0",
        "summary": "",
        "description": "",
    }
    data.update(overrides)
    return data


def _outbox(kind: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def test_console_needs_login(client):
    response = client.get("/manage/events/new")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_create_event_as_draft_then_publish(client, login):
    login()
    response = client.post("/manage/events/new", data=_event_form())
    assert response.status_code == 302
    event = db.session.scalar(select(Event))
    assert event.status == EventStatus.draft
    assert event.slug == "child-sexual-exploitation-what-works"
    assert event.venue.postcode == "SE1 9DA"
    assert event.starts_at == london_datetime(date(NEXT_YEAR, 6, 12), time(9, 30))
    assert client.get(f"/events/{event.slug}").status_code == 404

    client.post(f"/manage/events/{event.id}/publish")
    db.session.refresh(event)
    assert event.status == EventStatus.published
    assert client.get(f"/events/{event.slug}").status_code == 200
    actions = list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["event.create", "event.publish"]


def test_event_form_refuses_the_skipped_spring_hour_and_bad_order(client, login):
    login()
    # The last Sunday of March: 01:00-02:00 does not exist in London.
    march_31 = date(NEXT_YEAR, 3, 31)
    last_sunday = march_31 - timedelta(days=(march_31.weekday() + 1) % 7)
    response = client.post(
        "/manage/events/new",
        data=_event_form(start_date=last_sunday.isoformat(), start_time="01:30", end_time="03:00"),
    )
    assert response.status_code == 400
    assert "does not exist in London" in response.text
    response = client.post("/manage/events/new", data=_event_form(end_time="09:00"))
    assert response.status_code == 400
    assert "The event must end after it starts." in response.text
    response = client.post("/manage/events/new", data=_event_form(title=""))
    assert "Enter the event&#39;s title." in response.text
    assert db.session.scalar(select(Event)) is None


def test_stale_edit_is_refused(client, login, make):
    login()
    event = make.event(title="Old title")
    page = client.get(f"/manage/events/{event.id}/edit")
    assert f'name="version" type="hidden" value="{event.version}"' in page.text
    stale_version = event.version
    event.title = "Saved by a colleague"
    db.session.commit()

    form = _event_form(title="My edit", version=str(stale_version), new_venue_name="")
    form["venue"] = str(event.venue_id)
    response = client.post(f"/manage/events/{event.id}/edit", data=form)
    assert response.status_code == 400
    assert "Someone else saved this event" in response.text
    db.session.expire_all()
    assert db.session.get(Event, event.id).title == "Saved by a colleague"


def test_moving_a_published_event_tells_its_delegates_with_a_calendar(client, login, make):
    login()
    sector = make.sector()
    event = make.event()
    booking_service.book(event.id, _details(sector.id, 1))
    new_venue = make.venue(name="City Hall")
    start = to_london(event.starts_at)
    form = _event_form(
        start_date=start.date().isoformat(),
        start_time=start.strftime("%H:%M"),
        end_time=to_london(event.ends_at).strftime("%H:%M"),
        title=event.title,
        new_venue_name="",
        venue=str(new_venue.id),
        version=str(db.session.get(Event, event.id).version),
        notify_delegates="y",
    )
    response = client.post(f"/manage/events/{event.id}/edit", data=form)
    assert response.status_code == 302
    (moved,) = _outbox("event_moved")
    assert moved.recipient == "delegate1@example.org"
    assert "City Hall" in moved.body_text
    assert "BEGIN:VEVENT" in moved.ics
    db.session.refresh(event)
    assert event.sequence == 1  # only the venue changed, and subscribers must see it


def test_edit_without_notify_sends_nothing(client, login, make):
    login()
    sector = make.sector()
    event = make.event()
    booking_service.book(event.id, _details(sector.id, 1))
    form = _event_form(title=event.title, version=str(event.version), new_venue_name="")
    form["venue"] = str(event.venue_id)
    assert client.post(f"/manage/events/{event.id}/edit", data=form).status_code == 302
    assert _outbox("event_moved") == []


def test_cancel_event_emails_everyone_and_feed_shows_cancelled(client, login, make):
    login()
    sector = make.sector()
    event = make.event(capacity=1)
    booking_service.book(event.id, _details(sector.id, 1))
    booking_service.book(event.id, _details(sector.id, 2))  # waiting list

    page = client.post(f"/manage/events/{event.id}/cancel", data={"reason": "Rail strike."})
    assert page.status_code == 400
    assert "Tick the box to confirm." in page.text

    response = client.post(
        f"/manage/events/{event.id}/cancel",
        data={"reason": "Because of the rail strike.", "confirm": "y"},
    )
    assert response.status_code == 302
    mails = _outbox("event_cancelled")
    assert sorted(m.recipient for m in mails) == [
        "delegate1@example.org",
        "delegate2@example.org",
    ]
    assert all("Because of the rail strike." in m.body_text for m in mails)
    statuses = set(db.session.scalars(select(Booking.status)))
    assert statuses == {BookingStatus.cancelled}
    feed = client.get("/feeds/events.ics")
    assert feed.status_code == 200
    assert "STATUS:CANCELLED" in feed.text
    assert "This event has been cancelled." in client.get(f"/events/{event.slug}").text


def test_capacity_change_promotes_and_refuses_below_confirmed(client, login, make):
    login()
    sector = make.sector()
    event = make.event(capacity=2)
    for n in range(4):
        booking_service.book(event.id, _details(sector.id, n))

    response = client.post(f"/manage/events/{event.id}/capacity", data={"capacity": "1"})
    assert response.status_code == 400
    assert "2 places are already confirmed" in response.text

    response = client.post(f"/manage/events/{event.id}/capacity", data={"capacity": "3"})
    assert response.status_code == 302
    promoted = db.session.scalar(select(Booking).where(Booking.email == "delegate2@example.org"))
    assert promoted.status == BookingStatus.confirmed
    assert len(_outbox("promoted")) == 1


def test_unpublish_refused_while_delegates_hold_places(client, login, make):
    login()
    sector = make.sector()
    event = make.event()
    booking_service.book(event.id, _details(sector.id, 1))
    response = client.post(f"/manage/events/{event.id}/unpublish", follow_redirects=True)
    assert "cannot go back to draft" in response.text
    db.session.refresh(event)
    assert event.status == EventStatus.published


def _slot_form(event: Event, **overrides) -> dict:
    day = to_london(event.starts_at).date()
    data = {
        "day": day.isoformat(),
        "start_time": "10:30",
        "end_time": "11:15",
        "kind": "workshop",
        "title": "Workshop A",
        "room": "Room 1",
        "speakers": "Sue Jones, NSPCC\nDr Ravi Patel, Barts Health, Safeguarding team",
    }
    data.update(overrides)
    return data


def test_programme_parallel_slots_with_speakers(client, login, make):
    login()
    event = make.event()  # 10:00 to 12:30 London
    assert (
        client.post(f"/manage/events/{event.id}/programme", data=_slot_form(event)).status_code
        == 302
    )
    response = client.post(
        f"/manage/events/{event.id}/programme",
        data=_slot_form(event, title="Workshop B", room="Room 2", speakers=""),
    )
    assert response.status_code == 302
    slots = list(db.session.scalars(select(ProgrammeSlot).order_by(ProgrammeSlot.id)))
    assert [s.room for s in slots] == ["Room 1", "Room 2"]
    assert slots[0].starts_at == slots[1].starts_at
    assert [(s.name, s.organisation) for s in slots[0].speakers] == [
        ("Sue Jones", "NSPCC"),
        ("Dr Ravi Patel", "Barts Health, Safeguarding team"),
    ]
    public = client.get(f"/events/{event.slug}").text
    assert "Workshop B" in public and "NSPCC" in public


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"start_time": "09:00"}, "The session must start during the event."),
        ({"end_time": "13:00"}, "The session must end by the time the event ends."),
        ({"end_time": "10:00"}, "The session must end after it starts."),
    ],
)
def test_programme_slot_must_lie_inside_event(client, login, make, overrides, message):
    login()
    event = make.event()
    response = client.post(
        f"/manage/events/{event.id}/programme", data=_slot_form(event, **overrides)
    )
    assert response.status_code == 400
    assert message in response.text
    assert db.session.scalar(select(ProgrammeSlot)) is None


def test_edit_and_delete_slot(client, login, make):
    login()
    event = make.event()
    client.post(f"/manage/events/{event.id}/programme", data=_slot_form(event))
    slot = db.session.scalar(select(ProgrammeSlot))
    page = client.get(f"/manage/events/{event.id}/programme/{slot.id}")
    assert "Sue Jones, NSPCC" in page.text
    client.post(
        f"/manage/events/{event.id}/programme/{slot.id}",
        data=_slot_form(event, title="Renamed", speakers="Sue Jones"),
    )
    db.session.expire_all()
    slot = db.session.get(ProgrammeSlot, slot.id)
    assert slot.title == "Renamed"
    assert [s.organisation for s in slot.speakers] == [""]
    client.post(f"/manage/events/{event.id}/programme/{slot.id}/delete")
    db.session.expire_all()
    assert db.session.scalar(select(ProgrammeSlot)) is None


def test_dashboard_shows_counts_and_days_to_go(client, login, make):
    login()
    sector = make.sector()
    event = make.event(title="Annual conference", capacity=1)
    booking_service.book(event.id, _details(sector.id, 1))
    booking_service.book(event.id, _details(sector.id, 2))
    page = client.get("/manage/")
    assert "Annual conference" in page.text
    assert "1 / 1" in page.text
    assert "<td>1</td>" in page.text  # one waiting


def test_duplicate_moves_dates_by_whole_weeks_on_the_london_clock(client, login, make):
    login()
    # 10am in winter; 52 weeks on it must still be 10am London time.
    starts = london_datetime(date(NEXT_YEAR, 1, 15), time(10))
    event = make.event(title="Safeguarding London's Children 2011", starts_at=starts)
    client.post(f"/manage/events/{event.id}/programme", data=_slot_form(event, start_time="10:00"))
    response = client.post(
        f"/manage/events/{event.id}/duplicate",
        data={"title": "Safeguarding London's Children 2012", "weeks": "26"},
    )
    assert response.status_code == 302
    copy = db.session.scalar(select(Event).where(Event.id != event.id))
    assert copy.status == EventStatus.draft
    assert to_london(copy.starts_at).time() == time(10)
    assert to_london(copy.starts_at).date() == date(NEXT_YEAR, 1, 15) + timedelta(weeks=26)
    (slot,) = copy.slots
    assert to_london(slot.starts_at).time() == time(10)
    assert [s.name for s in slot.speakers] == ["Sue Jones", "Dr Ravi Patel"]
