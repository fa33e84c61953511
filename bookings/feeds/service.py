"""What each feed holds, and the cheap queries that say whether it changed.

A ``Feed`` is a name and a list of sources (events, one event with its programme, meetings).
Each source answers two questions:

- ``stamp()``: a few whole-table aggregates (row count and latest ``updated_at`` of events, or of
  meetings and networks, or of one event's slots) and the rows of the small tables whose text is
  in the feed but that have no update time (venues, an event's speakers). The ETag is a digest of
  these, of the London date for feeds with a window, and of what the rendering depends on; so a
  304 costs one to three small queries and never builds the calendar.
- ``vevents(context)``: the serialised VEVENTs, from one query per source (no query per row).

Who is in a feed:

- events: published, plus cancelled ones for 30 days after ``cancelled_at``; never drafts; those
  that end today or later, or ended in the last 90 days. A feed of one event shows it as long as
  the event page does (published or cancelled), with each programme slot as its own VEVENT.
- meetings: with a date (a "tbc" meeting without one never is), on or after the day 90 days ago;
  cancelled ones for 30 days after ``cancelled_at``. A "tbc" meeting with a date is included as
  TENTATIVE, like a provisional one, so that confirming it later updates the same entry.

The windows move at London midnight, never in between; the date in the ETag follows them, which
costs each subscriber one full download a day. Last-Modified is the latest update time of the
tables read, and never earlier than the last London midnight: that covers the window, deletions,
and edits without an update time (a venue's address) for clients that only send If-Modified-Since,
by the next day at the latest (If-None-Match sees them at once). Programme edits, speakers and
deleted sessions included, move an update time and are seen at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from bookings.db import db, utcnow
from bookings.events.models import Event, EventKind, ProgrammeSlot, Speaker, Venue
from bookings.feeds import ical
from bookings.feeds.ical import Context, EventValues, MeetingValues, SlotValues
from bookings.london import london_date, london_day_bounds
from bookings.networks import service as networks_service
from bookings.networks.models import Meeting, MeetingStatus, Network

KEEP_PAST = timedelta(days=90)
KEEP_CANCELLED = timedelta(days=30)

SITE_NAME = "London Safeguarding Children Board"

ALL_FEED_NAME = "LSCB events and meetings"
NETWORKS_FEED_NAME = "LSCB network meetings"
KIND_FEED_NAMES = {
    None: "LSCB events",
    EventKind.seminar: "LSCB seminars",
    EventKind.mini_conference: "LSCB mini-conferences",
    EventKind.conference: "LSCB conferences",
}

# Column lists in the order of the value tuples in ical.py: one row is one tuple.
EVENT_COLUMNS = (
    Event.id,
    Event.slug,
    Event.title,
    Event.kind,
    Event.status,
    Event.summary,
    Event.description,
    Event.notes,
    Event.starts_at,
    Event.ends_at,
    Event.cancellation_reason,
    Event.sequence,
    Event.created_at,
    Event.updated_at,
    Venue.name,
    Venue.address,
    Venue.postcode,
)
SLOT_COLUMNS = (
    ProgrammeSlot.id,
    ProgrammeSlot.title,
    ProgrammeSlot.description,
    ProgrammeSlot.room,
    ProgrammeSlot.starts_at,
    ProgrammeSlot.ends_at,
    ProgrammeSlot.sequence,
    ProgrammeSlot.created_at,
    ProgrammeSlot.updated_at,
)
MEETING_COLUMNS = (
    Meeting.id,
    Meeting.day,
    Meeting.starts_at,
    Meeting.ends_at,
    Meeting.status,
    Meeting.location,
    Meeting.note,
    Meeting.sequence,
    Meeting.created_at,
    Meeting.updated_at,
    Network.slug,
    Network.name,
    Network.chair,
    Network.default_location,
    Network.contact_name,
    Network.contact_email,
    Network.updated_at,
)
assert len(EVENT_COLUMNS) == len(EventValues._fields)
assert len(SLOT_COLUMNS) == len(SlotValues._fields) - 1  # + speakers, from their own query
assert len(MEETING_COLUMNS) == len(MeetingValues._fields)


# ----------------------------------------------------------------------------- windows


@dataclass(frozen=True)
class Window:
    """The moving part of membership, fixed for one London day."""

    today: date
    day_start: datetime  # the London midnight that began today, in UTC
    past_from: datetime  # events ending at or after this are kept (90 days back)
    past_day: date  # meetings on or after this London date are kept
    cancelled_since: datetime  # cancelled records are kept while cancelled at or after this

    @classmethod
    def on(cls, today: date) -> Window:
        past_day = today - KEEP_PAST
        return cls(
            today=today,
            day_start=london_day_bounds(today)[0],
            past_from=london_day_bounds(past_day)[0],
            past_day=past_day,
            cancelled_since=london_day_bounds(today - KEEP_CANCELLED)[0],
        )

    @classmethod
    def current(cls) -> Window:
        return cls.on(london_date(utcnow()))


# ----------------------------------------------------------------------------- sources


class Source(Protocol):
    windowed: bool  # whether membership depends on the date (then the date is in the ETag)

    def stamp(self) -> tuple[tuple, datetime | None]: ...

    def vevents(self, context: Context) -> list[bytes]: ...


def _execute(statement):
    """Core execution on the session's connection: rows as plain tuples, no ORM loading."""
    return db.session.connection().execute(statement)


