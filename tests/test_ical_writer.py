"""The feeds' own VEVENT writer writes exactly the bytes icalendar writes for the same entry."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bookings.db import db
from bookings.demo import loader as demo
from bookings.events.models import Event
from bookings.feeds import ical, service
from bookings.london import to_london
from bookings.networks.models import Meeting, Network

HOSTILE = [
    "",
    "plain",
    "Commas, semicolons; colons: and a backslash \\ here",
    "Lines\nand\r\nreturns\rand \\N and \\n literally",
    "é" * 80,
    "x" * 73 + "é" + "y" * 200,
    "日本語のテキスト" * 20,
    "emoji 🎉" * 30,
    "a" * 72 + "\\,b" + "c" * 100,
    "a" * 73 + ";" + "b" * 80,
    "a" * 74 + "," * 80,
    '^caret^^ and "quotes" \u2019curly\u2019',
    "\\" * 200,
    "^" * 200,
    "tab\tand\u00a0nbsp and \u2028 separator",
]


def _entry(text: str, **changes) -> ical.Entry:
    start = to_london(datetime(2026, 6, 18, 8, 30, tzinfo=UTC))
    entry = ical.Entry(
        uid=f"event-1@{text[:20] or 'x'}",
        summary=text or "summary",
        start=start,
        end=start + timedelta(hours=7, minutes=5),
        status="CONFIRMED",
        sequence=12,
        stamp=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        created=datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC),
        location=text,
        description=text,
        url="https://events.example.org/events/a-b?x=1,2;3#programme",
        organizer=(text, "events@example.org"),
        categories=(text or "Seminar", "Network meeting"),
        related_to="event-2@example.org",
    )
    return ical.Entry(**{**{f: getattr(entry, f) for f in entry.__slots__}, **changes})


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_written_as_icalendar_writes_it(text):
    for entry in (
        _entry(text),
        _entry(text, organizer=None, categories=(), related_to=None, status="CANCELLED"),
        _entry(text, start=date(2026, 3, 29), end=date(2026, 3, 30), status="TENTATIVE"),
        _entry(text, organizer=("", "chair@example.org"), location="", description=""),
    ):
        assert ical.vevent_bytes(entry) == ical.vevent(entry).to_ical()


def test_random_text_is_written_as_icalendar_writes_it():
    alphabet = "ab ,;:\\^\"'\u2019\n\r\tNé日🎉" + "x" * 10
    chooser = random.Random(5545)
    for _ in range(400):
        text = "".join(chooser.choice(alphabet) for _ in range(chooser.randrange(0, 260)))
        entry = _entry(text)
        assert ical.vevent_bytes(entry) == ical.vevent(entry).to_ical(), repr(text)


def test_the_demo_feeds_are_written_as_icalendar_writes_them(app):
    demo.load()
    with app.test_request_context("/"):
        context = ical.Context.current()
        entries = []
        for event in db.session.scalars(select(Event)):
            values = ical.EventValues.of(event)
            entries.append(ical.event_entry(values, context))
            entries += [
                ical.slot_entry(ical.SlotValues.of(slot), values, context) for slot in event.slots
            ]
        for row in db.session.execute(
            select(*service.MEETING_COLUMNS).join(Network).where(Meeting.day.is_not(None))
        ):
            entries.append(ical.meeting_entry(ical.MeetingValues(*row), context))
        assert len(entries) > 50
        for entry in entries:
            assert ical.vevent_bytes(entry) == ical.vevent(entry).to_ical(), entry.uid
