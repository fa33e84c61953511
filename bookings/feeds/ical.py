"""iCalendar for every feed and for the e-mail attachment: one module, one UID rule.

Everything a subscriber's calendar sees is decided here:

- ``event_entry``, ``slot_entry`` and ``meeting_entry`` turn a record's values into an ``Entry``
  (summary with "Cancelled:" or "(provisional)", STATUS, SEQUENCE, times in London, place, links);
- ``vevent`` turns an ``Entry`` into an icalendar ``Event`` component;
- ``calendar`` and ``calendar_bytes`` wrap entries in a VCALENDAR with the Europe/London
  VTIMEZONE (RRULE form, as Outlook reads it) and the feed properties;
- ``event_attachment`` is the one-event file sent by e-mail.

Every timed entry has a DTEND: without one, RFC 5545 makes it last no time at all, and
calendars show a zero-length sliver. All-day entries are DATE values ending the next day.

All iCalendar text is produced by the icalendar library. Because building and serialising a
component with it costs about half a millisecond (a third of it in its line folding), each VEVENT
is serialised once per distinct input and kept (``_cached_vevent``): the key is every value the
component is made from, so a changed record can never be served from the cache.
``calendar_bytes`` then places those serialised components, in order, inside the serialised
calendar; the result is byte for byte what ``calendar(...).to_ical()`` gives (a test checks it),
only without serialising unchanged components again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from flask import current_app, url_for
from icalendar import Calendar, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress
from icalendar import Event as VEvent
from icalendar.prop import vDuration, vText

from bookings.events.models import Event, EventKind, EventStatus, ProgrammeSlot
from bookings.london import to_london
from bookings.mail import service as mail
from bookings.networks.models import MeetingStatus

PRODID = "-//London Safeguarding Children Board//Bookings//EN"
TZID = "Europe/London"
# How often subscribed calendars are asked to look again (REFRESH-INTERVAL, X-PUBLISHED-TTL).
REFRESH_INTERVAL = timedelta(hours=1)
# Bumped whenever the rendering changes, so that every feed's ETag changes with it.
FORMAT_VERSION = 2
# How long an entry lasts in calendars when its end is not known: a meeting with a start time
# but no end, or a session starting when its event ends. Its description says the end is not
# known; the calendars page states the length.
DEFAULT_LENGTH = timedelta(hours=2)
# Serialised VEVENTs kept per process: enough for the largest feed benchmarked (10,000 events)
# plus meetings and programmes; an entry (key and value) is 1 to 3 KB.
CACHE_SIZE = 16_384

CANCELLED_PREFIX = "Cancelled: "


# ----------------------------------------------------------------------------- record values


class EventValues(NamedTuple):
    """What a feed shows of an event; built from a query row or from an ``Event``."""

    id: int
    slug: str
    title: str
    kind: EventKind
    status: EventStatus
    summary: str
    description: str
    notes: str
    starts_at: datetime
    ends_at: datetime
    cancellation_reason: str
    sequence: int
    created_at: datetime
    updated_at: datetime
    venue_name: str | None
    venue_address: str | None
    venue_postcode: str | None

    @classmethod
    def of(cls, event: Event) -> EventValues:
        venue = event.venue
        return cls(
            event.id,
            event.slug,
            event.title,
            event.kind,
            event.status,
            event.summary,
            event.description,
            event.notes,
            event.starts_at,
            event.ends_at,
            event.cancellation_reason,
            event.sequence,
            event.created_at,
            event.updated_at,
            venue.name if venue else None,
            venue.address if venue else None,
            venue.postcode if venue else None,
        )


class SlotValues(NamedTuple):
    id: int
    title: str
    description: str
    room: str
    starts_at: datetime
    ends_at: datetime | None
    sequence: int
    created_at: datetime
    updated_at: datetime
    # ((name, organisation), ...) in programme order: public programme information.
    speakers: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, slot: ProgrammeSlot) -> SlotValues:
        return cls(
            slot.id,
            slot.title,
            slot.description,
            slot.room,
            slot.starts_at,
            slot.ends_at,
            slot.sequence,
            slot.created_at,
            slot.updated_at,
            tuple((s.name, s.organisation) for s in slot.speakers),
        )


class MeetingValues(NamedTuple):
    id: int
    day: date
    starts_at: datetime | None
    ends_at: datetime | None
    status: MeetingStatus
    location: str
    note: str
    sequence: int
    created_at: datetime
    updated_at: datetime
    network_slug: str
    network_name: str
    network_chair: str
    network_location: str
    contact_name: str
    contact_email: str
    network_updated_at: datetime


@dataclass(frozen=True, slots=True)
class Context:
    """What a component depends on besides its record: the same for every row of a request."""

    uid_domain: str
    # The Board's events team: the ORGANIZER of events, and of meetings without a contact.
    organizer: tuple[str, str] | None
    # The site the links point to (scheme, host and root), as url_for builds them here.
    site: str
    # An event page's address up to its slug, as url_for builds it (``event_url``).
    event_prefix: str = ""

    @classmethod
    def current(cls) -> Context:
        config = current_app.config
        sender = mail.SenderAddress.of(config)
        return cls(
            uid_domain=config["CALENDAR_UID_DOMAIN"],
            organizer=(sender.name, sender.address) if sender.address else None,
            site=url_for("events.home", _external=True),
            event_prefix=url_for("events.show", slug="-", _external=True)[:-1],
        )


# ----------------------------------------------------------------------------- UIDs


def _uid(kind: str, record_id: int, domain: str) -> str:
    return f"{kind}-{record_id}@{domain}"


def event_uid(event: Event) -> str:
    return _uid("event", event.id, current_app.config["CALENDAR_UID_DOMAIN"])


def slot_uid(slot: ProgrammeSlot) -> str:
    return _uid("slot", slot.id, current_app.config["CALENDAR_UID_DOMAIN"])


# ----------------------------------------------------------------------------- entries


@dataclass(frozen=True, slots=True)
class Entry:
    """One VEVENT, in calendar terms."""

    uid: str
    summary: str
    start: datetime | date  # a London datetime, or a date for an all-day entry
    end: datetime | date  # the same type as start; an all-day entry's is the next day
    status: str  # CONFIRMED, TENTATIVE or CANCELLED
    sequence: int
    stamp: datetime  # the record's last update: DTSTAMP and LAST-MODIFIED
    created: datetime
    location: str
    description: str
    url: str
    organizer: tuple[str, str] | None
    categories: tuple[str, ...] = ()
    related_to: str | None = None


def _venue_text(values: EventValues) -> str:
    parts = (values.venue_name, values.venue_address, values.venue_postcode)
    return ", ".join(part for part in parts if part)


def _paragraphs(*parts: str) -> str:
    return "\n\n".join(part.strip() for part in parts if part and part.strip())


def length_text(length: timedelta) -> str:
    """ "2 hours", "90 minutes": the default length as the pages and entries state it."""
    minutes = round(length.total_seconds() / 60)
    if minutes % 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    return f"{hours} hour{'' if hours == 1 else 's'}"


def _unknown_end_notice() -> str:
    return f"Finishing time not yet known: shown as {length_text(DEFAULT_LENGTH)}."


# Slugs as ``events.service.slugify`` makes them, which url_for writes unquoted.
_PLAIN_SLUG = re.compile(r"[a-z0-9-]+")


def event_url(slug: str, context: Context | None = None) -> str:
    if context is not None and context.event_prefix and _PLAIN_SLUG.fullmatch(slug):
        return context.event_prefix + slug  # url_for's result, at a tenth of its cost
    return url_for("events.show", slug=slug, _external=True)


def network_url(slug: str) -> str:
    return url_for("networks.show", slug=slug, _external=True)


def event_entry(values: EventValues, context: Context) -> Entry:
    url = event_url(values.slug, context)
    cancelled = values.status == EventStatus.cancelled
    notice = ""
    if cancelled:
        notice = "This event has been cancelled."
        if values.cancellation_reason:
            notice += " " + values.cancellation_reason.strip()
    return Entry(
        uid=_uid("event", values.id, context.uid_domain),
        summary=(CANCELLED_PREFIX if cancelled else "") + values.title,
        start=to_london(values.starts_at),
        end=to_london(values.ends_at),
        status="CANCELLED" if cancelled else "CONFIRMED",
        sequence=values.sequence,
        stamp=values.updated_at,
        created=values.created_at,
        location=_venue_text(values),
        description=_paragraphs(
            notice,
            values.summary,
            values.description,
            values.notes,
            f"Details{'' if cancelled else ' and booking'}: {url}",
        ),
        url=url,
        organizer=context.organizer,
        categories=(values.kind.label,),
    )


def slot_entry(slot: SlotValues, event: EventValues, context: Context) -> Entry:
    """A programme slot, its own VEVENT related to the event's; it follows the event's status."""
    cancelled = event.status == EventStatus.cancelled
    end = slot.ends_at
    notice = ""
    if end is None:
        if event.ends_at > slot.starts_at:
            end = event.ends_at  # "12.45 onwards": until the event ends
        else:  # the console refuses it, but older or imported data may hold one
            end = slot.starts_at + DEFAULT_LENGTH
            notice = _unknown_end_notice()
    speakers = "\n".join(f"{name}, {org}" if org else name for name, org in slot.speakers)
    url = event_url(event.slug, context) + "#programme"
    return Entry(
        uid=_uid("slot", slot.id, context.uid_domain),
        summary=(CANCELLED_PREFIX if cancelled else "") + f"{event.title}: {slot.title}",
        start=to_london(slot.starts_at),
        end=to_london(end),
        status="CANCELLED" if cancelled else "CONFIRMED",
        # Both only ever grow: a change to the slot or to the event (time, place, status) is seen.
        sequence=slot.sequence + event.sequence,
        stamp=max(slot.updated_at, event.updated_at),
        created=slot.created_at,
        location=", ".join(part for part in (slot.room, _venue_text(event)) if part),
        description=_paragraphs(
            speakers, slot.description, notice, f"Part of {event.title}. Programme: {url}"
        ),
        url=url,
        organizer=context.organizer,
        categories=(event.kind.label,),
        related_to=_uid("event", event.id, context.uid_domain),
    )


_MEETING_STATUS = {
    MeetingStatus.confirmed: ("CONFIRMED", ""),
    MeetingStatus.provisional: ("TENTATIVE", " (provisional)"),
    # A tbc meeting with a date holds that date, tentatively; without one it is never in a feed.
    MeetingStatus.tbc: ("TENTATIVE", " (date to be confirmed)"),
    MeetingStatus.cancelled: ("CANCELLED", ""),
}


def meeting_entry(values: MeetingValues, context: Context) -> Entry:
    status, suffix = _MEETING_STATUS[values.status]
    summary = f"{values.network_name} meeting{suffix}"
    if values.status == MeetingStatus.cancelled:
        summary = CANCELLED_PREFIX + summary
    start: datetime | date
    end: datetime | date
    notice = ""
    if values.starts_at is not None:
        start = to_london(values.starts_at)
        if values.ends_at is not None:
            end = to_london(values.ends_at)
        else:  # elapsed time, from UTC: right across a change of the clocks too
            end = to_london(values.starts_at + DEFAULT_LENGTH)
            notice = _unknown_end_notice()
    else:  # the time is not known: an all-day entry, DTEND being the next day (exclusive)
        start, end = values.day, values.day + timedelta(days=1)
    url = network_url(values.network_slug)
    organizer = context.organizer
    if values.contact_email:
        organizer = (values.contact_name, values.contact_email)
    return Entry(
        uid=_uid("meeting", values.id, context.uid_domain),
        summary=summary,
        start=start,
        end=end,
        status=status,
        sequence=values.sequence,
        stamp=max(values.updated_at, values.network_updated_at),
        created=values.created_at,
        location=values.location or values.network_location,
        description=_paragraphs(
            values.note,
            notice,
            f"Chair: {values.network_chair}" if values.network_chair else "",
            f"{values.network_name}: {url}",
        ),
        url=url,
        organizer=organizer,
        categories=("Network meeting",),
    )


# ----------------------------------------------------------------------------- components


def vevent(entry: Entry) -> VEvent:
    component = VEvent()
    component.add("uid", entry.uid)
    component.add("dtstamp", entry.stamp)
    component.add("last-modified", entry.stamp)
    component.add("created", entry.created)
    component.add("sequence", entry.sequence)
    component.add("status", entry.status)
    component.add("summary", entry.summary)
    component.add("dtstart", entry.start)
    component.add("dtend", entry.end)
    all_day = not isinstance(entry.start, datetime)
    # All-day "time to be announced" meetings and cancelled entries do not make anyone busy.
    component.add("transp", "TRANSPARENT" if all_day or entry.status == "CANCELLED" else "OPAQUE")
    component.add("class", "PUBLIC")
    if entry.location:
        component.add("location", entry.location)
    if entry.description:
        component.add("description", entry.description)
    component.add("url", entry.url)
    if entry.organizer is not None:
        name, address = entry.organizer
        organizer = vCalAddress(f"mailto:{address}")
        if name:
            organizer.params["CN"] = name
        component.add("organizer", organizer)
    if entry.categories:
        component.add("categories", list(entry.categories))
    if entry.related_to:
        component.add("related-to", entry.related_to, parameters={"RELTYPE": "PARENT"})
    return component


# Property order of a serialised VEVENT: icalendar's canonical order for VEVENT, then the rest
# alphabetically (as ``Component.to_ical`` sorts them).
_FOLD_LIMIT = 75


def _text(value: str) -> str:
    """TEXT escaping, in icalendar's order (``vText.to_ical``)."""
    return (
        value.replace(r"\N", "\n")
        .replace("\\", "\\\\")
        .replace(";", r"\;")
        .replace(",", r"\,")
        .replace("\r\n", r"\n")
        .replace("\n", r"\n")
        .replace("\r", r"\n")
    )


