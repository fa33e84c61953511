"""The demo data: the Board's reports as events and networks, and a current season to book."""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from bookings.accounts.service import authenticate, recent_activity
from bookings.booking.models import Allocation, LscbKind, SectorLimit
from bookings.booking.service import (
    BookingState,
    DelegateDetails,
    availability,
    availability_for,
    book,
    check_in_list,
    waiting_positions,
)
from bookings.db import db, utcnow
from bookings.demo import DATA_FILE
from bookings.demo import loader as demo
from bookings.london import london_date, london_datetime, to_london
from bookings.models import (
    Booking,
    BookingStatus,
    Event,
    EventKind,
    EventMessage,
    Meeting,
    MeetingStatus,
    Network,
    OrganiserUser,
    OutboxMessage,
    ProgrammeSlot,
    RecordedFigures,
    Role,
    Sector,
    SlotKind,
    Speaker,
    Venue,
)
from tests.conftest import default_lscb

MINI_CONFERENCE = "aligning-scrs-and-suis-2008"
CONFERENCE_2011 = "safeguarding-londons-children-2011"
# The data file's [now]: the full upcoming event and the recent one, by their archived slugs.
FULL = "safe-games-train-the-trainer-2011-11-28-morning"
RECENT = "safeguarding-trafficked-children-seminar-2011"
DEMO_MODELS = (Event, ProgrammeSlot, Speaker, Venue, Network, Meeting, Sector, OrganiserUser)


@pytest.fixture
def loaded(app):
    return demo.load()


def _counts() -> dict[str, int]:
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in DEMO_MODELS
    }


def _event(slug: str) -> Event:
    return db.session.scalar(select(Event).where(Event.slug == slug))


def _copy(archived: str) -> Event:
    """The copy the demo makes of an archived event: FULL's in the current season, RECENT's in
    the week or two before loading (worked out here from the data file's rules)."""
    today = london_date(utcnow())
    if archived == FULL:
        day = date(2011, 11, 28) + timedelta(weeks=demo.season_weeks(today)["2011"])
        return _event(f"safe-games-train-the-trainer-{day.isoformat()}-morning")
    assert archived == RECENT
    day = date(2011, 11, 1) + timedelta(weeks=demo.weeks_back(date(2011, 11, 1), today))
    return _event(f"safeguarding-trafficked-children-seminar-{day.year}")


def _not_yet_open() -> Event:
    """The season's copy whose booking opens a week after loading ([now] not_yet_open)."""
    [event] = db.session.scalars(select(Event).where(Event.booking_opens_at > utcnow()))
    assert event.slug.startswith("safe-games-train-the-trainer-") and "afternoon" in event.slug
    return event


def _network(slug: str) -> Network:
    return db.session.scalar(select(Network).where(Network.slug == slug))


def _clock(value: datetime | None) -> str | None:
    return None if value is None else f"{to_london(value):%H:%M}"


def _upcoming_and_past() -> tuple[list[Event], list[Event]]:
    now = utcnow()
    events = list(db.session.scalars(select(Event).order_by(Event.starts_at)))
    return [e for e in events if e.starts_at > now], [e for e in events if e.ends_at <= now]


# ----------------------------------------------------------------------------- what is loaded


def test_the_demo_loads_everything_it_reports(loaded):
    assert _counts() == {
        # With the 2005 conference that holds the report's recorded figures, and the recent
        # event and the one tomorrow ([now] in the data file).
        "events": 33,
        "programme_slots": 20,
        "speakers": 18,
        "venues": 6,
        "networks": 15,
        "meetings": 65,
        "sectors": 9,
        "organisers": 1,
    }
    assert loaded["events"] == 33
    assert loaded["recorded figure sets"] == 1
    assert loaded["demo delegates"] > 1000
    assert loaded["upcoming events"] == 14
    assert loaded["meetings"] == 65
    sectors = db.session.scalars(select(Sector.name).order_by(Sector.position))
    assert list(sectors) == demo.SECTORS
    assert demo.SECTORS[:3] == ["Health", "Police", "Social care"]
    assert demo.SECTORS[-1] == "Other"