def _latest(*values: datetime | None) -> datetime | None:
    present = [value for value in values if value is not None]
    return max(present) if present else None


def _venues_token() -> tuple:
    """Venues have no update time and few rows: their text itself is part of the validator."""
    return tuple(
        _execute(select(Venue.id, Venue.name, Venue.address, Venue.postcode).order_by(Venue.id))
    )


@dataclass
class EventList:
    """Published events of the window (cancelled ones for 30 days), optionally of one kind."""

    window: Window
    kind: EventKind | None = None
    windowed = True

    def _scope(self) -> list[ColumnElement[bool]]:
        return [Event.kind == self.kind] if self.kind is not None else []

    def _member(self) -> ColumnElement[bool]:
        w = self.window
        return and_(Event.listed_on(w.today), Event.ends_at >= w.past_from)

    def stamp(self) -> tuple[tuple, datetime | None]:
        # Over the whole table, whatever the kind: they change with any insert, edit or delete
        # (the window's movement is in the validator through the date). Two subqueries rather
        # than one scan, so that max() can use an index on updated_at where there is one.
        count, latest = _execute(
            select(
                select(func.count()).select_from(Event).scalar_subquery(),
                select(func.max(Event.updated_at)).scalar_subquery(),
            )
        ).one()
        return ("events", count, latest, _venues_token()), latest

    def vevents(self, context: Context) -> list[bytes]:
        """Each member's VEVENT: the ids and update times first, then the full rows of only
        those not already written in this process under the same update time, venues and
        context (``_WRITTEN``); so after one change one row is read and written again."""
        members = _execute(
            select(Event.id, Event.updated_at)
            .where(self._member(), *self._scope())
            .order_by(Event.starts_at, Event.id)
        ).all()
        prefix = (context, hash(_venues_token()))
        written = ical.written_events(prefix)
        missing = [
            event_id for event_id, updated_at in members if (event_id, updated_at) not in written
        ]
        fresh = {}
        for start in range(0, len(missing), 500):
            rows = _execute(
                select(*EVENT_COLUMNS)
                .outerjoin(Venue, Event.venue_id == Venue.id)
                .where(Event.id.in_(missing[start : start + 500]))
            )
            for row in rows:
                values = EventValues(*row)
                fresh[(values.id, values.updated_at)] = ical.event_vevent(values, context)
        # Rows that changed between the two reads are written as they are now: their new
        # update time keys them, so the member list's old one finds no entry, and they are
        # read again on the next request.
        kept = {}
        result = []
        for member in members:
            vevent = written.get(member) or fresh.get(member)
            if vevent is None:
                return self._read_whole(context)
            kept[member] = vevent
            result.append(vevent)
        ical.keep_written_events(
            prefix, {**written, **kept} if len(written) < ical.CACHE_SIZE else kept
        )
        return result

    def _read_whole(self, context: Context) -> list[bytes]:
        rows = _execute(
            select(*EVENT_COLUMNS)
            .outerjoin(Venue, Event.venue_id == Venue.id)
            .where(self._member(), *self._scope())
            .order_by(Event.starts_at, Event.id)
        )
        return [ical.event_vevent(EventValues(*row), context) for row in rows]


@dataclass
class EventProgramme:
    """One public event and each of its programme slots."""

    event: EventValues
    with_slots: bool = True
    windowed = False

    def _speakers(self) -> dict[int, tuple[tuple[str, str], ...]]:
        rows = _execute(
            select(Speaker.slot_id, Speaker.name, Speaker.organisation)
            .join(ProgrammeSlot, Speaker.slot_id == ProgrammeSlot.id)
            .where(ProgrammeSlot.event_id == self.event.id)
            .order_by(Speaker.slot_id, Speaker.position, Speaker.id)
        )
        speakers: dict[int, list[tuple[str, str]]] = {}
        for slot_id, name, organisation in rows:
            speakers.setdefault(slot_id, []).append((name, organisation))
        return {slot_id: tuple(names) for slot_id, names in speakers.items()}

    def stamp(self) -> tuple[tuple, datetime | None]:
        # The event's own values (its venue's text included) were read by the lookup.
        token: tuple = ("event", self.event)
        latest = self.event.updated_at
        if self.with_slots:
            count, slots_latest = _execute(
                select(func.count(ProgrammeSlot.id), func.max(ProgrammeSlot.updated_at)).where(
                    ProgrammeSlot.event_id == self.event.id
                )
            ).one()
            token += (count, slots_latest, tuple(sorted(self._speakers().items())))
            latest = _latest(latest, slots_latest)
        return token, latest

    def vevents(self, context: Context) -> list[bytes]:
        result = [ical.event_vevent(self.event, context)]
        if self.with_slots:
            speakers = self._speakers()
            rows = _execute(
                select(*SLOT_COLUMNS)
                .where(ProgrammeSlot.event_id == self.event.id)
                .order_by(ProgrammeSlot.starts_at, ProgrammeSlot.position, ProgrammeSlot.id)
            )
            for row in rows:
                slot = SlotValues(*row, speakers.get(row[0], ()))
                result.append(ical.slot_vevent(slot, self.event, context))
        return result


