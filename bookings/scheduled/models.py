"""The four kinds of scheduled message, their defaults, and an event's own settings."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import ForeignKey, String, Text, Time, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bookings.db import db, string_enum
from bookings.events.models import Event
from bookings.london import NonexistentLocalTime, london_date, london_datetime, london_day_bounds


class ScheduledKind(enum.StrEnum):
    joining = "joining"
    reminder = "reminder"
    thanks = "thanks"
    missed = "missed"

    @property
    def label(self) -> str:
        return {
            "joining": "Joining instructions",
            "reminder": "Reminder the day before",
            "thanks": "Thank you, to those who came",
            "missed": "Sorry we missed you, to those who did not come",
        }[self.value]

    @property
    def before(self) -> bool:
        """Sent before the event (days counted back from its first day), else after its last."""
        return self in (ScheduledKind.joining, ScheduledKind.reminder)

    @property
    def mail_kind(self) -> str:
        """The outbox's kind for this message."""
        return f"scheduled_{self.value}"


@dataclass(frozen=True)
class Default:
    days: int
    at: time
    subject: str
    intro: str


DEFAULTS: dict[ScheduledKind, Default] = {
    ScheduledKind.joining: Default(
        7,
        time(9, 0),
        "Joining instructions: {title}",
        "We look forward to seeing you. Here is what you need to know for the day: where to go, "
        "the programme, and a note from the organisers.",
    ),
    ScheduledKind.reminder: Default(
        1,
        time(9, 0),
        "Reminder: {title}",
        "This is a reminder of your place at the event. If you can no longer come, please "
        "cancel through your link, so that someone on the waiting list can have your place.",
    ),
    ScheduledKind.thanks: Default(
        1,
        time(10, 0),
        "Thank you for coming: {title}",
        "Thank you for coming. We hope the day was useful for your work with children and "
        "families.",
    ),
    ScheduledKind.missed: Default(
        1,
        time(10, 0),
        "Sorry we missed you: {title}",
        "We are sorry we did not see you at the event. If you could not come, there is no need "
        "to reply; please cancel through your link next time, so that someone on the waiting "
        "list can have your place.",
    ),
}

# The limits of what organisers may choose, in days before the first day or after the last.
MOST_DAYS_BEFORE = 60
MOST_DAYS_AFTER = 30


class ScheduledSetting(db.Model):
    """An event's own choice for one kind; without a row the kind's default applies."""

    __tablename__ = "scheduled_settings"
    __table_args__ = (UniqueConstraint("event_id", "kind", name="uq_scheduled_settings_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    kind: Mapped[ScheduledKind] = mapped_column(string_enum(ScheduledKind, "scheduled_kind"))
    enabled: Mapped[bool] = mapped_column(default=True)
    days: Mapped[int] = mapped_column()
    at: Mapped[time] = mapped_column(Time)
    subject: Mapped[str] = mapped_column(String(200))
    intro: Mapped[str] = mapped_column(Text, default="")
    # The organisers' briefing (joining instructions only): what to bring, where to sign in.
    briefing: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True)
class Setting:
    """What applies to one kind at one event: its saved row, or the kind's default."""

    kind: ScheduledKind
    enabled: bool
    days: int
    at: time
    subject: str
    intro: str
    briefing: str = ""
    saved: bool = False

    @classmethod
    def of(cls, kind: ScheduledKind, row: ScheduledSetting | None) -> Setting:
        if row is None:
            default = DEFAULTS[kind]
            return cls(kind, True, default.days, default.at, default.subject, default.intro)
        return cls(kind, row.enabled, row.days, row.at, row.subject, row.intro, row.briefing, True)

    def subject_for(self, event: Event) -> str:
        """``{title}`` is the event's title; nothing else is a placeholder."""
        return self.subject.replace("{title}", event.title)


def setting_for(session: Session, event_id: int, kind: ScheduledKind) -> Setting:
    row = session.scalar(
        select(ScheduledSetting).where(
            ScheduledSetting.event_id == event_id, ScheduledSetting.kind == kind
        )
    )
    return Setting.of(kind, row)


# After the event, a thank-you or a note is written for this long after its time, no longer:
# a sender started after a fortnight's break does not thank people for last month's seminar.
FOLLOW_UP_FOR = timedelta(days=14)


def wall_clock_instant(day: date, at: time) -> datetime:
    """``at`` on ``day`` in London; in the hour skipped in March, the same time an hour on."""
    try:
        return london_datetime(day, at)
    except NonexistentLocalTime:
        return london_datetime(day, (datetime.combine(day, at) + timedelta(hours=1)).time())


@dataclass(frozen=True)
class Window:
    """The message goes from ``opens`` (its time) until just before ``closes``; a booking
    made inside the window gets it at once, one made after gets none."""

    opens: datetime
    closes: datetime


def window(event: Event, setting: Setting) -> Window:
    """When the kind goes for the event as it now stands, so a moved event moves it.

    Joining instructions: until the event starts. The reminder: until the London midnight
    that starts the event's day (never "see you tomorrow" on the day). After the event: from
    its time (and not before the event has ended) for ``FOLLOW_UP_FOR``.
    """
    first, last = london_date(event.starts_at), london_date(event.ends_at)
    if setting.kind == ScheduledKind.joining:
        return Window(
            wall_clock_instant(first - timedelta(days=setting.days), setting.at), event.starts_at
        )
    if setting.kind == ScheduledKind.reminder:
        return Window(
            wall_clock_instant(first - timedelta(days=setting.days), setting.at),
            london_day_bounds(first)[0],
        )
    opens = max(wall_clock_instant(last + timedelta(days=setting.days), setting.at), event.ends_at)
    return Window(opens, opens + FOLLOW_UP_FOR)