def test_the_mini_conference_has_its_whole_programme(loaded):
    event = _event(MINI_CONFERENCE)
    assert event.kind == EventKind.mini_conference
    assert event.starts_at == london_datetime(date(2008, 2, 21), time(9))
    assert event.ends_at == london_datetime(date(2008, 2, 21), time(13, 30))
    assert (event.venue.name, event.venue.postcode) == (
        "King's College London, The Great Hall",
        "WC2R 2LS",
    )
    assert event.notes == "Lunch included."
    assert event.host_network.slug == "health-network"
    assert [(_clock(s.starts_at), _clock(s.ends_at)) for s in event.slots] == [
        ("09:00", None),
        ("09:30", "09:45"),
        ("09:45", "10:15"),
        ("10:15", "11:15"),
        ("11:15", "11:30"),
        ("11:30", "12:30"),
        ("12:30", "12:45"),
        ("12:45", None),
    ]
    talk = event.slots[2]
    assert [(s.name, s.organisation) for s in talk.speakers] == [
        ("Briony Ladbury", "NHS London"),
        ("Rachel Horner", "NHS London"),
        ("Samantha Gradwell", "NPSA"),
    ]
    assert [(s.name, s.organisation) for s in event.slots[3].speakers] == [
        ("Jan Pearson", "East London Foundation Trust"),
        ("Malcolm Ward", "Southwark SCB"),
        ("Sue Lewis", "SLAM"),
    ]
    assert "City and Hackney SCB" in event.slots[3].description
    assert (event.slots[-1].kind, event.slots[-1].title) == (SlotKind.lunch, "Lunch")


def test_the_2011_conference_ends_with_the_awards_ceremony(loaded):
    event = _event(CONFERENCE_2011)
    assert london_date(event.starts_at) == date(2011, 12, 5)
    assert event.venue.name == "QEII Conference Centre"
    (awards,) = [slot for slot in event.slots if slot.kind == SlotKind.ceremony]
    assert awards.starts_at == london_datetime(date(2011, 12, 5), time(16, 45))
    assert awards.ends_at == london_datetime(date(2011, 12, 5), time(18))
    assert event.ends_at == awards.ends_at
    conferences = db.session.scalars(
        select(Event.starts_at).where(Event.title == "Safeguarding London's Children")
    )
    days = {london_date(starts_at) for starts_at in conferences}
    assert {date(2006, 12, 15), date(2007, 12, 13), date(2008, 12, 12), date(2011, 12, 5)} <= days


def test_the_2008_seminar_series_keeps_its_dates_and_times(loaded):
    seminars = db.session.scalars(
        select(Event)
        .where(Event.series == "Child sexual abuse seminar series 2008")
        .order_by(Event.starts_at)
    )
    assert [
        (london_date(e.starts_at), _clock(e.starts_at), _clock(e.ends_at)) for e in seminars
    ] == [
        (date(2008, 4, 9), "10:00", "12:30"),
        (date(2008, 7, 10), "15:00", "17:30"),
        (date(2008, 9, 1), "10:00", "12:30"),
        (date(2008, 10, 15), "10:00", "12:30"),
    ]
    assert _event("child-sexual-abuse-conference-2008").venue.postcode == "NW1 2DB"
    sessions = db.session.scalars(
        select(Event).where(Event.title.like("Safe Games for Children%"), Event.ends_at < utcnow())
    ).all()
    assert len(sessions) == 4
    assert {e.venue.address for e in sessions} == {"44 Moorgate, London"}
    assert {e.notes for e in sessions} == {"Free, subject to availability."}


def test_the_lscb_chairs_meetings_keep_times_and_provisional_marks(loaded):
    network = _network("lscb-chairs")
    assert (network.chair, network.contact_email) == ("Tim Beach", "tim.beach@example.org")
    meetings = {meeting.day: meeting for meeting in network.meetings}
    provisional = meetings[date(2012, 2, 23)]
    assert provisional.status == MeetingStatus.provisional
    assert provisional.starts_at == london_datetime(date(2012, 2, 23), time(10))
    assert provisional.ends_at == london_datetime(date(2012, 2, 23), time(12))
    assert meetings[date(2012, 12, 6)].status == MeetingStatus.provisional
    assert meetings[date(2012, 5, 17)].status == MeetingStatus.confirmed
    last_met = meetings[date(2011, 9, 8)]
    assert (last_met.status, last_met.starts_at) == (MeetingStatus.confirmed, None)


