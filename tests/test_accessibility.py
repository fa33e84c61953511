"""Every page works for everyone: axe-core finds nothing on any public or console page, at
desktop and phone width, forms included in their error state; no page scrolls sideways on a
phone; a form with errors says so first; a keyboard user recovers from a booking error; the
focus ring can be seen; the console says where you are.

Runs Debian's Chromium (tests/browser.py: skipped without it, a failure under CI=true) with the
axe-core engine that the axe-selenium-python package ships. One browser and one served app (a
small data set from the Factory) serve the whole module.

"Needs review" (axe's *incomplete*) results are listed by rule with the violations and held at
zero for every rule, except for the few ``color-contrast`` cases that axe cannot decide, each
allowed only where it arises (``UNDECIDABLE``: axe's reason, and the elements it may concern):

- ``elmPartiallyObscured`` on a textarea: axe cannot place its text (axe-core issue 4947, fixed
  after the 4.9/4.10 that the packages ship); and on cells of a table that scrolls in its box at
  phone width: axe skips text that is partly scrolled out of view (axe-core issue 4508).
- ``imgNode`` and ``bgOverlap`` on the statistics charts' SVG text: text drawn over SVG shapes
  has no CSS background for axe to read; the same figures are in the tables beside each chart,
  which axe does check.
- ``shortTextContent``: a cell holding one character ("0", "3") is too short for axe to judge
  whether it is text; the same colours pass on every longer text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta

import pytest

from bookings.db import db, utcnow
from bookings.london import london_datetime
from tests.browser import (
    DESKTOP,
    PHONE,
    chromium,
    keys,
    need_browser,
    next_page,
    serving,
    set_width,
    tab_to,
)
from tests.conftest import Factory, default_lscb, make_app

# Rule: {axe's reason: the elements (a CSS selector) for which it may leave that rule undecided}.
UNDECIDABLE = {
    "color-contrast": {
        "elmPartiallyObscured": "textarea, .table-scroll *",
        "imgNode": "svg *",
        "bgOverlap": "svg *",
        "shortTextContent": "td, th",
    }
}
PASSWORD = "correct horse battery"


@dataclass
class Site:
    """The served app's address and the records whose pages are visited."""

    base: str
    event_id: int
    event_slug: str
    full_slug: str
    full_id: int
    past_id: int
    past_slug: str
    network_id: int
    network_slug: str
    meeting_id: int
    token: str
    held_id: int
    feedback_token: str
    certificate_token: str
    certificate_number: str
    certificate_booking_id: int
    later_slug: str
    paper_id: int
    mine_token: str
    alert_token: str
    link: str
    team_token: str


def _booking(event, sector, n: int, status, attended: bool = False):
    from bookings.models import Booking, BookingStatus

    return Booking(
        event=event,
        sector=sector,
        lscb=default_lscb(),
        reference=f"A11Y{n:04d}",
        token_salt="salt",
        token_hash=f"a11y-{n}",
        status=status,
        name=f"Delegate {n}",
        email=f"delegate{n}@example.org",
        email_key=f"delegate{n}@example.org",
        organisation="Barnet and Chase Farm Hospitals NHS Trust",
        job_title="Named nurse for safeguarding children",
        queued_at=utcnow() - timedelta(hours=n),
        confirmed_at=utcnow() if status == BookingStatus.confirmed else None,
        attended_at=event.starts_at if attended else None,
    )


def _aftercare(make: Factory, sectors) -> dict:
    """An event held three days ago: one delegate yet to give feedback, six who did, one of
    them with a certificate."""
    from bookings.certificates import service as certificates
    from bookings.evaluation import service as evaluation
    from tests.aftercare import delegate, past_event

    held = past_event(make, days_ago=3, slug="held-seminar", title="Working with fathers")
    _waiting, feedback_token = delegate(held, sectors[0], name="Eve Elm")
    answered = [delegate(held, sectors[0], name=f"Answered {n}") for n in range(6)]
    for n, (booking, _token) in enumerate(answered):
        evaluation.submit(
            booking.id,
            [evaluation.Answer(rating=3 + n % 3)] * 4
            + [evaluation.Answer(text=f"Talk to the father too ({n})", may_quote=n % 2 == 0)],
        )
    booking, certificate_token = answered[0]
    number = certificates.issue(booking.id).number
    return {
        "held_id": held.id,
        "feedback_token": feedback_token,
        "certificate_token": certificate_token,
        "certificate_number": number,
        "certificate_booking_id": booking.id,
    }