def _cn(name: str) -> str:
    """A CN parameter's value: RFC 6868 escaping, quoted when it holds a space, an apostrophe,
    a comma, a semicolon, a colon or \u2019 (``Parameters.to_ical``)."""
    value = name.replace("^", "^^").replace("\r\n", "^n").replace("\r", "^n")
    value = value.replace("\n", "^n").replace('"', "^'")
    quoted = any(char in name for char in " '") or any(char in value for char in ",;:\u2019")
    return f'"{value}"' if quoted else value


def _fold(line: str) -> str:
    """RFC 5545 folding exactly as icalendar folds: at most 74 octets on the first line and
    after each CRLF-space, never between a backslash or caret and the character it escapes."""
    if line.isascii():
        if len(line) < _FOLD_LIMIT:
            return line
        parts, start, end_of_line = [], 0, len(line)
        while end_of_line - start >= _FOLD_LIMIT:
            end = start + _FOLD_LIMIT - 1
            if line[end - 1] in "\\^":
                end -= 1
            parts.append(line[start:end])
            start = end
        parts.append(line[start:])
        return "\r\n ".join(parts)
    parts, current, count = [], [], 0
    for char in line:
        size = len(char.encode())
        if current and count + size >= _FOLD_LIMIT:
            if len(current) > 1 and current[-1] in "\\^":
                carried = current.pop()
                parts.append("".join(current))
                current, count = [carried], len(carried.encode())
            else:
                parts.append("".join(current))
                current, count = [], 0
        current.append(char)
        count += size
    parts.append("".join(current))
    return "\r\n ".join(parts)


