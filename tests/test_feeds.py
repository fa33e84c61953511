"""iCalendar feeds, the e-mail attachment, the calendars page and "Add to calendar".

Every feed is read three ways: by icalendar (no parse errors, no TZID without its VTIMEZONE), by
recurring-ical-events (the instants a calendar app would show), and by the small RFC 5545 reader
below, which shares no code with icalendar (line length, folding, escaping, structure).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs, quote, urlsplit
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from icalendar import Calendar
from sqlalchemy import insert, select, update

from bookings.booking.models import Booking, BookingStatus, Sector
from bookings.db import db, utcnow
from bookings.events.models import (
    Event,
    EventKind,
    EventStatus,
    ProgrammeSlot,
    Speaker,
    Venue,
)
from bookings.feeds import ical, service
from bookings.london import london_date, london_datetime
from bookings.networks.models import Meeting, MeetingStatus, Network
from tests.conftest import default_lscb

LONDON = ZoneInfo("Europe/London")
UID_DOMAIN = "bookings.londonscb.gov.uk"


# ----------------------------------------------------------------------------- readers


def unfold(body: bytes) -> list[str]:
    """RFC 5545 3.1, independently of icalendar: CRLF lines, folds of CRLF + one space or tab."""
    assert body.endswith(b"\r\n")
    physical = body[:-2].split(b"\r\n")
    logical: list[bytes] = []
    for line in physical:
        assert b"\n" not in line and b"\r" not in line, line
        assert len(line) <= 75, f"{len(line)} octets: {line!r}"
        line.decode("utf-8")  # a fold never splits a UTF-8 sequence
        if line[:1] in (b" ", b"\t"):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return [line.decode("utf-8") for line in logical]


def split_line(line: str) -> tuple[str, dict[str, str], str]:
    match = re.match(r'^([A-Za-z0-9-]+)((?:;[A-Za-z0-9-]+=(?:"[^"]*"|[^";:,]*))*):(.*)$', line)
    assert match, line
    name, raw_params, value = match.groups()
    params = dict(
        (key.upper(), val.strip('"'))
        for key, val in re.findall(r';([A-Za-z0-9-]+)=("[^"]*"|[^";:,]*)', raw_params)
    )
    return name.upper(), params, value


def unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def raw_components(body: bytes) -> list[tuple[str, dict[str, tuple[dict, str]]]]:
    """Components as (name, {property: (params, raw value)}), checking nesting and TZIDs."""
    stack: list[tuple[str, dict]] = []
    done: list[tuple[str, dict]] = []
    timezones: set[str] = set()
    for line in unfold(body):
        name, params, value = split_line(line)
        if name == "BEGIN":
            stack.append((value, {}))
        elif name == "END":
            component, props = stack.pop()
            assert component == value
            done.append((component, props))
            if component == "VTIMEZONE":
                timezones.add(props["TZID"][1])
        else:
            if "TZID" in params:  # the VTIMEZONE comes before anything that uses it
                assert params["TZID"] in timezones, params
            assert name not in stack[-1][1] or name in ("CATEGORIES", "RRULE"), name
            stack[-1][1][name] = (params, value)
    assert not stack
    return done


def raw_vevents(body: bytes) -> dict[str, dict[str, tuple[dict, str]]]:
    events = {}
    for name, props in raw_components(body):
        if name == "VEVENT":
            for required in ("UID", "DTSTAMP", "DTSTART", "SEQUENCE", "STATUS", "SUMMARY"):
                assert required in props, (required, props)
            uid = props["UID"][1]
            assert uid not in events, uid
            events[uid] = props
    return events


def parse(body: bytes) -> Calendar:
    calendar = Calendar.from_ical(body)
    for component in calendar.walk():
        assert component.errors == [], (component.name, component.errors)
    assert calendar.get_missing_tzids() == set()
    assert calendar["METHOD"] == "PUBLISH"
    raw_vevents(body)
    return calendar


def by_uid(calendar: Calendar) -> dict[str, object]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def occurrences(body: bytes, start: date, end: date) -> dict[str, object]:
    """What a calendar app shows between two dates, read by recurring-ical-events."""
    query = recurring_ical_events.of(Calendar.from_ical(body))
    return {str(event["UID"]): event for event in query.between(start, end)}


def fetch(client, url: str, **headers) -> bytes:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    parse(response.data)
    return response.data


def uid(kind: str, record) -> str:
    return f"{kind}-{record.id}@{UID_DOMAIN}"


def next_date(month: int, day: int) -> date:
    today = london_date(utcnow())
    candidate = date(today.year, month, day)
    return candidate if candidate > today else date(today.year + 1, month, day)


def commit() -> None:
    db.session.commit()


# ----------------------------------------------------------------------------- data


@pytest.fixture
def world(make):
    """An event of each kind with a programme, a draft, two networks with all sorts of meetings."""
    conference = make.event(
        slug="annual-conference",
        title="Safeguarding London's Children",
        kind=EventKind.conference,
        summary="The annual conference.",
    )
    seminar = make.event(slug="cse-seminar", title="Child sexual exploitation", capacity=40)
    mini = make.event(slug="mini", title="Mini-conference", kind=EventKind.mini_conference)
    draft = make.event(slug="draft", title="Not yet announced", status=EventStatus.draft)
    for position, (offset, title) in enumerate(
        [(0, "Registration and coffee"), (30, "Welcome"), (60, "Keynote")]
    ):
        slot = ProgrammeSlot(
            event=conference,
            starts_at=conference.starts_at + timedelta(minutes=offset),
            ends_at=conference.starts_at + timedelta(minutes=offset + 30),
            title=title,
            room="Great Hall",
            position=position,
        )
        slot.speakers.append(Speaker(name="Dr Anna Smith", organisation="King's College"))
        db.session.add(slot)
    db.session.add(
        ProgrammeSlot(
            event=conference,
            starts_at=conference.starts_at + timedelta(minutes=90),
            title="Lunch",
            position=9,
        )
    )
    commit()
    chairs = make.network(
        slug="lscb-chairs",
        name="LSCB Chairs",
        contact_name="Network contact",
        contact_email="chairs@example.org",
        default_location="London Councils, 59½ Southwark Street",
    )
    cdop = make.network(slug="cdop-chairs", name="CDOP chairs")
    soon = london_date(utcnow()) + timedelta(days=20)
    meetings = {
        "confirmed": make.meeting(chairs, soon, time(10), time(12)),
        "provisional": make.meeting(
            chairs, soon + timedelta(days=30), time(14), time(16), status="provisional"
        ),
        "all_day": make.meeting(chairs, soon + timedelta(days=60)),
        "tbc_dated": make.meeting(cdop, soon + timedelta(days=7), status="tbc"),
        "tbc_undated": make.meeting(cdop, None, status="tbc"),
        "cdop": make.meeting(cdop, soon + timedelta(days=3), time(9, 30), time(11)),
    }
    return {
        "conference": conference,
        "seminar": seminar,
        "mini": mini,
        "draft": draft,
        "chairs": chairs,
        "cdop": cdop,
        "meetings": meetings,
    }


FEEDS = [
    "/feeds/all.ics",
    "/feeds/events.ics",
    "/feeds/events.ics?kind=seminar",
    "/feeds/events.ics?kind=mini_conference",
    "/feeds/events.ics?kind=conference",
    "/feeds/events/annual-conference.ics",
    "/feeds/events/annual-conference/event.ics",
    "/feeds/networks.ics",
    "/feeds/networks.ics?network=lscb-chairs,cdop-chairs",
    "/feeds/networks/lscb-chairs.ics",
    "/feeds/networks/cdop-chairs.ics",
]


# ----------------------------------------------------------------------------- content


@pytest.mark.parametrize("url", FEEDS)
def test_every_feed_passes_both_parsers(client, world, url):
    body = fetch(client, url)
    assert occurrences(body, date.today() - timedelta(days=200), date.today() + timedelta(800))
    calendar = Calendar.from_ical(body)
    assert calendar["PRODID"] and calendar["VERSION"] == "2.0"
    assert calendar["CALSCALE"] == "GREGORIAN"
    if url.endswith("/event.ics"):  # a one-off file: no calendar of its own in the user's app
        assert "X-WR-CALNAME" not in calendar and "REFRESH-INTERVAL" not in calendar
        return
    lines = unfold(body)
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in lines
    assert "X-PUBLISHED-TTL:PT1H" in lines
    assert "X-WR-TIMEZONE:Europe/London" in lines
    assert calendar["NAME"] == calendar["X-WR-CALNAME"]
    assert calendar["DESCRIPTION"]


def test_membership_of_each_feed(client, world):
    w = world
    all_uids = set(by_uid(parse(fetch(client, "/feeds/all.ics"))))
    events = {uid("event", w[k]) for k in ("conference", "seminar", "mini")}
    meetings = {
        uid("meeting", m) for k, m in w["meetings"].items() if k != "tbc_undated"
    }  # a tbc meeting with a date is in, as TENTATIVE; without one, never
    assert all_uids == events | meetings
    assert set(by_uid(parse(fetch(client, "/feeds/events.ics")))) == events
    assert set(by_uid(parse(fetch(client, "/feeds/events.ics?kind=seminar")))) == {
        uid("event", w["seminar"])
    }
    conference = by_uid(parse(fetch(client, "/feeds/events/annual-conference.ics")))
    slots = {uid("slot", s) for s in w["conference"].slots}
    assert set(conference) == {uid("event", w["conference"])} | slots
    for slot_uid in slots:
        related = conference[slot_uid]["RELATED-TO"]
        assert str(related) == uid("event", w["conference"])
        assert related.params["RELTYPE"] == "PARENT"
    chairs = {uid("meeting", m) for m in w["chairs"].meetings}
    assert set(by_uid(parse(fetch(client, "/feeds/networks/lscb-chairs.ics")))) == chairs
    both = set(by_uid(parse(fetch(client, "/feeds/networks.ics?network=lscb-chairs,cdop-chairs"))))
    assert both == meetings
    # The page's form sends one parameter per network; unknown slugs are ignored.
    assert (
        set(by_uid(parse(fetch(client, "/feeds/networks.ics?network=lscb-chairs&network=gone"))))
        == chairs
    )


@pytest.mark.parametrize(
    "url",
    [
        "/feeds/events/draft.ics",
        "/feeds/events/draft/event.ics",
        "/feeds/events/nothing.ics",
        "/feeds/networks/nothing.ics",
        "/feeds/networks.ics?network=nothing",
        "/feeds/networks.ics?network=",
        "/feeds/events.ics?kind=party",
    ],
)
def test_drafts_unknowns_and_bad_filters_are_not_found(client, world, url):
    assert client.get(url).status_code == 404


def test_summer_and_winter_meetings_at_ten_london(client, make):
    network = make.network(slug="chairs", name="LSCB Chairs")
    july = make.meeting(network, next_date(7, 14), time(10), time(12))
    december = make.meeting(network, next_date(12, 14), time(10), time(12))
    body = fetch(client, "/feeds/networks/chairs.ics")
    raw = raw_vevents(body)
    for meeting in (july, december):
        params, value = raw[uid("meeting", meeting)]["DTSTART"]
        assert params == {"TZID": "Europe/London"}
        assert value == f"{meeting.day:%Y%m%d}T100000"
        assert raw[uid("meeting", meeting)]["DTEND"][1] == f"{meeting.day:%Y%m%d}T120000"
    start = min(july.day, december.day)
    shown = occurrences(body, start, start + timedelta(days=400))
    in_utc = {key: event["DTSTART"].dt.astimezone(UTC) for key, event in shown.items()}
    assert in_utc[uid("meeting", july)] == datetime.combine(july.day, time(9), UTC)
    assert in_utc[uid("meeting", december)] == datetime.combine(december.day, time(10), UTC)

    # The same instants from the VTIMEZONE's own rules, as Outlook reads them (no tz database).
    calendar = Calendar.from_ical(body)
    (vtimezone,) = calendar.walk("VTIMEZONE")
    rules = vtimezone.to_tz(lookup_tzid=False)
    for meeting, hour in ((july, 9), (december, 10)):
        local = datetime.combine(meeting.day, time(10), rules)
        assert local.astimezone(UTC) == datetime.combine(meeting.day, time(hour), UTC)


def test_vtimezone_is_in_rrule_form_and_agrees_with_the_tz_database():
    vtimezone = ical.london_timezone()
    assert vtimezone["TZID"] == "Europe/London"
    (daylight,) = vtimezone.walk("DAYLIGHT")
    (standard,) = vtimezone.walk("STANDARD")
    assert daylight["RRULE"].to_ical() == b"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"
    assert standard["RRULE"].to_ical() == b"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"
    assert "RDATE" not in daylight and "RDATE" not in standard
    rules = (
        Calendar.from_ical(ical.calendar_shell("x", None).to_ical())
        .walk("VTIMEZONE")[0]
        .to_tz(lookup_tzid=False)
    )
    moment = datetime(2006, 1, 1, 0, 30, tzinfo=UTC)
    while moment.year < 2040:  # every clock change, half an hour either side
        assert moment.astimezone(rules).utcoffset() == moment.astimezone(LONDON).utcoffset()
        moment += timedelta(days=3, hours=1)
    for year in (2008, 2026, 2039):
        for day in range(24, 32):
            for month in (3, 10):
                for hour_utc in (0, 1, 2):
                    moment = datetime(year, month, day, hour_utc, 30, tzinfo=UTC)
                    assert (
                        moment.astimezone(rules).utcoffset()
                        == moment.astimezone(LONDON).utcoffset()
                    ), moment


def test_all_day_meeting_has_dates_with_exclusive_end(client, world):
    meeting = world["meetings"]["all_day"]
    raw = raw_vevents(fetch(client, "/feeds/networks/lscb-chairs.ics"))[uid("meeting", meeting)]
    assert raw["DTSTART"] == ({"VALUE": "DATE"}, f"{meeting.day:%Y%m%d}")
    assert raw["DTEND"] == ({"VALUE": "DATE"}, f"{meeting.day + timedelta(days=1):%Y%m%d}")
    assert raw["TRANSP"][1] == "TRANSPARENT"


def test_provisional_tbc_and_cancelled_meetings(client, world):
    m = world["meetings"]
    body = fetch(client, "/feeds/all.ics")
    events = by_uid(parse(body))
    provisional = events[uid("meeting", m["provisional"])]
    assert provisional["STATUS"] == "TENTATIVE"
    assert provisional["SUMMARY"] == "LSCB Chairs meeting (provisional)"
    tbc = events[uid("meeting", m["tbc_dated"])]
    assert tbc["STATUS"] == "TENTATIVE"
    assert tbc["SUMMARY"] == "CDOP chairs meeting (date to be confirmed)"
    assert uid("meeting", m["tbc_undated"]) not in events
    confirmed = events[uid("meeting", m["confirmed"])]
    assert confirmed["STATUS"] == "CONFIRMED"
    assert str(confirmed["ORGANIZER"]) == "mailto:chairs@example.org"
    assert confirmed["LOCATION"] == "London Councils, 59½ Southwark Street"
    assert str(confirmed["URL"]) == "http://bookings.test/networks/lscb-chairs"

    meeting = m["confirmed"]
    meeting.status = MeetingStatus.cancelled
    meeting.cancelled_at = utcnow()
    commit()
    cancelled = by_uid(parse(fetch(client, "/feeds/all.ics")))[uid("meeting", meeting)]
    assert cancelled["STATUS"] == "CANCELLED"
    assert cancelled["SUMMARY"] == "Cancelled: LSCB Chairs meeting"
    assert cancelled["SEQUENCE"] == confirmed["SEQUENCE"] + 1

    # Cancelled just before the window's London midnight 30 days back (utcnow() - 31 days is
    # still inside it in the hour before midnight after the autumn clock change).
    meeting.cancelled_at = service.Window.current().cancelled_since - timedelta(seconds=1)
    commit()
    assert uid("meeting", meeting) not in by_uid(parse(fetch(client, "/feeds/all.ics")))


def test_cancelled_event_stays_thirty_days_as_cancelled(client, make):
    event = make.event(slug="cancelled", title="Seminar")
    slot = ProgrammeSlot(event=event, starts_at=event.starts_at, title="Talk")
    db.session.add(slot)
    commit()
    before = by_uid(parse(fetch(client, "/feeds/events/cancelled.ics")))
    event.status = EventStatus.cancelled
    event.cancelled_at = utcnow() - timedelta(days=29)
    event.cancellation_reason = "The speaker is ill; we will set a new date, soon."
    commit()
    for url in ("/feeds/events.ics", "/feeds/all.ics", "/feeds/events/cancelled.ics"):
        events = by_uid(parse(fetch(client, url)))
        vevent = events[uid("event", event)]
        assert vevent["STATUS"] == "CANCELLED"
        assert vevent["SUMMARY"] == "Cancelled: Seminar"
        assert vevent["SEQUENCE"] == before[uid("event", event)]["SEQUENCE"] + 1
        assert "The speaker is ill; we will set a new date, soon." in vevent["DESCRIPTION"]
    programme = by_uid(parse(fetch(client, "/feeds/events/cancelled.ics")))
    assert programme[uid("slot", slot)]["STATUS"] == "CANCELLED"
    assert programme[uid("slot", slot)]["SUMMARY"] == "Cancelled: Seminar: Talk"
    assert programme[uid("slot", slot)]["SEQUENCE"] > before[uid("slot", slot)]["SEQUENCE"]

    event.cancelled_at = service.Window.current().cancelled_since - timedelta(seconds=1)
    commit()
    assert uid("event", event) not in by_uid(parse(fetch(client, "/feeds/events.ics")))
    # Its own feed still shows it, as its page does.
    assert uid("event", event) in by_uid(parse(fetch(client, "/feeds/events/cancelled.ics")))


def test_past_events_stay_ninety_days(client, make):
    now = utcnow()
    recent = make.event(starts_at=now - timedelta(days=89, hours=3), ends_at=now - timedelta(89))
    old = make.event(starts_at=now - timedelta(days=92, hours=3), ends_at=now - timedelta(92))
    uids = set(by_uid(parse(fetch(client, "/feeds/events.ics"))))
    assert uid("event", recent) in uids
    assert uid("event", old) not in uids


def test_window_moves_at_london_midnight():
    summer = service.Window.on(date(2026, 7, 1))
    assert summer.day_start == datetime(2026, 6, 30, 23, 0, tzinfo=UTC)
    assert summer.past_day == date(2026, 4, 2)
    assert summer.past_from == datetime(2026, 4, 1, 23, 0, tzinfo=UTC)
    winter = service.Window.on(date(2026, 12, 1))
    assert winter.day_start == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert winter.cancelled_since == datetime(2026, 11, 1, 0, 0, tzinfo=UTC)


def test_sequence_grows_with_time_not_with_description(client, make):
    event = make.event(slug="moving")
    first = raw_vevents(fetch(client, "/feeds/events.ics"))[uid("event", event)]
    assert first["SEQUENCE"][1] == "0"
    event.description = "Now with a longer description."
    commit()
    second = raw_vevents(fetch(client, "/feeds/events.ics"))[uid("event", event)]
    assert second["SEQUENCE"][1] == "0"
    assert "Now with a longer description." in unescape(second["DESCRIPTION"][1])
    event.starts_at += timedelta(hours=1)
    event.ends_at += timedelta(hours=1)
    commit()
    third = raw_vevents(fetch(client, "/feeds/events.ics"))[uid("event", event)]
    assert third["SEQUENCE"][1] == "1"
    assert third["DTSTART"][1] != first["DTSTART"][1]
    event.venue_id = make.venue(name="British Library").id  # as the organisers' form does
    commit()
    fourth = raw_vevents(fetch(client, "/feeds/events.ics"))[uid("event", event)]
    assert fourth["SEQUENCE"][1] == "2"
    assert unescape(fourth["LOCATION"][1]).startswith("British Library, ")


def test_sequence_grows_when_the_venue_is_changed_through_the_relationship(client, make):
    event = make.event(slug="moved")
    event.venue = make.venue(name="British Library")
    commit()
    assert (
        raw_vevents(fetch(client, "/feeds/events.ics"))[uid("event", event)]["SEQUENCE"][1] == "1"
    )


def test_meeting_sequence_grows_when_moved(client, world):
    meeting = world["meetings"]["cdop"]
    url = "/feeds/networks/cdop-chairs.ics"
    before = raw_vevents(fetch(client, url))[uid("meeting", meeting)]
    meeting.location = "Room 2, 59½ Southwark Street"
    commit()
    after = raw_vevents(fetch(client, url))[uid("meeting", meeting)]
    assert int(after["SEQUENCE"][1]) == int(before["SEQUENCE"][1]) + 1
    meeting.note = "Papers to follow."
    commit()
    noted = raw_vevents(fetch(client, url))[uid("meeting", meeting)]
    assert noted["SEQUENCE"] == after["SEQUENCE"]


def test_uid_and_content_are_the_same_in_every_feed_and_the_attachment(client, app, world):
    event = world["conference"]
    expected = f"event-{event.id}@{UID_DOMAIN}"
    assert ical.event_uid(event) == expected
    chunks = set()
    for url in (
        "/feeds/all.ics",
        "/feeds/events.ics",
        "/feeds/events.ics?kind=conference",
        "/feeds/events/annual-conference.ics",
        "/feeds/events/annual-conference/event.ics",
    ):
        body = fetch(client, url)
        chunks.add(
            re.search(rb"BEGIN:VEVENT\r\nSUMMARY:Safeguarding.*?END:VEVENT\r\n", body, re.S)[0]
        )
    with app.test_request_context("/"):
        attachment = ical.event_attachment(event)
    assert isinstance(attachment, str)
    parsed = parse(attachment.encode())
    assert parsed["METHOD"] == "PUBLISH"
    assert list(by_uid(parsed)) == [expected]
    chunks.add(re.search(r"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", attachment, re.S)[0].encode())
    assert len(chunks) == 1
    # The file behind the "Add to calendar" link is the attachment itself.
    assert client.get("/feeds/events/annual-conference/event.ics").data == attachment.encode()


def test_uid_domain_comes_from_config_not_from_the_request(client, world):
    body = fetch(client, "/feeds/events.ics", Host="localhost")
    assert all(u.endswith(f"@{UID_DOMAIN}") for u in by_uid(parse(body)))
    # A host the app does not serve gets no feed at all, so no links can point to it.
    assert client.get("/feeds/events.ics", headers={"Host": "evil.example.com"}).status_code == 400


def test_dtstamp_and_last_modified_come_from_the_record(client, world):
    event = world["seminar"]
    body = fetch(client, "/feeds/events.ics")
    vevent = by_uid(parse(body))[uid("event", event)]
    stamp = event.updated_at.replace(microsecond=0)
    assert vevent["DTSTAMP"].dt == stamp
    assert vevent["LAST-MODIFIED"].dt == stamp
    assert fetch(client, "/feeds/events.ics") == body  # nothing changed: the same bytes


def test_programme_slots_carry_room_speakers_and_event_end(client, world):
    conference = world["conference"]
    events = by_uid(parse(fetch(client, "/feeds/events/annual-conference.ics")))
    welcome = next(s for s in conference.slots if s.title == "Welcome")
    vevent = events[uid("slot", welcome)]
    assert vevent["SUMMARY"] == "Safeguarding London's Children: Welcome"
    assert vevent["LOCATION"].startswith("Great Hall, Venue ")
    assert "Dr Anna Smith, King's College" in vevent["DESCRIPTION"]
    lunch = next(s for s in conference.slots if s.title == "Lunch")
    assert events[uid("slot", lunch)]["DTEND"].dt == conference.ends_at  # "onwards"


def test_long_and_non_ascii_text_is_folded_and_round_trips(client, make):
    title = "Safeguarding children — Zoë, Łódź and 子供の保護; " * 4
    description = (
        "Ünïcödé text, with commas; semicolons\nand newlines \\ backslash. " * 20
    ).strip()
    venue = make.venue(name="Salle Pleyel, Zürich", address="Straße 1; Hof 2\nBuilding B")
    event = make.event(slug="long", title=title.strip(), description=description, venue=venue)
    body = fetch(client, "/feeds/events/long.ics")
    assert max(len(line) for line in body.split(b"\r\n")) <= 75
    assert body.count(b"\r\n ") > 10  # folded
    raw = raw_vevents(body)[uid("event", event)]
    assert unescape(raw["SUMMARY"][1]) == title.strip()
    assert description in unescape(raw["DESCRIPTION"][1])
    assert unescape(raw["LOCATION"][1]).startswith(
        "Salle Pleyel, Zürich, Straße 1; Hof 2\nBuilding"
    )
    parsed = by_uid(parse(body))[uid("event", event)]
    assert parsed["SUMMARY"] == title.strip()
    assert description in parsed["DESCRIPTION"]
    shown = occurrences(body, date.today(), date.today() + timedelta(days=60))
    assert shown[uid("event", event)]["SUMMARY"] == title.strip()


def test_no_personal_data_of_delegates(client, world):
    sector = Sector(name="Health", position=1)
    db.session.add(sector)
    db.session.flush()
    db.session.add(
        Booking(
            event_id=world["seminar"].id,
            reference="ZQX123456",
            token_salt="salt",
            token_hash="h" * 64,
            status=BookingStatus.confirmed,
            sector_id=sector.id,
            lscb_id=default_lscb().id,
            name="Zebedee Quuxworth",
            email="zebedee.quuxworth@example.org",
            email_key="zebedee.quuxworth@example.org",
            organisation="Quuxworth Primary School",
            job_title="Designated safeguarding lead",
            dietary_needs="Vegan",
            access_needs="Hearing loop",
        )
    )
    commit()
    for url in FEEDS:
        body = client.get(url).data.decode()
        for secret in ("Zebedee", "Quuxworth", "zebedee", "ZQX123456", "Hearing loop"):
            assert secret not in body, (url, secret)


def test_calendar_bytes_is_what_icalendar_itself_writes(app, world):
    with app.test_request_context("/"):
        context = ical.Context.current()
        window = service.Window.current()
        feed = service.all_feed(window=window)
        values = [
            ical.EventValues(*row)
            for row in db.session.execute(
                select(*service.EVENT_COLUMNS)
                .outerjoin(Venue)
                .where(service.EventList(window)._member())
                .order_by(Event.starts_at, Event.id)
            )
        ]
        meetings = [
            ical.MeetingValues(*row)
            for row in db.session.execute(
                select(*service.MEETING_COLUMNS)
                .join(Network)
                .where(service.MeetingList(window)._member())
                .order_by(Meeting.day, Meeting.id)
            )
        ]
        entries = [ical.event_entry(v, context) for v in values]
        entries += [ical.meeting_entry(v, context) for v in meetings]
        reference = ical.calendar(feed.name, feed.description, entries).to_ical()
        ical.clear_cache()
        assert feed.body(context) == reference
        assert feed.body(context) == reference  # and again, from the component cache


# ----------------------------------------------------------------------------- HTTP


def test_headers_of_a_feed(client, world):
    response = client.get("/feeds/all.ics", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'inline; filename="all.ics"'
    assert "Content-Encoding" not in response.headers
    assert response.headers["ETag"].startswith('"')
    assert response.headers["Last-Modified"].endswith(" GMT")
    assert response.data.startswith(b"BEGIN:VCALENDAR\r\n")
    download = client.get("/feeds/events/annual-conference/event.ics")
    expected = 'attachment; filename="annual-conference.ics"'
    assert download.headers["Content-Disposition"] == expected


def test_head_gives_the_headers_without_the_body(client, world):
    get = client.get("/feeds/networks.ics")
    head = client.head("/feeds/networks.ics")
    assert head.status_code == 200
    assert head.data == b""
    for name in ("ETag", "Last-Modified", "Content-Type", "Content-Disposition"):
        assert head.headers[name] == get.headers[name]
    assert (
        client.head(
            "/feeds/networks.ics", headers={"If-None-Match": get.headers["ETag"]}
        ).status_code
        == 304
    )


def test_if_none_match_gives_304_until_something_changes(client, world, monkeypatch):
    first = client.get("/feeds/all.ics")
    etag = first.headers["ETag"]

    def no_building(*_args, **_kwargs):
        raise AssertionError("a 304 must not build the calendar")

    monkeypatch.setattr(service.Feed, "body", no_building)
    monkeypatch.setattr(ical, "calendar_bytes", no_building)
    again = client.get("/feeds/all.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert (
        client.get("/feeds/all.ics", headers={"If-None-Match": f'"x", W/{etag}'}).status_code == 304
    )
    assert client.get("/feeds/all.ics", headers={"If-None-Match": "*"}).status_code == 304
    monkeypatch.undo()

    assert client.get("/feeds/all.ics", headers={"If-None-Match": '"other"'}).status_code == 200
    for change in (
        lambda: setattr(world["seminar"], "description", "Edited."),
        lambda: setattr(world["meetings"]["cdop"], "note", "Edited."),
        lambda: setattr(world["cdop"], "name", "CDOP Chairs network"),
        lambda: setattr(world["seminar"].venue, "address", "1 New Street"),
        lambda: setattr(world["mini"], "status", EventStatus.draft),
        lambda: db.session.delete(world["meetings"]["provisional"]),
    ):
        change()
        commit()
        response = client.get("/feeds/all.ics", headers={"If-None-Match": etag})
        assert response.status_code == 200
        assert response.headers["ETag"] != etag
        etag = response.headers["ETag"]
    speaker = world["conference"].slots[0].speakers[0]
    programme = client.get("/feeds/events/annual-conference.ics").headers["ETag"]
    speaker.organisation = "University College London"
    commit()
    response = client.get(
        "/feeds/events/annual-conference.ics", headers={"If-None-Match": programme}
    )
    assert response.status_code == 200
    assert b"University College London" in response.data


def test_if_modified_since_gives_304_until_something_changes(client, world):
    # Make the records an hour old, so that a change now is a later second.
    for model in (Event, ProgrammeSlot, Meeting, Network):
        db.session.execute(update(model).values(updated_at=utcnow() - timedelta(hours=1)))
    commit()
    db.session.expire_all()
    first = client.get("/feeds/all.ics")
    last_modified = first.headers["Last-Modified"]
    response = client.get("/feeds/all.ics", headers={"If-Modified-Since": last_modified})
    assert response.status_code == 304
    seen = datetime.strptime(last_modified, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    earlier = format_datetime(seen - timedelta(seconds=1), usegmt=True)
    assert client.get("/feeds/all.ics", headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match decides when both are sent.
    response = client.get(
        "/feeds/all.ics", headers={"If-Modified-Since": last_modified, "If-None-Match": '"old"'}
    )
    assert response.status_code == 200

    world["seminar"].starts_at += timedelta(minutes=30)
    world["seminar"].ends_at += timedelta(minutes=30)
    commit()
    response = client.get("/feeds/all.ics", headers={"If-Modified-Since": last_modified})
    assert response.status_code == 200
    assert response.headers["Last-Modified"] != last_modified


def test_a_deleted_programme_slot_is_not_answered_304(client, world):
    from bookings.events import programme

    for model in (Event, ProgrammeSlot):
        db.session.execute(update(model).values(updated_at=utcnow() - timedelta(hours=1)))
    commit()
    db.session.expire_all()
    url = "/feeds/events/annual-conference.ics"
    last_modified = client.get(url).headers["Last-Modified"]
    lunch = next(s for s in world["conference"].slots if s.title == "Lunch")
    programme.delete_slot(lunch)
    response = client.get(url, headers={"If-Modified-Since": last_modified})
    assert response.status_code == 200
    assert b"Lunch" not in response.data


def test_last_modified_is_never_before_the_last_london_midnight(client, make):
    network = make.network(slug="quiet")
    make.meeting(network, london_date(utcnow()) + timedelta(days=5))
    db.session.execute(update(Meeting).values(updated_at=utcnow() - timedelta(days=10)))
    db.session.execute(update(Network).values(updated_at=utcnow() - timedelta(days=10)))
    commit()
    before = london_datetime(london_date(utcnow()), time(0))
    response = client.get("/feeds/networks/quiet.ics")
    after = london_datetime(london_date(utcnow()), time(0))  # the same, unless midnight passed
    shown = datetime.strptime(response.headers["Last-Modified"], "%a, %d %b %Y %H:%M:%S GMT")
    assert shown.replace(tzinfo=UTC) in {before, after}


# ----------------------------------------------------------------------------- pages


def test_calendars_page_offers_four_ways_to_subscribe(client, world):
    past = make_past_meeting(world)
    response = client.get("/calendars")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "LSCB Chairs" in html and "Tim Beach, Barnet" in html  # network and chair
    next_day = world["meetings"]["confirmed"].day
    assert f'datetime="{next_day.isoformat()}"' in html  # next meeting
    assert f'datetime="{past.day.isoformat()}"' in html  # last meeting
    https = "http://bookings.test/feeds/networks/lscb-chairs.ics"
    webcal = "webcal://bookings.test/feeds/networks/lscb-chairs.ics"
    assert f'href="{webcal}"' in html
    assert f"https://calendar.google.com/calendar/r?cid={quote(webcal, safe='')}" in html
    outlook = (
        f"https://outlook.live.com/calendar/0/addfromweb?url={quote(https, safe='')}"
        f"&amp;name={quote('LSCB Chairs meetings', safe='')}"
    )
    assert outlook in html
    match = re.search(rf'<label for="([^"]+)">[^<]*</label>\s*<input[^>]*value="{https}"', html)
    assert match, "a labelled read-only input with the feed's address"
    assert re.search(rf'id="{match[1]}" value="{https}" readonly', html)
    for feed in ("all.ics", "events.ics", "events.ics?kind=seminar", "networks.ics"):
        assert f"webcal://bookings.test/feeds/{feed}" in html

    # Choosing several networks gives one feed for them.
    chosen = client.get("/calendars?network=lscb-chairs&network=cdop-chairs").get_data(as_text=True)
    assert "webcal://bookings.test/feeds/networks.ics?network=" in chosen
    link = re.search(r'href="(webcal://bookings.test/feeds/networks.ics\?network=[^"]+)"', chosen)
    path = link[1].removeprefix("webcal://bookings.test").replace("&amp;", "&")
    uids = set(by_uid(parse(fetch(client, path))))
    assert uid("meeting", world["meetings"]["cdop"]) in uids
    assert uid("meeting", world["meetings"]["confirmed"]) in uids


def make_past_meeting(world) -> Meeting:
    meeting = Meeting(
        network=world["chairs"],
        day=london_date(utcnow()) - timedelta(days=40),
        status=MeetingStatus.confirmed,
    )
    db.session.add(meeting)
    commit()
    return meeting


def test_event_page_has_add_to_calendar_in_utc(client, world):
    event = world["seminar"]
    html = client.get("/events/cse-seminar").get_data(as_text=True)
    assert "Add to calendar" in html
    links = dict(re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', html.replace("&amp;", "&")))
    by_text = {text: href for href, text in links.items()}
    start = event.starts_at.astimezone(UTC)
    end = event.ends_at.astimezone(UTC)

    google = urlsplit(by_text["Google Calendar"])
    assert google.netloc == "calendar.google.com" and google.path == "/calendar/render"
    query = parse_qs(google.query)
    assert query["action"] == ["TEMPLATE"]
    assert query["text"] == [event.title]
    assert query["dates"] == [f"{start:%Y%m%dT%H%M%S}Z/{end:%Y%m%dT%H%M%S}Z"]
    assert query["location"] == [event.venue.full_address]
    assert "http://bookings.test/events/cse-seminar" in query["details"][0]

    outlook = urlsplit(by_text["Outlook"])
    assert outlook.netloc == "outlook.office.com"
    assert outlook.path == "/calendar/0/deeplink/compose"
    query = parse_qs(outlook.query)
    assert query["subject"] == [event.title]
    assert query["startdt"] == [f"{start:%Y-%m-%dT%H:%M:%S}Z"]
    assert query["enddt"] == [f"{end:%Y-%m-%dT%H:%M:%S}Z"]
    assert query["location"] == [event.venue.full_address]

    ics = by_text["Calendar file (.ics)"]
    assert ics == "http://bookings.test/feeds/events/cse-seminar/event.ics"
    assert list(by_uid(parse(fetch(client, ics.removeprefix("http://bookings.test"))))) == [
        uid("event", event)
    ]


def test_cancelled_or_past_event_page_offers_no_add_to_calendar(client, make):
    cancelled = make.event(slug="off", status=EventStatus.cancelled, cancelled_at=utcnow())
    past = make.event(slug="over", starts_at=utcnow() - timedelta(days=3))
    for event in (cancelled, past):
        html = client.get(f"/events/{event.slug}").get_data(as_text=True)
        assert "Add to calendar" not in html


def test_etag_follows_the_london_date_only_where_membership_does(app, world):
    today = london_date(utcnow())
    with app.test_request_context("/"):
        context = ical.Context.current()
        for make_feed in (
            service.all_feed,
            service.events_feed,
            service.networks_feed,
        ):
            tags = {
                make_feed(window=service.Window.on(today + timedelta(d))).validators(context)[0]
                for d in (0, 0, 1)
            }
            assert len(tags) == 2
        one_event = set()
        for d in (0, 1, 2):
            feed = service.event_feed("annual-conference")
            feed.window = service.Window.on(today + timedelta(d))
            one_event.add(feed.validators(context)[0])
        assert len(one_event) == 1


# ----------------------------------------------------------------------------- ends, UIDs, names


def test_every_timed_entry_has_an_end_of_its_own_type(client, world, make):
    # A session starting as its event ends cannot go on "until the event ends".
    conference = world["conference"]
    db.session.add(ProgrammeSlot(event=conference, starts_at=conference.ends_at, title="Drinks"))
    commit()
    make.meeting(world["chairs"], london_date(utcnow()) + timedelta(days=9), time(10))
    for url in FEEDS:
        for vevent in parse(fetch(client, url)).walk("VEVENT"):
            start, end = vevent["DTSTART"].dt, vevent["DTEND"].dt
            assert type(start) is type(end), (url, vevent["UID"])
            assert end > start, (url, vevent["UID"])


def test_a_meeting_without_an_end_lasts_the_stated_default_length(client, make):
    assert ical.length_text(ical.DEFAULT_LENGTH) == "2 hours"
    assert ical.length_text(timedelta(minutes=90)) == "90 minutes"
    assert ical.length_text(timedelta(hours=1)) == "1 hour"
    network = make.network(slug="open-ended", name="Open-ended network")
    day = london_date(utcnow()) + timedelta(days=10)
    meeting = make.meeting(network, day, time(10))
    # The night the clocks go forward: two hours of elapsed time end at 03.30 BST.
    spring = next_date(3, 31)
    spring -= timedelta(days=(spring.weekday() + 1) % 7)  # the last Sunday of March
    night = make.meeting(network, spring, time(0, 30))
    body = fetch(client, "/feeds/networks/open-ended.ics")

    raw = raw_vevents(body)[uid("meeting", meeting)]
    assert raw["DTSTART"] == ({"TZID": "Europe/London"}, f"{day:%Y%m%d}T100000")
    assert raw["DTEND"] == ({"TZID": "Europe/London"}, f"{day:%Y%m%d}T120000")
    assert raw["TRANSP"][1] == "OPAQUE"
    vevent = by_uid(parse(body))[uid("meeting", meeting)]
    assert vevent["DTEND"].dt - vevent["DTSTART"].dt == ical.DEFAULT_LENGTH
    assert "Finishing time not yet known: shown as 2 hours." in vevent["DESCRIPTION"]
    assert raw_vevents(body)[uid("meeting", night)]["DTEND"][1] == f"{spring:%Y%m%d}T033000"
    shown = occurrences(body, day, day + timedelta(days=1))[uid("meeting", meeting)]
    assert shown["DTEND"].dt == datetime.combine(day, time(12), LONDON)

    page = client.get("/calendars").get_data(as_text=True)
    assert "known but not its finishing time shows as 2 hours long" in " ".join(page.split())


def test_a_session_starting_as_its_event_ends_lasts_the_default_length(client, make):
    event = make.event(slug="evening")
    drinks = ProgrammeSlot(event=event, starts_at=event.ends_at, title="Drinks reception")
    lunch = ProgrammeSlot(event=event, starts_at=event.ends_at - timedelta(hours=1), title="Lunch")
    db.session.add_all([drinks, lunch])
    commit()
    events = by_uid(parse(fetch(client, "/feeds/events/evening.ics")))
    assert events[uid("slot", drinks)]["DTEND"].dt == event.ends_at + ical.DEFAULT_LENGTH
    assert "Finishing time not yet known" in events[uid("slot", drinks)]["DESCRIPTION"]
    assert events[uid("slot", lunch)]["DTEND"].dt == event.ends_at  # "onwards": to the end
    assert "Finishing time" not in events[uid("slot", lunch)]["DESCRIPTION"]


def test_a_new_record_never_takes_the_uid_of_a_deleted_one(client, make):
    """On either database: delete the newest session, event or meeting, add another."""
    event = make.event(slug="programme")
    slots = [
        ProgrammeSlot(event=event, starts_at=event.starts_at + timedelta(minutes=m), title=t)
        for m, t in ((0, "Welcome"), (30, "Keynote"))
    ]
    db.session.add_all(slots)
    commit()
    keynote_uid = uid("slot", slots[1])
    before = by_uid(parse(fetch(client, "/feeds/events/programme.ics")))
    assert before[keynote_uid]["SUMMARY"].endswith(": Keynote")

    db.session.delete(slots[1])
    commit()
    panel = ProgrammeSlot(event=event, starts_at=slots[1].starts_at, title="Panel")
    db.session.add(panel)
    commit()
    after = by_uid(parse(fetch(client, "/feeds/events/programme.ics")))
    assert uid("slot", panel) != keynote_uid
    assert keynote_uid not in after  # so a subscriber's Keynote is removed, not overwritten
    assert after[uid("slot", panel)]["SUMMARY"].endswith(": Panel")

    network = make.network()
    meeting = make.meeting(network, london_date(utcnow()) + timedelta(days=5), time(10))
    for record, again in (
        (meeting, lambda: make.meeting(network, meeting.day, time(14))),
        (make.event(slug="newest"), lambda: make.event(slug="replacement")),
    ):
        kind, old_id = ("meeting" if isinstance(record, Meeting) else "event"), record.id
        db.session.delete(record)
        commit()
        assert again().id != old_id, kind


def _table_sql(connection) -> dict[str, set[str]]:
    """Each feed table's CREATE TABLE as a set of its column and constraint definitions: the
    rebuild may reorder constraints, and SQLite appends an added column to the last line."""
    rows = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
        "AND name IN ('events', 'programme_slots', 'meetings')"
    )
    return {name: _definitions(sql.replace('"', "")) for name, sql in rows}


def _definitions(sql: str) -> set[str]:
    """The comma-separated parts of a CREATE TABLE's body, commas inside brackets kept."""
    body = sql[sql.index("(") + 1 : sql.rindex(")")]
    parts, depth, current = set(), 0, []
    for char in body:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.add(" ".join("".join(current).split()))
            current = []
        else:
            current.append(char)
    parts.add(" ".join("".join(current).split()))
    return parts