def _data(make: Factory) -> dict:
    """A small board: a conference with a programme and bookings, a full seminar with a waiting
    list, a past seminar with attendance, a network with meetings of every status."""
    from bookings.booking import service as booking
    from bookings.booking.models import Allocation, SectorLimit
    from bookings.models import (
        AuditEntry,
        BookingStatus,
        EventKind,
        EventMessage,
        MeetingStatus,
        ProgrammeSlot,
        Role,
        SlotKind,
        Speaker,
    )

    sectors = [make.sector(name) for name in ("Health", "Police", "Social care", "Education")]
    user = make.organiser(password=PASSWORD, role=Role.admin)
    network = make.network(
        slug="lscb-chairs",
        name="LSCB Chairs",
        remit="Brings together the chairs of London's local safeguarding children boards.",
        default_location="London Councils, 59½ Southwark Street",
    )
    soon = date.today() + timedelta(days=20)
    meeting = make.meeting(network, soon, time(14), time(16), location="Room 1")
    make.meeting(
        network, soon + timedelta(days=60), time(10), time(12), status=MeetingStatus.provisional
    )
    make.meeting(network, None, status=MeetingStatus.tbc, note="Date to be agreed")
    make.meeting(
        network, soon + timedelta(days=90), time(10), time(12), status=MeetingStatus.cancelled
    )

    conference = make.event(
        slug="annual-conference",
        title="Safeguarding London's Children: the annual conference",
        kind=EventKind.conference,
        series="Safeguarding London's Children",
        host_network=network,
        capacity=40,
        summary="The Board's annual conference for everyone who works with children in London.",
        description="A day of talks and workshops.\n\nLunch is provided.",
    )
    rows = [
        (SlotKind.registration, "Registration and coffee", None, []),
        (
            SlotKind.talk,
            "Learning from serious case reviews",
            None,
            [("Professor Jane Doe", "University of East London")],
        ),
        (
            SlotKind.workshop,
            "Child sexual exploitation: what works",
            "Room 1",
            [("DI Sam Lee", "Metropolitan Police Service"), ("Ann Jones", "Barnardo's")],
        ),
        (
            SlotKind.workshop,
            "Neglect and the toxic trio",
            "Room 2",
            [("Dr Priya Shah", "Great Ormond Street Hospital")],
        ),
        (SlotKind.lunch, "Lunch", None, []),
    ]
    for i, (kind, title, room, speakers) in enumerate(rows):
        begins = conference.starts_at + timedelta(minutes=45 * (i - (i > 2)))
        slot = ProgrammeSlot(
            event=conference,
            starts_at=begins,
            ends_at=begins + timedelta(minutes=45),
            kind=kind,
            title=title,
            room=room,
            position=i,
        )
        slot.speakers = [
            Speaker(name=n, organisation=o, position=j) for j, (n, o) in enumerate(speakers)
        ]
        db.session.add(slot)
    db.session.commit()

    def details(n: int, sector) -> booking.DelegateDetails:
        return booking.DelegateDetails(
            name=f"Delegate {n}",
            email=f"delegate{n}@example.org",
            organisation="Camden Children's Services",
            job_title="Social worker",
            sector_id=sector.id,
            lscb_id=default_lscb().id,
            access_needs="Hearing loop" if n == 1 else "",
        )

    token = booking.book(conference.id, details(1, sectors[0])).token
    for n in range(2, 6):
        booking.book(conference.id, details(n, sectors[n % 4]))

    full = make.event(slug="neglect-seminar", title="Neglect seminar", capacity=2)
    for n in range(6, 10):
        booking.book(full.id, details(n, sectors[n % 4]))
    # A sector at its cap: the event page and the waiting list explain it.
    booking.set_sector_limits(full.id, [booking.LimitInput(sectors[0].id, None, 0, None)])
    booking.allocate(conference.id, 2, conference.starts_at - timedelta(days=7))
    link = booking.held_places(conference).allocations[0].token
    team = [details(n, sectors[n % 4]) for n in range(20, 23)]
    team_token = booking.book_team(
        full.id, "Tess Trainer", "tess@example.org", team, booking.TeamMode.fit
    ).token

    past = make.event(
        slug="cse-seminar-2008",
        title="Child sexual abuse seminar",
        starts_at=london_datetime(date(2008, 7, 10), time(10)),
        series="Child sexual abuse seminars",
    )
    # Places held for an LSCB, released before it, and a sector mix: the take-up and the
    # limits on its statistics page.
    past.allocations_release_at = past.allocations_released_at = past.starts_at - timedelta(days=7)
    held = Allocation(
        event=past, lscb=default_lscb(), reserved=3, token_salt="a11y", token_hash="a11y-link"
    )
    db.session.add_all(
        [
            held,
            SectorLimit(event=past, sector=sectors[1], min_percent=10, until=past.starts_at),
            SectorLimit(event=past, sector=sectors[2], max_percent=35),
        ]
    )
    for n in range(10, 16):
        status = BookingStatus.cancelled if n == 15 else BookingStatus.confirmed
        row = _booking(past, sectors[n % 4], n, status, attended=n % 3 != 0)
        row.allocation = held if n == 10 else None
        db.session.add(row)
    db.session.add(
        EventMessage(
            event_id=conference.id,
            audience="confirmed",
            subject="Joining instructions",
            body="Please arrive by 9.30.",
            recipients=4,
            sent_by=user.email,
        )
    )
    db.session.add(
        AuditEntry(
            user_id=user.id,
            user_email=user.email,
            action="event.update",
            target_type="event",
            target_id=conference.id,
            summary="Changed the venue",
            changes_json='{"venue": ["Guildhall", "London Councils"]}',
        )
    )
    db.session.commit()
    from bookings.mine import service as mine
    from bookings.openings import service as openings
    from bookings.papers import service as papers
    from bookings.papers.models import Audience

    paper = None
    for title, audience in (
        ("Slides: learning from reviews", Audience.everyone),
        ("Briefing for delegates", Audience.delegates),
        ("Speakers' notes", Audience.organisers),
    ):
        paper = papers.add_paper(
            papers.PaperData(title, audience, None, "https://example.org/papers"),
            event_id=past.id,
        )
        papers.add_paper(
            papers.PaperData(title, Audience.everyone, None, "https://example.org/papers"),
            event_id=conference.id,
        )
    papers.add_paper(
        papers.PaperData("Minutes", Audience.everyone, None, "https://example.org/minutes"),
        meeting_id=meeting.id,
    )
    later = make.event(
        slug="not-yet-open",
        title="Seminar opening for booking later",
        booking_opens_at=conference.starts_at - timedelta(days=10),
    )
    openings.subscribe(later.id, "delegate1@example.org")
    mine.send_link("delegate1@example.org")
    db.session.commit()
    return {
        **_aftercare(make, sectors),
        "later_slug": later.slug,
        "paper_id": paper.id,
        "mine_token": mine.link_token("delegate1@example.org"),
        "alert_token": openings.unsubscribe_token("delegate1@example.org"),
        "event_id": conference.id,
        "event_slug": conference.slug,
        "full_slug": full.slug,
        "full_id": full.id,
        "past_id": past.id,
        "past_slug": past.slug,
        "network_id": network.id,
        "network_slug": network.slug,
        "meeting_id": meeting.id,
        "token": token,
        "link": link,
        "team_token": team_token,
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    need_browser()
    tmp = tmp_path_factory.mktemp("a11y")
    app = make_app(f"sqlite:///{tmp / 'a11y.sqlite3'}", tmp, SERVER_NAME=None)
    with app.app_context():
        db.create_all()
        try:
            data = _data(Factory())
            with serving(app) as base:
                yield Site(base=base, **data)
        finally:
            db.session.remove()
            db.engine.dispose()


class Browser:
    """One Chromium for the module, signed in or out as each page needs."""

    def __init__(self, driver, site: Site) -> None:
        self.driver = driver
        self.site = site
        self.signed_in = False

    def visitor(self) -> None:
        if self.signed_in:
            self.driver.delete_all_cookies()
            self.signed_in = False

    def organiser(self) -> None:
        if not self.signed_in:
            d = self.driver
            d.get(f"{self.site.base}/login")
            d.find_element("id", "email").send_keys("organiser@example.org")
            d.find_element("id", "password").send_keys(PASSWORD)
            with next_page(d):
                d.find_element("css selector", "form button[type=submit]").click()
            assert "/login" not in d.current_url, "the organiser could not sign in"
            self.signed_in = True

    def get(self, path: str) -> None:
        self.driver.get(self.site.base + path)


@pytest.fixture(scope="module")
def browser(site) -> Iterator[Browser]:
    with chromium(DESKTOP) as driver:
        yield Browser(driver, site)


# ----------------------------------------------------------------------------- the pages

Visit = Callable[[Browser], None]


def _page(path: str) -> Visit:
    return lambda b: b.get(path.format(**vars(b.site)))


def _submitted(path: str, form: str = "form.form", clear: tuple[str, ...] = ()) -> Visit:
    """The page's form sent with the given fields emptied: its error state."""

    def visit(b: Browser) -> None:
        b.get(path.format(**vars(b.site)))
        with next_page(b.driver):
            b.driver.execute_script(
                """const form = document.querySelector(arguments[0]);
                for (const id of arguments[1]) { document.getElementById(id).value = ''; }
                form.requestSubmit();""",
                form,
                list(clear),
            )
        assert b.driver.find_elements("id", "error-summary"), f"{path}: no error summary"

    return visit


PUBLIC: dict[str, Visit] = {
    "home": _page("/"),
    "events": _page("/events"),
    "past events": _page("/events?when=past"),
    "event with a programme": _page("/events/{event_slug}"),
    "full event": _page("/events/{full_slug}"),
    "past event": _page("/events/{past_slug}"),
    "booking form with errors": _submitted("/events/{event_slug}", "#booking-form"),
    "LSCB's booking link": _page("/events/{event_slug}/lscb/{link}"),
    "LSCB's booking link with errors": _submitted(
        "/events/{event_slug}/lscb/{link}", "#booking-form"
    ),
    "team booking form": _page("/events/{event_slug}/team"),
    "team booking form with errors": _submitted("/events/{event_slug}/team", "#team-form"),
    "team page": _page("/bookings/teams/{team_token}"),
    "manage link": _page("/bookings/{token}"),
    "cancel booking": _page("/bookings/{token}/cancel"),
    "lost link": _page("/bookings/lost-link"),
    "lost link with errors": _submitted("/bookings/lost-link"),
    "booking not yet open": _page("/events/{later_slug}"),
    "tell me when booking opens with errors": _submitted("/events/{later_slug}", "form.tell-me"),
    "unsubscribe from opening e-mails": _page("/bookings/alerts/{alert_token}"),
    "ask for my bookings": _page("/bookings/mine"),
    "ask for my bookings with errors": _submitted("/bookings/mine"),
    "my bookings": _page("/bookings/mine/{mine_token}"),
    "networks": _page("/networks"),
    "network": _page("/networks/{network_slug}"),
    "calendars": _page("/calendars"),
    "privacy notice": _page("/privacy"),
    "log in": _page("/login"),
    "not found": _page("/no-such-page"),
    "manage link with feedback to give": _page("/bookings/{feedback_token}"),
    "feedback form": _page("/bookings/{feedback_token}/feedback"),
    "feedback form with errors": _submitted("/bookings/{feedback_token}/feedback"),
    "manage link with a certificate": _page("/bookings/{certificate_token}"),
    "certificate": _page("/bookings/{certificate_token}/certificate"),
    "certificate verification": _page("/certificates/{certificate_number}"),
    "unknown certificate": _page("/certificates/LSCB-2000-AAAA-AAAA"),
}

CONSOLE: dict[str, Visit] = {
    "dashboard": _page("/manage/"),
    "events": _page("/manage/events"),
    "event": _page("/manage/events/{event_id}"),
    "new event": _page("/manage/events/new"),
    "edit event with errors": _submitted("/manage/events/{event_id}/edit", clear=("title",)),
    "programme": _page("/manage/events/{event_id}/programme"),
    "places held for LSCBs": _page("/manage/events/{event_id}/allocations"),
    "places held with errors": _submitted(
        "/manage/events/{event_id}/allocations", clear=("places",)
    ),
    "sector limits": _page("/manage/events/{full_id}/sector-limits"),
    "delegates": _page("/manage/events/{event_id}/delegates"),
    "waiting list": _page("/manage/events/{full_id}/delegates?status=waitlisted"),
    "print delegates": _page("/manage/events/{event_id}/delegates/print"),
    "badges": _page("/manage/events/{event_id}/badges"),
    "check-in": _page("/manage/events/{past_id}/check-in"),
    "check-in, not yet arrived": _page("/manage/events/{past_id}/check-in?show=waiting"),
    "delegates sorted and filtered": _page(
        "/manage/events/{event_id}/delegates?sort=organisation&dir=desc&status=not-arrived"
    ),
    "events search": _page("/manage/events?q=seminar"),
    "confirmation before unpublishing": _page("/manage/events/{event_id}/unpublish"),
    "book by phone with errors": _submitted("/manage/events/{event_id}/delegates/new"),
    "messages": _page("/manage/events/{event_id}/message"),
    "scheduled messages": _page("/manage/events/{event_id}/scheduled/"),
    "reminder and its preview": _page("/manage/events/{event_id}/scheduled/reminder"),
    "joining instructions with errors": _submitted(
        "/manage/events/{event_id}/scheduled/joining", clear=("subject",)
    ),
    "cancel event": _page("/manage/events/{event_id}/cancel"),
    "duplicate event": _page("/manage/events/{event_id}/duplicate"),
    "networks": _page("/manage/networks/"),
    "network": _page("/manage/networks/{network_id}"),
    "new network": _page("/manage/networks/new"),
    "meeting": _page("/manage/networks/{network_id}/meetings/{meeting_id}"),
    "statistics": _page("/manage/stats/"),
    "statistics of an event": _page("/manage/stats/events/{past_id}"),
    "places reserved for LSCBs": _page("/manage/stats/lscbs"),
    "recorded figures": _page("/manage/stats/events/{past_id}/recorded"),
    "sectors": _page("/manage/admin/sectors"),
    "organisers": _page("/manage/admin/organisers"),
    "audit log": _page("/manage/admin/audit"),
    "privacy purge": _page("/manage/stats/privacy"),
    "evaluation questions": _page("/manage/events/{event_id}/evaluation"),
    "evaluation questions with errors": _submitted(
        "/manage/events/{event_id}/evaluation", clear=tuple(f"text_{i}" for i in range(12))
    ),
    "evaluation, opened": _page("/manage/events/{held_id}/evaluation"),
    "statistics with the evaluation": _page("/manage/stats/events/{held_id}"),
    "certificates": _page("/manage/events/{held_id}/certificates"),
    "certificate name": _page(
        "/manage/events/{held_id}/certificates/{certificate_booking_id}/name"
    ),
    "papers": _page("/manage/events/{past_id}/papers"),
    "papers with errors": _submitted("/manage/events/{past_id}/papers", clear=("title",)),
    "meeting papers": _page("/manage/meetings/{meeting_id}/papers"),
    "edit a paper": _page("/manage/papers/{paper_id}"),
    "remove a paper": _page("/manage/papers/{paper_id}/remove"),
}

PAGES = [(name, visit, False) for name, visit in PUBLIC.items()] + [
    (f"console {name}", visit, True) for name, visit in CONSOLE.items()
]
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}


