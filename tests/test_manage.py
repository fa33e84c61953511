"""Organiser console: events from draft to cancellation, capacity and the programme."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select, update

from bookings.booking import service as booking_service
from bookings.db import StaleEdit, db, utcnow
from bookings.events import programme, service
from bookings.london import london_date, london_datetime, to_london
from bookings.mail.outbox import render
from bookings.models import (
    AuditEntry,
    Booking,
    BookingStatus,
    Event,
    EventStatus,
    OutboxMessage,
    ProgrammeSlot,
    SlotKind,
)
from tests.conftest import default_lscb

NEXT_YEAR = utcnow().year + 1


def _details(sector_id: int, n: int) -> booking_service.DelegateDetails:
    return booking_service.DelegateDetails(
        name=f"Delegate {n}",
        email=f"delegate{n}@example.org",
        organisation="Barnet Council",
        job_title="Social worker",
        sector_id=sector_id,
        lscb_id=default_lscb().id,
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


class _PageForms(HTMLParser):
    """What a browser would send from each form of a page, as the page shows it."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append({})
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.forms[-1][a["name"]] = a.get("value") or "on"
            elif kind not in ("submit", "button", "reset"):
                self.forms[-1][a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select:
            if "selected" in a or self._select not in self.forms[-1]:
                self.forms[-1][self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.forms[-1][self._textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            # Browsers drop the newline that opens a textarea's text.
            value = self.forms[-1][self._textarea]
            self.forms[-1][self._textarea] = value.removeprefix("\r").removeprefix("\n")
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.forms[-1][self._textarea] += data


def edit_page_form(client, url: str, **changes) -> dict[str, str]:
    """Exactly the fields an edit page's form renders, with their shown values (the hidden
    version too), then ``changes``."""
    page = client.get(url)
    assert page.status_code == 200
    parser = _PageForms()
    parser.feed(page.text)
    (form,) = [f for f in parser.forms if "version" in f]
    form.update(changes)
    return form


def _edit_form(client, event_id: int, **changes) -> dict[str, str]:
    return edit_page_form(client, f"/manage/events/{event_id}/edit", **changes)


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
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.target_type == "event").order_by(AuditEntry.id)
    )
    assert list(actions) == ["event.create", "event.publish"]


def test_event_form_refuses_the_skipped_spring_hour_and_bad_order(client, login):
    login()
    # The last Sunday of March: 01:00-02:00 does not exist in London.
    march_31 = date(NEXT_YEAR, 3, 31)
    last_sunday = march_31 - timedelta(days=(march_31.weekday() + 1) % 7)
    response = client.post(
        "/manage/events/new",
        data=_event_form(start_date=last_sunday.isoformat(), start_time="01:30", end_time="03:00"),
    )
    assert response.status_code == 422
    assert "does not exist in London" in response.text
    response = client.post("/manage/events/new", data=_event_form(end_time="09:00"))
    assert response.status_code == 422
    assert "The event must end after it starts." in response.text
    response = client.post("/manage/events/new", data=_event_form(title=""))
    assert "Enter the event&#39;s title." in response.text
    assert db.session.scalar(select(Event)) is None


def test_edit_through_the_page_saves_without_touching_places(client, login, make):
    login()
    event = make.event(title="Old title", capacity=40)
    form = _edit_form(client, event.id, title="New title")
    assert "capacity" not in form
    response = client.post(f"/manage/events/{event.id}/edit", data=form)
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Event, event.id)
    assert (saved.title, saved.capacity) == ("New title", 40)


