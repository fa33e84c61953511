"""The delegates' public pages as a delegate meets them: a failed booking, a reloaded booking
address, the programme on a phone, the waiting list's words, whom to contact, the confirmation
as a ticket (on screen and printed), and wording that says what people mean."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import select

from bookings.booking import service
from bookings.db import db, utcnow
from bookings.events.models import EventStatus, ProgrammeSlot, SlotKind, Speaker
from bookings.london import format_date, format_moment, format_span, london_date, london_datetime
from bookings.mail.models import OutboxMessage
from bookings.mail.outbox import render
from tests.test_booking import details, form_data
from tests.test_browser import browser, site  # noqa: F401  (fixtures)


@pytest.fixture
def sector(make):
    return make.sector("Health")


def title(page: str) -> str:
    return unescape(re.search(r"<title>(.*?)</title>", page, re.S)[1]).strip()


def main(page: str) -> str:
    return page[page.index("<main") : page.index("</main>")]


def text(html: str) -> str:
    """What a reader sees: the words without the tags, spaces squeezed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


# ----------------------------------------------------------------------------- 1. failed booking


def test_a_failed_booking_opens_on_the_error_summary_then_the_form(client, make, sector):
    event = make.event(description="A long description of the day. " * 50)
    page = client.get(f"/events/{event.slug}").text
    assert not title(page).startswith("Error: ")

    response = client.post(f"/events/{event.slug}/book", data=form_data(sector, name=""))
    assert response.status_code == 422
    assert title(response.text).startswith("Error: ")
    body = main(response.text)
    # The summary is the first thing in the main content, the form straight after its heading:
    # nothing of the event page (description, programme) pushes them down.
    assert body.index('id="error-summary"') < body.index("<h1") < body.index('id="booking-form"')
    assert text(body[: body.index('<div class="error-summary"')]) == ""
    assert "A long description" not in body
    assert '<a href="#name">' in body
    assert 'value="Greenwich PCT"' in body


def test_a_refused_booking_says_why_at_the_top_without_a_dead_form(client, make, sector):
    event = make.event(status=EventStatus.cancelled, cancelled_at=utcnow())
    response = client.post(f"/events/{event.slug}/book", data=form_data(sector))
    assert response.status_code == 409
    assert title(response.text).startswith("Error: ")
    body = main(response.text)
    assert body.index('id="error-summary"') < body.index("<h1")
    assert "This event has been cancelled." in text(body)
    assert 'id="booking-form"' not in body
    assert f'href="/events/{event.slug}"' in body


# ----------------------------------------------------------------------------- 2. GET /book


def test_reloading_the_booking_address_leads_to_the_form(client, make):
    event = make.event()
    response = client.get(f"/events/{event.slug}/book")
    assert response.status_code in (302, 303)
    assert response.headers["Location"].endswith(f"/events/{event.slug}#book")
    assert 'id="book"' in client.get(f"/events/{event.slug}").text
    assert client.get("/events/no-such-event/book").status_code == 404
    draft = make.event(status=EventStatus.draft)
    assert client.get(f"/events/{draft.slug}/book").status_code == 404


# ----------------------------------------------------------------------------- 3. programme


def programme(event, make) -> None:
    for n, (kind, title_, speakers) in enumerate(
        (
            (SlotKind.registration, "Registration and coffee", []),
            (
                SlotKind.talk,
                "Learning from serious case reviews: what the London pilot of the SCIE "
                "methodology found across agencies",
                [("Professor Eileen Munro", "London School of Economics and Political Science")],
            ),
            (SlotKind.break_, "Lunch", []),
        )
    ):
        slot = ProgrammeSlot(
            event=event,
            kind=kind,
            title=title_,
            starts_at=event.starts_at + timedelta(hours=n),
            ends_at=event.starts_at + timedelta(hours=n, minutes=45),
            position=n,
        )
        slot.speakers = [Speaker(name=a, organisation=b) for a, b in speakers]
        db.session.add(slot)
    db.session.commit()