def test_a_tbc_meeting_has_no_day_and_stays_out_of_feeds(loaded):
    (tbc,) = [
        m for m in _network("child-protection-managers").meetings if m.status == MeetingStatus.tbc
    ]
    assert (tbc.day, tbc.starts_at, tbc.in_feeds) == (None, None, False)
    assert "2pm to 4pm" in tbc.note


def _wall_clock(day: date, value: time | None) -> datetime | None:
    return None if value is None else london_datetime(day, value)


def test_every_record_of_the_data_file_is_in_the_database(app):
    """Read here with tomllib, apart from the loader: a record or field the loader drops fails."""
    board = tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))
    assert demo.database_is_empty()
    demo.load()

    assert (
        list(db.session.scalars(select(Sector.name).order_by(Sector.position)))
        == (board["sectors"])
    )
    (organiser,) = db.session.scalars(select(OrganiserUser))
    assert (organiser.email, organiser.name) == (
        board["organiser"]["email"],
        board["organiser"]["name"],
    )
    venues = {
        v.name: (v.address, v.postcode, v.directions) for v in db.session.scalars(select(Venue))
    }
    assert venues == {
        v["name"]: (v["address"], v["postcode"], v["directions"]) for v in board["venues"].values()
    }

    for spec in board["networks"]:
        network = _network(spec["slug"])
        for field, value in spec.items():
            if field != "meetings":
                assert getattr(network, field) == value, (spec["slug"], field)
        meetings = {
            (m.day, m.starts_at, m.ends_at, m.status, m.location, m.note) for m in network.meetings
        }
        for meeting in spec["meetings"]:
            day = meeting.get("day")
            expected = (
                day,
                _wall_clock(day, meeting.get("starts")),
                _wall_clock(day, meeting.get("ends")),
                MeetingStatus(meeting.get("status", "confirmed")),
                spec.get("default_location", ""),
                meeting.get("note", ""),
            )
            assert expected in meetings, (spec["slug"], meeting)

    for entry in board["events"]:
        spec: dict = {}
        for template in entry.get("like", []):
            spec |= board["templates"][template]
        spec |= entry
        day = spec["day"]
        event = _event(spec["slug"].format(year=day.year, date=day.isoformat()))
        assert event is not None, spec["slug"]
        assert (
            event.title,
            event.kind,
            event.summary,
            event.description,
            event.notes,
            event.capacity,
            event.venue.name,
            event.host_network.slug if event.host_network else None,
            event.starts_at,
            event.ends_at,
        ) == (
            spec["title"],
            EventKind(spec["kind"]),
            spec["summary"],
            spec.get("description", ""),
            spec.get("notes", ""),
            spec["capacity"],
            board["venues"][spec["venue"]]["name"],
            spec.get("host"),
            london_datetime(day, spec["starts"]),
            london_datetime(day, spec["ends"]),
        )
        # The series named with a {year} have all their original events in one year.
        assert event.series == (spec["series"].format(year=day.year) if "series" in spec else None)
        assert [
            (
                s.starts_at,
                s.ends_at,
                s.kind,
                s.title,
                s.description,
                [(p.name, p.organisation) for p in s.speakers],
            )
            for s in event.slots
        ] == [
            (
                london_datetime(day, slot["starts"]),
                _wall_clock(day, slot.get("ends")),
                SlotKind(slot["kind"]),
                slot["title"],
                slot.get("description", ""),
                [(p["name"], p["organisation"]) for p in slot.get("speakers", [])],
            )
            for slot in spec.get("programme", [])
        ], spec["slug"]

    recorded = board["recorded_figures"]
    (figures,) = db.session.scalars(select(RecordedFigures))
    assert (figures.event.slug, figures.event.title, figures.source) == (
        recorded["event"]["slug"],
        recorded["event"]["title"],
        recorded["source"],
    )
    assert [(line.sector.name, line.value) for line in figures.lines] == [
        (line["sectors"][0], line["percent"] * 10) for line in recorded["lines"]
    ]