ERRORS = {name: visit for name, visit, _ in PAGES if "with errors" in name}


def _axe(driver) -> dict:
    from axe_selenium_python import Axe

    axe = Axe(driver)
    axe.inject()
    assert driver.execute_script("return axe.version") >= "4.9", "axe-core is too old"
    return axe.run(options=json.dumps({"resultTypes": ["violations", "incomplete"]}))


def _needing_review(driver, incomplete: list[dict]) -> list[dict]:
    """axe's "needs review" items less those it cannot decide where it may leave them undecided
    (see the module's docstring)."""
    asked = []  # (rule, node index, the node's selector, the selectors it must match)
    for rule in incomplete:
        where = UNDECIDABLE.get(rule["id"], {})
        for i, node in enumerate(rule["nodes"]):
            reasons = {(check.get("data") or {}).get("messageKey") for check in node["any"]}
            if reasons and reasons <= where.keys():
                asked.append((rule["id"], i, node["target"][-1], [where[r] for r in reasons]))
    allowed = driver.execute_script(
        """return arguments[0].map(([rule, i, target, selectors]) => {
          const e = document.querySelector(target);
          return !!e && selectors.every(s => e.matches(s));
        });""",
        asked,
    )
    skip = {(rule, i) for (rule, i, _, _), ok in zip(asked, allowed, strict=True) if ok}
    left = []
    for rule in incomplete:
        nodes = [n for i, n in enumerate(rule["nodes"]) if (rule["id"], i) not in skip]
        if nodes:
            left.append({**rule, "nodes": nodes})
    return left