def test_deleting_a_session_does_not_make_an_open_event_edit_stale(client, login, make):
    login()
    event = make.event(title="Old title")
    session = programme.add_slot(
        event.id,
        programme.SlotData(
            starts_at=event.starts_at,
            ends_at=None,
            kind=SlotKind.talk,
            title="Coffee",
            description="",
            room="",
            capacity=None,
            speakers=[],
        ),
    )
    form = _edit_form(client, event.id, title="New title")
    client.post(f"/manage/events/{event.id}/programme/{session.id}/delete")
    assert db.session.get(ProgrammeSlot, session.id) is None

    assert client.post(f"/manage/events/{event.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    assert db.session.get(Event, event.id).title == "New title"


def test_stale_edit_is_refused(client, login, make):
    login()
    event = make.event(title="Old title")
    form = _edit_form(client, event.id, title="My edit")
    assert form["version"] == str(event.version)
    event.title = "Saved by a colleague"
    db.session.commit()

    response = client.post(f"/manage/events/{event.id}/edit", data=form)
    assert response.status_code == 422
    assert "Someone else saved this event" in response.text
    db.session.expire_all()
    assert db.session.get(Event, event.id).title == "Saved by a colleague"


def _event_data(event: Event, **changes) -> service.EventData:
    data = service.EventData(
        title=event.title,
        slug=event.slug,
        kind=event.kind,
        summary=event.summary,
        description=event.description,
        notes=event.notes,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        venue_id=event.venue_id,
        booking_opens_at=event.booking_opens_at,
        booking_closes_at=event.booking_closes_at,
        series=event.series,
        host_network_id=event.host_network_id,
    )
    for name, value in changes.items():
        setattr(data, name, value)
    return data


def test_a_save_landing_while_an_edit_is_written_is_a_stale_edit(app, make):
    event = make.event(title="Old title")
    opened = db.session.get(Event, event.id)
    version = opened.version
    # A colleague's save commits between the version check and this edit's write.
    with db.engine.begin() as colleague:
        colleague.execute(
            update(Event)
            .where(Event.id == event.id)
            .values(title="Saved by a colleague", version=version + 1)
        )
    with pytest.raises(StaleEdit):
        service.update_event(
            event.id, _event_data(opened, title="My edit"), version, notify_delegates=False
        )
    db.session.expire_all()
    assert db.session.get(Event, event.id).title == "Saved by a colleague"


def test_moving_a_published_event_tells_its_delegates_with_a_calendar(client, login, make):
    login()
    sector = make.sector()
    event = make.event()
    booking_service.book(event.id, _details(sector.id, 1))
    new_venue = make.venue(name="City Hall")
    form = _edit_form(client, event.id, venue=str(new_venue.id))
    assert form["notify_delegates"] == "y"
    response = client.post(f"/manage/events/{event.id}/edit", data=form)
    assert response.status_code == 302
    (moved,) = _outbox("event_moved")
    assert moved.recipient == "delegate1@example.org"
    assert "City Hall" in render(moved).body_text
    assert "BEGIN:VEVENT" in render(moved).ics
    db.session.refresh(event)
    assert event.sequence == 1  # only the venue changed, and subscribers must see it


def test_edit_without_notify_sends_nothing(client, login, make):
    login()
    sector = make.sector()
    event = make.event()
    booking_service.book(event.id, _details(sector.id, 1))
    form = _edit_form(client, event.id, start_time="11:00", end_time="13:30")
    del form["notify_delegates"]
    assert client.post(f"/manage/events/{event.id}/edit", data=form).status_code == 302
    db.session.refresh(event)
    assert to_london(event.starts_at).time() == time(11)
    assert _outbox("event_moved") == []


def _last_sunday_of_march(year: int) -> date:
    march_31 = date(year, 3, 31)
    return march_31 - timedelta(days=(march_31.weekday() + 1) % 7)


def test_moving_an_event_moves_its_programme_on_the_london_clock(client, login, make):
    login()
    # Saturday to Sunday over the night the clocks go forward.
    sunday = _last_sunday_of_march(NEXT_YEAR)
    saturday = sunday - timedelta(days=1)
    event = make.event(
        starts_at=london_datetime(saturday, time(10)),
        ends_at=london_datetime(sunday, time(17)),
    )
    for day, start, end in ((saturday, "10:30", "11:15"), (sunday, "10:00", "11:00")):
        response = client.post(
            f"/manage/events/{event.id}/programme",
            data=_slot_form(event, day=day.isoformat(), start_time=start, end_time=end),
        )
        assert response.status_code == 302

    week_later = saturday + timedelta(weeks=1)
    form = _edit_form(
        client,
        event.id,
        start_date=week_later.isoformat(),
        end_date=(week_later + timedelta(days=1)).isoformat(),
    )
    assert client.post(f"/manage/events/{event.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    slots = db.session.scalars(select(ProgrammeSlot).order_by(ProgrammeSlot.starts_at))
    assert [
        (to_london(s.starts_at).replace(tzinfo=None), to_london(s.ends_at).replace(tzinfo=None))
        for s in slots
    ] == [
        (datetime.combine(week_later, time(10, 30)), datetime.combine(week_later, time(11, 15))),
        (
            datetime.combine(sunday + timedelta(weeks=1), time(10)),
            datetime.combine(sunday + timedelta(weeks=1), time(11)),
        ),
    ]


def test_shortening_an_event_past_a_session_is_refused(client, login, make):
    login()
    event = make.event()  # 10:00 to 12:30 London
    client.post(f"/manage/events/{event.id}/programme", data=_slot_form(event))  # 10:30-11:15
    form = _edit_form(client, event.id, end_time="11:00")
    response = client.post(f"/manage/events/{event.id}/edit", data=form)
    assert response.status_code == 422
    assert "The session Workshop A would then run outside the event." in response.text
    db.session.expire_all()
    assert to_london(db.session.get(Event, event.id).ends_at).time() == time(12, 30)


def test_cancel_event_emails_everyone_and_feed_shows_cancelled(client, login, make):
    login()
    sector = make.sector()
    event = make.event(capacity=1)
    booking_service.book(event.id, _details(sector.id, 1))
    booking_service.book(event.id, _details(sector.id, 2))  # waiting list

    page = client.post(f"/manage/events/{event.id}/cancel", data={"reason": "Rail strike."})
    assert page.status_code == 422
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
    assert all("Because of the rail strike." in render(m).body_text for m in mails)
    statuses = set(db.session.scalars(select(Booking.status)))
    assert statuses == {BookingStatus.cancelled}
    feed = client.get("/feeds/events.ics")
    assert feed.status_code == 200
    assert "STATUS:CANCELLED" in feed.text
    assert "This event has been cancelled." in client.get(f"/events/{event.slug}").text


def test_a_draft_cannot_be_cancelled_onto_the_public_pages(client, login, make):
    login()
    event = make.event(status=EventStatus.draft)
    response = client.post(
        f"/manage/events/{event.id}/cancel",
        data={"reason": "Not going ahead.", "confirm": "y"},
        follow_redirects=True,
    )
    assert "This event is a draft" in response.text
    db.session.refresh(event)
    assert event.status == EventStatus.draft
    assert client.get(f"/events/{event.slug}").status_code == 404
    assert event.title not in client.get("/feeds/events.ics").text


def test_an_ended_event_cannot_be_cancelled_and_nobody_is_emailed(client, login, make):
    login()
    sector = make.sector()
    event = make.event()
    booking_service.book(event.id, _details(sector.id, 1))
    db.session.execute(
        update(Event)
        .where(Event.id == event.id)
        .values(starts_at=utcnow() - timedelta(days=2), ends_at=utcnow() - timedelta(days=1))
    )
    db.session.commit()
    response = client.post(
        f"/manage/events/{event.id}/cancel",
        data={"reason": "Oops.", "confirm": "y"},
        follow_redirects=True,
    )
    assert "This event has already ended" in response.text
    assert _outbox("event_cancelled") == []
    db.session.expire_all()
    assert db.session.get(Event, event.id).status == EventStatus.published
    assert set(db.session.scalars(select(Booking.status))) == {BookingStatus.confirmed}


def test_capacity_change_promotes_and_refuses_below_confirmed(client, login, make):
    login()
    sector = make.sector()
    event = make.event(capacity=2)
    for n in range(4):
        booking_service.book(event.id, _details(sector.id, n))

    response = client.post(f"/manage/events/{event.id}/capacity", data={"capacity": "1"})
    assert response.status_code == 422
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
    assert response.status_code == 422
    assert message in response.text
    assert db.session.scalar(select(ProgrammeSlot)) is None


def test_programme_refuses_two_sessions_in_one_room_at_once(client, login, make):
    login()
    event = make.event()  # 10:00 to 12:30 London
    url = f"/manage/events/{event.id}/programme"
    assert client.post(url, data=_slot_form(event)).status_code == 302  # Room 1, 10:30-11:15

    clash = client.post(url, data=_slot_form(event, title="Workshop B", start_time="11:00"))
    assert clash.status_code == 422
    assert "Room 1 is already taken from 10.30am to 11.15am by Workshop A." in clash.text
    for fine in (
        _slot_form(event, title="Straight after", start_time="11:15", end_time="12:00"),
        _slot_form(event, title="Elsewhere", room="Room 2"),
        _slot_form(event, title="No room given", room=""),
    ):
        assert client.post(url, data=fine).status_code == 302, fine["title"]

    after = db.session.scalar(select(ProgrammeSlot).where(ProgrammeSlot.title == "Straight after"))
    moved_into_clash = client.post(
        f"{url}/{after.id}",
        data=edit_page_form(
            client,
            f"{url}/{after.id}",
            **_slot_form(event, title="Straight after", room="room 1", start_time="11:00"),
        ),
    )
    assert moved_into_clash.status_code == 422
    assert "is already taken from 10.30am to 11.15am by Workshop A." in moved_into_clash.text
    db.session.expire_all()
    assert to_london(db.session.get(ProgrammeSlot, after.id).starts_at).time() == time(11, 15)
    assert "Workshop B" not in client.get(f"/events/{event.slug}").text


def test_programme_service_refuses_a_session_outside_its_event(app, make):
    event = make.event()
    early = programme.SlotData(
        starts_at=event.starts_at - timedelta(hours=1),
        ends_at=event.starts_at + timedelta(minutes=30),
        kind=SlotKind.talk,
        title="Too early",
        description="",
        room="",
        capacity=None,
        speakers=[],
    )
    with pytest.raises(programme.SlotRefused) as refused:
        programme.add_slot(event.id, early)
    assert refused.value.problems == [("starts_at", "The session must start during the event.")]
    assert db.session.scalar(select(ProgrammeSlot)) is None


def test_edit_and_delete_slot(client, login, make):
    login()
    event = make.event()
    client.post(f"/manage/events/{event.id}/programme", data=_slot_form(event))
    slot = db.session.scalar(select(ProgrammeSlot))
    url = f"/manage/events/{event.id}/programme/{slot.id}"
    form = edit_page_form(client, url)
    assert form["speakers"] == "Sue Jones, NSPCC\nDr Ravi Patel, Barts Health, Safeguarding team"
    form.update(title="Renamed", speakers="Sue Jones")
    assert client.post(url, data=form).status_code == 302
    db.session.expire_all()
    slot = db.session.get(ProgrammeSlot, slot.id)
    assert slot.title == "Renamed"
    assert [s.organisation for s in slot.speakers] == [""]
    client.post(f"/manage/events/{event.id}/programme/{slot.id}/delete")
    db.session.expire_all()
    assert db.session.scalar(select(ProgrammeSlot)) is None


def _slot_data(slot: ProgrammeSlot, **changes) -> programme.SlotData:
    data = programme.SlotData(
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        kind=slot.kind,
        title=slot.title,
        description=slot.description,
        room=slot.room,
        capacity=slot.capacity,
        speakers=[(s.name, s.organisation) for s in slot.speakers],
    )
    for name, value in changes.items():
        setattr(data, name, value)
    return data


def test_stale_session_edit_is_refused(client, login, make):
    login()
    event = make.event()
    client.post(f"/manage/events/{event.id}/programme", data=_slot_form(event))
    slot = db.session.scalar(select(ProgrammeSlot))
    url = f"/manage/events/{event.id}/programme/{slot.id}"
    form = edit_page_form(client, url, title="My title", room="Room 2")
    # A colleague saves the session first, from the form they opened.
    programme.update_slot(slot, _slot_data(slot, title="Colleague's title"), slot.version)

    response = client.post(url, data=form)
    assert response.status_code == 422
    assert "Someone else saved this session while you were editing it" in response.text
    db.session.expire_all()
    saved = db.session.get(ProgrammeSlot, slot.id)
    assert (saved.title, saved.room) == ("Colleague's title", "Room 1")
    # Opened again, the page starts from the saved version and the edit goes through.
    assert client.post(url, data=edit_page_form(client, url, title="My title")).status_code == 302
    db.session.expire_all()
    assert db.session.get(ProgrammeSlot, slot.id).title == "My title"


def test_a_session_saved_while_an_edit_is_written_is_a_stale_edit(app, make):
    event = make.event()
    slot = programme.add_slot(
        event.id,
        programme.SlotData(
            starts_at=event.starts_at,
            ends_at=None,
            kind=SlotKind.talk,
            title="Opening",
            description="",
            room="",
            capacity=None,
            speakers=[],
        ),
    )
    version = slot.version
    # A colleague's save commits after this edit's check, before its write.
    with db.engine.begin() as colleague:
        colleague.execute(
            update(ProgrammeSlot)
            .where(ProgrammeSlot.id == slot.id)
            .values(title="Saved by a colleague", version=version + 1)
        )
    with pytest.raises(StaleEdit):
        programme.update_slot(slot, _slot_data(slot, title="My edit"), version)
    db.session.expire_all()
    assert db.session.get(ProgrammeSlot, slot.id).title == "Saved by a colleague"


def test_dashboard_shows_counts_and_days_to_go(client, login, make):
    login()
    sector = make.sector()
    event = make.event(title="Annual conference", capacity=1)
    booking_service.book(event.id, _details(sector.id, 1))
    booking_service.book(event.id, _details(sector.id, 2))
    before = (london_date(event.starts_at) - london_date(utcnow())).days
    page = client.get("/manage/")
    after = (london_date(event.starts_at) - london_date(utcnow())).days  # unless midnight passed
    assert "Annual conference" in page.text
    assert "1 / 1" in page.text
    assert "<td>1</td>" in page.text  # one waiting
    assert "Days to go" in page.text
    assert any(f"<td>{days}</td>" in page.text for days in {before, after})


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


def _audit_actions() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_refused_changes_leave_no_audit_entry(client, login, make):
    login()
    sector = make.sector()
    event = make.event(capacity=2)  # 10:00 to 12:30 London
    for n in range(2):
        booking_service.book(event.id, _details(sector.id, n))
    url = f"/manage/events/{event.id}/programme"
    assert client.post(url, data=_slot_form(event)).status_code == 302  # Room 1, 10:30-11:15
    recorded = _audit_actions()
    assert recorded[-1] == "slot.create"

    below_confirmed = client.post(f"/manage/events/{event.id}/capacity", data={"capacity": "1"})
    assert below_confirmed.status_code == 422
    room_clash = client.post(url, data=_slot_form(event, title="Workshop B", start_time="11:00"))
    assert room_clash.status_code == 422
    shortened = client.post(
        f"/manage/events/{event.id}/edit", data=_edit_form(client, event.id, end_time="11:00")
    )
    assert shortened.status_code == 422

    assert _audit_actions() == recorded
    db.session.expire_all()
    assert db.session.get(Event, event.id).capacity == 2
    assert db.session.scalar(select(func.count(ProgrammeSlot.id))) == 1


def test_a_cancelled_event_leaves_the_pages_the_api_and_the_feeds_on_the_same_day(client, make):
    event = make.event(slug="called-off", title="Called-off seminar")
    event.status = EventStatus.cancelled
    event.cancelled_at = utcnow() - timedelta(days=20)
    db.session.commit()
    lists = ("/", "/events", "/api/events", "/feeds/events.ics")
    for url in lists:
        assert "Called-off seminar" in client.get(url).text, url

    event.cancelled_at = utcnow() - timedelta(days=31)
    db.session.commit()
    for url in lists:
        assert "Called-off seminar" not in client.get(url).text, url
    # Its own page, feed and API entry stay, for those who booked it.
    for url in ("/events/called-off", "/api/events/called-off", "/feeds/events/called-off.ics"):
        assert client.get(url).status_code == 200, url


def test_editing_only_the_description_leaves_the_feed_sequence_alone(client, login, make):
    login()
    event = make.event()
    form = _edit_form(client, event.id, description="Now with the speakers' biographies.")
    assert client.post(f"/manage/events/{event.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    saved = db.session.get(Event, event.id)
    assert saved.description == "Now with the speakers' biographies."
    assert saved.sequence == 0


def test_a_change_of_speakers_alone_reaches_the_programme_feed_at_once(client, login, make):
    login()
    event = make.event(slug="with-speakers")
    client.post(f"/manage/events/{event.id}/programme", data=_slot_form(event))
    slot = db.session.scalar(select(ProgrammeSlot))
    for model in (Event, ProgrammeSlot):
        db.session.execute(update(model).values(updated_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    feed = "/feeds/events/with-speakers.ics"
    last_modified = client.get(feed).headers["Last-Modified"]
    event_form = _edit_form(client, event.id, title="Renamed while the programme changed")

    url = f"/manage/events/{event.id}/programme/{slot.id}"
    speakers = "Sue Jones, NSPCC\nDr Ravi Patel, Barts Health, Safeguarding team\nAmy Lee, Met"
    assert client.post(url, data=edit_page_form(client, url, speakers=speakers)).status_code == 302
    response = client.get(feed, headers={"If-Modified-Since": last_modified})
    assert response.status_code == 200
    assert b"Amy Lee" in response.data
    # The programme changed, not the event: an edit of the event opened before still saves.
    assert client.post(f"/manage/events/{event.id}/edit", data=event_form).status_code == 302


# ----------------------------------------------------------------------------- the events list

EVENT_LINK = re.compile(r'<td><a href="/manage/events/\d+">([^<]+)</a>')


def _section(page: str, heading: str) -> str:
    """The part of the events list under one heading."""
    start = page.index(f'<h2 id="{heading}">')
    end = page.find("<h2", start + 1)
    return page[start : end if end > 0 else None]


def test_events_list_pages_upcoming_and_past_in_time_order(client, login, make):
    login()
    venue = make.venue(name="Southwark Cathedral")
    today = date.today()
    for n in range(1, 31):  # soonest first: Upcoming 01 .. Upcoming 30
        make.event(
            title=f"Upcoming {n:02d}",
            venue=venue,
            starts_at=london_datetime(today + timedelta(days=n), time(10)),
        )
    for n in range(1, 61):  # latest first: Past 01 .. Past 60, more than the old "latest 50"
        make.event(
            title=f"Past {n:02d}",
            venue=venue,
            starts_at=london_datetime(today - timedelta(days=n), time(10)),
        )

    page = client.get("/manage/events").text
    upcoming, past = _section(page, "upcoming"), _section(page, "past")
    assert EVENT_LINK.findall(upcoming) == [f"Upcoming {n:02d}" for n in range(1, 26)]
    assert "Showing 1 to 25 of 30 upcoming events" in upcoming
    assert EVENT_LINK.findall(past) == [f"Past {n:02d}" for n in range(1, 26)]
    assert "Showing 1 to 25 of 60 past events" in past
    assert 'href="/manage/events?past_page=2#past"' in past

    page = client.get("/manage/events", query_string={"page": "2", "past_page": "3"}).text
    assert EVENT_LINK.findall(_section(page, "upcoming")) == [
        f"Upcoming {n:02d}" for n in range(26, 31)
    ]
    past = _section(page, "past")
    assert EVENT_LINK.findall(past) == [f"Past {n:02d}" for n in range(51, 61)]
    assert "Showing 51 to 60 of 60 past events" in past
    # Paging one list keeps the other's page.
    assert 'href="/manage/events?page=2&amp;past_page=2#past"' in past


def test_events_list_searches_title_venue_and_series(client, login, make):
    login()
    cathedral = make.venue(name="Southwark Cathedral")
    hall = make.venue(name="Camden Town Hall")
    today = date.today()
    make.event(
        title="Neglect seminar",
        venue=hall,
        starts_at=london_datetime(today + timedelta(days=5), time(10)),
    )
    make.event(
        title="Child sexual abuse: the family",
        venue=hall,
        series="Child Sexual Abuse seminars",
        starts_at=london_datetime(today - timedelta(days=400), time(10)),
    )
    make.event(title="Annual conference", venue=cathedral, status=EventStatus.draft)

    def found(q: str) -> tuple[list[str], list[str]]:
        page = client.get("/manage/events", query_string={"q": q}).text
        return (
            EVENT_LINK.findall(_section(page, "upcoming")),
            EVENT_LINK.findall(_section(page, "past")),
        )

    assert found("neglect") == (["Neglect seminar"], [])
    assert found("CATHEDRAL") == (["Annual conference"], [])  # by venue, a draft too
    assert found("abuse seminars") == ([], ["Child sexual abuse: the family"])  # by series
    assert found("camden") == (["Neglect seminar"], ["Child sexual abuse: the family"])
    assert found("100%_") == ([], [])  # wildcards are text
    page = client.get("/manage/events", query_string={"q": "nothing like it"}).text
    assert "No upcoming events match “nothing like it”." in page
    assert 'value="nothing like it"' in page and "Show every event" in page


def test_the_event_page_words_booking_states_and_audiences_for_people(client, login, make):
    """No raw values ("not_open", "did_not_attend") on the console's event page."""
    from bookings.models import EventMessage

    login()
    later = make.event(booking_opens_at=utcnow() + timedelta(days=3))
    db.session.add(
        EventMessage(
            event_id=later.id,
            audience="did_not_attend",
            subject="Slides",
            body="Here they are.",
            recipients=3,
            sent_by="organiser@example.org",
        )
    )
    db.session.commit()
    page = client.get(f"/manage/events/{later.id}").text
    assert "Not open yet" in page
    assert "confirmed delegates who did not attend" in page
    assert "not_open" not in page and "not open" not in page.replace("Not open yet", "")
    assert "did_not_attend" not in page
