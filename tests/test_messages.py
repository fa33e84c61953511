"""Messages to an event's delegates: audiences (who attended, who did not), the check page with
the count and the e-mail as a delegate reads it, a test copy to the organiser, the confirmed
send, and the history of what was sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from bookings.booking import service as booking_service
from bookings.booking.notifications import manage_url
from bookings.db import db, utcnow
from bookings.events import service as events_service
from bookings.mail.outbox import render
from bookings.mail.sender import send_due
from bookings.models import Booking, EventMessage, OutboxMessage
from tests.conftest import default_lscb

MESSAGE = {"audience": "confirmed", "subject": "Room change", "body": "We are in Room 4."}


def _book(event, sector, n: int, name: str | None = None) -> Booking:
    details = booking_service.DelegateDetails(
        name=name or f"Delegate {n}",
        email=f"delegate{n}@example.org",
        organisation="Barnet Council",
        job_title="Nurse",
        sector_id=sector.id,
        lscb_id=default_lscb().id,
    )
    return booking_service.book(event.id, details).booking


def _messages() -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "organisers_message")
            .order_by(OutboxMessage.id)
        )
    )


def _copies() -> int:
    return db.session.scalar(select(func.count(EventMessage.id)))


@pytest.fixture
def conference(make):
    """Three confirmed (the first checked in), one waiting, one cancelled; 2 to 4pm a month on."""
    sector = make.sector("Health")
    event = make.event(capacity=3)
    booked = [_book(event, sector, n) for n in range(1, 6)]
    booking_service.cancel(booked[4].id)
    booking_service.check_in(booked[0].id)
    return event


def test_each_audience_reaches_its_delegates_and_no_one_else(conference):
    event = conference
    during = event.starts_at + timedelta(minutes=30)
    after = event.ends_at + timedelta(days=1)
    expected = {
        "confirmed": {1, 2, 3},
        "waitlisted": {4},
        "both": {1, 2, 3, 4},
        "attended": {1},
        "did_not_attend": {2, 3},
    }
    for audience, numbers in expected.items():
        seen = len(_messages())
        sent = events_service.send_message(
            event.id, audience, "Slides", "The slides are online.", "org@example.org", now=after
        )
        told = {row.recipient for row in _messages()[seen:]}
        assert told == {f"delegate{n}@example.org" for n in numbers}, audience
        assert sent.recipients == len(numbers)
        preview = events_service.preview_message(event.id, audience, "Slides", "x", now=after)
        assert preview.recipients == len(numbers)

    # Who came is known once the event has started; who did not, only once it is over.
    names = booking_service.message_audiences
    assert "attended" not in names(event, now=event.starts_at - timedelta(minutes=1))
    assert "attended" in names(event, now=during)
    assert "did_not_attend" not in names(event, now=during)
    assert "did_not_attend" in names(event, now=after)
    before = len(_messages())
    with pytest.raises(booking_service.AudienceRefused):
        events_service.send_message(event.id, "did_not_attend", "S", "B", "o", now=during)
    with pytest.raises(booking_service.AudienceRefused):
        events_service.send_message(event.id, "attended", "S", "B", "o")
    assert len(_messages()) == before


def test_the_form_offers_who_attended_once_the_event_has_started(client, login, make):
    login()
    sector = make.sector()
    upcoming = make.event()
    _book(upcoming, sector, 1)
    page = client.get(f"/manage/events/{upcoming.id}/message").text
    assert 'value="confirmed"' in page and 'value="attended"' not in page
    assert "Who attended can be chosen once the event has started" in page

    # A forged choice is refused like any other invalid answer, and nothing is queued.
    refused = client.post(
        f"/manage/events/{upcoming.id}/message", data={**MESSAGE, "audience": "attended"}
    )
    assert refused.status_code == 422
    assert "There is a problem" in refused.text
    assert _messages() == []

    over = make.event(starts_at=utcnow() - timedelta(days=2))
    page = client.get(f"/manage/events/{over.id}/message").text
    assert 'value="attended"' in page and 'value="did_not_attend"' in page


def test_the_check_page_shows_the_count_and_the_email_and_queues_nothing(client, login, make):
    login()
    sector = make.sector()
    event = make.event(title="Neglect and the early years")
    _book(event, sector, 1, name="Amira Khan")
    _book(event, sector, 2, name="Brian Osei")
    body = "We are in Room 4.\r\n\r\nLunch is at one."

    page = client.post(f"/manage/events/{event.id}/message", data={**MESSAGE, "body": body})

    assert page.status_code == 200
    assert "Send “Room change” to 2 delegates?" in page.text
    assert "Room change (Neglect and the early years)" in page.text  # the subject they will see
    assert "Dear Amira Khan," in page.text and "Lunch is at one." in page.text
    assert "Brian Osei" not in page.text
    # The form's fields travel on, hidden, with the count the organiser saw.
    assert 'type="hidden" name="subject" value="Room change"' in page.text
    assert 'name="recipients" value="2"' in page.text
    assert _messages() == [] and _copies() == 0

    # The page showed what the sender will write: the same renderer, the same words.
    sent = client.post(
        f"/manage/events/{event.id}/message",
        data={**MESSAGE, "body": body, "recipients": "2", "confirm": "yes"},
    )
    assert sent.status_code == 302
    first = _messages()[0]
    assert first.recipient == "delegate1@example.org"
    # ... except the delegate's manage link, a key to their booking, shown as a placeholder.
    link = manage_url(db.session.get(Booking, first.booking_id))
    assert link in render(first).body_text and link not in page.text
    shown = render(first).body_text.replace(link, "[their private booking link]")
    assert str(escape(shown)) in page.text
    # Browsers send CRLF: the blank line still makes two paragraphs.
    assert render(first).body_html.count('<p style="margin:0 0 16px 0;white-space:pre-line;">') == 2


def test_sending_needs_the_confirm_step_with_the_count_shown(client, login, make):
    login()
    sector = make.sector()
    event = make.event()
    for n in (1, 2, 3):
        _book(event, sector, n)
    url = f"/manage/events/{event.id}/message"

    # Straight to the send endpoint: without "confirm", or without the count, it is a check.
    for extra in ({"recipients": "3"}, {"confirm": "yes"}, {"confirm": "yes", "recipients": "x"}):
        page = client.post(url, data={**MESSAGE, **extra})
        assert page.status_code == 200, extra
        assert "Send “Room change” to 3 delegates?" in page.text
    assert _messages() == [] and _copies() == 0

    # The audience changed after the check (someone booked, or cancelled): check again.
    changed = client.post(url, data={**MESSAGE, "recipients": "2", "confirm": "yes"})
    assert changed.status_code == 422
    assert "it is now 3 (it was 2)" in changed.text
    assert _messages() == [] and _copies() == 0

    # An edited field is validated again on the final POST.
    emptied = client.post(url, data={**MESSAGE, "subject": "", "recipients": "3", "confirm": "yes"})
    assert emptied.status_code == 422 and "Enter a subject." in emptied.text
    assert _messages() == []

    done = client.post(url, data={**MESSAGE, "recipients": "3", "confirm": "yes"})
    assert done.status_code == 302
    assert len(_messages()) == 3 and _copies() == 1
    assert "Message queued for 3 delegates" in client.get(done.location).text


def test_change_the_message_goes_back_to_the_filled_in_form(client, login, make):
    login()
    event = make.event()
    _book(event, make.sector(), 1)
    page = client.post(
        f"/manage/events/{event.id}/message", data={**MESSAGE, "recipients": "1", "change": "yes"}
    )
    assert page.status_code == 200
    assert "<textarea" in page.text and "We are in Room 4.</textarea>" in page.text
    assert 'value="Room change"' in page.text
    assert _messages() == []


def test_an_empty_audience_offers_no_send(client, login, make):
    login()
    event = make.event()
    _book(event, make.sector(), 1)
    url = f"/manage/events/{event.id}/message"
    page = client.post(url, data={**MESSAGE, "audience": "waitlisted"})
    assert "Nobody is in this audience" in page.text
    assert 'name="confirm"' not in page.text
    forged = client.post(
        url, data={**MESSAGE, "audience": "waitlisted", "recipients": "0", "confirm": "yes"}
    )
    assert forged.status_code == 422
    assert _messages() == [] and _copies() == 0


def test_a_test_send_makes_one_message_to_the_organiser_naming_no_delegate(client, login, make):
    organiser = login(email="kay@example.org")
    event = make.event(title="Neglect and the early years")
    for n in (1, 2):
        _book(event, make.sector(), n, name=f"Named Delegate {n}")
    send_due()  # their confirmations

    page = client.post(f"/manage/events/{event.id}/message/test", data=MESSAGE)

    assert page.status_code == 200
    assert "A test copy is on its way to kay@example.org" in page.text
    assert "Send “Room change” to 2 delegates?" in page.text  # still on the check page
    [row] = _messages()
    assert row.recipient == organiser.email and row.booking_id is None
    assert _copies() == 0
    rendered = render(row)
    assert rendered.subject == "[Test] Room change (Neglect and the early years)"
    assert "This is a test copy" in rendered.body_text
    assert "Dear [delegate's name]," in rendered.body_text
    assert "We are in Room 4." in rendered.body_text
    for words in (rendered.body_text, rendered.body_html):
        assert "Named Delegate" not in words and "delegate1@" not in words
        assert "/bookings/" not in words  # no delegate's manage link
    # The sender takes it like any other message.
    report = send_due()
    assert report.sent == 1 and report.written[0].name.endswith("organisers_message.eml")


def test_the_history_lists_each_message_sent(client, login, make):
    login(email="kay@example.org")
    event = make.event()
    _book(event, make.sector(), 1)
    url = f"/manage/events/{event.id}/message"
    client.post(url, data={**MESSAGE, "recipients": "1", "confirm": "yes"})
    client.post(
        url,
        data={
            **MESSAGE,
            "audience": "both",
            "subject": "Parking",
            "recipients": "1",
            "confirm": "yes",
        },
    )

    for address in (url, f"/manage/events/{event.id}/messages"):
        page = client.get(address).text
        history = page[page.index('id="sent"') :]
        assert history.index("Parking") < history.index("Room change")  # newest first
        assert "Delegates with a confirmed place" in history
        assert "Everyone confirmed or on the waiting list" in history
        assert history.count("kay@example.org") == 2
        assert "We are in Room 4." in history
