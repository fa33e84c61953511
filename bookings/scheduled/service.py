"""Scheduled messages: when each falls due, the sender's job that writes them, the console's
edits and previews.

Rows are written only when due, by the job every sender runs before its round
(``mail.every_round``), so a moved event moves its messages and a booking made late gets what
is still due. Each message has a key (``scheduled_reminder:42``) in the outbox's unique
index: several senders write the same due messages at once and the database keeps one
(invariant 7). The job writes with one ``INSERT … SELECT`` per event and kind that is due,
at most ``ROUND_LIMIT`` rows a round, so neither its queries nor its work grow per booking.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from sqlalchemy import String, and_, cast, func, literal, select
from sqlalchemy.sql import ColumnElement

from bookings.accounts import service as accounts
from bookings.booking.models import Booking, BookingStatus
from bookings.db import db, unit_of_work, utcnow
from bookings.events.models import Event, EventStatus
from bookings.london import format_moment
from bookings.mail import service as mail
from bookings.mail.models import OutboxMessage
from bookings.scheduled import notifications
from bookings.scheduled.models import (
    FOLLOW_UP_FOR,
    MOST_DAYS_AFTER,
    MOST_DAYS_BEFORE,
    ScheduledKind,
    ScheduledSetting,
    Setting,
    Window,
    window,
)

# Most rows one round writes; the next round goes on where it stopped.
ROUND_LIMIT = 2000


# ----------------------------------------------------------------------------- settings


def settings_of(event_ids: list[int]) -> dict[tuple[int, ScheduledKind], Setting]:
    """Every kind's setting at each event, in one query."""
    rows = {
        (row.event_id, row.kind): row
        for row in db.session.scalars(
            select(ScheduledSetting).where(ScheduledSetting.event_id.in_(event_ids))
        )
    }
    return {
        (event_id, kind): Setting.of(kind, rows.get((event_id, kind)))
        for event_id in event_ids
        for kind in ScheduledKind
    }


@dataclass(frozen=True)
class Row:
    """One line of the event's "Scheduled messages" page."""

    setting: Setting
    window: Window
    written: int
    sent: int

    @property
    def goes(self) -> str:
        return format_moment(self.window.opens)


def overview(event: Event) -> list[Row]:
    """The four messages of the event, when each goes and how many went: two queries."""
    settings = settings_of([event.id])
    counts = {
        kind: (written, sent)
        for kind, written, sent in db.session.execute(
            select(
                OutboxMessage.kind,
                func.count(OutboxMessage.id),
                func.count(OutboxMessage.sent_at),
            )
            .join(Booking, Booking.id == OutboxMessage.booking_id)
            .where(
                Booking.event_id == event.id,
                OutboxMessage.kind.in_([kind.mail_kind for kind in ScheduledKind]),
            )
            .group_by(OutboxMessage.kind)
        )
    }
    rows = []
    for kind in ScheduledKind:
        setting = settings[(event.id, kind)]
        written, sent = counts.get(kind.mail_kind, (0, 0))
        rows.append(Row(setting, window(event, setting), written, sent))
    return rows


def setting(event_id: int, kind: ScheduledKind) -> Setting:
    return settings_of([event_id])[(event_id, kind)]


@dataclass(frozen=True)
class Changes:
    enabled: bool
    days: int
    at: time
    subject: str
    intro: str
    briefing: str = ""


def _shown(setting: Setting) -> dict[str, str]:
    return {
        "enabled": "on" if setting.enabled else "off",
        "days": str(setting.days),
        "at": setting.at.strftime("%H:%M"),
        "subject": setting.subject,
        "intro": setting.intro,
        "briefing": setting.briefing,
    }