@dataclass
class MeetingList:
    """Dated meetings of the window (cancelled ones for 30 days), of all or some networks."""

    window: Window
    network_ids: tuple[int, ...] | None = None
    windowed = True

    def _scope(self) -> list[ColumnElement[bool]]:
        if self.network_ids is None:
            return []
        return [Meeting.network_id.in_(self.network_ids)]

    def _member(self) -> ColumnElement[bool]:
        w = self.window
        return and_(
            Meeting.day.is_not(None),
            Meeting.day >= w.past_day,
            or_(
                Meeting.status != MeetingStatus.cancelled,
                func.coalesce(Meeting.cancelled_at, Meeting.updated_at) >= w.cancelled_since,
            ),
        )

    def stamp(self) -> tuple[tuple, datetime | None]:
        # As for events: whole tables (small ones), the window being in the validator's date.
        row = _execute(
            select(
                select(func.count()).select_from(Meeting).scalar_subquery(),
                select(func.max(Meeting.updated_at)).scalar_subquery(),
                select(func.count()).select_from(Network).scalar_subquery(),
                select(func.max(Network.updated_at)).scalar_subquery(),
            )
        ).one()
        return ("meetings", *row), _latest(row[1], row[3])

    def vevents(self, context: Context) -> list[bytes]:
        rows = _execute(
            select(*MEETING_COLUMNS)
            .join(Network, Meeting.network_id == Network.id)
            .where(self._member(), *self._scope())
            .order_by(Meeting.day, Meeting.id)
        )
        return [ical.meeting_vevent(MeetingValues(*row), context) for row in rows]


# ----------------------------------------------------------------------------- feeds


@dataclass
class Feed:
    key: str  # what the feed is, for the validator ("all", "events:seminar", "networks:3,5")
    name: str | None  # None: a one-off file (the single event download), not a subscription
    description: str | None
    filename: str
    sources: Sequence[Source]
    window: Window = field(default_factory=Window.current)

    def validators(self, context: Context) -> tuple[str, datetime]:
        """The ETag (a digest of the stamps) and Last-Modified, from aggregate queries only."""
        tokens = []
        latest: datetime | None = None
        for source in self.sources:
            token, source_latest = source.stamp()
            tokens.append(token)
            latest = _latest(latest, source_latest)
        if any(source.windowed for source in self.sources):
            tokens.append(self.window.today)
        material = (ical.FORMAT_VERSION, self.key, self.name, self.description, context, tokens)
        etag = hashlib.sha256(repr(material).encode()).hexdigest()[:32]
        return etag, _latest(latest, self.window.day_start)

    def body(self, context: Context) -> bytes:
        vevents = [vevent for source in self.sources for vevent in source.vevents(context)]
        return ical.calendar_bytes(self.name, self.description, vevents)


def all_feed(*, window: Window | None = None) -> Feed:
    window = window or Window.current()
    return Feed(
        key="all",
        name=ALL_FEED_NAME,
        description=f"{SITE_NAME}: every event, and the meetings of every network and sub-group.",
        filename="all.ics",
        sources=[EventList(window), MeetingList(window)],
        window=window,
    )


def events_feed(kind: EventKind | None = None, *, window: Window | None = None) -> Feed:
    window = window or Window.current()
    what = "events" if kind is None else KIND_FEED_NAMES[kind].removeprefix("LSCB ")
    return Feed(
        key=f"events:{kind or ''}",
        name=KIND_FEED_NAMES[kind],
        description=f"{SITE_NAME}: {what}.",
        filename="events.ics" if kind is None else f"events-{kind.value}.ics",
        sources=[EventList(window, kind)],
        window=window,
    )


def _public_event(slug: str) -> EventValues | None:
    row = _execute(
        select(*EVENT_COLUMNS)
        .outerjoin(Venue, Event.venue_id == Venue.id)
        .where(Event.slug == slug, Event.is_public)
    ).first()
    return EventValues(*row) if row is not None else None


