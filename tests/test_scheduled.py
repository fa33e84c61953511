"""Scheduled messages (invariant 7): joining instructions, the reminder, the thank-you and the
note to those who did not come go once per booking and kind, at 09:00 (or the organisers'
time) London time, through the outbox and the real SMTP server; a moved event moves them."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from bookings.accounts.models import AuditEntry
from bookings.booking import service as booking
from bookings.booking.models import Booking, BookingStatus
from bookings.db import db
from bookings.events.models import SlotKind
from bookings.london import london_datetime
from bookings.mail.models import OutboxMessage
from bookings.mail.sender import run_round_jobs, send_all_due, send_due
from bookings.scheduled import service
from bookings.scheduled.models import ScheduledKind
from tests.test_mail import SMTPServer, details, text_part

PREFIX = {
    ScheduledKind.joining: "Joining instructions:",
    ScheduledKind.reminder: "Reminder:",
    ScheduledKind.thanks: "Thank you for coming:",
    ScheduledKind.missed: "Sorry we missed you:",
}


@pytest.fixture
def smtp(app):
    """The real SMTP server of tests/test_mail.py."""
    server = SMTPServer()
    server.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_TIMEOUT=5)
    yield server
    server.stop()


@pytest.fixture
def sector(make):
    return make.sector("Health")


def london(day: date, hour: int, minute: int = 0) -> datetime:
    return london_datetime(day, time(hour, minute))


def arrived(server, kind: ScheduledKind, address: str | None = None) -> list:
    return [
        r.message
        for r in server.received
        if str(r.message["Subject"]).startswith(PREFIX[kind])
        and (address is None or address in r.rcpt_tos)
    ]


def seminar(make, day: date, **kw):
    starts = london(day, 10)
    return make.event(starts_at=starts, ends_at=starts + timedelta(hours=3), **kw)


def book(event, sector, n: int, now: datetime) -> Booking:
    return booking.book(event.id, details(sector, n), now=now).booking


def test_each_kind_arrives_once_at_its_time_and_says_what_it_should(app, make, sector, smtp):
    day = date(2027, 6, 16)
    event = seminar(make, day)
    programme = event.slots
    from bookings.events.models import ProgrammeSlot

    programme.append(
        ProgrammeSlot(
            starts_at=event.starts_at, title="Keynote: the child's voice", kind=SlotKind.talk
        )
    )
    event.venue.directions = "Nearest station: Euston."
    db.session.commit()
    service.save(
        event.id,
        ScheduledKind.joining,
        service.Changes(True, 7, time(9), "Joining instructions: {title}", "Welcome.", "Bring ID."),
    )
    came = book(event, sector, 1, london(day - timedelta(days=30), 12))
    missed = book(event, sector, 2, london(day - timedelta(days=30), 12))

    steps = [
        (london(day - timedelta(days=7), 8, 59), {}),
        (london(day - timedelta(days=7), 9), {ScheduledKind.joining: 2}),
        (london(day - timedelta(days=3), 9), {ScheduledKind.joining: 2}),
        (london(day - timedelta(days=1), 8, 59), {ScheduledKind.joining: 2}),
        (london(day - timedelta(days=1), 9), {ScheduledKind.joining: 2, ScheduledKind.reminder: 2}),
    ]
    for now, expected in steps:
        send_all_due(now=now)
        got = {kind: len(arrived(smtp, kind)) for kind in ScheduledKind if arrived(smtp, kind)}
        assert got == expected, now

    joining = text_part(arrived(smtp, ScheduledKind.joining, "delegate1@example.org")[0])
    for words in (
        "Welcome.",
        "Bring ID.",
        "Keynote: the child's voice",
        "Euston",
        "bookings.test/bookings/",
    ):
        assert words in joining
    reminder = text_part(arrived(smtp, ScheduledKind.reminder)[0])
    assert "We look forward to seeing you tomorrow." in reminder

    booking.check_in(came.id, now=london(day, 9, 50))
    send_all_due(now=london(day + timedelta(days=1), 9, 59))
    assert not arrived(smtp, ScheduledKind.thanks)
    send_all_due(now=london(day + timedelta(days=1), 10))
    send_all_due(now=london(day + timedelta(days=2), 10))
    [thanks] = arrived(smtp, ScheduledKind.thanks)
    assert thanks["To"] == "delegate1@example.org"
    assert "feedback form, open until Wednesday 14 July 2027, 1pm" in text_part(thanks)
    assert "certificate of attendance is ready to download" in text_part(thanks)
    assert "and certificate can be used until Wednesday 14 June 2028" in text_part(thanks)
    [note] = arrived(smtp, ScheduledKind.missed)
    assert note["To"] == "delegate2@example.org"
    assert missed.id != came.id
    keys = list(
        db.session.scalars(
            select(OutboxMessage.once_key).where(OutboxMessage.once_key.is_not(None))
        )
    )
    assert len(keys) == len(set(keys)) == 6


@pytest.mark.parametrize(
    ("day", "joining_utc", "reminder_utc"),
    [
        # Clocks go forward on Sunday 28 March 2027: joining in GMT, the reminder in BST.
        (date(2027, 3, 30), datetime(2027, 3, 23, 9, 0), datetime(2027, 3, 29, 8, 0)),
        # Back on Sunday 31 October 2027: joining in BST, the reminder in GMT.
        (date(2027, 11, 1), datetime(2027, 10, 25, 8, 0), datetime(2027, 10, 31, 9, 0)),
    ],
)
def test_nine_am_london_across_the_clock_changes(
    app, make, sector, smtp, day, joining_utc, reminder_utc
):
    from datetime import UTC

    event = seminar(make, day)
    book(event, sector, 1, london(day - timedelta(days=30), 12))
    for kind, at in ((ScheduledKind.joining, joining_utc), (ScheduledKind.reminder, reminder_utc)):
        at = at.replace(tzinfo=UTC)
        send_all_due(now=at - timedelta(minutes=1))
        assert not arrived(smtp, kind)
        send_all_due(now=at)
        assert len(arrived(smtp, kind)) == 1
    sent = db.session.scalars(
        select(OutboxMessage.sent_at)
        .where(OutboxMessage.kind.like("scheduled_%"))
        .order_by(OutboxMessage.id)
    )
    assert [s.replace(tzinfo=UTC) for s in sent] == [
        joining_utc.replace(tzinfo=UTC),
        reminder_utc.replace(tzinfo=UTC),
    ]
    assert event.id


def test_the_thank_you_promises_only_what_the_booking_page_offers(app, make, sector, smtp):
    from bookings.certificates import service as certificates
    from bookings.evaluation import service as evaluation

    day = date(2027, 6, 16)
    gated, plain = seminar(make, day), seminar(make, day)
    certificates.save_settings(gated.id, None, "", after_evaluation=True)
    early = london(day - timedelta(days=30), 12)
    waiting, answered = book(gated, sector, 1, early), book(gated, sector, 2, early)
    late = book(plain, sector, 3, early)
    for made in (waiting, answered, late):
        booking.check_in(made.id, now=london(day, 9, 50))
    evaluation.submit(
        answered.id,
        [evaluation.Answer(rating=4)] * 4 + [evaluation.Answer(text="")],
        now=london(day, 14),
    )
    evaluation.set_closing(plain.id, london(day, 18))

    send_all_due(now=london(day + timedelta(days=1), 10))
    said = {
        address: text_part(arrived(smtp, ScheduledKind.thanks, address)[0])
        for address in ("delegate1@example.org", "delegate2@example.org", "delegate3@example.org")
    }
    first, second, third = said.values()
    assert "feedback form, open until Wednesday 14 July 2027" in first
    assert "as soon as you have given your feedback" in first
    assert "ready to download" not in first
    assert "Thank you for your feedback" in second and "ready to download" in second
    assert "feedback form" not in second
    # The evaluation closed before the message went: no form is promised, the certificate is.
    assert "feedback" not in third and "ready to download" in third


def test_a_late_booking_gets_joining_instructions_at_once_and_no_reminder_on_the_day(
    app, make, sector, smtp
):
    day = date(2027, 6, 16)
    event = seminar(make, day)
    three_days_before = london(day - timedelta(days=3), 15, 20)
    book(event, sector, 1, three_days_before)
    send_all_due(now=three_days_before + timedelta(seconds=5))
    assert len(arrived(smtp, ScheduledKind.joining)) == 1

    on_the_day = london(day, 7, 30)
    book(event, sector, 2, on_the_day)
    send_all_due(now=on_the_day + timedelta(seconds=5))
    assert len(arrived(smtp, ScheduledKind.joining, "delegate2@example.org")) == 1
    assert arrived(smtp, ScheduledKind.reminder) == []
    send_all_due(now=london(day, 9, 30))
    assert arrived(smtp, ScheduledKind.reminder) == []


def test_a_moved_event_moves_its_messages_even_once_written(app, make, sector, smtp):
    day = date(2027, 6, 16)
    event = seminar(make, day)
    book(event, sector, 1, london(day - timedelta(days=30), 12))
    # Written at its time, but no sender got to send it before the event moved a fortnight on.
    run_round_jobs(london(day - timedelta(days=7), 9))
    later = day + timedelta(days=14)
    event.starts_at, event.ends_at = london(later, 10), london(later, 13)
    db.session.commit()

    report = send_all_due(now=london(day - timedelta(days=7), 9, 1))
    assert report.deferred == 1 and arrived(smtp, ScheduledKind.joining) == []
    send_all_due(now=london(day - timedelta(days=1), 9))  # the old reminder time
    assert arrived(smtp, ScheduledKind.reminder) == []
    send_all_due(now=london(later - timedelta(days=7), 9))
    send_all_due(now=london(later - timedelta(days=1), 9))
    assert len(arrived(smtp, ScheduledKind.joining)) == 1
    assert len(arrived(smtp, ScheduledKind.reminder)) == 1


def test_cancelled_waitlisted_and_purged_bookings_and_a_cancelled_event_get_none(
    app, make, sector, smtp
):
    from bookings.privacy import service as privacy

    day = date(2027, 6, 16)
    event = seminar(make, day, capacity=2)
    early = london(day - timedelta(days=30), 12)
    kept = book(event, sector, 1, early)
    gone = book(event, sector, 2, early)
    waiting = book(event, sector, 3, early)
    assert waiting.status == BookingStatus.waitlisted
    booking.cancel(gone.id, now=early)  # delegate 3 is promoted, then cancels too
    booking.cancel(waiting.id, now=early)
    joining_time = london(day - timedelta(days=7), 9)
    run_round_jobs(joining_time)
    booking.cancel(kept.id, now=joining_time)  # written, not yet sent
    send_all_due(now=joining_time + timedelta(minutes=1))
    assert arrived(smtp, ScheduledKind.joining) == []

    other = seminar(make, day + timedelta(days=1))
    book(other, sector, 4, early)
    run_round_jobs(london(day - timedelta(days=6), 9))
    booking.cancel_event(other.id, "The venue flooded.", now=london(day - timedelta(days=6), 9))
    send_all_due(now=london(day - timedelta(days=6), 9, 1))
    assert arrived(smtp, ScheduledKind.joining) == []

    past = seminar(make, day + timedelta(days=2))
    attended = book(past, sector, 5, early)
    booking.check_in(attended.id, now=past.starts_at)
    privacy.purge(day + timedelta(days=3), now=past.ends_at + timedelta(hours=1))
    send_all_due(now=london(day + timedelta(days=3), 10))
    assert arrived(smtp, ScheduledKind.thanks) == []
    assert (
        db.session.scalar(
            select(OutboxMessage.id).where(
                OutboxMessage.kind.like("scheduled_%"), OutboxMessage.sent_at.is_not(None)
            )
        )
        is None
    )


def test_a_kind_turned_off_sends_nothing_even_once_written(app, make, sector, smtp):
    day = date(2027, 6, 16)
    event = seminar(make, day)
    book(event, sector, 1, london(day - timedelta(days=30), 12))
    run_round_jobs(london(day - timedelta(days=7), 9))
    for kind in (ScheduledKind.joining, ScheduledKind.reminder):
        chosen = service.setting(event.id, kind)
        service.save(
            event.id,
            kind,
            service.Changes(False, chosen.days, chosen.at, chosen.subject, chosen.intro),
        )
    send_all_due(now=london(day - timedelta(days=7), 9, 1))
    send_all_due(now=london(day - timedelta(days=1), 9))
    assert arrived(smtp, ScheduledKind.joining) == arrived(smtp, ScheduledKind.reminder) == []


def test_two_senders_racing_deliver_each_message_once(app, make, sector, smtp):
    """Two senders, each with its own session (PostgreSQL: its own connection and
    transaction), write and send the same due messages at the same moment."""
    day = date(2027, 6, 16)
    event = seminar(make, day, capacity=60)
    for n in range(40):
        book(event, sector, n + 1, london(day - timedelta(days=30), 12))
    now = london(day - timedelta(days=7), 9)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                start.wait()
                send_all_due(batch=7, now=now)
                db.session.remove()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    joining = arrived(smtp, ScheduledKind.joining)
    assert sorted(m["To"] for m in joining) == sorted(
        f"delegate{n + 1}@example.org" for n in range(40)
    )
    send_all_due(now=now + timedelta(hours=1))
    assert len(arrived(smtp, ScheduledKind.joining)) == 40


def test_the_writing_job_makes_the_same_few_queries_for_many_bookings(
    app, make, sector, count_queries
):
    day = date(2027, 6, 16)
    small, large = seminar(make, day), seminar(make, day + timedelta(days=30), capacity=200)
    for n in range(3):
        book(small, sector, n + 1, london(day - timedelta(days=40), 12))
    for n in range(60):
        book(large, sector, n + 10, london(day - timedelta(days=40), 12))
    with count_queries() as few:
        run_round_jobs(london(day - timedelta(days=7), 9))
    with count_queries() as many:
        run_round_jobs(london(day + timedelta(days=23), 9))
    assert len(few) == len(many)
    assert (
        db.session.scalar(
            select(db.func.count(OutboxMessage.id)).where(OutboxMessage.kind == "scheduled_joining")
        )
        == 63
    )


def test_sending_a_batch_makes_the_same_few_queries_for_many_bookings(
    app, make, sector, smtp, count_queries
):
    day = date(2027, 6, 16)
    small, large = seminar(make, day), seminar(make, day + timedelta(days=30), capacity=200)
    booked = london(day - timedelta(days=40), 12)
    for n in range(2):
        book(small, sector, n + 1, booked)
    for n in range(20):
        book(large, sector, n + 10, booked)
    send_all_due(now=booked)  # the confirmations
    counts = []
    for first_day, expected in ((day, 2), (day + timedelta(days=30), 20)):
        week_before = london(first_day - timedelta(days=7), 9)
        run_round_jobs(week_before)
        with count_queries() as statements:
            report = send_due(now=week_before)
        assert report.sent == expected
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert len(arrived(smtp, ScheduledKind.joining)) == 22


# ----------------------------------------------------------------------------- the console


def test_organisers_see_preview_change_and_turn_off_a_message(client, login, make, sector):
    login()
    event = seminar(make, date(2027, 6, 16))
    page = client.get(f"/manage/events/{event.id}/scheduled/")
    assert page.status_code == 200
    assert "Joining instructions" in page.text and "Wednesday 9 June 2027 at 9am" in page.text

    edit = f"/manage/events/{event.id}/scheduled/joining"
    shown = client.get(edit)
    assert shown.status_code == 200 and "[delegate&#39;s name]" in shown.text
    form = {
        "enabled": "y",
        "days": "5",
        "at": "08:30",
        "subject": "Your day at {title}",
        "intro": "Doors open at 9.30.",
        "briefing": "Sign in at the front desk <b>with photo ID</b>.",
    }
    preview = client.post(edit, data={**form, "preview": "yes"})
    assert preview.status_code == 200
    assert "Sign in at the front desk &lt;b&gt;with photo ID&lt;/b&gt;." in preview.text
    assert f"Your day at {event.title}" in preview.text
    assert service.setting(event.id, ScheduledKind.joining).saved is False

    saved = client.post(edit, data={**form, "save": "yes"})
    assert saved.status_code == 302
    chosen = service.setting(event.id, ScheduledKind.joining)
    assert (chosen.days, chosen.at, chosen.enabled) == (5, time(8, 30), True)
    assert (
        "Friday 11 June 2027 at 8.30am" in client.get(f"/manage/events/{event.id}/scheduled/").text
    )

    off = client.post(
        edit, data={k: v for k, v in form.items() if k != "enabled"} | {"save": "yes"}
    )
    assert off.status_code == 302
    assert service.setting(event.id, ScheduledKind.joining).enabled is False
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "scheduled.save")
    ).all()
    assert [e.summary for e in entries] == [
        f"Joining instructions changed: {event.title}",
        f"Joining instructions turned off: {event.title}",
    ]
    assert "Off" in client.get(f"/manage/events/{event.id}/scheduled/").text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "Hello\x00"),
        ("subject", "Two\nlines"),
        ("days", "99999999999"),
        ("days", "-1"),
        ("at", "25:00"),
        ("intro", "x" * 5001),
    ],
)
def test_the_console_refuses_what_it_cannot_keep(client, login, make, field, value):
    login()
    event = seminar(make, date(2027, 6, 16))
    form = {
        "enabled": "y",
        "days": "1",
        "at": "09:00",
        "subject": "Reminder",
        "intro": "",
        "save": "yes",
    }
    response = client.post(
        f"/manage/events/{event.id}/scheduled/reminder", data={**form, field: value}
    )
    assert response.status_code == 422
    assert 'class="error-summary' in response.text or "error-summary" in response.text
    assert service.setting(event.id, ScheduledKind.reminder).saved is False