def save(event_id: int, kind: ScheduledKind, changes: Changes) -> Setting:
    """Save the event's own setting for ``kind``, with an audit entry of what changed."""
    with unit_of_work():
        event = db.session.get(Event, event_id)
        if event is None:
            raise LookupError(event_id)
        row = db.session.scalar(
            select(ScheduledSetting).where(
                ScheduledSetting.event_id == event_id, ScheduledSetting.kind == kind
            )
        )
        before = Setting.of(kind, row)
        if row is None:
            row = ScheduledSetting(event_id=event_id, kind=kind)
            db.session.add(row)
        row.enabled, row.days, row.at = changes.enabled, changes.days, changes.at
        row.subject, row.intro = changes.subject, changes.intro
        row.briefing = changes.briefing if kind == ScheduledKind.joining else ""
        after = Setting.of(kind, row)
        old, new = _shown(before), _shown(after)
        diff = {name: [old[name], new[name]] for name in old if old[name] != new[name]}
        state = "turned off" if not after.enabled else "changed"
        accounts.audit(
            "scheduled.save",
            "event",
            event_id,
            f"{kind.label} {state}: {event.title}",
            diff,
        )
        return after


def preview(event_id: int, kind: ScheduledKind, changes: Changes | None = None) -> mail.Rendered:
    """The message as a made-up delegate would read it, with the saved setting or
    ``changes``; nothing is written."""
    event = db.session.get(Event, event_id)
    current = setting(event_id, kind)
    if changes is not None:
        current = replace(
            current,
            days=changes.days,
            at=changes.at,
            subject=changes.subject,
            intro=changes.intro,
            briefing=changes.briefing,
        )
    goes = window(event, current).opens
    return notifications.words(
        current, notifications.SampleDelegate(event), notifications.LINK_PLACEHOLDER, goes
    )


# ----------------------------------------------------------------------------- writing


def _audience(event_id: int, kind: ScheduledKind) -> ColumnElement[bool]:
    live = and_(
        Booking.event_id == event_id,
        Booking.status == BookingStatus.confirmed,
        Booking.purged_at.is_(None),
    )
    if kind == ScheduledKind.thanks:
        return and_(live, Booking.attended_at.is_not(None))
    if kind == ScheduledKind.missed:
        attended = (
            select(Booking.id)
            .where(Booking.event_id == event_id, Booking.attended_at.is_not(None))
            .exists()
        )
        return and_(live, Booking.attended_at.is_(None), attended)
    return live


def _rows(event_id: int, kind: ScheduledKind):
    """kind, booking, recipient, site and key of each message not yet written, in one query."""
    key = literal(f"{kind.mail_kind}:") + cast(Booking.id, String)
    # Links point at the site the delegate booked on, as their confirmation's did.
    site = (
        select(OutboxMessage.site_url)
        .where(OutboxMessage.booking_id == Booking.id, OutboxMessage.site_url != "")
        .order_by(OutboxMessage.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            literal(kind.mail_kind).label("kind"),
            Booking.id.label("booking_id"),
            Booking.email.label("recipient"),
            func.coalesce(site, "").label("site_url"),
            key.label("once_key"),
        )
        .where(_audience(event_id, kind), ~mail.once_queued(key))
        .order_by(Booking.id)
    )


def due_now(now: datetime) -> list[tuple[Event, Setting]]:
    """The events and kinds whose messages go now: events near enough to have one due."""
    events = list(
        db.session.scalars(
            select(Event)
            .where(
                Event.status == EventStatus.published,
                Event.starts_at < now + timedelta(days=MOST_DAYS_BEFORE + 1),
                Event.ends_at > now - FOLLOW_UP_FOR - timedelta(days=MOST_DAYS_AFTER + 1),
            )
            .order_by(Event.starts_at, Event.id)
        )
    )
    settings = settings_of([event.id for event in events])
    due = []
    for event in events:
        for kind in ScheduledKind:
            chosen = settings[(event.id, kind)]
            goes = window(event, chosen)
            if chosen.enabled and goes.opens <= now < goes.closes:
                due.append((event, chosen))
    return due


@mail.every_round("write scheduled messages")
def write_due(now: datetime | None = None) -> int:
    """Write the scheduled messages that are due and not yet written; returns how many.
    Runs in the sender's unit of work (``run_round_jobs``)."""
    now = now or utcnow()
    left = ROUND_LIMIT
    for event, chosen in due_now(now):
        if left <= 0:
            break
        left -= mail.queue_selected(_rows(event.id, chosen.kind), now, left)
    return ROUND_LIMIT - left