def test_the_programme_scroll_area_can_be_reached_and_is_named(client, make):
    event = make.event()
    programme(event, make)
    page = client.get(f"/events/{event.slug}").text
    region = re.search(r'<div class="table-scroll"[^>]*>', page)[0]
    assert 'tabindex="0"' in region and 'role="region"' in region
    # Named apart from the programme's section (itself a region named by its heading), so that
    # no two landmarks share a name (axe: landmark-unique).
    assert 'aria-label="Programme table"' in region
    assert '<h2 id="programme">Programme</h2>' in page


# ----------------------------------------------------------------------------- 10. waiting list


def test_a_delegate_on_the_waiting_list_leaves_it_and_is_never_told_of_a_place(
    client, make, sector
):
    event = make.event(capacity=1)
    service.book(event.id, details(sector, 1))
    waiting = service.book(event.id, details(sector, 2))
    url = f"/bookings/{waiting.token}"
    for page in (client.get(url).text, client.get(f"{url}?new=1").text):
        words = text(main(page)).lower()
        assert "leave the waiting list" in words
        assert "your place" not in words and "cancel my booking" not in words
    confirm = text(main(client.get(f"{url}/cancel").text)).lower()
    assert "leave the waiting list?" in confirm and "yes, leave the waiting list" in confirm
    assert "your place" not in confirm and "cancel your booking" not in confirm
    done = client.post(f"{url}/cancel", follow_redirects=True).text
    assert "You have left the waiting list." in done
    assert "Your booking is cancelled" not in done


def test_a_confirmed_delegate_still_cancels_a_place(client, make, sector):
    placed = service.book(make.event().id, details(sector))
    page = text(client.get(f"/bookings/{placed.token}").text)
    assert "Cancel my booking" in page and "leave the waiting list" not in page.lower()
    assert "Your place goes to the next person" in text(
        client.get(f"/bookings/{placed.token}/cancel").text
    )


# ----------------------------------------------------------------------------- 11. contact


def test_contact_details_come_from_the_settings_everywhere(app, client, make, sector):
    app.config.update(
        CONTACT_NAME="Events desk",
        CONTACT_EMAIL="desk@board.example.org",
        CONTACT_PHONE="020 7946 0123",
    )
    event = make.event()
    footer = client.get("/events").text
    footer = footer[footer.index("<footer") :]
    assert "Events desk" in footer and "desk@board.example.org" in footer
    assert 'href="tel:02079460123"' in footer

    placed = service.book(event.id, details(sector))
    for url in (f"/bookings/{placed.token}?new=1", f"/bookings/{placed.token}"):
        ticket = main(client.get(url).text)
        quote = re.search(r"Quote this reference[^\n]*", ticket)[0]
        assert "020 7946 0123" in quote and "desk@board.example.org" in quote

    (confirmed,) = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.booking_id == placed.booking.id)
    )
    mail = render(confirmed)
    for body in (mail.body_text, mail.body_html):
        assert "Events desk: desk@board.example.org or 020 7946 0123" in body
        assert placed.booking.reference in body


def test_the_demo_contact_details_are_plainly_not_real():
    from bookings import config

    assert config.CONTACT_EMAIL.endswith("example.org")
    assert config.CONTACT_PHONE.startswith("020 7946 0")  # Ofcom's range for drama


# ----------------------------------------------------------------------------- 12. the ticket


def test_the_confirmation_page_works_as_a_ticket(client, make, sector):
    venue = make.venue(name="QEII Centre", postcode="SW1P 3EE", directions="Opposite the Abbey.")
    event = make.event(title="Safeguarding London's Children", venue=venue)
    response = client.post(f"/events/{event.slug}/book", data=form_data(sector))
    page = client.get(response.headers["Location"]).text
    body = main(page)
    words = text(body)
    booking = service.booking_for_token(response.headers["Location"].split("/")[-1].split("?")[0])

    panel = re.search(r'<div class="panel[^"]*" role="status">.*?</div>', body, re.S)[0]
    assert "Your place is booked" in panel
    assert f'<strong class="reference">{booking.reference}</strong>' in panel
    assert "What happens next" in words
    assert f"We have e-mailed a confirmation to {booking.email}" in words
    assert "joining instructions" in words and "to cancel, use this page" in words
    assert "Add to calendar" in words
    assert f"/feeds/events/{event.slug}/event.ics" in body
    assert "calendar.google.com" in body
    assert 'href="https://www.openstreetmap.org/search?query=SW1P%203EE"' in body
    assert "Opposite the Abbey." in words
    assert "Quote this reference if you phone us on 020 7946 0000" in words
    assert re.search(r'<link rel="stylesheet" media="print" href="/static/css/print\.css">', page)