def _by_rule(results: list[dict]) -> dict[str, list[str]]:
    return {
        rule["id"]: [
            f"{' '.join(map(str, node['target']))}: {node['failureSummary'] or ''}".strip()
            for node in rule["nodes"]
        ]
        for rule in results
    }


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("name", "visit", "console"), PAGES, ids=[p[0] for p in PAGES])
def test_axe_finds_nothing(browser, width, name, visit, console):
    (browser.organiser if console else browser.visitor)()
    set_width(browser.driver, WIDTHS[width])
    visit(browser)
    driver = browser.driver
    results = _axe(driver)
    found = {
        "violations": _by_rule(results["violations"]),
        "needs review": _by_rule(_needing_review(driver, results["incomplete"])),
    }
    assert found == {"violations": {}, "needs review": {}}, json.dumps(found, indent=1)


@pytest.mark.parametrize(("name", "visit", "console"), PAGES, ids=[p[0] for p in PAGES])
def test_no_page_scrolls_sideways_on_a_phone(browser, name, visit, console):
    """The page never scrolls sideways; a wide table scrolls in its own box, which a keyboard
    can reach (tabindex="0") and a screen reader names (a labelled region)."""
    (browser.organiser if console else browser.visitor)()
    set_width(browser.driver, PHONE)
    visit(browser)
    page, view, boxes = browser.driver.execute_script(
        """const wide = [...document.querySelectorAll('body *')].filter(e =>
             e.scrollWidth > e.clientWidth + 1
             && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX));
        return [document.documentElement.scrollWidth, window.innerWidth, wide.map(e => ({
          box: e.tagName + '.' + e.className, tabindex: e.getAttribute('tabindex'),
          role: e.getAttribute('role'),
          named: !!(e.getAttribute('aria-label') || e.getAttribute('aria-labelledby'))}))];"""
    )
    assert page <= view, f"the page is {page} px wide on a {view} px screen"
    for box in boxes:
        assert box["tabindex"] == "0" and box["role"] == "region" and box["named"], box


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ERRORS)
def test_a_form_with_errors_says_so_first(browser, width, name):
    """A re-shown form focuses its error summary (screen readers announce it; the page scrolls
    to it) and its page title starts "Error: "."""
    (browser.organiser if name.startswith("console") else browser.visitor)()
    set_width(browser.driver, WIDTHS[width])
    ERRORS[name](browser)
    driver = browser.driver
    assert driver.title.startswith("Error: "), driver.title
    assert driver.switch_to.active_element.get_attribute("id") == "error-summary"
    top = driver.execute_script(
        "return document.getElementById('error-summary').getBoundingClientRect().top"
    )
    assert 0 <= top < WIDTHS[width][1], "the error summary is off the screen"