def _local(m: datetime) -> str:
    return f"{m.year:04}{m.month:02}{m.day:02}T{m.hour:02}{m.minute:02}{m.second:02}"


def _utc(moment: datetime) -> str:
    return _local(moment.astimezone(UTC)) + "Z"


def _when(name: str, moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        return f"{name};TZID={TZID}:{_local(moment)}"
    return f"{name};VALUE=DATE:{moment.year:04}{moment.month:02}{moment.day:02}"


def _writable(entry: Entry) -> bool:
    """The shapes ``vevent_bytes`` writes; anything else goes through icalendar itself."""
    if isinstance(entry.start, datetime) != isinstance(entry.end, datetime):
        return False
    for moment in (entry.start, entry.end):
        if isinstance(moment, datetime) and getattr(moment.tzinfo, "key", None) != TZID:
            return False
    return entry.stamp.tzinfo is UTC and entry.created.tzinfo is UTC


def vevent_bytes(entry: Entry) -> bytes:
    """``vevent(entry).to_ical()``, written directly: the same bytes, about ten times faster
    (tests compare the two on the demo and on hostile text)."""
    if not _writable(entry):
        return vevent(entry).to_ical()
    all_day = not isinstance(entry.start, datetime)
    stamp = _utc(entry.stamp)
    lines = [
        "BEGIN:VEVENT",
        _fold("SUMMARY:" + _text(entry.summary)),
        _when("DTSTART", entry.start),
        _when("DTEND", entry.end),
        "DTSTAMP:" + stamp,
        _fold("UID:" + _text(entry.uid)),
        f"SEQUENCE:{entry.sequence}",
    ]
    if entry.categories:
        lines.append(_fold("CATEGORIES:" + ",".join(_text(c) for c in entry.categories)))
    lines.append("CLASS:PUBLIC")
    lines.append("CREATED:" + _utc(entry.created))
    if entry.description:
        lines.append(_fold("DESCRIPTION:" + _text(entry.description)))
    lines.append("LAST-MODIFIED:" + stamp)
    if entry.location:
        lines.append(_fold("LOCATION:" + _text(entry.location)))
    if entry.organizer is not None:
        name, address = entry.organizer
        cn = f";CN={_cn(name)}" if name else ""
        lines.append(_fold(f"ORGANIZER{cn}:mailto:{address}"))
    if entry.related_to:
        lines.append(_fold("RELATED-TO;RELTYPE=PARENT:" + _text(entry.related_to)))
    lines.append("STATUS:" + _text(entry.status))
    transparent = all_day or entry.status == "CANCELLED"
    lines.append("TRANSP:" + ("TRANSPARENT" if transparent else "OPAQUE"))
    lines.append(_fold("URL:" + entry.url))
    lines.append("END:VEVENT\r\n")
    return "\r\n".join(lines).encode()


def london_timezone() -> Timezone:
    """Europe/London as RRULEs (last Sunday of March 01:00 GMT, of October 02:00 BST).

    Outlook and older clients read only the rules in the VTIMEZONE, so it has to state them;
    the dates come from the current EU/UK rules (since 1996), which cover every event here.
    """
    daylight = TimezoneDaylight()
    daylight.add("tzname", "BST")
    daylight.add("tzoffsetfrom", timedelta(0))
    daylight.add("tzoffsetto", timedelta(hours=1))
    daylight.add("dtstart", datetime(1981, 3, 29, 1, 0))
    daylight.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1su"})
    standard = TimezoneStandard()
    standard.add("tzname", "GMT")
    standard.add("tzoffsetfrom", timedelta(hours=1))
    standard.add("tzoffsetto", timedelta(0))
    standard.add("dtstart", datetime(1996, 10, 27, 2, 0))
    standard.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1su"})
    timezone = Timezone()
    timezone.add("tzid", TZID)
    timezone.add("x-lic-location", TZID)
    timezone.add_component(daylight)
    timezone.add_component(standard)
    return timezone


def calendar_shell(name: str | None, description: str | None) -> Calendar:
    """The VCALENDAR and its VTIMEZONE, without events.

    With a name it is a subscribable feed (NAME, X-WR-CALNAME, refresh interval); without one,
    a one-off file such as the e-mail attachment, which must not create a calendar of its own.
    The name and description are an event's title or a network's name: given as ``vText``,
    because icalendar writes properties it has no type for (NAME, the X-WR- ones) unescaped, and
    a line break then fails the whole feed while a comma cuts the name short in vobject readers.
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    if name:
        calendar.add("name", vText(name))
        calendar.add("x-wr-calname", vText(name))
        if description:
            calendar.add("description", vText(description))
            calendar.add("x-wr-caldesc", vText(description))
        calendar.add("x-wr-timezone", TZID)
        calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(REFRESH_INTERVAL))
    calendar.add_component(london_timezone())
    return calendar


def calendar(name: str | None, description: str | None, entries: Iterable[Entry]) -> Calendar:
    """The whole calendar as one icalendar object (the reference for ``calendar_bytes``)."""
    result = calendar_shell(name, description)
    for entry in entries:
        result.add_component(vevent(entry))
    return result


_END = b"END:VCALENDAR\r\n"


@lru_cache(maxsize=256)
def _shell_bytes(name: str | None, description: str | None) -> bytes:
    serialised = calendar_shell(name, description).to_ical()
    if not serialised.endswith(_END):  # pragma: no cover - a library change would show here
        raise RuntimeError("unexpected end of a serialised VCALENDAR")
    return serialised[: -len(_END)]


@lru_cache(maxsize=CACHE_SIZE)
def _cached_vevent(kind: str, values: tuple, context: Context) -> bytes:
    if kind == "event":
        entry = event_entry(values, context)
    elif kind == "meeting":
        entry = meeting_entry(values, context)
    else:
        slot, event = values
        entry = slot_entry(slot, event, context)
    return vevent_bytes(entry)


def event_vevent(values: EventValues, context: Context) -> bytes:
    return _cached_vevent("event", values, context)


def slot_vevent(slot: SlotValues, event: EventValues, context: Context) -> bytes:
    return _cached_vevent("slot", (slot, event), context)


def meeting_vevent(values: MeetingValues, context: Context) -> bytes:
    return _cached_vevent("meeting", values, context)


def calendar_bytes(name: str | None, description: str | None, vevents: Sequence[bytes]) -> bytes:
    """The serialised calendar holding the given serialised VEVENTs, in their order."""
    return b"".join((_shell_bytes(name, description), *vevents, _END))


# Serialised event VEVENTs by (context, venues' hash), then by (event id, updated_at): lets a
# feed read only the rows that changed (``feeds.service.EventList.vevents``).
_written_events: dict[tuple, dict[tuple, bytes]] = {}


def written_events(prefix: tuple) -> dict[tuple, bytes]:
    return _written_events.get(prefix, {})


def keep_written_events(prefix: tuple, written: dict[tuple, bytes]) -> None:
    if prefix not in _written_events and len(_written_events) >= 8:
        _written_events.clear()
    _written_events[prefix] = written


def clear_cache() -> None:
    """Forget serialised components (benchmarks measure the cold path with it)."""
    _cached_vevent.cache_clear()
    _shell_bytes.cache_clear()
    _written_events.clear()


# ----------------------------------------------------------------------------- attachment


def event_attachment(event: Event) -> str:
    """The .ics sent with a confirmation, a change or a cancellation: METHOD:PUBLISH, the event
    as the feeds show it now, with their UID and SEQUENCE, so that it updates a copy already
    imported.

    For a cancelled event that is STATUS:CANCELLED, "Cancelled: " before the title and a higher
    SEQUENCE (cancelling bumps it), so opening it turns an imported entry into a cancelled one.
    METHOD:CANCEL (iTIP's withdrawal of an organiser's REQUEST, naming its attendees) would have
    nothing to act on, as the entry came from a published file; a calendar marks the entry
    cancelled rather than deleting it, and the e-mail says so. When only a delegate's booking is
    withdrawn the event is still on and no file can say so truthfully (a CANCELLED entry would
    need a SEQUENCE above the feeds', so a later re-booking's confirmation would look older and
    be ignored): that e-mail tells the delegate to delete the entry."""
    vevent_bytes = event_vevent(EventValues.of(event), Context.current())
    return calendar_bytes(None, None, [vevent_bytes]).decode()