def test_a_cancelled_booking_offers_no_calendar_and_no_next_steps(client, make, sector):
    placed = service.book(make.event().id, details(sector))
    service.cancel(placed.booking.id)
    words = text(main(client.get(f"/bookings/{placed.token}").text))
    assert "Cancelled" in words
    assert "Add to calendar" not in words and "What happens next" not in words


def test_the_print_stylesheet_hides_forms_buttons_and_navigation(app):
    css = (Path(app.static_folder) / "css" / "print.css").read_text()
    hidden = re.search(r"([^{}]+)\{\s*display:\s*none !important;\s*\}", css)[1]
    names = {name.strip() for name in hidden.split(",")}
    assert {"form", "button", ".button", "nav", ".site-header"} <= names


# ----------------------------------------------------------------------------- 13. wording


def test_a_past_event_says_it_has_taken_place_not_book_a_place(client, make):
    past = make.event(starts_at=utcnow() - timedelta(days=3))
    words = text(main(client.get(f"/events/{past.slug}").text))
    assert "Book a place" not in words and "Book my place" not in words
    assert "This event has taken place" in words


@pytest.mark.parametrize(("at", "after"), [(time(0), "."), (time(9), " at 9am.")])
def test_booking_opens_on_a_day_never_at_12am(client, make, at, after):
    day = london_date(utcnow()) + timedelta(days=20)
    event = make.event(booking_opens_at=london_datetime(day, at))
    words = text(main(client.get(f"/events/{event.slug}").text))
    assert f"Booking opens on {format_date(day)}{after}" in words
    assert "12am" not in words


def test_moments_and_spans_read_as_people_write_them():
    midnight = london_datetime(date(2026, 3, 2), time(0))
    assert format_moment(midnight) == "Monday 2 March 2026"
    assert format_moment(london_datetime(date(2026, 3, 2), time(9, 30))) == (
        "Monday 2 March 2026 at 9.30am"
    )
    start = london_datetime(date(2026, 3, 2), time(9))
    assert format_span(start, start + timedelta(hours=4)) == "Monday 2 March 2026, 9am to 1pm"
    assert format_span(start, start + timedelta(days=1, hours=8)) == (
        "Monday 2 March 2026, 9am to Tuesday 3 March 2026, 5pm"
    )


def test_when_names_the_day_once(client, make, sector, login):
    event = make.event(starts_at=london_datetime(date(2030, 6, 4), time(10)))
    placed = service.book(event.id, details(sector))
    ticket = text(main(client.get(f"/bookings/{placed.token}").text))
    assert "When Tuesday 4 June 2030, 10am to 12.30pm" in ticket
    assert ticket.count("Tuesday 4 June 2030") == 1
    login()
    console = text(main(client.get(f"/manage/events/{event.id}").text))
    assert "When Tuesday 4 June 2030, 10am to 12.30pm" in console


def test_statuses_and_kinds_are_shown_in_words(client, make, login):
    assert [s.label for s in EventStatus] == ["Draft", "Published", "Cancelled"]
    assert SlotKind.break_.label == "Break" and SlotKind.talk.label == "Talk"
    event = make.event()
    programme(event, make)
    login()
    for url in (f"/manage/events/{event.id}", f"/manage/events/{event.id}/programme", "/manage/"):
        body = main(client.get(url).text)
        assert not re.search(
            r">\s*(published|talk|break|registration|mini_conference)\s*<", body
        ), url
    assert ">Published<" in main(client.get(f"/manage/events/{event.id}").text)