def test_contacts_use_example_org_addresses_only(loaded):
    networks = db.session.scalars(select(Network)).all()
    assert all(n.contact_email.endswith("@example.org") for n in networks)
    texts = [
        *(f"{n.remit} {n.membership} {n.papers_url}" for n in networks),
        *(f"{e.summary} {e.description} {e.notes}" for e in db.session.scalars(select(Event))),
        *db.session.scalars(select(Meeting.note)),
        *db.session.scalars(select(ProgrammeSlot.description)),
    ]
    assert not [text for text in texts if re.search(r"@(?!example\.org)", text)]


# ----------------------------------------------------------------------------- the current season


def test_weeks_forward_keeps_the_weekday_and_lands_two_weeks_ahead():
    today = date(2026, 11, 23)
    weeks = demo.weeks_forward(date(2011, 11, 16), today)
    assert date(2011, 11, 16) + timedelta(weeks=weeks) == date(2026, 12, 9)
    assert demo.weeks_forward(date(2026, 12, 7), today) == 0
    assert demo.weeks_forward(date(2026, 12, 6), today) == 1


def test_the_current_season_is_bookable_on_the_originals_weekdays_and_times(loaded):
    upcoming, past = _upcoming_and_past()
    tomorrow = london_date(utcnow()) + timedelta(days=1)
    assert [london_date(e.starts_at) for e in upcoming].count(tomorrow) == 1  # not the season's
    upcoming = [e for e in upcoming if london_date(e.starts_at) != tomorrow]
    assert (len(upcoming), len(past)) == (13, 19)  # with the 2005 conference, the recent event
    assert london_date(upcoming[0].starts_at) >= london_date(utcnow()) + timedelta(days=14)
    states = availability_for(upcoming)
    full, later = _copy(FULL), _not_yet_open()
    # Open for booking, the full one's waiting list included, but the one that opens later.
    others = {states[e.id].state for e in upcoming if e not in (full, later)}
    assert others == {BookingState.open}
    assert states[full.id].state == BookingState.full
    assert states[later.id].state == BookingState.not_open

    shifts = {7 * weeks for weeks in demo.season_weeks(london_date(utcnow())).values()}
    for copy in upcoming:
        day = london_date(copy.starts_at)
        (original,) = [
            e
            for e in past
            if e.title == copy.title
            and (day - london_date(e.starts_at)).days in shifts
            and (_clock(e.starts_at), _clock(e.ends_at))
            == (_clock(copy.starts_at), _clock(copy.ends_at))
        ]
        assert day.weekday() == london_date(original.starts_at).weekday()
        assert copy.slug != original.slug and str(day.year) in copy.slug
        assert (copy.kind, copy.venue, copy.capacity) == (
            original.kind,
            original.venue,
            original.capacity,
        )
        assert [
            (_clock(s.starts_at), s.title, [str(p) for p in s.speakers]) for s in copy.slots
        ] == [(_clock(s.starts_at), s.title, [str(p) for p in s.speakers]) for s in original.slots]


def test_the_current_season_keeps_london_time_across_the_clock_change(app):
    demo.load(today=date(2026, 11, 23))
    # 9 April 2008 was summer time (09:00 UTC); its copy falls in winter.
    copy = _event("child-sexual-abuse-seminar-2027-01-27")
    assert copy.starts_at == datetime.fromisoformat("2027-01-27T10:00:00+00:00")
    assert copy.series == "Child sexual abuse seminar series 2027"
    assert _event("safeguarding-londons-children-2026").starts_at == london_datetime(
        date(2026, 12, 28), time(9, 30)
    )


def test_active_networks_get_future_meetings_with_their_marks(loaded):
    today = london_date(utcnow())
    meetings = [m for m in _network("lscb-chairs").meetings if m.day and m.day >= today]
    assert len(meetings) == 5
    assert [m.status for m in meetings].count(MeetingStatus.provisional) == 2
    assert {(m.day.weekday(), _clock(m.starts_at), _clock(m.ends_at)) for m in meetings} == {
        (3, "10:00", "12:00"),  # Thursdays, 10am to 12pm, as in 2012
        (1, "10:00", "12:00"),  # 6 December 2011 was a Tuesday
    }
    olympics = [m for m in _network("olympics-subgroup").meetings if m.day and m.day >= today]
    assert {m.location for m in olympics} == {"London Councils"}


