"""Booking for a team: one booker, several colleagues, each with their own booking, e-mail and
link; the booker's summary and team page; the modes for too few places; duplicates by name."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from bookings.booking import service
from bookings.booking.models import Booking, BookingGroup, BookingStatus
from bookings.db import db
from bookings.london import london_date
from bookings.mail.models import OutboxMessage
from bookings.mail.sender import send_due
from tests.conftest import default_lscb, form_lscb
from tests.test_mail import SMTPServer, calendar_parts, html_part, text_part

Mode = service.TeamMode


@pytest.fixture
def sector(make):
    return make.sector("Health")


@pytest.fixture
def smtp(app):
    server = SMTPServer()
    server.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_TIMEOUT=5)
    yield server
    server.stop()


def colleague(sector, n: int, **kw) -> service.DelegateDetails:
    return service.DelegateDetails(
        name=kw.pop("name", f"Colleague Number{n}"),
        email=kw.pop("email", f"colleague{n}@example.org"),
        organisation="Hackney Council",
        job_title="Social worker",
        sector_id=sector.id,
        lscb_id=default_lscb().id,
        **kw,
    )


def team(sector, size: int, start: int = 1) -> list[service.DelegateDetails]:
    return [colleague(sector, n) for n in range(start, start + size)]


def book_team(event, members, mode=Mode.fit) -> service.TeamBooked:
    return service.book_team(event.id, "Tess Trainer", "tess.trainer@example.org", members, mode)


def single(event, sector, email: str) -> service.Placed:
    return service.book(event.id, colleague(sector, 0, name="Single Person", email=email))


def statuses(booked: service.TeamBooked) -> list[BookingStatus]:
    db.session.expire_all()
    return [p.booking.status for p in booked.members]


# ----------------------------------------------------------------------------- the rules


def test_each_colleague_gets_their_own_booking_and_the_booker_one_summary(make, sector):
    event = make.event(capacity=10)
    booked = book_team(event, team(sector, 3))

    assert statuses(booked) == [BookingStatus.confirmed] * 3
    assert len({p.booking.reference for p in booked.members}) == 3
    assert len({p.token for p in booked.members}) == 3
    for placed in booked.members:
        assert service.booking_for_token(placed.token) == placed.booking
        assert placed.booking.group_id == booked.group.id
    assert service.group_for_token(booked.token) == booked.group
    assert service.booking_for_token(booked.token) is None
    kinds = db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds == ["confirmed"] * 3 + ["team_summary"]
    summary = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "team_summary"))
    assert summary.recipient == "tess.trainer@example.org"
    assert summary.booking_id is None


def test_fit_confirms_those_that_fit_in_order_and_queues_the_rest(make, sector):
    event = make.event(capacity=4)
    single(event, sector, "early@example.org")
    booked = book_team(event, team(sector, 5), Mode.fit)

    assert statuses(booked) == [BookingStatus.confirmed] * 3 + [BookingStatus.waitlisted] * 2
    positions = service.team_members(booked.group)
    assert [m.position for m in positions] == [None, None, None, 1, 2]


def test_whole_team_waits_together_when_it_does_not_fit(make, sector):
    event = make.event(capacity=4)
    single(event, sector, "early@example.org")
    booked = book_team(event, team(sector, 5), Mode.waitlist)

    assert statuses(booked) == [BookingStatus.waitlisted] * 5
    assert [m.position for m in service.team_members(booked.group)] == [1, 2, 3, 4, 5]
    kinds = db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds == ["confirmed"] + ["waitlisted"] * 5 + ["team_summary"]
    # Once waiting, each colleague is promoted as anyone is, in queue order: a cancellation
    # fills every free place (the 3 the team left and the one freed) from the team's first.
    service.cancel(db.session.scalar(select(Booking.id).where(Booking.group_id.is_(None))))
    assert statuses(booked) == [BookingStatus.confirmed] * 4 + [BookingStatus.waitlisted]


def test_waitlist_mode_confirms_everyone_when_the_team_fits(make, sector):
    event = make.event(capacity=5)
    booked = book_team(event, team(sector, 5), Mode.waitlist)
    assert statuses(booked) == [BookingStatus.confirmed] * 5


def test_a_full_event_puts_the_team_on_the_waiting_list_in_either_mode(make, sector):
    event = make.event(capacity=1)
    single(event, sector, "early@example.org")
    for start, mode in ((1, Mode.fit), (10, Mode.waitlist)):
        booked = book_team(event, team(sector, 2, start), mode)
        assert statuses(booked) == [BookingStatus.waitlisted] * 2


def test_duplicates_within_the_team_are_refused_by_name_and_nothing_is_booked(make, sector):
    event = make.event()
    members = [
        colleague(sector, 1, name="Sam Patel", email="sam@example.org"),
        colleague(sector, 2),
        colleague(sector, 3, name="Sam Patel", email=" SAM@Example.org "),
    ]
    with pytest.raises(service.TeamRefused) as refused:
        book_team(event, members)
    [problem] = refused.value.problems
    assert problem.index == 2
    assert problem.message == "Sam Patel (SAM@Example.org) is in the team more than once."
    assert db.session.scalar(select(Booking.id)) is None
    assert db.session.scalar(select(BookingGroup.id)) is None
    assert db.session.scalar(select(OutboxMessage.id)) is None


def test_colleagues_already_booked_are_refused_by_name_and_nothing_is_booked(make, sector):
    event = make.event(capacity=10)
    single(event, sector, "sam@example.org")
    members = [
        colleague(sector, 1),
        colleague(sector, 2, name="Sam Patel", email="Sam@example.org"),
    ]
    with pytest.raises(service.TeamRefused) as refused:
        book_team(event, members)
    assert [p.message for p in refused.value.problems] == [
        "Sam Patel (Sam@example.org) is already booked on this event."
    ]
    assert db.session.scalars(select(Booking.email)).all() == ["sam@example.org"]
    # A cancelled booking is no duplicate: that colleague may be booked again.
    service.cancel(db.session.scalar(select(Booking.id)))
    assert statuses(book_team(event, members)) == [BookingStatus.confirmed] * 2


def test_team_size_is_limited_and_a_closed_event_refuses_the_team(make, sector):
    event = make.event()
    with pytest.raises(service.BookingRefused, match="at most 20 people"):
        book_team(event, team(sector, 21))
    with pytest.raises(service.BookingRefused, match="at least one"):
        book_team(event, [])
    cancelled = make.event()
    service.cancel_event(cancelled.id, "Venue closed")
    with pytest.raises(service.BookingRefused, match="cancelled"):
        book_team(cancelled, team(sector, 2))
    assert db.session.scalar(select(BookingGroup.id)) is None


def test_the_purge_clears_the_bookers_name_address_link_and_summary(app, make, sector):
    from bookings.privacy import service as privacy

    old = make.event()
    upcoming = make.event()
    old_team = book_team(old, team(sector, 2))
    kept_team = book_team(upcoming, team(sector, 2, 5))
    old.starts_at -= timedelta(days=400)
    old.ends_at -= timedelta(days=400)
    db.session.commit()

    assert privacy.preview(london_date(old.ends_at) + timedelta(days=1)).messages == 3
    result = privacy.purge(london_date(old.ends_at) + timedelta(days=1))

    assert (result.bookings, result.messages) == (2, 3)
    db.session.expire_all()
    group = db.session.get(BookingGroup, old_team.group.id)
    assert group.booker_name == "Purged booker" and group.booker_email == ""
    assert group.purged_at is not None
    assert service.group_for_token(old_team.token) is None
    kept = db.session.get(BookingGroup, kept_team.group.id)
    assert kept.booker_email == "tess.trainer@example.org" and kept.purged_at is None
    assert service.group_for_token(kept_team.token) == kept
    left = db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert left == ["confirmed", "confirmed", "team_summary"]


# ----------------------------------------------------------------------------- what arrives


def test_each_colleague_gets_their_mail_and_calendar_and_the_booker_the_summary(
    app, make, sector, smtp
):
    event = make.event(capacity=2, title="Neglect seminar", slug="neglect")
    booked = book_team(event, team(sector, 3), Mode.fit)

    report = send_due()

    assert (report.sent, report.failed) == (4, 0)
    for n, placed in enumerate(booked.members, start=1):
        [received] = smtp.inbox.to(f"colleague{n}@example.org")
        message = received.message
        assert placed.booking.reference in text_part(message)
        assert f"http://bookings.test/bookings/{placed.token}" in text_part(message)
        if n <= 2:
            assert message["Subject"] == "Your place is confirmed: Neglect seminar"
            [ics] = calendar_parts(message)
            assert ics.get_filename() == "neglect.ics"
            assert Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")
        else:
            assert message["Subject"] == "You are on the waiting list: Neglect seminar"
            assert calendar_parts(message) == []
    [summary] = smtp.inbox.to("tess.trainer@example.org")
    message = summary.message
    assert message["Subject"] == "Your team booking: Neglect seminar"
    text, html = text_part(message), html_part(message)
    team_link = f"http://bookings.test/bookings/teams/{booked.token}"
    for body in (text, html):
        assert "Tess Trainer" in body
        assert team_link in body
        for placed in booked.members:
            assert placed.booking.reference in body
            assert placed.booking.name in body
            # The colleagues' own links stay theirs.
            assert placed.token not in body
    assert "Colleague Number1: place confirmed" in text
    assert "Colleague Number3: on the waiting list, number 1" in text
    assert calendar_parts(message) == []


# ----------------------------------------------------------------------------- pages


def row(n: int, sector_, **kw) -> dict[str, str]:
    data = {
        "name": f"Colleague Number{n}",
        "email": f"colleague{n}@example.org",
        "organisation": "Hackney Council",
        "job_title": "Social worker",
        "sector": str(sector_.id),
        "lscb": form_lscb(),
        "dietary_needs": "",
        "access_needs": "",
    }
    data.update(kw)
    return {f"colleagues-{n - 1}-{key}": value for key, value in data.items()}


def team_form(sector, size: int, **kw) -> dict[str, str]:
    data = {"booker_name": "Tess Trainer", "booker_email": "tess.trainer@example.org"}
    for n in range(1, size + 1):
        data.update(row(n, sector))
    data.update({"mode": "fit", "privacy": "y", "book": "1"})
    data.update(kw)
    return data


def test_the_event_page_links_to_the_team_form_while_booking_is_open_or_full(client, make):
    event = make.event(capacity=1)
    page = client.get(f"/events/{event.slug}").text
    assert f'href="/events/{event.slug}/team">Book for a team</a>' in page
    closed = make.event(status="cancelled")
    assert "Book for a team" not in client.get(f"/events/{closed.slug}").text


def test_the_form_starts_with_two_fieldsets_and_adds_and_removes_rows_without_script(
    client, make, sector
):
    event = make.event()
    page = client.get(f"/events/{event.slug}/team")
    assert page.status_code == 200
    assert page.text.count('class="colleague"') == 2
    assert "<legend>Colleague 2</legend>" in page.text
    assert 'name="mode"' in page.text and "put the rest on the waiting list" in page.text

    data = team_form(sector, 2, add="1")
    del data["book"]
    added = client.post(f"/events/{event.slug}/team", data=data)
    assert added.status_code == 200
    assert added.text.count('class="colleague"') == 3
    assert 'href="#colleague-3">Colleague 3</a> has been added' in added.text
    assert 'value="colleague2@example.org"' in added.text
    assert "There is a problem" not in added.text
    assert db.session.scalar(select(Booking.id)) is None

    data = team_form(sector, 3, remove="0")
    del data["book"]
    removed = client.post(f"/events/{event.slug}/team", data=data)
    assert removed.text.count('class="colleague"') == 2
    assert 'value="colleague1@example.org"' not in removed.text
    assert 'value="colleague3@example.org"' in removed.text


def test_booking_a_team_through_the_page_shows_the_group_page(client, make, sector):
    event = make.event(capacity=2)
    data = team_form(sector, 3)
    # A spare blank row is left out, not refused.
    data.update({f"colleagues-3-{k}": "" for k in ("name", "email", "organisation")})
    data.update({"colleagues-3-sector": "-1", "colleagues-3-lscb": "-1"})
    response = client.post(f"/events/{event.slug}/team", data=data)
    assert response.status_code == 303, response.text
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "Your team is booked" in page.text
    assert "2 confirmed, 1 on the waiting list" in page.text
    bookings = db.session.scalars(select(Booking).order_by(Booking.id)).all()
    assert len(bookings) == 3
    for booking in bookings:
        assert booking.reference in page.text
    assert "on the waiting list, number 1" in page.text
    assert "Tess Trainer" in page.text
    # Nothing the booker did not type, and no colleague's link.
    assert not re.search(r"/bookings/[A-Za-z0-9_-]{40,}", page.text)
    assert client.get("/bookings/teams/not-a-token").status_code == 404


def test_errors_name_the_colleague_and_link_to_the_exact_field(client, make, sector):
    event = make.event()
    data = team_form(sector, 2, mode="", privacy="")
    data.update(row(2, sector, email="not-an-address", sector="-1"))
    response = client.post(f"/events/{event.slug}/team", data=data)
    assert response.status_code == 422
    page = response.text
    assert "<title>Error: " in page
    assert (
        '<a href="#colleagues-1-email">Colleague 2, E-mail address: Enter an e-mail address like '
        "name@example.org.</a>" in page
    )
    assert '<a href="#colleagues-1-sector">Colleague 2, Sector: Choose the sector' in page
    assert '<a href="#mode-0">Choose what happens if there are too few places.</a>' in page
    assert '<a href="#privacy">' in page
    assert 'id="colleagues-1-email"' in page and 'aria-invalid="true"' in page
    assert db.session.scalar(select(Booking.id)) is None


def test_duplicates_are_shown_beside_the_colleague_and_nothing_is_booked(client, make, sector):
    event = make.event()
    single(event, sector, "colleague2@example.org")
    data = team_form(sector, 3)
    data.update(row(3, sector, name="Colleague Number1", email="COLLEAGUE1@example.org"))
    response = client.post(f"/events/{event.slug}/team", data=data)
    assert response.status_code == 409
    assert (
        '<a href="#colleagues-1-email">Colleague 2, E-mail address: Colleague Number2 '
        "(colleague2@example.org) is already booked on this event.</a>" in response.text
    )
    assert "Colleague Number1 (COLLEAGUE1@example.org) is in the team more than once." in (
        response.text
    )
    assert len(db.session.scalars(select(Booking.id)).all()) == 1


def test_a_team_too_large_is_told_the_limit(client, make, sector):
    event = make.event()
    data = team_form(sector, 20, add="1")
    del data["book"]
    page = client.post(f"/events/{event.slug}/team", data=data).text
    assert page.count('class="colleague"') == 20
    assert "at most 20 people" in page
    assert "Add another colleague" not in page