def event_feed(slug: str) -> Feed | None:
    """One public event and its programme; None for unknown slugs and drafts."""
    event = _public_event(slug)
    if event is None:
        return None
    return Feed(
        key=f"event:{event.id}",
        name=event.title,
        description=f"{SITE_NAME}: {event.title}, with its programme.",
        filename=f"{event.slug}.ics",
        sources=[EventProgramme(event)],
    )


def event_file(slug: str) -> Feed | None:
    """The one-event file of the "Add to calendar" link: the same as the e-mail attachment."""
    event = _public_event(slug)
    if event is None:
        return None
    return Feed(
        key=f"event-file:{event.id}",
        name=None,
        description=None,
        filename=f"{event.slug}.ics",
        sources=[EventProgramme(event, with_slots=False)],
    )


@dataclass(frozen=True)
class NetworkRef:
    id: int
    slug: str
    name: str


def networks_by_slug(slugs: Sequence[str]) -> list[NetworkRef]:
    """The known networks among ``slugs``, in name order (unknown slugs are left out)."""
    if not slugs:
        return []
    rows = _execute(
        select(Network.id, Network.slug, Network.name)
        .where(Network.slug.in_(set(slugs)))
        .order_by(Network.name, Network.id)
    )
    return [NetworkRef(*row) for row in rows]


def network_feed_name(network_name: str) -> str:
    return f"{network_name} meetings"


def networks_feed_name(names: str) -> str:
    return f"{NETWORKS_FEED_NAME}: {names}"


def network_feed(slug: str, *, window: Window | None = None) -> Feed | None:
    found = networks_by_slug([slug])
    if not found:
        return None
    (network,) = found
    window = window or Window.current()
    return Feed(
        key=f"network:{network.id}",
        name=network_feed_name(network.name),
        description=f"{SITE_NAME}: meetings of {network.name}.",
        filename=f"{network.slug}.ics",
        sources=[MeetingList(window, (network.id,))],
        window=window,
    )


def networks_feed(
    slugs: Sequence[str] | None = None, *, window: Window | None = None
) -> Feed | None:
    """Meetings of every network, or of the chosen ones (unknown slugs, such as a network that
    was wound up, are ignored so that a subscription keeps working); None if none is known."""
    window = window or Window.current()
    if not slugs:
        return Feed(
            key="networks",
            name=NETWORKS_FEED_NAME,
            description=f"{SITE_NAME}: meetings of every network and sub-group.",
            filename="networks.ics",
            sources=[MeetingList(window)],
            window=window,
        )
    chosen = networks_by_slug(slugs)
    if not chosen:
        return None
    ids = tuple(sorted(network.id for network in chosen))
    names = ", ".join(network.name for network in chosen)
    return Feed(
        key="networks:" + ",".join(map(str, ids)),
        name=networks_feed_name(names),
        description=f"{SITE_NAME}: meetings of {names}.",
        filename="networks.ics",
        sources=[MeetingList(window, ids)],
        window=window,
    )


# ----------------------------------------------------------------------------- calendars page


@dataclass(frozen=True)
class NetworkOverview:
    network: Network
    next_meeting: Meeting | None
    last_meeting: Meeting | None


def networks_overview(today: date | None = None) -> list[NetworkOverview]:
    """Each network with its next and its last meeting (cancelled ones passed over)."""
    result = []
    for network in networks_service.networks():
        upcoming, past = networks_service.split_meetings(network, today)
        upcoming = [m for m in upcoming if m.status != MeetingStatus.cancelled]
        past = [m for m in past if m.status != MeetingStatus.cancelled]
        result.append(
            NetworkOverview(network, upcoming[0] if upcoming else None, past[0] if past else None)
        )
    return result


def personal_calendar(name: str, description: str, bookings: Sequence[tuple[Event, str]]) -> bytes:
    """A delegate's own feed: each booked event as the public feeds have it (same UID and
    SEQUENCE), its STATUS saying where the booking stands (CONFIRMED, TENTATIVE while on the
    waiting list, CANCELLED); a cancelled event is CANCELLED whatever the booking."""
    context = Context.current()
    vevents = []
    for event, status in bookings:
        entry = ical.event_entry(EventValues.of(event), context)
        if entry.status != "CANCELLED" and status != entry.status:
            label = "Waiting list: " if status == "TENTATIVE" else "Booking cancelled: "
            entry = replace(entry, status=status, summary=label + entry.summary)
        vevents.append(ical.vevent(entry).to_ical())
    return ical.calendar_bytes(name, description, vevents)


def calendar_file(event: Event) -> str:
    """The one-event .ics that e-mails attach (``ical.event_attachment``): the feeds' UID and
    SEQUENCE, so it updates, or marks cancelled, a copy already imported."""
    return ical.event_attachment(event)