# ----------------------------------------------------------------------------- what is going on


def _statuses(event: Event) -> dict[BookingStatus, list[Booking]]:
    result: dict[BookingStatus, list[Booking]] = {status: [] for status in BookingStatus}
    for booking in db.session.scalars(select(Booking).where(Booking.event_id == event.id)):
        result[booking.status].append(booking)
    return result


def test_an_upcoming_event_is_full_and_has_a_waiting_list(client, loaded):
    full = _copy(FULL)
    assert full.starts_at > utcnow() and full.capacity == 20
    bookings = _statuses(full)
    confirmed, waiting = bookings[BookingStatus.confirmed], bookings[BookingStatus.waitlisted]
    assert len(confirmed) == full.capacity
    assert len(waiting) == 4
    # They joined the list once the last place had gone, and queue in the order they joined.
    assert min(b.queued_at for b in waiting) > max(b.queued_at for b in confirmed)
    assert sorted(waiting_positions(full.id).values()) == [1, 2, 3, 4]

    page = client.get(f"/events/{full.slug}").text
    assert "Join the waiting list" in page and "4 people are waiting" in page
    # A newcomer who books now is fifth in the queue.
    placed = book(
        full.id,
        DelegateDetails(
            name="Ada Newcomer",
            email="ada.newcomer@example.org",
            organisation="Camden",
            job_title="Social worker",
            sector_id=confirmed[0].sector_id,
            lscb_id=confirmed[0].lscb_id,
        ),
    )
    assert placed.booking.status == BookingStatus.waitlisted
    assert waiting_positions(full.id)[placed.booking.id] == 5


def test_the_other_upcoming_events_have_bookings_and_places_left(loaded):
    upcoming, _ = _upcoming_and_past()
    full, later = _copy(FULL), _not_yet_open()
    assert not any(_statuses(later).values())
    now = utcnow()
    for event in upcoming:
        if event in (full, later):
            continue
        bookings = _statuses(event)
        assert 0 < len(bookings[BookingStatus.confirmed]) < event.capacity, event.slug
        assert bookings[BookingStatus.waitlisted] == [], event.slug
        every = [b for listed in bookings.values() for b in listed]
        assert all(event.booking_opens_at <= b.queued_at < now for b in every), event.slug
    # Loading writes no e-mail; only the sender's scheduled messages go (see below).
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_the_event_tomorrow_gets_its_reminder_from_the_sender(loaded):
    from bookings.mail.sender import run_round_jobs
    from bookings.scheduled.models import ScheduledKind

    tomorrow = london_date(utcnow()) + timedelta(days=1)
    [event] = [e for e in _upcoming_and_past()[0] if london_date(e.starts_at) == tomorrow]
    confirmed = _statuses(event)[BookingStatus.confirmed]
    assert confirmed and all(b.email.endswith("@example.org") for b in confirmed)
    run_round_jobs(london_datetime(london_date(utcnow()), time(9)))
    kinds = db.session.scalars(
        select(OutboxMessage.kind).where(OutboxMessage.booking_id.in_([b.id for b in confirmed]))
    )
    assert sorted(kinds) == sorted(
        [ScheduledKind.joining.mail_kind, ScheduledKind.reminder.mail_kind] * len(confirmed)
    )


