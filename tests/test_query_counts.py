"""No N+1: every listing page, public or console, runs as many SQL statements for a handful of
events, bookings and meetings as for ten times more.

The pages come from the URL map (every GET route without arguments, and those that take only
an event, a network or a slug), by URL, so that renamed modules and endpoints keep their check.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, time, timedelta

from bookings.booking import service as booking_service
from bookings.certificates import service as certificates
from bookings.db import db, utcnow
from bookings.evaluation import service as evaluation
from bookings.evaluation.models import EvaluationResponse
from bookings.london import london_datetime
from bookings.mine import service as mine
from bookings.models import (
    AuditEntry,
    Booking,
    BookingStatus,
    Event,
    EventKind,
    EventMessage,
    EventStatus,
    MeetingStatus,
    ProgrammeSlot,
    Role,
    SlotKind,
    Speaker,
)
from bookings.papers import service as papers
from bookings.papers.models import Audience
from bookings.stats import service as stats
from tests.conftest import default_lscb

# Route arguments the check fills in: the focus event's or network's id, or the slug of one.
FILLED = {"event_id", "network_id", "slug"}
# GET routes that only redirect to a page measured on its own.
REDIRECTS = {"booking.book_form"}

_numbers = itertools.count(1)


@dataclass
class Focus:
    """The records whose own pages are measured; the data set grows around and inside them."""

    event_id: int
    event_slug: str
    network_id: int
    network_slug: str


def _bookings(event: Event, sectors, n: int, *, attended: bool = False) -> None:
    """``n`` bookings of every status in turn, written directly (past events cannot be booked
    through the booking rules)."""
    statuses = [BookingStatus.confirmed, BookingStatus.confirmed, BookingStatus.waitlisted]
    statuses.append(BookingStatus.cancelled)
    for i in range(n):
        k = next(_numbers)
        status = statuses[i % len(statuses)]
        db.session.add(
            Booking(
                event=event,
                sector=sectors[i % len(sectors)],
                lscb_id=default_lscb().id,
                reference=f"Q{k:08d}",
                token_salt="salt",
                token_hash=f"query-count-{k}",
                status=status,
                name=f"Delegate {k}",
                email=f"delegate{k}@example.org",
                email_key=f"delegate{k}@example.org",
                organisation="Barnet PCT",
                job_title="Named nurse",
                queued_at=utcnow() - timedelta(minutes=n - i),
                confirmed_at=utcnow() if status == BookingStatus.confirmed else None,
                cancelled_at=utcnow() if status == BookingStatus.cancelled else None,
                attended_at=event.starts_at if attended and i % 4 == 0 else None,
            )
        )
    db.session.commit()


REGULAR = "regular@example.org"


def _regular(event: Event, sector) -> None:
    """One delegate who books everything: their "my bookings" page grows with each event."""
    k = next(_numbers)
    db.session.add(
        Booking(
            event=event,
            sector=sector,
            lscb_id=default_lscb().id,
            reference=f"R{k:08d}",
            token_salt="salt",
            token_hash=f"query-count-regular-{k}",
            status=[BookingStatus.confirmed, BookingStatus.waitlisted][k % 2],
            name="Regular Delegate",
            email=REGULAR,
            email_key=REGULAR,
        )
    )
    db.session.commit()


def _papers(event: Event, meeting_id: int | None, n: int) -> None:
    for i in range(n):
        audience = list(Audience)[i % 3]
        papers.add_paper(
            papers.PaperData(f"Paper {i}", audience, None, f"https://example.org/{i}"),
            event_id=event.id,
        )
        if meeting_id:
            papers.add_paper(
                papers.PaperData(f"Minutes {i}", Audience.everyone, None, "https://example.org/m"),
                meeting_id=meeting_id,
            )


def _programme(event: Event, n: int) -> None:
    """``n`` talks, two at a time in parallel rooms, each with two speakers."""
    start = len(event.slots)
    for i in range(start, start + n):
        begins = event.starts_at + timedelta(minutes=15 * (i // 2))
        slot = ProgrammeSlot(
            event=event,
            starts_at=begins,
            ends_at=begins + timedelta(minutes=15),
            kind=SlotKind.workshop if i % 2 else SlotKind.talk,
            title=f"Session {i}",
            room=f"Room {i % 2 + 1}",
            position=i,
        )
        slot.speakers = [
            Speaker(name=f"Speaker {i}-{j}", organisation="Met Police", position=j)
            for j in range(2)
        ]
        db.session.add(slot)
    db.session.commit()


def _messages(event: Event, n: int) -> None:
    for i in range(n):
        db.session.add(
            EventMessage(
                event_id=event.id,
                audience="confirmed",
                subject=f"Joining instructions {i}",
                body="Please arrive by 9.30.",
                recipients=3,
                sent_by="admin@example.org",
            )
        )
    db.session.commit()


def _audit(n: int, user, event_id: int, network_id: int) -> None:
    targets = [("event", event_id), ("network", network_id), ("organiser", user.id)]
    for i in range(n):
        kind, target = targets[i % len(targets)]
        db.session.add(
            AuditEntry(
                user_id=user.id,
                user_email=user.email,
                action=f"{kind}.update",
                target_type=kind,
                target_id=target,
                summary=f"Changed {kind} {target}",
                changes_json='{"title": ["Old", "New"]}',
            )
        )
    db.session.commit()


def _meetings(make, network, n: int) -> None:
    """Meetings of every status in turn, the tbc ones without a date."""
    statuses = list(MeetingStatus)
    first = date.today() + timedelta(days=20)
    for i in range(n):
        status = statuses[i % len(statuses)]
        if status == MeetingStatus.tbc:
            make.meeting(network, None, status=status, note="Date to be agreed")
        else:
            day = first + timedelta(weeks=i)
            make.meeting(network, day, time(14), time(16), status=status, location="Room 1")


def _grow(make, focus_event: Event, focus_network, sectors, user, scale: int) -> None:
    """``scale`` units of everything: events of every kind and state around the focus, and
    bookings, programme, messages and meetings inside it."""
    kinds = itertools.cycle(EventKind)
    for i in range(scale):
        for state in ("upcoming", "past", "cancelled"):
            network = make.network() if state == "past" else focus_network
            days = -40 - i if state == "past" else 10 + i
            event = make.event(
                kind=next(kinds),
                starts_at=london_datetime(date.today() + timedelta(days=days), time(10)),
                host_network=network,
                series="Child sexual abuse seminars" if state == "upcoming" else None,
                status=EventStatus.cancelled if state == "cancelled" else EventStatus.published,
                cancelled_at=utcnow() if state == "cancelled" else None,
            )
            _bookings(event, sectors, 2, attended=state == "past")
            _regular(event, sectors[0])
            _meetings(make, network, 1)
            if state == "past":
                stats.save_recorded_figures(
                    event.id, stats.FigureBasis.counts, {sectors[0].id: 5}, None, "Sheet"
                )
    make.event(status=EventStatus.draft)
    _bookings(focus_event, sectors, 5 * scale, attended=True)
    _programme(focus_event, 2 * scale)
    _messages(focus_event, scale)
    _meetings(make, focus_network, 4 * scale)
    _papers(focus_event, focus_network.meetings[0].id, 3 * scale)
    _audit(5 * scale, user, focus_event.id, focus_network.id)
    for _ in range(scale):
        make.organiser(email=f"organiser{next(_numbers)}@example.org")
    make.sector()


def _aftercare(event: Event, sectors, n: int) -> None:
    """``n`` attended delegates of a past event, each with a response and a certificate."""
    _bookings(event, sectors, 4 * n, attended=True)
    attended = db.session.scalars(
        db.select(Booking.id).where(
            Booking.event_id == event.id,
            Booking.attended_at.is_not(None),
            Booking.id.not_in(db.select(EvaluationResponse.booking_id)),
        )
    ).all()
    for booking_id in attended:
        answers = [evaluation.Answer(rating=4)] * 4
        evaluation.submit(booking_id, [*answers, evaluation.Answer("Useful", may_quote=True)])
        certificates.issue(booking_id)


def _pages(app, focus: Focus) -> list[str]:
    """The listing pages to measure, from the URL map, plus the console's filtered lists."""
    adapter = app.url_map.bind("bookings.test")
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.endpoint in REDIRECTS:
            continue
        words = {
            name: sorted(rule._converters[name].items)
            for name in rule.arguments
            if hasattr(rule._converters[name], "items")
        }
        if set(rule.arguments) - FILLED - set(words):
            continue
        slug = focus.network_slug if "network" in rule.rule else focus.event_slug
        filled = {"event_id": focus.event_id, "network_id": focus.network_id, "slug": slug}
        fixed = {name: filled[name] for name in rule.arguments if name in FILLED}
        for choice in itertools.product(*words.values()):
            urls.append(
                adapter.build(rule.endpoint, {**fixed, **dict(zip(words, choice, strict=True))})
            )
    event = f"/manage/events/{focus.event_id}"
    return [
        *urls,
        f"{event}/delegates?status=waitlisted",
        f"{event}/delegates?status=confirmed&q=Delegate",
        f"{event}/check-in?q=Delegate",
        "/events?when=past",
        "/api/events?when=past",
        f"/feeds/networks.ics?network={focus.network_slug}",
        "/manage/admin/audit?type=event",
        "/manage/stats/?measure=confirmed",
    ]