def test_a_page_without_errors_has_a_plain_title_and_focus(browser):
    browser.visitor()
    browser.get(f"/events/{browser.site.event_slug}")
    assert not browser.driver.title.startswith("Error")
    assert browser.driver.switch_to.active_element.tag_name == "body"


def test_a_keyboard_user_recovers_from_a_booking_error(browser):
    from selenium.webdriver.common.keys import Keys

    browser.visitor()
    driver = browser.driver
    set_width(driver, PHONE)
    browser.get(f"/events/{browser.site.event_slug}")
    for field, text in (
        ("name", "Jan Pearson"),
        ("email", "jan.pearson@example.org"),
        ("organisation", "East London NHS Foundation Trust"),
    ):
        tab_to(driver, field)
        keys(driver, text)
    tab_to(driver, "sector")
    keys(driver, "P")  # type-ahead picks "Police" in a focused select
    tab_to(driver, "lscb")
    keys(driver, "L")  # Lambeth, the test data's LSCB
    tab_to(driver, "privacy")
    keys(driver, " ")
    tab_to(driver, "booking-submit")
    with next_page(driver):
        keys(driver, Keys.ENTER)

    assert driver.title.startswith("Error: ")
    summary = driver.switch_to.active_element
    assert summary.get_attribute("id") == "error-summary"
    assert "Job title: Enter your job title." in summary.text
    keys(driver, Keys.TAB)
    link = driver.switch_to.active_element
    assert link.get_attribute("href").endswith("#job_title"), link.text
    keys(driver, Keys.ENTER)
    assert driver.switch_to.active_element.get_attribute("id") == "job_title"
    label_top = driver.execute_script(
        "return document.querySelector('label[for=job_title]').getBoundingClientRect().top"
    )
    assert 0 <= label_top < PHONE[1], "the field's label is off the screen"
    keys(driver, "Associate Director")
    tab_to(driver, "booking-submit")
    with next_page(driver):
        keys(driver, Keys.ENTER)

    assert driver.find_element("tag name", "h1").text == "Your place is booked"
    assert not driver.title.startswith("Error")
    body = driver.find_element("tag name", "body").text
    assert "Associate Director" in body
    assert "Police" in body