def test_the_disturbances_seminar_holds_two_places_for_every_london_lscb(client, loaded):
    seminar = _event_titled("London disturbances seminar")
    settings = tomllib.loads(DATA_FILE.read_text())["now"]["held_places"]
    allocations = db.session.scalars(
        select(Allocation).where(Allocation.event_id == seminar.id)
    ).all()
    assert len(allocations) == 33 == loaded["LSCBs with places held"]
    assert {a.lscb.kind for a in allocations} == {LscbKind.london}
    assert {a.reserved for a in allocations} == {2}
    # Released a week before the seminar, at 10:00 London time, and not yet.
    release = seminar.allocations_release_at
    assert london_date(release) == london_date(seminar.starts_at) - timedelta(days=7)
    assert _clock(release) == "10:00" and release > utcnow()
    assert seminar.allocations_released_at is None

    # Some LSCBs' delegates already took their places through their links.
    taken = dict(
        db.session.execute(
            select(Allocation.lscb_id, func.count(Booking.id))
            .join(Booking, Booking.allocation_id == Allocation.id)
            .where(Allocation.event_id == seminar.id, Booking.status == BookingStatus.confirmed)
            .group_by(Allocation.lscb_id)
        ).all()
    )
    by_name = {a.lscb.name: taken.get(a.lscb_id, 0) for a in allocations}
    assert {name: n for name, n in by_name.items() if n} == settings["taken"]
    assert loaded["reserved places taken through LSCBs' links"] == sum(settings["taken"].values())
    linked = db.session.scalars(select(Booking).where(Booking.allocation_id.is_not(None))).all()
    assert all(b.lscb_id == b.allocation.lscb_id for b in linked)

    # General bookings left the held places alone: there is room for all of them still.
    places = availability(seminar)
    held = 66 - sum(settings["taken"].values())
    assert places.held == held
    assert places.confirmed + held <= seminar.capacity and places.places_left > 0

    # The statistics show the take-up.
    client.post("/login", data={"email": "organiser@example.org", "password": "demo-organiser"})
    page = client.get(f"/manage/stats/events/{seminar.id}").text
    assert f"66 places reserved for 33 LSCBs; {66 - held} taken through their links" in page
    assert "Camden: 2 of 2 taken" in page


def test_the_coming_conference_caps_social_care_and_holds_floors(client, loaded):
    (conference,) = [e for e in _upcoming_and_past()[0] if e.kind == EventKind.conference]
    limits = {
        limit.sector.name: limit
        for limit in db.session.scalars(
            select(SectorLimit).where(SectorLimit.event_id == conference.id)
        )
    }
    assert set(limits) == {"Social care", "Police", "Education"} and loaded["sector limits"] == 3
    care = limits["Social care"]
    assert (care.min_percent, care.max_percent, care.until) == (None, 35, None)
    for name in ("Police", "Education"):
        floor = limits[name]
        assert (floor.min_percent, floor.max_percent) == (10, None)
        assert london_date(floor.until) == london_date(conference.starts_at) - timedelta(days=14)
        assert _clock(floor.until) == "17:00" and utcnow() < floor.until < conference.starts_at
    # The made-up bookings keep the cap.
    social_care = db.session.scalar(
        select(func.count(Booking.id)).where(
            Booking.event_id == conference.id,
            Booking.sector_id == care.sector_id,
            Booking.status == BookingStatus.confirmed,
        )
    )
    assert social_care <= 35 * conference.capacity // 100

    client.post("/login", data={"email": "organiser@example.org", "password": "demo-organiser"})
    page = client.get(f"/manage/stats/events/{conference.id}").text
    assert "Sector mix against its floors and caps" in page
    assert "at most 35% (157 places)" in page and "at least 10% (45 places)" in page


def test_delegates_were_checked_in_at_a_past_event_and_a_recent_one(loaded):
    now = utcnow()
    recent = _copy(RECENT)
    assert now - timedelta(days=14) < recent.starts_at and recent.ends_at <= now - timedelta(days=7)
    archived = _event(RECENT)
    for event in (archived, recent):
        listed = check_in_list(event.id)
        assert 0 < listed.attended < listed.confirmed, event.slug  # some did not come
        attended = [b for b in _statuses(event)[BookingStatus.confirmed] if b.attended_at]
        assert all(b.attended_at == event.starts_at for b in attended)