def _held(make, event: Event, sectors, n: int) -> None:
    """``n`` more LSCBs' allocations (holding nothing: the event's places are taken) and a
    limit for each of ``sectors``."""
    for _ in range(n):
        booking_service.set_allocation(event.id, make.lscb().id, 0)
    booking_service.set_sector_limits(
        event.id, [booking_service.LimitInput(s.id, None, 100, None) for s in sectors]
    )


def _measure(client, count_queries, urls: list[str]) -> dict[str, int]:
    counts = {}
    for url in urls:
        assert client.get(url).status_code == 200, url  # warm: templates, caches
        with count_queries() as statements:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[url] = len(statements)
    return counts


def test_no_listing_page_makes_more_queries_for_more_records(
    app, client, make, login, count_queries
):
    user = login(email="admin@example.org", role=Role.admin)
    sectors = [make.sector(name) for name in ("Health", "Police", "Social care")]
    network = make.network(slug="lscb-chairs", name="LSCB Chairs")
    event = make.event(
        slug="annual-conference",
        kind=EventKind.conference,
        host_network=network,
        series="Safeguarding London's Children",
        capacity=40,
    )
    focus = Focus(event.id, event.slug, network.id, network.slug)
    held = make.event(
        starts_at=london_datetime(date.today() - timedelta(days=3), time(10)), slug="held"
    )
    urls = [
        *_pages(app, focus),
        f"/manage/stats/events/{held.id}",
        f"/manage/events/{held.id}/certificates",
        f"/manage/events/{held.id}/evaluation",
    ]
    expected = {
        "/",
        "/events",
        "/events/annual-conference",
        "/networks",
        "/networks/lscb-chairs",
        "/calendars",
        "/feeds/all.ics",
        "/feeds/events.ics",
        "/feeds/networks.ics",
        "/feeds/events/annual-conference.ics",
        "/feeds/networks/lscb-chairs.ics",
        "/api/events",
        "/manage/",
        "/manage/events",
        f"/manage/events/{event.id}",
        f"/manage/events/{event.id}/delegates",
        f"/manage/events/{event.id}/check-in",
        f"/manage/events/{event.id}/programme",
        f"/manage/events/{event.id}/message",
        "/manage/networks/",
        f"/manage/networks/{network.id}",
        "/manage/stats/",
        f"/manage/stats/events/{event.id}",
        "/manage/admin/organisers",
        "/manage/admin/sectors",
        "/manage/admin/audit",
    }
    expected |= {
        f"/manage/events/{event.id}/allocations",
        f"/manage/events/{event.id}/sector-limits",
    }
    assert expected <= set(urls), sorted(expected - set(urls))

    _grow(make, event, network, sectors, user, scale=1)
    _aftercare(held, sectors, 1)
    mine.send_link(REGULAR)
    token = mine.link_token(REGULAR)
    meeting_id = network.meetings[0].id
    urls += [
        f"/bookings/mine/{token}",
        f"/bookings/mine/{token}/calendar.ics",
        f"/manage/meetings/{meeting_id}/papers",
    ]
    expected = {f"/manage/events/{event.id}/papers"}
    assert expected <= set(urls)
    few = _measure(client, count_queries, urls)
    _grow(make, db.session.get(Event, focus.event_id), network, sectors, user, scale=9)
    _aftercare(db.session.get(Event, held.id), sectors, 9)
    _held(make, event, sectors[:1], 1)
    link = booking_service.held_places(event).allocations[0].token
    urls.append(f"/events/{event.slug}/lscb/{link}")
    few = _measure(client, count_queries, urls)
    _grow(make, db.session.get(Event, focus.event_id), network, sectors, user, scale=9)
    _held(make, event, sectors, 9)
    many = _measure(client, count_queries, urls)

    grown = {url: (few[url], many[url]) for url in urls if many[url] > few[url]}
    assert grown == {}, f"statements per page, (few records, ten times more): {grown}"


def test_the_team_page_makes_as_many_queries_for_a_large_team_as_for_a_small_one(
    app, client, make, count_queries
):
    """Reached by its secret link, so the walk above cannot find it."""
    from bookings.booking import service

    sector = make.sector("Health")
    event = make.event(capacity=3)

    def team(size: int, start: int) -> str:
        members = [
            service.DelegateDetails(
                f"Colleague {n}",
                f"colleague{n}@example.org",
                "Barnet PCT",
                "Named nurse",
                sector.id,
                lscb_id=default_lscb().id,
            )
            for n in range(start, start + size)
        ]
        booked = service.book_team(
            event.id, "Tess Trainer", "tess@example.org", members, service.TeamMode.fit
        )
        return f"/bookings/teams/{booked.token}"

    small, large = team(2, 0), team(20, 100)
    assert "on the waiting list, number 19" in client.get(large).text
    counts = {}
    for url in (small, large):
        client.get(url)
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        counts[url] = len(statements)
    assert counts[small] == counts[large], counts
