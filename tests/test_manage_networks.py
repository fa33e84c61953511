"""Organiser console: networks and their meetings, including pasted dates."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import select, update

from bookings.db import StaleEdit, db
from bookings.london import london_datetime
from bookings.models import Meeting, MeetingStatus, Network
from bookings.networks import service
from bookings.networks.service import parse_meeting_line, parse_meeting_lines
from tests.test_manage import edit_page_form

NETWORK_FORM = {
    "name": "LSCB Chairs",
    "slug": "lscb-chairs",
    "chair": "Tim Beach",
    "chair_organisation": "Barnet LSCB",
    "contact_name": "",
    "contact_email": "chairs@example.org",
    "remit": "",
    "membership": "",
    "papers_url": "https://example.org/papers",
    "default_location": "London Councils, 59½ Southwark Street",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6 December 2011", (date(2011, 12, 6), MeetingStatus.confirmed)),
        ("23 February (prov) 2012", (date(2012, 2, 23), MeetingStatus.provisional)),
        ("tbc", (None, MeetingStatus.tbc)),
        ("TBA", (None, MeetingStatus.tbc)),
        ("Tuesday 6th Dec 2011", (date(2011, 12, 6), MeetingStatus.confirmed)),
        ("14 March 2012 (cancelled)", (date(2012, 3, 14), MeetingStatus.cancelled)),
        ("17 April 2012 tbc", (date(2012, 4, 17), MeetingStatus.tbc)),
    ],
)
def test_parse_meeting_line(text, expected):
    assert parse_meeting_line(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("31 February 2012", "is not a date"),
        ("6 December", "year is missing"),
        ("next Tuesday", "cannot read"),
    ],
)
def test_parse_meeting_line_refuses(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_meeting_line(text)


def test_parse_lines_reports_line_numbers():
    parsed, errors = parse_meeting_lines("6 December 2011\n\nsoon\n")
    assert [p.day for p in parsed] == [date(2011, 12, 6)]
    assert errors and errors[0].startswith("Line 3")


def test_create_network_and_paste_meetings(client, login):
    login()
    response = client.post("/manage/networks/new", data=NETWORK_FORM)
    assert response.status_code == 302
    network = db.session.scalar(select(Network))
    assert network.chair_organisation == "Barnet LSCB"

    response = client.post(
        f"/manage/networks/{network.id}/meetings/paste",
        data={
            "lines": "6 December 2011\n23 February (prov) 2012\ntbc",
            "start_time": "10:00",
            "end_time": "12:30",
            "location": "",
        },
    )
    assert response.status_code == 302
    meetings = list(db.session.scalars(select(Meeting).order_by(Meeting.id)))
    assert [(m.day, m.status) for m in meetings] == [
        (date(2011, 12, 6), MeetingStatus.confirmed),
        (date(2012, 2, 23), MeetingStatus.provisional),
        (None, MeetingStatus.tbc),
    ]
    assert meetings[0].starts_at == london_datetime(date(2011, 12, 6), time(10))
    assert meetings[2].starts_at is None
    public = client.get("/networks/lscb-chairs").text
    assert "provisional" in public.lower()


def test_paste_with_a_bad_line_adds_nothing(client, login, make):
    login()
    network = make.network()
    response = client.post(
        f"/manage/networks/{network.id}/meetings/paste",
        data={"lines": "6 December 2011\n30 February 2012"},
    )
    assert response.status_code == 422
    assert "Line 2" in response.text and "is not a date" in response.text
    assert db.session.scalar(select(Meeting)) is None


def test_edit_meeting_bumps_sequence_and_cancel_marks_time(client, login, make):
    login()
    network = make.network()
    meeting = make.meeting(network, date(2030, 5, 8), time(10), time(12))
    url = f"/manage/networks/{network.id}/meetings/{meeting.id}"
    form = edit_page_form(client, url)
    assert form["start_time"] == "10:00"
    form.update(start_time="14:00", end_time="16:00", status="cancelled")
    response = client.post(url, data=form)
    assert response.status_code == 302
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.status == MeetingStatus.cancelled
    assert meeting.cancelled_at is not None
    assert meeting.sequence >= 1


def test_meeting_without_date_must_be_tbc(client, login, make):
    login()
    network = make.network()
    response = client.post(
        f"/manage/networks/{network.id}/meetings",
        data={"day": "", "status": "confirmed", "location": "", "note": ""},
    )
    assert response.status_code == 422
    assert "Only a meeting marked tbc may be without a date." in response.text


def test_renaming_network_bumps_its_meetings_sequence(client, login, make):
    login()
    network = make.network(slug="cdop-chairs", name="CDOP chairs")
    meeting = make.meeting(network, date(2030, 5, 8))
    before = meeting.sequence
    url = f"/manage/networks/{network.id}"
    form = edit_page_form(client, url, name="Child death overview panel chairs")
    assert client.post(url, data=form).status_code == 302
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).sequence == before + 1


def test_stale_meeting_edit_is_refused(client, login, make):
    login()
    network = make.network()
    meeting = make.meeting(network, date(2030, 5, 8), time(10), time(12))
    url = f"/manage/networks/{network.id}/meetings/{meeting.id}"
    form = edit_page_form(client, url, start_time="14:00", end_time="16:00")
    # A colleague saves the meeting first, from the form they opened.
    colleague = service.MeetingData(
        day=date(2030, 5, 8), start=time(10), end=time(12), status=MeetingStatus.provisional
    )
    service.update_meeting(meeting, colleague, meeting.version)

    response = client.post(url, data=form)
    assert response.status_code == 422
    assert "Someone else saved this meeting while you were editing it" in response.text
    db.session.expire_all()
    saved = db.session.get(Meeting, meeting.id)
    assert saved.status == MeetingStatus.provisional
    assert saved.starts_at == london_datetime(date(2030, 5, 8), time(10))


def test_stale_network_edit_is_refused(client, login, make):
    login()
    network = make.network(name="CDOP chairs", chair="Tim Beach, Barnet")
    url = f"/manage/networks/{network.id}"
    form = edit_page_form(client, url, chair="My choice of chair")
    # A colleague saves the network first, from the form they opened.
    values = {name: getattr(network, name) for name in service.NETWORK_FIELDS}
    service.update_network(network, dict(values, chair="Colleague's choice"), network.version)

    response = client.post(url, data=form)
    assert response.status_code == 422
    assert "Someone else saved this network while you were editing it" in response.text
    db.session.expire_all()
    assert db.session.get(Network, network.id).chair == "Colleague's choice"


def _move_meeting(meeting: Meeting, version: int) -> None:
    data = service.MeetingData(
        day=date(2030, 5, 9), start=None, end=None, status=MeetingStatus.confirmed
    )
    service.update_meeting(meeting, data, version)


def _rename_network(network: Network, version: int) -> None:
    values = {name: getattr(network, name) for name in service.NETWORK_FIELDS}
    service.update_network(network, dict(values, name="Renamed"), version)


@pytest.mark.parametrize(("model", "edit"), [(Meeting, _move_meeting), (Network, _rename_network)])
def test_a_save_landing_while_an_edit_is_written_is_refused(app, make, model, edit):
    network = make.network(name="CDOP chairs")
    meeting = make.meeting(network, date(2030, 5, 8))
    record = meeting if model is Meeting else network
    version = record.version
    # A colleague's save commits after this edit's check, before its write.
    with db.engine.begin() as colleague:
        colleague.execute(update(model).where(model.id == record.id).values(version=version + 1))
    with pytest.raises(StaleEdit):
        edit(record, version)
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).day == date(2030, 5, 8)
    assert db.session.get(Network, network.id).name == "CDOP chairs"