def test_the_recent_event_has_demo_evaluation_answers_and_certificates(client, loaded):
    from bookings.certificates.models import Certificate
    from bookings.evaluation import service as evaluation
    from bookings.evaluation.models import EvaluationResponse

    recent = _copy(RECENT)
    results = evaluation.results(recent)
    assert 0 < results.responses < results.attended and results.not_answered
    assert results.sectors and all(row.responses >= 5 for row in results.sectors)
    assert all(text.startswith("(Demo answer)") for _q, texts in results.quotes for text in texts)
    assert db.session.scalar(select(func.count()).where(~EvaluationResponse.demo)) == 0
    issued = db.session.scalars(select(Certificate)).all()
    assert issued and all(c.demo and c.issued_name.startswith("Demo delegate") for c in issued)
    named = next(c for c in issued if c.show_name)
    assert named.issued_name in client.get(f"/certificates/{named.number}").text
    unnamed = next(c for c in issued if not c.show_name)
    assert unnamed.issued_name not in client.get(f"/certificates/{unnamed.number}").text


def test_the_recent_event_counts_in_this_years_statistics(loaded):
    from bookings.stats import service as stats

    recent = _copy(RECENT)
    breakdown = stats.event_breakdown(recent.id)
    assert breakdown.held and breakdown.totals.attended > 0
    years = stats.board_years_table(stats.events_table(stats.Filters()), stats.Filters())
    (this_year,) = [
        row
        for row in years.rows
        if row.label.startswith(str(stats.board_year(london_date(recent.starts_at))))
    ]
    assert not this_year.not_held and this_year.total == breakdown.totals.attended


def test_the_demo_organiser_has_recent_activity_and_sent_messages(client, loaded):
    entries = recent_activity()
    assert {e.action for e in entries} == {
        "event.create",
        "event.publish",
        "event.message",
        "event.allocate",
        "event.sector_limits",
    }
    assert {e.user_email for e in entries} == {"organiser@example.org"}
    assert all(utcnow() - timedelta(days=30) < e.at < utcnow() for e in entries)
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)

    messages = db.session.scalars(select(EventMessage).order_by(EventMessage.sent_at)).all()
    assert [(m.event_id, m.audience) for m in messages] == [
        (_copy(FULL).id, "confirmed"),
        (_copy(FULL).id, "waitlisted"),
        (_event_titled("London disturbances seminar").id, "both"),
    ]
    assert [m.recipients for m in messages[:2]] == [20, 4]
    assert {m.sent_by for m in messages} == {"organiser@example.org"}
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0

    client.post("/login", data={"email": "organiser@example.org", "password": "demo-organiser"})
    dashboard = client.get("/manage/").text
    assert "Published London disturbances seminar" in dashboard
    assert "Your train-the-trainer session: what to bring" in dashboard
    console = client.get(f"/manage/events/{_copy(FULL).id}").text
    assert "The morning session is full: you are on the waiting list" in console


def _event_titled(title: str) -> Event:
    """The upcoming copy of the event with ``title``."""
    (event,) = [e for e in _upcoming_and_past()[0] if e.title == title]
    return event


# ----------------------------------------------------------------------------- organiser, command


def test_the_demo_organiser_is_an_admin_with_the_default_password(app, monkeypatch):
    monkeypatch.delenv("DEMO_ORGANISER_PASSWORD", raising=False)
    demo.load()
    assert authenticate("organiser@example.org", "demo-organiser").role == Role.admin


def test_the_demo_organiser_password_comes_from_the_environment(app, monkeypatch):
    monkeypatch.setenv("DEMO_ORGANISER_PASSWORD", "a password from the environment")
    demo.load()
    assert authenticate("organiser@example.org", "a password from the environment")
    assert authenticate("organiser@example.org", "demo-organiser") is None