def test_a_keyboard_user_adds_a_colleague_and_enter_books_the_team(browser):
    """ "Add another colleague" posts back with one more fieldset, announced with a link to
    it; Enter in a field sends the booking (not the first "Remove" button), and a missing
    field of the third colleague is named and linked from the summary."""
    from selenium.webdriver.common.keys import Keys

    browser.visitor()
    driver = browser.driver
    set_width(driver, PHONE)
    browser.get(f"/events/{browser.site.event_slug}/team")
    tab_to(driver, "booker_name")
    keys(driver, "Tess Trainer")
    add = driver.find_element("css selector", "button[name=add]")
    with next_page(driver):
        add.send_keys(Keys.ENTER)
    assert len(driver.find_elements("css selector", "fieldset.colleague")) == 3
    status = driver.find_element("css selector", "[role=status]")
    assert status.find_element("tag name", "a").get_attribute("href").endswith("#colleague-3")
    assert driver.find_element("id", "booker_name").get_attribute("value") == "Tess Trainer"
    tab_to(driver, "colleagues-2-name", limit=120)
    keys(driver, "Sam Patel")
    with next_page(driver):
        keys(driver, Keys.ENTER)

    assert driver.title.startswith("Error: ")
    assert len(driver.find_elements("css selector", "fieldset.colleague")) == 1
    summary = driver.switch_to.active_element
    assert summary.get_attribute("id") == "error-summary"
    assert "Colleague 1, E-mail address: Enter their e-mail address." in summary.text
    # The blank rows are dropped; the filled one keeps its fields' ids.
    assert driver.find_element("id", "colleagues-2-name").get_attribute("value") == "Sam Patel"
    link = summary.find_element("css selector", "a[href$='#colleagues-2-email']")
    link.send_keys(Keys.ENTER)
    assert driver.switch_to.active_element.get_attribute("id") == "colleagues-2-email"


