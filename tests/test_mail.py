"""The outbox and its sender, against a real SMTP server (aiosmtpd), on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import select, update

from bookings.booking import service
from bookings.booking.models import BookingStatus
from bookings.db import db, utcnow
from bookings.feeds.ical import event_uid
from bookings.mail import sender, transport
from bookings.mail.models import OutboxMessage
from bookings.mail.sender import backoff, send_due
from tests.conftest import default_lscb, form_lscb

# A title with an en dash and a curly apostrophe: subjects, bodies and the .ics stay UTF-8.
TITLE = "Neglect \u2013 what\u2019s changed?"

# ----------------------------------------------------------------------------- a real SMTP server


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)


class Inbox:
    """aiosmtpd handler: keeps every message; refuses the addresses in ``reject``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.reject: set[str] = set()
        # Keep this many messages, then answer as if they were lost (a server that crashes
        # between accepting a message and saying so).
        self.keep_but_fail = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            # Real servers quote the address; the sender must not copy it into logs.
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        )
        if self.keep_but_fail:
            self.keep_but_fail -= 1
            return "451 4.3.0 Local error in processing"
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SMTPServer:
    """A real SMTP server on a fixed localhost port, which can be stopped and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        assert self.controller is None
        # A Controller closes its event loop when stopped, so each start needs a new one.
        self.controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, server_hostname="smtp.test"
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        return self.inbox.received


@pytest.fixture
def smtp(app):
    server = SMTPServer()
    server.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_TIMEOUT=5)
    yield server
    server.stop()


@pytest.fixture
def sector(make):
    return make.sector("Social care")


# ----------------------------------------------------------------------------- helpers


def details(sector, n: int = 1, **kw) -> service.DelegateDetails:
    return service.DelegateDetails(
        name=kw.pop("name", f"Delegate Number{n}"),
        email=kw.pop("email", f"delegate{n}@example.org"),
        organisation=kw.pop("organisation", "Camden Council"),
        job_title=kw.pop("job_title", "Child protection adviser"),
        sector_id=sector.id,
        lscb_id=default_lscb().id,
        **kw,
    )


def outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def manage_url(token: str) -> str:
    return f"http://bookings.test/bookings/{token}"


def text_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def calendar_parts(message: EmailMessage) -> list[EmailMessage]:
    return [part for part in message.walk() if part.get_content_type() == "text/calendar"]


def vevent_of(message: EmailMessage):
    [ics] = calendar_parts(message)
    assert ics.get_param("method") == "PUBLISH"
    [vevent] = Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")
    return vevent


# ----------------------------------------------------------------------------- what arrives


def test_confirmation_arrives_with_text_html_calendar_and_manage_link(app, make, sector, smtp):
    venue = make.venue(name="Friends House", address="173 Euston Road, London", postcode="NW1 2BJ")
    event = make.event(title=TITLE, venue=venue, slug="neglect-seminar")
    placed = service.book(event.id, details(sector, name="Siân O'Brien", email="sian@example.org"))

    report = send_due()

    assert (report.sent, report.failed) == (1, 0)
    assert len(smtp.received) == 1
    received = smtp.received[0]
    assert received.rcpt_tos == ["sian@example.org"]
    assert received.mail_from == "events@londonscb.example.org"
    message = received.message
    assert message["Subject"] == f"Your place is confirmed: {TITLE}"
    assert message["To"] == "sian@example.org"
    assert "events@londonscb.example.org" in message["From"]
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/mixed"

    booking = placed.booking
    text, html = text_part(message), html_part(message)
    link = manage_url(placed.token)
    for body in (text, html):
        assert link in body
        assert booking.reference in body
        assert TITLE in body
        assert "173 Euston Road, London" in body
        assert "NW1 2BJ" in body
    assert "Siân O'Brien" in text  # plain text is not HTML-escaped
    assert "Siân O&#39;Brien" in html
    assert f'href="{link}"' in html
    # London time, through the same filters as the pages.
    starts = event.starts_at
    from bookings.london import format_date as london_date
    from bookings.london import format_time_range as time_range

    assert london_date(starts) in text
    assert time_range(starts, event.ends_at) in text

    [ics_part] = calendar_parts(message)
    assert ics_part.get_param("method") == "PUBLISH"
    assert ics_part.get_filename() == "neglect-seminar.ics"
    assert ics_part.get_content_disposition() == "attachment"
    calendar = Calendar.from_ical(ics_part.get_payload(decode=True))
    assert str(calendar["METHOD"]) == "PUBLISH"
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["UID"]) == event_uid(event)
    assert str(vevent["SUMMARY"]) == TITLE

    [row] = outbox()
    assert row.sent_at is not None and row.claimed_until is None and row.attempts == 0
    assert send_due().attempted == 0  # sent is never sent again
    assert len(smtp.received) == 1


def test_html_is_a_self_contained_accessible_alternative(app, make, sector, smtp):
    event = make.event()
    placed = service.book(event.id, details(sector, name="<script>alert(1)</script> Smith"))
    send_due()
    html = html_part(smtp.received[0].message)

    assert '<html lang="en-GB">' in html
    assert "<title>Your place is confirmed:" in html
    assert "<h1" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    for external in ("<img", "<link", "<style", "src=", "url("):
        assert external not in html
    links = re.findall(r'href="([^"]+)"', html)
    assert links == [manage_url(placed.token)]


def test_waitlist_cancellation_and_promotion_messages(app, make, sector, smtp):
    event = make.event(capacity=1)
    first = service.book(event.id, details(sector, 1))
    second = service.book(event.id, details(sector, 2))
    third = service.book(event.id, details(sector, 3))
    assert second.booking.status == BookingStatus.waitlisted
    service.cancel(first.booking.id)

    report = send_due()
    assert (report.sent, report.failed) == (5, 0)

    [confirmed, cancelled] = [r.message for r in smtp.inbox.to("delegate1@example.org")]
    assert confirmed["Subject"].startswith("Your place is confirmed")
    assert cancelled["Subject"] == f"Booking cancelled: {event.title}"
    assert "has been cancelled" in text_part(cancelled)
    assert first.booking.reference in text_part(cancelled)
    assert manage_url(first.token) not in text_part(cancelled)
    assert calendar_parts(cancelled) == []

    [waitlisted, promoted] = [r.message for r in smtp.inbox.to("delegate2@example.org")]
    assert waitlisted["Subject"] == f"You are on the waiting list: {event.title}"
    assert "position 1" in text_part(waitlisted) and "position 1" in html_part(waitlisted)
    assert manage_url(second.token) in text_part(waitlisted)
    assert calendar_parts(waitlisted) == []
    assert promoted["Subject"] == f"A place has come free for you: {event.title}"
    assert manage_url(second.token) in text_part(promoted)
    assert manage_url(second.token) in html_part(promoted)
    [ics] = calendar_parts(promoted)
    assert ics.get_param("method") == "PUBLISH"
    vevent = Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")[0]
    assert str(vevent["UID"]) == event_uid(event)

    [third_waitlisted] = [r.message for r in smtp.inbox.to("delegate3@example.org")]
    assert "position 2" in text_part(third_waitlisted)
    assert third.booking.status == BookingStatus.waitlisted


def test_lost_links_message_lists_each_booking_with_its_link(app, make, sector, smtp):
    morning = make.event(title="Morning seminar")
    evening = make.event(title="Evening seminar", capacity=0)
    a = service.book(morning.id, details(sector, email="Pat@Example.org"))
    b = service.book(evening.id, details(sector, email="pat@example.org"))
    send_due()
    assert service.resend_links("PAT@example.org") == 2

    report = send_due()
    assert report.sent == 1
    message = smtp.received[-1].message
    assert message["Subject"] == "Your booking links"
    text, html = text_part(message), html_part(message)
    tokens = re.findall(r"http://bookings\.test/bookings/([\w-]+)", text)
    assert len(tokens) == 2
    assert [service.booking_for_token(t).id for t in tokens] == [a.booking.id, b.booking.id]
    for token, placed in zip(tokens, (a, b), strict=True):
        assert manage_url(token) in html
        assert placed.booking.reference in text
    assert "on the waiting list" in text and "place confirmed" in text
    assert calendar_parts(message) == []


# ----------------------------------------------------------------------------- calendars


def feed_vevent(client, event):
    feed = Calendar.from_ical(client.get("/feeds/events.ics").data)
    [vevent] = [v for v in feed.walk("VEVENT") if str(v["UID"]) == event_uid(event)]
    return vevent


def test_event_cancelled_mail_carries_the_cancelled_event_for_the_delegates_calendar(
    app, client, make, sector, smtp
):
    event = make.event(capacity=1, slug="cancelled-seminar")
    service.book(event.id, details(sector, 1))
    service.book(event.id, details(sector, 2))  # waiting list: never had a calendar file
    send_due()
    confirmation = vevent_of(smtp.inbox.to("delegate1@example.org")[0].message)
    assert str(confirmation["STATUS"]) == "CONFIRMED"

    service.cancel_event(event.id, "The venue has flooded.")
    assert send_due().sent == 2

    message = smtp.inbox.to("delegate1@example.org")[-1].message
    assert message["Subject"] == f"Event cancelled: {event.title}"
    [ics] = calendar_parts(message)
    assert ics.get_filename() == "cancelled-seminar.ics"
    cancelled = vevent_of(message)
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert str(cancelled["UID"]) == str(confirmation["UID"]) == event_uid(event)
    assert int(cancelled["SEQUENCE"]) > int(confirmation["SEQUENCE"])
    published = feed_vevent(client, event)
    assert str(published["STATUS"]) == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) == int(published["SEQUENCE"])
    text = text_part(message)
    assert "The venue has flooded." in text
    assert "open the attached calendar file (cancelled-seminar.ics)" in text
    assert "cancelled-seminar.ics" in html_part(message)

    waiting = smtp.inbox.to("delegate2@example.org")[-1].message
    assert waiting["Subject"] == f"Event cancelled: {event.title}"
    assert calendar_parts(waiting) == []
    assert "calendar" not in text_part(waiting)


def test_own_cancellation_mail_says_plainly_how_to_remove_the_calendar_entry(
    app, make, sector, smtp
):
    event = make.event(capacity=1)
    placed = service.book(event.id, details(sector, 1))
    waiting = service.book(event.id, details(sector, 2))
    service.cancel(waiting.booking.id)
    service.cancel(placed.booking.id)
    send_due()

    [_confirmed, cancelled] = [r.message for r in smtp.inbox.to("delegate1@example.org")]
    # The event goes ahead: a PUBLISH file could only mark the whole event cancelled.
    assert calendar_parts(cancelled) == []
    for body in (text_part(cancelled), html_part(cancelled)):
        assert "please delete the entry yourself" in body
    [_waitlisted, left] = [r.message for r in smtp.inbox.to("delegate2@example.org")]
    assert "calendar" not in text_part(left)  # never had a calendar file


def test_moved_event_mail_gives_old_and_new_time_and_an_updating_calendar_file(
    app, client, make, sector, smtp
):
    from bookings.events import service as manage_service
    from bookings.london import format_datetime, format_time_range

    event = make.event(slug="moved-seminar")
    service.book(event.id, details(sector, 1))
    send_due()
    confirmation = vevent_of(smtp.received[0].message)
    was = event.starts_at
    later = manage_service.EventData(
        title=event.title,
        slug=event.slug,
        kind=event.kind,
        summary=event.summary,
        description=event.description,
        notes=event.notes,
        starts_at=event.starts_at + timedelta(days=1, hours=3),
        ends_at=event.ends_at + timedelta(days=1, hours=3),
        venue_id=event.venue_id,
        booking_opens_at=event.booking_opens_at,
        booking_closes_at=event.booking_closes_at,
        series=event.series,
        host_network_id=event.host_network_id,
    )
    _event, told = manage_service.update_event(
        event.id, later, event.version, notify_delegates=True
    )
    assert told == 1
    assert send_due().sent == 1

    message = smtp.received[-1].message
    assert message["Subject"] == f"Change of time or place: {event.title}"
    db.session.refresh(event)
    text = text_part(message)
    assert format_time_range(event.starts_at, event.ends_at) in text
    assert f"(it was {format_datetime(was)})" in text
    assert "open the attached calendar file (moved-seminar.ics)" in text
    assert "If yours adds a second entry instead, please delete the old one." in text
    moved = vevent_of(message)
    assert str(moved["UID"]) == str(confirmation["UID"])
    assert int(moved["SEQUENCE"]) > int(confirmation["SEQUENCE"])
    assert moved.decoded("DTSTART") == feed_vevent(client, event).decoded("DTSTART")
    assert moved.decoded("DTSTART") != confirmation.decoded("DTSTART")


# ----------------------------------------------------------------------------- rendered when due


def test_the_outbox_row_holds_what_to_send_not_the_text_nor_the_link(app, make, sector, smtp):
    event = make.event(capacity=1)
    service.book(event.id, details(sector, 1))
    placed = service.book(event.id, details(sector, 2, name="Zainab Hussain"))
    [_, row] = outbox()
    assert (row.kind, row.booking_id, row.recipient) == (
        "waitlisted",
        placed.booking.id,
        "delegate2@example.org",
    )
    assert row.data == {"position": 1}
    stored = repr([getattr(row, column.key) for column in OutboxMessage.__table__.columns])
    for secret in ("Zainab", placed.token, placed.booking.reference):
        assert secret not in stored

    send_due()
    text = text_part(smtp.inbox.to("delegate2@example.org")[0].message)
    assert "Dear Zainab Hussain" in text and manage_url(placed.token) in text


def test_a_message_is_worded_when_sent_so_it_tells_the_event_as_it_now_stands(
    app, make, sector, smtp
):
    event = make.event(title="Working together")
    service.book(event.id, details(sector, 1))
    new_venue = make.venue(name="Guildhall", address="Gresham Street", postcode="EC2V 7HH")
    event.venue = new_venue
    db.session.commit()

    send_due()
    text = text_part(smtp.received[0].message)
    assert "Guildhall" in text and "Gresham Street" in text
    assert "Guildhall" in str(vevent_of(smtp.received[0].message)["LOCATION"])


def test_a_message_for_a_purged_booking_is_withdrawn_never_sent(app, make, sector, smtp):
    from bookings.events import service as events_service
    from bookings.london import london_date
    from bookings.privacy import service as privacy

    event = make.event()
    service.book(event.id, details(sector, 1, name="Precious Adeyemi"))
    assert send_due().sent == 1
    # The event took place; its delegates' data was purged. An organiser then writes to them.
    event.starts_at = utcnow() - timedelta(days=3)
    event.ends_at = event.starts_at + timedelta(hours=2)
    db.session.commit()
    assert privacy.purge(london_date(utcnow())).bookings == 1
    events_service.send_message(
        event.id, "confirmed", "Slides", "The slides are online.", "org@example.org"
    )

    report = send_due()

    assert (report.sent, report.failed, report.withdrawn) == (0, 0, 1)
    assert len(smtp.received) == 1  # only the confirmation, from before the purge
    [row] = outbox()
    assert row.kind == "organisers_message"
    assert row.sent_at is None and row.withdrawn_at is not None
    assert row.last_error == "withdrawn: the booking's personal data has been purged"
    runner = app.test_cli_runner()
    assert (
        "0 failed message(s) made due now" in runner.invoke(args=["mail", "send", "--retry"]).output
    )
    status = runner.invoke(args=["mail", "status"]).output
    assert "Queued:  0" in status and "Failing: 0" in status and "Withdrawn: 1" in status
    assert send_due(now=utcnow() + timedelta(days=1)).attempted == 0
    assert smtp.received[0].rcpt_tos == ["delegate1@example.org"]


def test_a_renderer_that_fails_keeps_the_message_queued_with_back_off(
    app, make, sector, smtp, monkeypatch, caplog
):
    from bookings.mail import outbox as outbox_module

    caplog.set_level(logging.INFO, logger="bookings.mail")
    service.book(make.event().id, details(sector, 1))

    def broken(message, session):
        raise RuntimeError("template gone for delegate1@example.org")

    monkeypatch.setitem(outbox_module._renderers, "confirmed", broken)
    t0 = utcnow()
    assert send_due(now=t0).failed == 1
    [row] = outbox()
    assert row.sent_at is None and row.attempts == 1 and row.last_error == "RuntimeError"
    assert row.next_attempt_at == t0 + timedelta(minutes=1)
    assert "delegate1@example.org" not in caplog.text

    monkeypatch.undo()
    assert send_due(now=t0 + timedelta(minutes=2)).sent == 1
    assert smtp.received[0].rcpt_tos == ["delegate1@example.org"]


def test_a_message_reads_back_exactly_as_rendered(app):
    from bookings.mail import messages

    subject = "Reminder: " + TITLE + " \u2013 a long title that needs folding across lines" * 2
    body = "Dear Zoë,\nFrom the organisers: bring your badge.\n"
    rendered = messages.Rendered(
        subject=subject,
        body_text=body,
        body_html="<p>From the organisers \u2013 café</p>",
        ics="BEGIN:VCALENDAR\r\nLOCATION:Room ½\r\nEND:VCALENDAR\r\n",
        ics_filename="naïve.ics",
    )
    sender_address = messages.SenderAddress("Board \u2013 LSCB", "events@londonscb.example.org")
    raw = messages.build(rendered, "zoe@example.org", sender_address, "<outbox.1.2@x>").as_bytes()

    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == subject
    assert str(parsed["From"]) == "Board \u2013 LSCB <events@londonscb.example.org>"
    assert parsed["Message-ID"] == "<outbox.1.2@x>"
    assert text_part(parsed).replace("\r\n", "\n") == body
    assert "From the organisers \u2013 café" in html_part(parsed)
    [calendar] = calendar_parts(parsed)
    assert calendar.get_filename() == "naïve.ics"
    assert calendar.get_content().replace("\r\n", "\n") == rendered.ics.replace("\r\n", "\n")


def test_a_repeat_after_a_lost_answer_keeps_the_same_message_id(app, make, sector, smtp):
    service.book(make.event().id, details(sector, 1))
    smtp.inbox.keep_but_fail = 1  # takes the message, then answers as if it had not

    t0 = utcnow()
    assert send_due(now=t0).failed == 1
    assert send_due(now=t0 + timedelta(minutes=2)).sent == 1

    first, repeat = (r.message for r in smtp.received)
    assert first["Message-ID"] == repeat["Message-ID"]
    assert re.fullmatch(r"<outbox\.1\.\d+@londonscb\.example\.org>", first["Message-ID"])


# ----------------------------------------------------------------------------- failures


def test_outage_keeps_mail_queued_and_delivers_each_once_when_back(app, make, sector, smtp):
    smtp.stop()
    event = make.event(capacity=1)
    first = service.book(event.id, details(sector, 1))
    assert first.booking.status == BookingStatus.confirmed  # the booking does not wait for mail

    t0 = utcnow()
    report = send_due(now=t0)
    assert report.sent == 0 and report.failed == 1
    [row] = outbox()
    assert row.sent_at is None and row.claimed_until is None
    assert row.attempts == 1
    assert row.last_error.startswith("ConnectionRefusedError")
    assert row.next_attempt_at == t0 + timedelta(minutes=1)

    # More changes during the outage: each is queued, none is lost.
    second = service.book(event.id, details(sector, 2))
    service.cancel(first.booking.id)
    assert len(outbox()) == 4  # confirmed, waitlisted, cancelled, promoted

    t1 = t0 + timedelta(seconds=10)
    report = send_due(now=t1)
    assert (report.sent, report.failed) == (0, 3)  # the first waits for its back-off
    assert [m.attempts for m in outbox()] == [1, 1, 1, 1]

    # The second failure of the first message backs off twice as long.
    t2 = t0 + timedelta(minutes=1, seconds=5)
    assert send_due(now=t2).failed == 1
    row = outbox()[0]
    assert row.attempts == 2 and row.next_attempt_at == t2 + timedelta(minutes=2)

    smtp.start()
    assert send_due(now=t1 + timedelta(seconds=30)).attempted == 0  # back-off not over
    report = send_due(now=t2 + timedelta(minutes=2))
    assert (report.sent, report.failed) == (4, 0)
    assert sorted(len(smtp.inbox.to(f"delegate{n}@example.org")) for n in (1, 2)) == [2, 2]
    assert all(m.sent_at is not None for m in outbox())

    assert send_due(now=t2 + timedelta(hours=2)).attempted == 0
    assert len(smtp.received) == 4
    assert second.booking.id in {m.booking_id for m in outbox()}


def test_mail_send_command_delivers_after_an_outage_exactly_once(app, make, sector, smtp):
    runner = app.test_cli_runner()
    smtp.stop()
    event = make.event()
    for n in (1, 2, 3):
        service.book(event.id, details(sector, n))

    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 1
    assert "0 sent, 3 failed" in result.output
    assert "delegate" not in result.output

    status = runner.invoke(args=["mail", "status"])
    assert status.exit_code == 0, status.output
    assert "Queued:  0" in status.output
    assert "Failing: 3" in status.output
    assert "#1 confirmed: 1 attempt(s)" in status.output
    assert "@" not in status.output and "Delegate" not in status.output

    smtp.start()
    # Back-off still running: a plain run sends nothing; --retry sends now.
    assert "0 sent, 0 failed" in runner.invoke(args=["mail", "send"]).output
    result = runner.invoke(args=["mail", "send", "--retry"])
    assert result.exit_code == 0, result.output
    assert "3 failed message(s) made due now" in result.output
    assert "3 sent, 0 failed" in result.output
    assert "0 sent, 0 failed" in runner.invoke(args=["mail", "send", "--retry"]).output
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == [
        f"delegate{n}@example.org" for n in (1, 2, 3)
    ]
    assert "Sent:    3" in runner.invoke(args=["mail", "status"]).output


def test_a_refused_recipient_fails_alone_and_its_address_stays_out_of_the_error(
    app, make, sector, smtp, caplog
):
    caplog.set_level(logging.INFO, logger="bookings.mail")
    event = make.event()
    smtp.inbox.reject.add("gone@example.org")
    service.book(event.id, details(sector, 1, email="gone@example.org", name="Gone Away"))
    service.book(event.id, details(sector, 2))

    report = send_due()

    assert (report.sent, report.failed) == (1, 1)  # the connection carried on
    refused, delivered = outbox()
    assert refused.sent_at is None and refused.attempts == 1
    assert "550" in refused.last_error and "recipient refused" in refused.last_error
    assert "gone@example.org" not in refused.last_error
    assert delivered.sent_at is not None
    assert "gone@example.org" not in caplog.text and "Gone Away" not in caplog.text
    assert "mail #1 (confirmed) not sent (attempt 1)" in caplog.text


def test_a_silent_server_times_out_instead_of_hanging(app, make, sector):
    # Accepts connections (the kernel's backlog) but never says a word.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        app.config.update(
            MAIL_SERVER="127.0.0.1", MAIL_PORT=silent.getsockname()[1], MAIL_TIMEOUT=0.5
        )
        service.book(make.event().id, details(sector))
        started = time.monotonic()
        report = send_due()
        elapsed = time.monotonic() - started
    assert report.failed == 1
    assert elapsed < 5
    [row] = outbox()
    assert "timed out" in row.last_error


def test_backoff_doubles_from_a_minute_to_at_most_an_hour():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert backoff(7) == backoff(8) == backoff(50) == timedelta(hours=1)


def test_errors_are_described_without_addresses():
    import smtplib

    error = smtplib.SMTPSenderRefused(553, b"5.7.1 <x.y@example.org>: Sender address rejected", "x")
    assert sender.describe_error(error) == (
        "SMTPSenderRefused: 553 5.7.1 <<address>>: Sender address rejected"
    )
    assert sender.describe_error(ConnectionRefusedError(111, "Connection refused")) == (
        "ConnectionRefusedError: [Errno 111] Connection refused"
    )
    assert sender.describe_error(ValueError("jane@example.org is odd")) == "ValueError"


# ----------------------------------------------------------------------------- two senders


def test_a_batch_claimed_by_one_sender_is_left_alone_by_another(
    app, make, sector, smtp, monkeypatch
):
    event = make.event()
    for n in (1, 2, 3):
        service.book(event.id, details(sector, n))
    deliver = transport.SMTPOutlet.deliver
    inner: list[sender.SendReport] = []

    def deliver_while_another_sender_runs(self, message, row_id, kind):
        if not inner:
            # Sender A holds its claim on messages 1 and 2 and is "talking to SMTP": B runs.
            monkeypatch.setattr(transport.SMTPOutlet, "deliver", deliver)
            inner.append(send_due())
        return deliver(self, message, row_id, kind)

    monkeypatch.setattr(transport.SMTPOutlet, "deliver", deliver_while_another_sender_runs)
    outer = send_due(limit=2)

    [inner_report] = inner
    assert inner_report.sent == 1  # B took message 3, never A's batch
    assert outer.sent == 2
    assert [r.rcpt_tos[0] for r in smtp.received] == [f"delegate{n}@example.org" for n in (3, 1, 2)]


def test_concurrent_senders_deliver_every_message_once(app, make, sector, smtp):
    event = make.event()
    count = 12
    for n in range(count):
        service.book(event.id, details(sector, n))
    db.session.remove()
    start = threading.Barrier(3)
    reports: list[sender.SendReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                start.wait()
                reports.append(send_due(limit=count))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sum(r.sent for r in reports) == count
    assert sum(r.failed for r in reports) == 0
    recipients = sorted(r.rcpt_tos[0] for r in smtp.received)
    assert recipients == sorted(f"delegate{n}@example.org" for n in range(count))
    assert all(m.sent_at is not None for m in outbox())


def test_an_expired_claim_is_taken_over_and_a_live_one_is_not(app, make, sector, smtp):
    service.book(make.event().id, details(sector))
    now = utcnow()
    db.session.execute(update(OutboxMessage).values(claimed_until=now + timedelta(minutes=1)))
    db.session.commit()
    assert send_due(now=now).handled == 0  # a live claim is not even a candidate
    assert smtp.received == []
    # The sender holding it died; once its claim expires, another delivers the message.
    assert send_due(now=now + timedelta(minutes=2)).sent == 1
    assert len(smtp.received) == 1


def test_a_batch_that_outruns_its_claim_puts_the_rest_back_untried(app, make, sector, monkeypatch):
    # A claim of 1.0 s for two messages (0.6 s for one delivery, 0.2 s for each message);
    # the first delivery takes 0.5 s, so the second could end after the claim: not tried.
    monkeypatch.setattr(sender, "CLAIM_MIN", timedelta(0))
    app.config["MAIL_TIMEOUT"] = 0.05
    event = make.event()
    for n in (1, 2):
        service.book(event.id, details(sector, n))
    deliver = transport.FileOutlet.deliver

    def slow_deliver(self, message, row_id, kind):
        outcome = deliver(self, message, row_id, kind)
        time.sleep(0.5)
        return outcome

    monkeypatch.setattr(transport.FileOutlet, "deliver", slow_deliver)
    report = send_due(limit=2)

    assert (report.sent, report.released, report.failed) == (1, 1, 0)
    first, second = outbox()
    assert first.sent_at is not None
    assert second.sent_at is None and second.attempts == 0 and second.claimed_until is None
    monkeypatch.undo()
    assert send_due().sent == 1


# ----------------------------------------------------------------------------- no mail server


def test_without_a_mail_server_messages_become_eml_files_and_the_log_has_no_personal_data(
    app, make, sector, caplog, tmp_path
):
    assert app.config["MAIL_SERVER"] is None
    caplog.set_level(logging.DEBUG)
    event = make.event(slug="dev-seminar")
    placed = service.book(
        event.id, details(sector, name="Amara Okafor", email="amara.okafor@example.org")
    )

    report = send_due()

    assert report.sent == 1
    path = tmp_path / "mail" / "000001-confirmed.eml"
    assert report.written == [path]
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "amara.okafor@example.org"
    assert manage_url(placed.token) in text_part(message)
    assert calendar_parts(message)[0].get_param("method") == "PUBLISH"

    lines = [r.getMessage() for r in caplog.records if r.name.startswith("bookings.mail")]
    assert len(lines) == 1
    assert re.fullmatch(r"mail #1 \(confirmed\) written to \S*mail/000001-confirmed\.eml", lines[0])
    for secret in ("Amara", "Okafor", "amara.okafor@example.org", placed.token):
        assert secret not in caplog.text
    [row] = outbox()
    assert row.sent_at is not None
    assert send_due().attempted == 0
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == ["000001-confirmed.eml"]


# ----------------------------------------------------------------------------- after a request


def booking_form(sector, n: int = 1) -> dict[str, str]:
    return {
        "name": f"Delegate Number{n}",
        "email": f"delegate{n}@example.org",
        "organisation": "Camden Council",
        "job_title": "Child protection adviser",
        "sector": str(sector.id),
        "lscb": form_lscb(),
        "dietary_needs": "",
        "access_needs": "",
        "privacy": "y",
    }


def test_a_request_that_queues_mail_delivers_it_after_the_response(app, client, make, sector, smtp):
    app.config["MAIL_SEND_AFTER_REQUEST"] = True
    event = make.event(slug="after-request")

    response = client.post("/events/after-request/book", data=booking_form(sector))

    assert response.status_code == 303, response.text
    assert smtp.received == []  # the response is complete before any mail is attempted
    response.close()  # what the WSGI server does once the page has gone to the delegate
    [received] = smtp.received
    assert received.rcpt_tos == ["delegate1@example.org"]
    token = response.location.rsplit("/", 1)[-1].split("?")[0]
    assert manage_url(token) in text_part(received.message)
    assert all(m.sent_at is not None for m in outbox())
    assert event.id


def test_requests_that_queue_nothing_or_with_the_hook_off_send_nothing(
    app, client, make, sector, smtp
):
    make.event(slug="quiet")
    app.config["MAIL_SEND_AFTER_REQUEST"] = True
    client.get("/events/quiet").close()
    app.config["MAIL_SEND_AFTER_REQUEST"] = False
    client.post("/events/quiet/book", data=booking_form(sector)).close()
    assert smtp.received == []
    [row] = outbox()
    assert row.sent_at is None and row.attempts == 0


def test_the_after_request_attempt_never_fails_the_request(app, client, make, sector, smtp, caplog):
    caplog.set_level(logging.INFO, logger="bookings.mail")
    app.config["MAIL_SEND_AFTER_REQUEST"] = True
    smtp.stop()
    make.event(slug="down")

    response = client.post("/events/down/book", data=booking_form(sector))
    response.close()

    assert response.status_code == 303
    [row] = outbox()
    assert row.sent_at is None and row.attempts == 1 and row.last_error
    assert "delegate1@example.org" not in caplog.text and "Number1" not in caplog.text


def test_the_after_request_attempt_logs_and_swallows_its_own_errors(app, caplog, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database gone, jane@example.org")

    monkeypatch.setattr(sender, "send_due", broken)
    caplog.set_level(logging.INFO, logger="bookings.mail")
    assert sender.send_quietly(app) is None
    assert "the after-request attempt failed: RuntimeError" in caplog.text
    assert "jane@example.org" not in caplog.text


# ----------------------------------------------------------------------------- the upgrade


def test_mail_queued_before_the_upgrade_is_still_sent_after_it(database_url, tmp_path):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import column, inspect, table, text

    from bookings.db import UTCDateTime
    from tests.conftest import make_app

    app = make_app(database_url, tmp_path)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(revision="9dcea341adb8")  # the outbox that stored rendered text
        old_outbox = table(
            "outbox",
            *(column(name) for name in ("kind", "recipient", "subject", "body_text", "body_html")),
            *(column(name) for name in ("ics", "ics_filename", "attempts", "last_error")),
            column("created_at", UTCDateTime()),
            column("next_attempt_at", UTCDateTime()),
            column("sent_at", UTCDateTime()),
        )
        now = utcnow()
        row = {
            "kind": "confirmed",
            "recipient": "early@example.org",
            "body_html": "",
            "ics": None,
            "ics_filename": "event.ics",
            "attempts": 0,
            "last_error": "",
            "created_at": now,
            "next_attempt_at": now,
        }
        with db.engine.begin() as conn:
            conn.execute(
                old_outbox.insert(),
                [
                    {**row, "subject": "Sent before", "body_text": "Old text", "sent_at": now},
                    {
                        **row,
                        "subject": "Queued before",
                        "body_text": "Queued text",
                        "sent_at": None,
                    },
                ],
            )

        upgrade()
        assert send_due().sent == 1
        written = (tmp_path / "mail" / "000002-confirmed.eml").read_bytes()
        message = email.message_from_bytes(written, policy=email.policy.default)
        assert message["Subject"] == "Queued before"
        assert text_part(message).strip() == "Queued text"
        assert message["To"] == "early@example.org"
        sent_before, queued_before = outbox()
        assert sent_before.data == {}  # a sent message keeps no copy of its text
        assert queued_before.sent_at is not None

        # A message queued since has no text yet: a downgrade would lose it, so it refuses.
        db.session.add(OutboxMessage(kind="links", recipient="late@example.org", data={}))
        db.session.commit()
        db.session.remove()
        with pytest.raises(SystemExit):  # Flask-Migrate prints the reason and exits
            downgrade(revision="9dcea341adb8")
        # On SQLite the later revisions' downgrades were committed before the refusal.
        upgrade()
        assert send_due().withdrawn == 1  # it lists no live booking: withdrawn, then gone
        downgrade(revision="9dcea341adb8")
        with db.engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("outbox")}
            assert {"subject", "body_text", "body_html", "ics"} <= columns
            assert "data" not in columns
        db.engine.dispose()


# ----------------------------------------------------------------------------- work before a round


def test_each_round_first_does_the_registered_work_and_one_failure_spoils_nothing_else(
    app, make, monkeypatch
):
    from bookings.mail import outbox

    event = make.event(title="Renamed by the round")

    def rename(now) -> int:
        db.session.get(type(event), event.id).title = "Renamed by the round job"
        return 1

    def half_done_then_fails(now) -> int:
        db.session.get(type(event), event.id).venue_id = None
        raise RuntimeError("the job broke")

    monkeypatch.setattr(outbox, "_round_jobs", {})
    outbox.every_round("fails")(half_done_then_fails)
    outbox.every_round("renames")(rename)

    with app.app_context():
        sender.send_all_due()
        assert sender.run_round_jobs() == {"renames": 1}

    db.session.expire_all()
    fresh = db.session.get(type(event), event.id)
    assert fresh.title == "Renamed by the round job"
    assert fresh.venue_id is not None