def test_a_second_booking_says_plainly_the_address_has_booked(client, make, sector):
    event = make.event()
    client.post(f"/events/{event.slug}/book", data=form_data(sector))
    again = client.post(
        f"/events/{event.slug}/book", data=form_data(sector, name="Someone", organisation="Else")
    )
    assert again.status_code == 409
    words = text(main(again.text))
    assert "This e-mail address already has a booking for this event" in words
    assert "we have not made another one" in words
    assert "E-mail me my booking link" in words
    # Nothing of the first booking beyond its existence, which the refusal itself tells.
    assert "Sally Jones" not in again.text and "Greenwich PCT" not in again.text


# ----------------------------------------------------------------------------- in Chromium


def _speaker_rows(driver):
    return driver.execute_script(
        """
        const rows = [...document.querySelectorAll('.programme tbody tr')];
        return rows.map(r => [...r.children].map(c => {
          const b = c.getBoundingClientRect();
          return [Math.round(b.left), Math.round(b.top), Math.round(b.width)];
        }));
        """
    )


def test_the_programme_reads_on_a_phone_and_as_a_table_on_a_desktop(site, browser):  # noqa: F811
    base, make = site
    event = make.event(title="Safeguarding London's Children")
    programme(event, make)
    browser.get(f"{base}/events/{event.slug}")
    width = browser.execute_script("return document.documentElement.clientWidth")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    region = browser.find_element("css selector", ".table-scroll")
    assert browser.execute_script("return arguments[0].scrollWidth", region) <= (
        browser.execute_script("return arguments[0].clientWidth", region)
    ), "the programme is cut off on a phone"
    for cells in _speaker_rows(browser):
        lefts = {left for left, _top, _w in cells}
        tops = [top for _left, top, _w in cells]
        assert len(lefts) == 1, "a session's time, title and speakers should stack on a phone"
        assert tops == sorted(tops)
    words = browser.find_element("css selector", ".programme").text
    assert "Professor Eileen Munro, London School of Economics" in words
    # Reached by the keyboard: the region takes focus.
    browser.execute_script("arguments[0].focus()", region)
    assert browser.switch_to.active_element == region

    browser.set_window_size(1280, 900)
    browser.get(f"{base}/events/{event.slug}")
    for cells in _speaker_rows(browser):
        assert len({top for _left, top, _w in cells}) == 1, "a desktop shows a table row"


def test_the_printed_confirmation_is_a_ticket_without_forms(site, browser):  # noqa: F811
    base, make = site
    sector = make.sector("Health")
    venue = make.venue(name="QEII Centre", postcode="SW1P 3EE")
    event = make.event(
        title="Safeguarding London's Children",
        venue=venue,
        starts_at=london_datetime(date(2030, 6, 4), time(9, 30)),
    )
    placed = service.book(event.id, details(sector, name="Jan Pearson"))
    browser.get(f"{base}/bookings/{placed.token}?new=1")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    hidden = browser.execute_script(
        """
        return [...document.querySelectorAll('form, button, .button, nav, textarea, input')]
          .filter(e => e.getClientRects().length > 0)
          .map(e => e.outerHTML.slice(0, 80));
        """
    )
    assert hidden == [], hidden
    printed = browser.execute_script("return document.body.innerText")
    for words in (
        placed.booking.reference,
        "Safeguarding London's Children",
        "Tuesday 4 June 2030",
        "9.30am to 12pm",
        "QEII Centre",
        "SW1P 3EE",
        "Jan Pearson",
    ):
        assert words in printed, words
    assert "Cancel my booking" not in printed and "Organiser log in" not in printed
    assert "Add to calendar" not in printed and "Map of" not in printed
    size = browser.execute_script(
        "return parseFloat(getComputedStyle(document.querySelector('.ticket .reference')).fontSize)"
    )
    assert size >= 24, "the reference should stand out on paper"  # 20pt is 26.7px
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert "Cancel my booking" in browser.execute_script("return document.body.innerText")