def _rgb(css: str) -> tuple[float, ...]:
    return tuple(float(v) for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3])


def _contrast(a: str, b: str) -> float:
    def luminance(css: str) -> float:
        channels = [c / 255 for c in _rgb(css)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _focus_ring(driver) -> dict:
    """The focused element's ring and what lies behind it: the header's blue or the page."""
    return driver.execute_script(
        """const e = document.activeElement, s = getComputedStyle(e);
        const where = e.closest('.site-header') ? 'header' : e.closest('main') ? 'page' : '';
        let behind = 'rgb(255, 255, 255)';
        for (let p = e.parentElement; p; p = p.parentElement) {
          const colour = getComputedStyle(p).backgroundColor;
          if (colour !== 'rgba(0, 0, 0, 0)') { behind = colour; break; }
        }
        return {where: where, element: e.outerHTML.slice(0, 80), style: s.outlineStyle,
                width: parseFloat(s.outlineWidth), outline: s.outlineColor,
                shadow: s.boxShadow, background: behind};"""
    )


def test_the_focus_ring_stands_out_on_every_background(browser):
    """WCAG 1.4.11: the ring that a keyboard user follows has 3:1 against what is behind it,
    on the white page and on the blue header."""
    from selenium.webdriver.common.keys import Keys

    browser.visitor()
    driver = browser.driver
    set_width(driver, DESKTOP)
    browser.get("/events")
    seen = {}
    for _ in range(30):
        keys(driver, Keys.TAB)
        ring = _focus_ring(driver)
        if ring["where"]:
            seen.setdefault(ring["where"], ring)
        if len(seen) == 2:
            break
    assert set(seen) == {"header", "page"}, seen
    for where, ring in seen.items():
        assert ring["style"] == "solid" and ring["width"] >= 2, ring
        colours = [ring["outline"]]
        if ring["shadow"] != "none":
            colours.append(ring["shadow"][: ring["shadow"].index(")") + 1])
        best = max(_contrast(c, ring["background"]) for c in colours)
        assert best >= 3, f"the focus ring on the {where} has {best:.1f}:1: {ring}"


@pytest.mark.parametrize(
    ("path", "console", "event"),
    [
        ("/manage/events/{event_id}/delegates", "Events", "Delegates"),
        ("/manage/events/{event_id}/programme", "Events", "Programme"),
        ("/manage/events/{event_id}", "Events", "Overview"),
        ("/manage/", "Dashboard", None),
        ("/manage/networks/{network_id}", "Networks", None),
        ("/manage/stats/privacy", "Statistics", None),
        ("/manage/admin/audit", "Audit log", None),
    ],
)
def test_the_console_says_where_you_are(browser, path, console, event):
    """Point 14: the console's navigation marks the page shown (aria-current), for screen
    readers and visibly."""
    browser.organiser()
    set_width(browser.driver, DESKTOP)
    browser.get(path.format(**vars(browser.site)))
    marked = browser.driver.execute_script(
        """return [...document.querySelectorAll('nav.console-nav')].map(nav => {
          const links = [...nav.querySelectorAll('a')];
          const current = links.filter(a => a.hasAttribute('aria-current'));
          const other = links.find(a => !a.hasAttribute('aria-current'));
          return {nav: nav.getAttribute('aria-label'), current: current.map(a => a.textContent),
                  weights: [current.length && getComputedStyle(current[0]).fontWeight,
                            getComputedStyle(other).fontWeight]};
        });"""
    )
    expected = {"Console": [console]} | ({"This event": [event]} if event else {})
    assert {m["nav"]: m["current"] for m in marked} == expected
    for m in marked:
        assert m["weights"][0] != m["weights"][1], f"{m['nav']}: the current page looks the same"
