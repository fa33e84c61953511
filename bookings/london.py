"""London time: the only conversions between stored UTC instants and London's wall clock, and
the only formatting of dates and times for people (pages, e-mails, CSV, the CLI).

Times are stored in UTC (``bookings.db.UTCDateTime``); everything a person reads or types is
London time, written the Board's way: "Friday 15 December 2006", "9am", "9.30am", "12pm".
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


class NonexistentLocalTime(ValueError):
    """A wall-clock time that London skips when the clocks go forward."""


# ----------------------------------------------------------------------------- conversions


def to_london(value: datetime) -> datetime:
    """The instant as London wall-clock time (aware)."""
    return value.astimezone(LONDON)


def london_date(value: datetime) -> date:
    """The London calendar day an instant falls on."""
    return to_london(value).date()


def today() -> date:
    return london_date(datetime.now(UTC))


def wall_clock(value: datetime) -> datetime:
    """The naive London wall-clock reading of an instant (for moving things by calendar days)."""
    return to_london(value).replace(tzinfo=None)


def london_datetime(day: date, at: time) -> datetime:
    """The instant a London wall clock shows ``at`` on ``day``.

    Refuses the hour skipped in spring. In the autumn hour that happens twice, the first
    (summer time) instance is taken, as people mean when they write "1.30am".
    """
    naive = datetime.combine(day, at)
    local = naive.replace(tzinfo=LONDON, fold=0)
    round_trip = local.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None)
    if round_trip != naive:
        raise NonexistentLocalTime(f"{naive:%d %B %Y %H:%M} does not exist in London")
    return local.astimezone(UTC)


def london_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants at which a London calendar day starts and the next one starts."""
    start = datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LONDON).astimezone(UTC)
    return start, end


# ----------------------------------------------------------------------------- for people


def _day(value: datetime | date) -> date:
    return london_date(value) if isinstance(value, datetime) else value


def clock(value: datetime | time) -> str:
    """9am, 9.30am, 12pm (an aware instant in London time; a naive or bare time as it is)."""
    local = to_london(value) if value.tzinfo is not None else value
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    return f"{hour}{suffix}" if local.minute == 0 else f"{hour}.{local.minute:02d}{suffix}"


def format_date(value: datetime | date | None) -> str:
    """Friday 15 December 2006."""
    if value is None:
        return "date to be confirmed"
    day = _day(value)
    return f"{day:%A} {day.day} {day:%B %Y}"


def format_short_date(value: datetime | date) -> str:
    """15 Dec 2006, for tables and chart labels."""
    day = _day(value)
    return f"{day.day} {day:%b %Y}"


def format_time(value: datetime | None) -> str:
    return clock(value) if value is not None else ""


def format_datetime(value: datetime | None) -> str:
    """Friday 15 December 2006, 9.30am."""
    return f"{format_date(value)}, {clock(value)}" if value is not None else ""


def format_moment(value: datetime | None) -> str:
    """Monday 2 March 2026 at 9am; midnight, the start of the day, is just the day: people
    read "12am" as noon as often as midnight."""
    if value is None:
        return ""
    local = to_london(value)
    if (local.hour, local.minute) == (0, 0):
        return format_date(local)
    return f"{format_date(local)} at {clock(local)}"


def format_span(start: datetime, end: datetime) -> str:
    """Friday 15 December 2006, 9am to 1.30pm; an event over several days names both days,
    and one that ends on the day it starts names it once."""
    if london_date(start) == london_date(end):
        return f"{format_date(start)}, {format_time_range(start, end)}"
    return f"{format_datetime(start)} to {format_datetime(end)}"


def format_time_range(start: datetime | None, end: datetime | None = None) -> str:
    """9am to 1.30pm, or 9am onwards."""
    if start is None:
        return ""
    return f"{clock(start)} to {clock(end)}" if end is not None else f"{clock(start)} onwards"


def format_stamp(value: datetime | None) -> str:
    """2006-12-15 09:30 London time: sortable, for CSV files and the command line."""
    if value is None:
        return ""
    local = to_london(value) if value.tzinfo is not None else value
    return f"{local:%Y-%m-%d %H:%M}"