def test_migration_adds_autoincrement_on_sqlite_keeping_every_row(tmp_path):
    """From the first schema, with data: nothing is lost to ON DELETE CASCADE in the rebuild,
    the tables are then what the models create, and a deleted newest id is never handed out."""
    from flask_migrate import downgrade, upgrade

    from tests.conftest import Factory, make_app

    def count(table: str) -> int:
        return db.session.connection().exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()

    app = make_app(f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path)
    with app.app_context():
        upgrade(revision="9dcea341adb8")
        factory = Factory()
        # Core inserts name only the columns given (and those with defaults): the models have
        # columns the first schema lacks (an LSCB, held places).
        starts_at = utcnow() + timedelta(days=30)
        event_id = db.session.execute(
            insert(Event.__table__)
            .values(
                slug="kept",
                title="Kept",
                kind="seminar",
                status="published",
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=2),
                capacity=50,
            )
            .returning(Event.__table__.c.id)
        ).scalar_one()
        slots = [
            ProgrammeSlot(event_id=event_id, starts_at=starts_at, title=f"Session {n}")
            for n in range(3)
        ]
        slots[2].speakers.append(Speaker(name="Dr Anna Smith"))
        db.session.add_all(slots)
        network = factory.network()
        factory.meeting(network, date(2031, 1, 7), time(10))
        sector = factory.sector()
        db.session.execute(
            insert(Booking.__table__).values(
                event_id=event_id,
                reference="KEPT12345",
                token_salt="salt",
                token_hash="h" * 64,
                status=BookingStatus.confirmed,
                sector_id=sector.id,
                name="A delegate",
                email="delegate@example.org",
                email_key="delegate@example.org",
                organisation="A school",
                job_title="Teacher",
            )
        )
        commit()
        newest = slots[2].id
        db.session.remove()

        upgrade()
        assert [count(t) for t in ("events", "programme_slots", "meetings")] == [1, 3, 1]
        assert [count(t) for t in ("speakers", "bookings", "networks")] == [1, 1, 1]
        connection = db.session.connection()
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        migrated = _table_sql(connection)
        db.session.delete(db.session.get(ProgrammeSlot, newest))
        commit()
        assert count("speakers") == 0  # foreign keys act again
        new = ProgrammeSlot(event_id=event_id, starts_at=starts_at, title="New")
        db.session.add(new)
        commit()
        assert new.id == newest + 1
        db.session.remove()

        downgrade(revision="9dcea341adb8")
        assert [count(t) for t in ("events", "programme_slots", "bookings")] == [1, 3, 1]
        assert db.session.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.session.remove()
        db.engine.dispose()

    fresh = make_app(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", tmp_path)
    with fresh.app_context():
        db.create_all()
        assert _table_sql(db.session.connection()) == migrated
        assert all("id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT" in t for t in migrated.values())
        db.session.remove()
        db.engine.dispose()


def test_titles_and_names_are_escaped_in_calendar_names_and_descriptions(client, make):
    title = "Neglect, drift; and the \\ backslash\r\nseminar"
    as_text = title.replace("\r\n", "\n")  # TEXT has one line break, written \n
    event = make.event(slug="hostile", title=title)
    network = make.network(slug="north-south", name="North, South; East \\ West")
    make.meeting(network, london_date(utcnow()) + timedelta(days=5), time(10), time(12))

    body = fetch(client, "/feeds/events/hostile.ics")  # 200, and both parsers read it
    escaped = "Neglect\\, drift\\; and the \\\\ backslash\\nseminar"
    raw = {}
    for line in unfold(body):
        name, _params, value = split_line(line)
        raw.setdefault(name, value)  # the first of each: the VCALENDAR's own
    assert raw["NAME"] == raw["X-WR-CALNAME"] == escaped
    assert unescape(raw["X-WR-CALNAME"]) == as_text
    assert f"{as_text}, with its programme" in unescape(raw["X-WR-CALDESC"])
    calendar = parse(body)
    assert f"{as_text}, with its programme" in calendar["DESCRIPTION"]
    # icalendar has no type for NAME and X-WR-*: it keeps their text as written, whole.
    assert str(calendar["X-WR-CALNAME"]) == escaped
    assert by_uid(calendar)[uid("event", event)]["SUMMARY"] == as_text
    shown = occurrences(body, date.today(), date.today() + timedelta(days=60))
    assert shown[uid("event", event)]["SUMMARY"] == as_text

    for url in ("/feeds/networks/north-south.ics", "/feeds/networks.ics?network=north-south"):
        names = [split_line(line) for line in unfold(fetch(client, url))]
        calname = next(value for name, _params, value in names if name == "X-WR-CALNAME")
        assert "North, South; East \\ West" in unescape(calname)


# ----------------------------------------------------------------------------- cancellation


def test_cancelled_event_file_replaces_the_confirmation_in_a_calendar(client, app, login, make):
    login()
    event = make.event(slug="called-off", title="Online safety")
    with app.test_request_context("/"):
        confirmation = by_uid(parse(ical.event_attachment(event).encode()))
    response = client.post(
        f"/manage/events/{event.id}/cancel", data={"reason": "Speaker ill.", "confirm": "y"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    feed = by_uid(parse(fetch(client, "/feeds/events/called-off.ics")))
    with app.test_request_context("/"):
        attachment = service.calendar_file(event)  # what the e-mail attaches
    calendar = parse(attachment.encode())
    assert calendar["METHOD"] == "PUBLISH"
    assert "X-WR-CALNAME" not in calendar  # a one-off file: no calendar of its own
    ((event_uid, cancelled),) = by_uid(calendar).items()
    ((_, confirmed),) = confirmation.items()
    assert event_uid == uid("event", event) == str(confirmed["UID"])
    assert event_uid in feed
    assert cancelled["STATUS"] == "CANCELLED"
    assert cancelled["SUMMARY"] == "Cancelled: Online safety"
    assert cancelled["SEQUENCE"] > confirmed["SEQUENCE"]
    assert cancelled["SEQUENCE"] == feed[event_uid]["SEQUENCE"]
    assert "Speaker ill." in cancelled["DESCRIPTION"]