def test_the_demo_command_refuses_keeps_and_replaces(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "33 events" in first.output and "organiser@example.org" in first.output
    loaded = _counts()

    refused = runner.invoke(args=["demo"])
    assert refused.exit_code != 0
    assert "not empty" in refused.output and "--replace" in refused.output

    kept = runner.invoke(args=["demo", "--if-empty"])
    assert kept.exit_code == 0, kept.output
    assert "not loaded" in kept.output
    assert _counts() == loaded

    replaced = runner.invoke(args=["demo", "--replace"])
    assert replaced.exit_code == 0, replaced.output
    assert _counts() == loaded


def test_an_organiser_account_alone_makes_the_database_not_empty(app, make):
    assert demo.database_is_empty()
    make.organiser(email="real.organiser@example.org")
    assert not demo.database_is_empty()
    result = app.test_cli_runner().invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_clear_empties_every_table_children_first(loaded):
    event, _ = _upcoming_and_past()
    booking = Booking(
        event=event[0],
        sector=db.session.scalars(select(Sector)).first(),
        lscb_id=default_lscb().id,
        reference="DEMO12345",
        token_salt="salt",
        token_hash="0" * 64,
        status=BookingStatus.confirmed,
        name="Ada Delegate",
        email="ada@example.org",
        email_key="ada@example.org",
    )
    db.session.add(booking)
    db.session.flush()
    db.session.add(
        OutboxMessage(
            booking_id=booking.id,
            kind="confirmed",
            recipient="ada@example.org",
        )
    )
    db.session.commit()
    demo.clear()
    for table in db.metadata.sorted_tables:
        assert db.session.scalar(select(func.count()).select_from(table)) == 0, table.name
    assert demo.database_is_empty()


# ----------------------------------------------------------------------------- pages


def test_the_pages_show_the_demo(client, loaded):
    listing = client.get("/events").text
    for title in (
        "Aligning SCRs and SUIs",
        "London disturbances seminar",
        "Safe Games for Children",
    ):
        assert title in listing
    assert "Safeguarding London" in client.get("/events?when=past").text

    page = client.get(f"/events/{MINI_CONFERENCE}").text
    for text in (
        "9.45am to 10.15am",
        "Samantha Gradwell",
        "NPSA",
        "Briony Ladbury",
        "Malcolm Ward",
        "SLAM",
        "Discussion groups",
        "12.45pm onwards",
        "WC2R 2LS",
        "Lunch included.",
    ):
        assert text in page, text

    upcoming, _ = _upcoming_and_past()
    copy = next(e for e in upcoming if e.title == "Aligning SCRs and SUIs")
    page = client.get(f"/events/{copy.slug}").text
    assert "Samantha Gradwell" in page and "places left" in page

    chairs = client.get("/networks/lscb-chairs").text
    assert "Tim Beach" in chairs and "provisional" in chairs and "10am to 12pm" in chairs
    assert "date to be confirmed" in client.get("/networks/child-protection-managers").text
    index = client.get("/networks").text
    assert "LSCB Chairs network" in index and "Olympics sub-group" in index


def test_only_the_annual_conference_is_of_kind_conference(loaded):
    titles = db.session.scalars(select(Event.title).where(Event.kind == EventKind.conference))
    assert {title.removesuffix(" 2005") for title in titles} == {"Safeguarding London's Children"}


def test_the_recent_event_has_papers_for_each_audience(client, loaded):
    recent = _copy(RECENT)
    page = client.get(f"/events/{recent.slug}").text
    assert "Presentation: safeguarding trafficked children (slides)" in page
    assert "Case discussion notes for delegates" not in page
    assert "Speakers' briefing" not in page and "Speakers&#39; briefing" not in page
    assert "Evaluation summary" not in page  # embargoed for a week


def test_an_event_not_yet_open_offers_to_tell_when_it_opens(client, loaded):
    later = _not_yet_open()
    page = client.get(f"/events/{later.slug}").text
    assert "Tell me when booking opens" in page


def test_a_training_coordinator_booked_a_team_on_the_conference(loaded):
    from bookings.booking.models import BookingGroup

    (conference,) = [e for e in _upcoming_and_past()[0] if e.kind == EventKind.conference]
    (team,) = db.session.scalars(select(BookingGroup)).all()
    assert team.event_id == conference.id and team.booker_email.endswith("@example.org")
    colleagues = db.session.scalars(select(Booking).where(Booking.group_id == team.id)).all()
    assert len(colleagues) == 4 == loaded[f"colleagues booked as one team on {conference.title}"]
    assert {b.status for b in colleagues} == {BookingStatus.confirmed}
    assert len({b.organisation for b in colleagues}) == 1
    assert len({b.queued_at for b in colleagues}) == 1
    assert all(b.email.endswith("@example.org") for b in colleagues)
