"""Attendance by sector: the one place where sector sums are made.

Every count comes from one GROUP BY over bookings; Python only adds up those aggregates and
turns them into percentages, so a page costs the same few queries whatever the number of events
or bookings. Recorded figures (entered by hand for events the system did not count) travel in
their own rows and are never added into counted totals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, field, replace
from datetime import date, datetime
from functools import cached_property

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, joinedload
from sqlalchemy.sql import Select

from bookings.booking.models import (
    Allocation,
    Booking,
    BookingStatus,
    Lscb,
    Sector,
    SectorLimit,
)
from bookings.db import db, unit_of_work, utcnow
from bookings.events.models import Event, EventKind, EventStatus
from bookings.london import format_short_date, london_date, london_day_bounds
from bookings.networks.models import Network
from bookings.stats.models import FigureBasis, RecordedFigures, RecordedSectorFigure

MEASURES: dict[str, str] = {
    "confirmed": "Booked (confirmed)",
    "attended": "Attended",
    "no_show": "Booked, did not come",
    "cancelled": "Cancelled",
    "waitlisted": "On the waiting list",
}
# What cannot be counted before an event is held: a row of zeros would read as nobody came.
COUNTED_ON_THE_DAY = ("attended", "no_show")
NOT_HELD = "Not yet held"
RECORDED_BASIS = {FigureBasis.counts: "numbers", FigureBasis.percentages: "percentages"}
WORKED_OUT = "numbers worked out from the percentages and the total, not recorded"
ROUNDING_NOTE = (
    "Percentages are whole numbers, rounded so that the sector shares of each event, year or "
    "column add up to exactly 100% (largest remainder: the shares that lost most in rounding "
    "down get the spare points). Recorded percentages are shown as they were recorded."
)


class FiguresError(ValueError):
    """Recorded figures that cannot be right; the message says why, for the organiser."""


# ----------------------------------------------------------------------------- arithmetic


@dataclass(frozen=True)
class Counts:
    """Bookings of one sector (or of all) by what became of them."""

    confirmed: int = 0
    attended: int = 0
    no_show: int = 0
    cancelled: int = 0
    waitlisted: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            *(mine + theirs for mine, theirs in zip(astuple(self), astuple(other), strict=True))
        )

    def get(self, measure: str) -> int:
        return getattr(self, measure)


def apportion(weights: Sequence[int], seats: int) -> list[int]:
    """``seats`` whole units shared in proportion to ``weights`` by largest remainder, so that
    they add up to exactly ``seats``; ties go to the larger weight, then the earlier one.

    Integer arithmetic throughout, so equal remainders really are equal.
    """
    whole = sum(weights)
    if whole <= 0 or seats <= 0:
        return [0 for _ in weights]
    result = [weight * seats // whole for weight in weights]
    remainders = [weight * seats % whole for weight in weights]
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], -weights[i], i))
    for i in order[: seats - sum(result)]:
        result[i] += 1
    return result


def shares(values: Sequence[int], total: int | None = None) -> list[int]:
    """Whole percentages of ``total`` (default: their sum) that add up to 100, largest remainder.

    When ``total`` exceeds the sum, the rest belongs to an unnamed remainder and the shares add up
    to 100 minus that remainder's share.
    """
    whole = sum(values) if total is None else total
    if whole <= 0:
        return [0 for _ in values]
    rest = whole - sum(values)
    return apportion([*values, rest] if rest > 0 else list(values), 100)[: len(values)]


# ----------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filters:
    kind: EventKind | None = None
    date_from: date | None = None
    date_to: date | None = None
    board_year: int | None = None
    series: str | None = None
    network_id: int | None = None
    measure: str = "attended"

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """UTC instants: events starting at or after the first and before the second."""
        start = london_day_bounds(self.date_from)[0] if self.date_from else None
        end = london_day_bounds(self.date_to)[1] if self.date_to else None
        if self.board_year is not None:
            year_start = london_day_bounds(date(self.board_year, 4, 1))[0]
            year_end = london_day_bounds(date(self.board_year + 1, 4, 1))[0]
            start = max(start, year_start) if start else year_start
            end = min(end, year_end) if end else year_end
        return start, end

    def as_args(self) -> dict[str, str]:
        """The filters as query-string arguments, for download links."""
        args = {
            "kind": self.kind.value if self.kind else "",
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
            "board_year": str(self.board_year) if self.board_year is not None else "",
            "series": self.series or "",
            "network": str(self.network_id) if self.network_id else "",
            "measure": self.measure if self.measure != "attended" else "",
        }
        return {key: value for key, value in args.items() if value}


def board_year(day: date) -> int:
    """The Board's year runs April to March; it is named by the year it starts in."""
    return day.year if day.month >= 4 else day.year - 1


def board_year_label(year: int) -> str:
    return f"{year}/{(year + 1) % 100:02d}"


def _event_query(filters: Filters) -> Select:
    query = select(Event).where(Event.status == EventStatus.published)
    start, end = filters.bounds()
    if start is not None:
        query = query.where(Event.starts_at >= start)
    if end is not None:
        query = query.where(Event.starts_at < end)
    if filters.kind is not None:
        query = query.where(Event.kind == filters.kind)
    if filters.series:
        query = query.where(Event.series == filters.series)
    if filters.network_id:
        query = query.where(Event.host_network_id == filters.network_id)
    return query


def filter_choices() -> tuple[list[str], list[tuple[int, str]], list[int]]:
    """Series names, host networks and Board years that the filter form offers."""
    series = list(
        db.session.scalars(
            select(Event.series).where(Event.series.is_not(None)).distinct().order_by(Event.series)
        )
    )
    networks = [
        tuple(row)
        for row in db.session.execute(select(Network.id, Network.name).order_by(Network.name))
    ]
    first, last = db.session.execute(
        select(func.min(Event.starts_at), func.max(Event.starts_at)).where(
            Event.status == EventStatus.published
        )
    ).one()
    years = (
        list(range(board_year(london_date(last)), board_year(london_date(first)) - 1, -1))
        if first is not None
        else []
    )
    return [s for s in series if s], networks, years


# ----------------------------------------------------------------------------- queries


def _counts_by_event(
    event_ids: Select, ended: set[int], by: InstrumentedAttribute = Booking.sector_id
) -> dict[int, dict[int, Counts]]:
    """{event id: {sector id: Counts}} in one GROUP BY over the events the subquery selects;
    ``by=Booking.lscb_id`` counts by LSCB instead.

    The query reads only the covering index ``ix_bookings_sector_stats`` (or
    ``ix_bookings_lscb_stats``); no-shows (confirmed, not attended, event over) follow from the
    counts and the set of events that have ended.
    """
    confirmed = Booking.status == BookingStatus.confirmed
    rows = db.session.execute(
        select(
            Booking.event_id,
            by,
            func.count(case((confirmed, 1))),
            func.count(case((and_(confirmed, Booking.attended_at.is_not(None)), 1))),
            func.count(case((Booking.status == BookingStatus.cancelled, 1))),
            func.count(case((Booking.status == BookingStatus.waitlisted, 1))),
        )
        .where(Booking.event_id.in_(event_ids))
        .group_by(Booking.event_id, by)
    )
    result: dict[int, dict[int, Counts]] = {}
    for event_id, sector_id, booked, attended, cancelled, waitlisted in rows:
        no_show = booked - attended if event_id in ended else 0
        result.setdefault(event_id, {})[sector_id] = Counts(
            booked, attended, no_show, cancelled, waitlisted
        )
    return result


def _recorded_for(event_ids: Select) -> dict[int, RecordedFigures]:
    return {
        figures.event_id: figures
        for figures in db.session.scalars(
            select(RecordedFigures).where(RecordedFigures.event_id.in_(event_ids))
        )
    }


def _sectors(used: Iterable[int]) -> list[Sector]:
    """Active sectors, and retired ones only where they still have figures."""
    used = set(used)
    return [
        sector
        for sector in db.session.scalars(select(Sector).order_by(*Sector.display_order()))
        if not sector.retired or sector.id in used
    ]


# ----------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Row:
    """One line of a sector table: counts and percentages in the table's sector order."""

    label: str
    counts: tuple[int | None, ...]
    percents: tuple[float | None, ...]
    total: int | None
    recorded: bool = False
    source: str = ""
    basis: str = ""
    event_id: int | None = None
    starts_at: datetime | None = None
    not_given: float | None = None
    not_given_count: int | None = None
    # Numbers worked out from recorded percentages and a total, not recorded themselves.
    counts_worked_out: bool = False
    # An event (or every event of a year) not yet held: figures so far, or none (counts None)
    # for what is counted on the day.
    not_held: bool = False

    @property
    def not_represented(self) -> int:
        return sum(1 for value in self.counts if value == 0)

    @property
    def cells(self) -> list[tuple[int | None, float | None]]:
        """(count, percent) per sector, in the table's sector order."""
        return list(zip(self.counts, self.percents, strict=True))


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    sectors: list[Sector]
    rows: list[Row]
    measure: str
    totals: Row | None = None
    notes: list[str] = field(default_factory=list)


def counted_row(
    label: str, sectors: Sequence[Sector], by_sector: dict[int, Counts], measure: str, **extra
) -> Row:
    counts = [by_sector.get(sector.id, Counts()).get(measure) for sector in sectors]
    return _counts_row(label, counts, measure, **extra)


def _counts_row(label: str, counts: Sequence[int], measure: str, **extra) -> Row:
    """A row of counted figures, with its shares and total."""
    return Row(
        label=label,
        counts=tuple(counts),
        percents=tuple(shares(counts)),
        total=sum(counts),
        basis=MEASURES[measure],
        **extra,
    )


def not_held_row(label: str, width: int, **extra) -> Row:
    """A row for what has not been held yet: no counts at all rather than zeros, which would
    read as nobody came."""
    return Row(
        label=label,
        counts=(None,) * width,
        percents=(None,) * width,
        total=None,
        basis=NOT_HELD,
        not_held=True,
        **extra,
    )


def _upcoming_row(
    label: str, sectors: Sequence[Sector], by_sector: dict[int, Counts], measure: str, **extra
) -> Row:
    """An event not yet held: no figures for what is counted on the day, its figures so far
    for the rest (bookings, cancellations, the waiting list), saying so."""
    if measure in COUNTED_ON_THE_DAY:
        return not_held_row(label, len(sectors), **extra)
    return _so_far(counted_row(label, sectors, by_sector, measure, **extra), measure)


def _so_far(row: Row, measure: str) -> Row:
    return replace(row, basis=f"{MEASURES[measure]} so far; {NOT_HELD.lower()}", not_held=True)


def recorded_row(label: str, sectors: Sequence[Sector], figures: RecordedFigures, **extra) -> Row:
    """Recorded figures as a row; what the record leaves out is shown as "not given".

    Percentages with a total give numbers too, worked out by largest remainder and marked so,
    since they were never recorded.
    """
    given = {line.sector_id: line.value for line in figures.lines}
    values = [given.get(sector.id) for sector in sectors]
    worked_out = figures.basis == FigureBasis.percentages and figures.total is not None
    if figures.basis == FigureBasis.counts:
        known = [v or 0 for v in values]
        total = figures.total if figures.total is not None else sum(known)
        percents = shares(known, total)
        rest = 100 - sum(percents) if total else None
        counts: list[int | None] = values
        source_percents: list[float | None] = [
            float(p) if v is not None else None for p, v in zip(percents, values, strict=True)
        ]
    else:
        source_percents = [v / 10 if v is not None else None for v in values]
        rest = round(100 - sum(p or 0 for p in source_percents), 1)
        total = figures.total
        counts = _counts_from_tenths(values, total) if worked_out else [None] * len(values)
    missing = total - sum(c or 0 for c in counts) if total is not None else None
    basis = f"Recorded attendance, as {RECORDED_BASIS[figures.basis]}"
    return Row(
        label=label,
        counts=tuple(counts),
        percents=tuple(source_percents),
        total=total,
        recorded=True,
        source=figures.source,
        basis=f"{basis}; {WORKED_OUT}" if worked_out else basis,
        not_given=rest if rest else None,
        not_given_count=missing if missing or rest else None,
        counts_worked_out=worked_out,
        **extra,
    )


def _counts_from_tenths(tenths: Sequence[int | None], total: int) -> list[int | None]:
    """People per sector from percentages held in tenths, apportioned so that with the share
    not given they add up to the total: rounded one by one they could lose or invent people."""
    given = [value or 0 for value in tenths]
    rest = 1000 - sum(given)
    counts = apportion([*given, rest] if rest > 0 else given, total)
    return [
        count if value is not None else None
        for count, value in zip(counts[: len(tenths)], tenths, strict=True)
    ]


def _year_label(starts_at: datetime, title: str) -> str:
    return f"{format_short_date(starts_at)} · {title}"


def _summed_row(label: str, rows: Iterable[Row], width: int, measure: str) -> Row:
    """Counted rows added up, sector by sector; recorded rows never join the sum, and rows
    that are all "not yet held" make a "not yet held" row."""
    rows = [row for row in rows if not row.recorded]
    totals = [0] * width
    for row in rows:
        totals = [total + (value or 0) for total, value in zip(totals, row.counts, strict=True)]
    summed = _counts_row(label, totals, measure)
    if not rows or not all(row.not_held for row in rows):
        return summed
    if measure in COUNTED_ON_THE_DAY:
        return not_held_row(label, width)
    return _so_far(summed, measure)


def events_table(filters: Filters, now: datetime | None = None) -> Table:
    """Events x sectors for the chosen measure, with recorded figures in their own rows."""
    now = now or utcnow()
    query = _event_query(filters)
    events = db.session.execute(
        query.with_only_columns(Event.id, Event.title, Event.starts_at, Event.ends_at).order_by(
            Event.starts_at
        )
    ).all()
    ids = query.with_only_columns(Event.id)
    counted = _counts_by_event(ids, {e.id for e in events if e.ends_at <= now})
    recorded = _recorded_for(ids)
    sectors = _sectors(
        {sid for per_event in counted.values() for sid in per_event}
        | {line.sector_id for figures in recorded.values() for line in figures.lines}
    )
    rows: list[Row] = []
    for event in events:
        by_sector = counted.get(event.id, {})
        label = _year_label(event.starts_at, event.title)
        extra = {"event_id": event.id, "starts_at": event.starts_at}
        if event.starts_at > now and event.id not in recorded:
            rows.append(_upcoming_row(label, sectors, by_sector, filters.measure, **extra))
        elif by_sector or event.id not in recorded:
            rows.append(counted_row(label, sectors, by_sector, filters.measure, **extra))
        if event.id in recorded:
            rows.append(recorded_row(label, sectors, recorded[event.id], **extra))
    notes = [ROUNDING_NOTE]
    if recorded:
        notes.append("Totals add up counted bookings only; recorded figures are not included.")
    return Table(
        key="events",
        title=f"{MEASURES[filters.measure]} by sector, event by event",
        sectors=sectors,
        rows=rows,
        measure=filters.measure,
        totals=_summed_row("Total for these events (counted)", rows, len(sectors), filters.measure),
        notes=notes,
    )


def board_years_table(events: Table, filters: Filters) -> Table:
    """Counted totals of the events table by the Board's year (April to March)."""
    by_year: dict[int, list[Row]] = {}
    for row in events.rows:
        if not row.recorded and row.starts_at is not None:
            by_year.setdefault(board_year(london_date(row.starts_at)), []).append(row)
    rows = [
        _summed_row(board_year_label(year), year_rows, len(events.sectors), filters.measure)
        for year, year_rows in sorted(by_year.items())
    ]
    return Table(
        key="board-years",
        title=f"{MEASURES[filters.measure]} by sector, by the Board's year (April to March)",
        sectors=events.sectors,
        rows=rows,
        measure=filters.measure,
        notes=[ROUNDING_NOTE, "Counted bookings only; recorded figures are not included."],
    )


def conference_table(now: datetime | None = None) -> Table:
    """The annual conference year on year: attendance once it has run, bookings before."""
    now = now or utcnow()
    query = _event_query(Filters(kind=EventKind.conference))
    events = list(db.session.scalars(query.order_by(Event.starts_at)))
    ids = query.with_only_columns(Event.id)
    counted = _counts_by_event(ids, {e.id for e in events if e.ends_at <= now})
    recorded = _recorded_for(ids)
    sectors = _sectors(
        {sid for per_event in counted.values() for sid in per_event}
        | {line.sector_id for figures in recorded.values() for line in figures.lines}
    )
    rows = []
    for event in events:
        label = f"{london_date(event.starts_at).year} · {event.title}"
        extra = {"event_id": event.id, "starts_at": event.starts_at}
        by_sector = counted.get(event.id, {})
        if event.starts_at > now and event.id not in recorded:
            rows.append(_upcoming_row(label, sectors, by_sector, "confirmed", **extra))
        elif event.id in counted or event.id not in recorded:
            measure = "attended" if event.ends_at <= now else "confirmed"
            rows.append(counted_row(label, sectors, by_sector, measure, **extra))
        if event.id in recorded:
            rows.append(recorded_row(label, sectors, recorded[event.id], **extra))
    return Table(
        key="conference",
        title="The annual conference, year on year (% of delegates by sector)",
        sectors=sectors,
        rows=rows,
        measure="attended",
        notes=[
            ROUNDING_NOTE,
            "Past conferences show who attended; a conference not yet held shows who has booked.",
        ],
    )


# ----------------------------------------------------------------------------- charts

# The charts' SVG units: 640 wide, scaled to the page by the browser. Pages show this layout
# on wide screens only (static/css/stats.css), where it is drawn at least 1.07 times its size.
CHART_WIDTH = 640
# The phone layout of the bar charts: names above their bars, drawn at about its own size on a
# 390 px screen, so that 14-unit names stay above 12 px down to a 320 px one.
NARROW_WIDTH = 320
# Sector colours and patterns cycle through this many (the charts' palette).
COLOURS = 10


@dataclass(frozen=True)
class Bar:
    """One rectangle of a chart, in the SVG's units, with where its figure is written.

    ``colour`` is the sector's place in the palette; None draws the "not given" part.
    """

    name: str
    count: int | None
    percent: float | None
    colour: int | None
    x: float
    y: float
    width: float
    height: float
    text_x: float
    text_y: float
    text_fits: bool = True
    label_y: float = 0


@dataclass(frozen=True)
class BarChart:
    """One horizontal bar per sector, the longest for the largest count; names on the left
    (``label_anchor`` "end" at ``label_x``) or, in the narrow layout, above each bar."""

    width: int
    height: int
    label_x: float
    bars: list[Bar]
    label_anchor: str = "end"


@dataclass(frozen=True)
class BarCharts:
    """The same bars laid out twice: for wide screens and for phones."""

    wide: BarChart
    narrow: BarChart


@dataclass(frozen=True)
class StackedRow:
    """One row of a table as a 100% bar: its sectors' shares side by side, then what the
    record leaves out; ``empty`` is the placeholder of a row with no figures, ``note`` says
    why ("No figures yet", "Not yet held")."""

    label: str
    recorded: bool
    label_y: float
    bars: list[Bar]
    empty: Bar | None
    note: str = ""


@dataclass(frozen=True)
class StackedChart:
    width: int
    height: int
    rows: list[StackedRow]
    legend: list[tuple[str, int]]
    has_not_given: bool


def _at(value: float) -> float:
    """SVG coordinates to a tenth of a unit: finer is invisible and only lengthens the page."""
    return round(value, 1)


def sector_bars(
    sectors: Sequence[Sector],
    counts: Sequence[int | None],
    percents: Sequence[float | None],
    narrow: bool = False,
) -> BarChart:
    """Bars for the sectors' counts, scaled so that the largest fills the room left of its
    figure; a sector with no count keeps its line, with no bar. ``narrow`` puts each name on
    its own line above its bar, for phones."""
    if narrow:
        width, bar, gap, label_width, figure_room, label_room = NARROW_WIDTH, 18, 10, 0, 84, 20
    else:
        width, bar, gap, label_width, figure_room, label_room = CHART_WIDTH, 26, 12, 210, 110, 0
    room = width - label_width - figure_room
    peak = max((count or 0 for count in counts), default=0)
    step = label_room + bar + gap
    bars = []
    for i, (sector, count, percent) in enumerate(zip(sectors, counts, percents, strict=True)):
        y = gap + i * step + label_room
        length = (count or 0) / peak * room if peak else 0
        text_y = _at(y + bar * 0.7)
        bars.append(
            Bar(
                name=sector.name,
                count=count,
                percent=percent,
                colour=i % COLOURS,
                x=label_width,
                y=y,
                width=_at(length),
                height=bar,
                text_x=_at(label_width + length + 6),
                text_y=text_y,
                label_y=y - 6 if narrow else text_y,
            )
        )
    return BarChart(
        width,
        len(bars) * step + gap,
        0 if narrow else label_width - 8,
        bars,
        "start" if narrow else "end",
    )


def sector_charts(
    sectors: Sequence[Sector], counts: Sequence[int | None], percents: Sequence[float | None]
) -> BarCharts:
    return BarCharts(
        sector_bars(sectors, counts, percents), sector_bars(sectors, counts, percents, True)
    )


def stacked_bars(table: Table) -> StackedChart:
    """Each row of ``table`` as a bar of its sector shares in the table's sector order; a
    share is written inside its part only where the part is wide enough for it."""
    bar, label, step, fits = 28, 22, 60, 34
    rows = []
    for i, row in enumerate(table.rows):
        y = i * step + 4
        top, baseline = y + label, _at(y + label + bar * 0.68)
        bars: list[Bar] = []
        empty = None
        note = ""
        if not row.total and not row.recorded:
            empty = Bar("", None, None, None, 0, top, CHART_WIDTH, bar, 8, baseline)
            note = NOT_HELD if row.not_held else "No figures yet"
        else:
            x = 0.0
            for colour, (sector, percent) in enumerate(
                zip(table.sectors, row.percents, strict=True)
            ):
                if not percent:
                    continue
                width = percent / 100 * CHART_WIDTH
                bars.append(
                    Bar(
                        name=sector.name,
                        count=None,
                        percent=percent,
                        colour=colour % COLOURS,
                        x=_at(x),
                        y=top,
                        width=_at(width),
                        height=bar,
                        text_x=_at(x + width / 2),
                        text_y=baseline,
                        text_fits=width >= fits,
                    )
                )
                x += width
            if row.not_given:
                width = row.not_given / 100 * CHART_WIDTH
                bars.append(
                    Bar(
                        name="Not given",
                        count=None,
                        percent=row.not_given,
                        colour=None,
                        x=_at(x),
                        y=top,
                        width=_at(width),
                        height=bar,
                        text_x=_at(x + width / 2),
                        text_y=baseline,
                        text_fits=False,
                    )
                )
        rows.append(StackedRow(row.label, row.recorded, y + 16, bars, empty, note))
    return StackedChart(
        width=CHART_WIDTH,
        height=len(rows) * step + 6,
        rows=rows,
        legend=[(sector.name, i % COLOURS) for i, sector in enumerate(table.sectors)],
        has_not_given=any(row.not_given for row in table.rows),
    )


@dataclass(frozen=True)
class Overview:
    filters: Filters
    events: Table
    board_years: Table
    conference: Table

    def tables(self) -> dict[str, Table]:
        return {t.key: t for t in (self.events, self.board_years, self.conference)}

    @cached_property
    def totals_chart(self) -> BarCharts | None:
        """The chosen events' counted totals by sector; none when nothing was counted."""
        totals = self.events.totals
        if totals is None or not totals.total:
            return None
        return sector_charts(self.events.sectors, totals.counts, totals.percents)

    @cached_property
    def years_chart(self) -> StackedChart:
        return stacked_bars(self.board_years)

    @cached_property
    def conference_chart(self) -> StackedChart:
        return stacked_bars(self.conference)


def overview(filters: Filters, now: datetime | None = None) -> Overview:
    events = events_table(filters, now)
    return Overview(filters, events, board_years_table(events, filters), conference_table(now))


# ----------------------------------------------------------------------------- LSCBs' places

TAKE_UP_NOTE = (
    "Reserved: places held for the LSCB, bookable only through its own link until the release. "
    "Taken: bookings through the link that hold one of those places now (a place given back "
    "before the release is held again). Released: reserved places that nobody held at the "
    "release and that joined the general pool. Attended: those who took a reserved place and "
    "were checked in. Booked in all: every confirmed booking from the LSCB, on a reserved "
    "place or a general one."
)


@dataclass(frozen=True)
class TakeUp:
    """What became of the places reserved for one LSCB, at one event or over several.

    ``held`` counts what is still held for the LSCB before its event's release; ``released``
    what joined the general pool at it. ``events`` is how many events reserved places for it.
    """

    reserved: int = 0
    taken: int = 0
    held: int = 0
    released: int = 0
    attended: int = 0
    booked: int = 0
    events: int = 0

    def __add__(self, other: TakeUp) -> TakeUp:
        return TakeUp(
            *(mine + theirs for mine, theirs in zip(astuple(self), astuple(other), strict=True))
        )

    @property
    def taken_percent(self) -> int | None:
        """The share of the reserved places taken, in whole percent (none when none reserved)."""
        return round(self.taken * 100 / self.reserved) if self.reserved else None


@dataclass(frozen=True)
class TakeUpRow:
    lscb: Lscb
    figures: TakeUp


@dataclass(frozen=True)
class TakeUpTable:
    rows: list[TakeUpRow]
    totals: TakeUp
    # Events of the chosen ones that reserve places for any LSCB (across events only).
    events: int = 0

    @cached_property
    def chart(self) -> TakeUpCharts | None:
        if not self.totals.reserved:
            return None
        return TakeUpCharts(take_up_bars(self.rows), take_up_bars(self.rows, narrow=True))


def _take_up_by_allocation(
    event_ids: Select, now: datetime | None = None
) -> dict[tuple[int, int], TakeUp]:
    """{(event id, LSCB id): TakeUp} for the events the subquery selects, in two grouped
    queries (the allocations with what their bookings did, and every confirmed booking by
    LSCB), whatever the number of events, LSCBs or bookings.

    A booking counts as holding its reserved place at the release when it was confirmed by
    then and not cancelled before it. A release time that has passed counts as the release,
    as the booking rules count it, even before the release itself has been stamped.
    """
    now = now or utcnow()
    released_at = func.coalesce(
        Event.allocations_released_at,
        case((Event.allocations_release_at <= now, Event.allocations_release_at)),
    )
    confirmed = Booking.status == BookingStatus.confirmed
    held_at_release = and_(
        Booking.confirmed_at <= released_at,
        or_(Booking.cancelled_at.is_(None), Booking.cancelled_at > released_at),
    )
    taken = (
        select(
            Booking.allocation_id.label("allocation_id"),
            func.count(case((confirmed, 1))).label("taken"),
            func.count(case((and_(confirmed, Booking.attended_at.is_not(None)), 1))).label(
                "attended"
            ),
            func.count(case((held_at_release, 1))).label("at_release"),
        )
        .join(Event, Event.id == Booking.event_id)
        .where(Booking.allocation_id.is_not(None), Booking.event_id.in_(event_ids))
        .group_by(Booking.allocation_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Allocation.event_id,
            Allocation.lscb_id,
            Allocation.reserved,
            released_at.is_not(None),
            func.coalesce(taken.c.taken, 0),
            func.coalesce(taken.c.attended, 0),
            func.coalesce(taken.c.at_release, 0),
        )
        .join(Event, Event.id == Allocation.event_id)
        .outerjoin(taken, taken.c.allocation_id == Allocation.id)
        .where(Allocation.event_id.in_(event_ids))
    ).all()
    if not rows:
        return {}
    with_allocations = select(Allocation.event_id).where(Allocation.event_id.in_(event_ids))
    booked = {
        (event_id, lscb_id): count
        for event_id, lscb_id, count in db.session.execute(
            select(Booking.event_id, Booking.lscb_id, func.count())
            .where(
                Booking.event_id.in_(with_allocations),
                Booking.status == BookingStatus.confirmed,
            )
            .group_by(Booking.event_id, Booking.lscb_id)
        )
    }
    result = {}
    for event_id, lscb_id, reserved, released, n_taken, attended, at_release in rows:
        result[event_id, lscb_id] = TakeUp(
            reserved=reserved,
            taken=n_taken,
            held=0 if released else max(reserved - n_taken, 0),
            released=max(reserved - at_release, 0) if released else 0,
            attended=attended,
            booked=booked.get((event_id, lscb_id), 0),
            events=1,
        )
    return result


def _take_up_table(by_lscb: dict[int, TakeUp], events: int = 0) -> TakeUpTable:
    lscbs = db.session.scalars(
        select(Lscb).where(Lscb.id.in_(list(by_lscb))).order_by(*Lscb.display_order())
    )
    rows = [TakeUpRow(lscb, by_lscb[lscb.id]) for lscb in lscbs] if by_lscb else []
    return TakeUpTable(rows, sum((row.figures for row in rows), TakeUp()), events)


def event_take_up(event_id: int, now: datetime | None = None) -> TakeUpTable:
    """The places an event reserves for LSCBs and what became of them, LSCB by LSCB."""
    figures = _take_up_by_allocation(select(Event.id).where(Event.id == event_id), now)
    return _take_up_table({lscb_id: take_up for (_, lscb_id), take_up in figures.items()})


def take_up_across(filters: Filters, now: datetime | None = None) -> TakeUpTable:
    """The LSCBs' reserved places over the published events the filters choose, added up
    LSCB by LSCB (an LSCB's ``events``: how many of them reserved places for it)."""
    figures = _take_up_by_allocation(_event_query(filters).with_only_columns(Event.id), now)
    by_lscb: dict[int, TakeUp] = {}
    for (_, lscb_id), take_up in figures.items():
        by_lscb[lscb_id] = by_lscb.get(lscb_id, TakeUp()) + take_up
    return _take_up_table(by_lscb, len({event_id for event_id, _ in figures}))


@dataclass(frozen=True)
class TakeUpBar:
    """One LSCB's line of the take-up chart: an outline as long as its reserved places, filled
    as far as those taken."""

    name: str
    figures: TakeUp
    x: float
    y: float
    height: float
    reserved_width: float
    taken_width: float
    text_x: float
    text_y: float
    label_y: float


@dataclass(frozen=True)
class TakeUpChart:
    width: int
    height: int
    label_x: float
    label_anchor: str
    bars: list[TakeUpBar]


@dataclass(frozen=True)
class TakeUpCharts:
    wide: TakeUpChart
    narrow: TakeUpChart


def take_up_bars(rows: Sequence[TakeUpRow], narrow: bool = False) -> TakeUpChart:
    """Bars laid out as ``sector_bars`` lays out its own, scaled to the most places reserved
    for any one LSCB."""
    if narrow:
        width, bar, gap, label_width, figure_room, label_room = NARROW_WIDTH, 18, 10, 0, 110, 20
    else:
        width, bar, gap, label_width, figure_room, label_room = CHART_WIDTH, 22, 10, 210, 150, 0
    room = width - label_width - figure_room
    peak = max((row.figures.reserved for row in rows), default=0)
    step = label_room + bar + gap
    bars = []
    for i, row in enumerate(rows):
        y = gap + i * step + label_room
        reserved = row.figures.reserved / peak * room if peak else 0
        taken = min(row.figures.taken, row.figures.reserved) / peak * room if peak else 0
        text_y = _at(y + bar * 0.7)
        bars.append(
            TakeUpBar(
                name=row.lscb.name,
                figures=row.figures,
                x=label_width,
                y=y,
                height=bar,
                reserved_width=_at(reserved),
                taken_width=_at(taken),
                text_x=_at(label_width + reserved + 6),
                text_y=text_y,
                label_y=y - 6 if narrow else text_y,
            )
        )
    return TakeUpChart(
        width,
        len(bars) * step + gap,
        0 if narrow else label_width - 8,
        "start" if narrow else "end",
        bars,
    )


# ----------------------------------------------------------------------------- sector mix


@dataclass(frozen=True)
class SectorMixLine:
    """One sector's floor and cap beside what it has: confirmed places as a share of the
    event's places (what the rules hold and refuse by) and, once held, attendance as a share
    of those who came (as the Board's reports give it).

    Met and within are judged in whole numbers (100 x places against percent x capacity), so
    no rounding decides them."""

    sector: Sector
    min_percent: int | None
    max_percent: int | None
    until: datetime | None
    confirmed: int
    confirmed_percent: float | None
    attended: int | None
    attended_percent: float | None
    floor_places: int | None
    cap_places: int | None
    floor_met: bool | None
    cap_kept: bool | None
    attended_floor_met: bool | None
    attended_cap_kept: bool | None


def _within(count: int, whole: int, low: int | None, high: int | None) -> tuple:
    """(at or above ``low``%, at or below ``high``%) of ``whole``; None where unset."""
    return (
        None if low is None else count * 100 >= low * whole,
        None if high is None else count * 100 <= high * whole,
    )


def sector_mix(
    event: Event, sectors: Sequence[Sector], counts: Sequence[Counts], held: bool
) -> list[SectorMixLine]:
    """The event's sector limits against its counted bookings (``counts`` in ``sectors``'
    order), in the sectors' order; one query, for the limits."""
    limits = {
        limit.sector_id: limit
        for limit in db.session.scalars(select(SectorLimit).where(SectorLimit.event_id == event.id))
    }
    if not limits:
        return []
    by_sector = {sector.id: c for sector, c in zip(sectors, counts, strict=True)}
    known = {sector.id: sector for sector in sectors}
    missing = [sid for sid in limits if sid not in known]
    if missing:
        known |= {s.id: s for s in db.session.scalars(select(Sector).where(Sector.id.in_(missing)))}
    places = event.capacity or sum(c.confirmed for c in counts)
    came = sum(c.attended for c in counts)
    ordered = sorted(
        limits.values(),
        key=lambda limit: (known[limit.sector_id].position, known[limit.sector_id].name),
    )
    lines = []
    for limit in ordered:
        c = by_sector.get(limit.sector_id, Counts())
        low, high = limit.min_percent, limit.max_percent
        floor_met, cap_kept = _within(c.confirmed, places, low, high)
        came_floor, came_cap = (
            _within(c.attended, came, low, high) if held and came else (None,) * 2
        )
        lines.append(
            SectorMixLine(
                sector=known[limit.sector_id],
                min_percent=low,
                max_percent=high,
                until=limit.until,
                confirmed=c.confirmed,
                confirmed_percent=round(c.confirmed * 100 / places, 1) if places else None,
                attended=c.attended if held else None,
                attended_percent=round(c.attended * 100 / came, 1) if held and came else None,
                floor_places=-(-low * places // 100) if low is not None else None,
                cap_places=high * places // 100 if high is not None else None,
                floor_met=floor_met,
                cap_kept=cap_kept,
                attended_floor_met=came_floor,
                attended_cap_kept=came_cap,
            )
        )
    return lines


# ----------------------------------------------------------------------------- one event


@dataclass(frozen=True)
class EventBreakdown:
    event: Event
    sectors: list[Sector]
    counts: list[Counts]
    totals: Counts
    percents: dict[str, list[int]]
    recorded: Row | None
    figures: RecordedFigures | None
    # Attendance by LSCB: the LSCBs with any booking, in the list's order.
    lscbs: list[Lscb] = field(default_factory=list)
    lscb_counts: list[Counts] = field(default_factory=list)
    # Started by the time of reading: before that, nothing is counted "on the day".
    held: bool = True
    take_up: TakeUpTable = field(default_factory=lambda: TakeUpTable([], TakeUp()))
    sector_mix: list[SectorMixLine] = field(default_factory=list)
    # When the held places joined the general pool: the release, or its time once passed.
    released_at: datetime | None = None

    @property
    def not_represented(self) -> list[Sector]:
        """Sectors with no confirmed booking (attended or not)."""
        return [s for s, c in zip(self.sectors, self.counts, strict=True) if c.confirmed == 0]

    @property
    def ended(self) -> bool:
        return self.event.is_past()

    @property
    def measure(self) -> str:
        """What the event's chart shows: who came once it is over, who booked until then."""
        return "attended" if self.ended else "confirmed"

    @property
    def columns(self) -> list[str]:
        """The measures its table shows: attendance only once the event has been held."""
        if self.held:
            return list(MEASURES)
        return [m for m in MEASURES if m not in COUNTED_ON_THE_DAY]

    @cached_property
    def chart(self) -> BarCharts | None:
        """The chart of ``measure`` by sector; none while nobody counts."""
        if not self.totals.get(self.measure):
            return None
        counts = [c.get(self.measure) for c in self.counts]
        return sector_charts(self.sectors, counts, self.percents[self.measure])


def event_breakdown(event_id: int, now: datetime | None = None) -> EventBreakdown | None:
    now = now or utcnow()
    event = db.session.scalar(
        select(Event).options(joinedload(Event.host_network)).where(Event.id == event_id)
    )
    if event is None:
        return None
    ids = select(Event.id).where(Event.id == event_id)
    ended = {event_id} if event.ends_at <= now else set()
    by_sector = _counts_by_event(ids, ended).get(event_id, {})
    by_lscb = _counts_by_event(ids, ended, Booking.lscb_id).get(event_id, {})
    lscbs = list(
        db.session.scalars(
            select(Lscb).where(Lscb.id.in_(list(by_lscb))).order_by(*Lscb.display_order())
        )
    )
    figures = _recorded_for(ids).get(event_id)
    used = set(by_sector) | ({line.sector_id for line in figures.lines} if figures else set())
    sectors = _sectors(used)
    counts = [by_sector.get(sector.id, Counts()) for sector in sectors]
    totals = sum(counts, Counts())
    percents = {m: shares([c.get(m) for c in counts]) for m in MEASURES}
    recorded = (
        recorded_row(_year_label(event.starts_at, event.title), sectors, figures)
        if figures
        else None
    )
    held = event.starts_at <= now
    release = event.allocations_release_at or event.starts_at
    return EventBreakdown(
        event,
        sectors,
        counts,
        totals,
        percents,
        recorded,
        figures,
        lscbs,
        [by_lscb[lscb.id] for lscb in lscbs],
        held=held,
        take_up=event_take_up(event_id, now),
        released_at=event.allocations_released_at or (release if release <= now else None),
        sector_mix=sector_mix(event, sectors, counts, held),
    )


# ----------------------------------------------------------------------------- recorded figures


def save_recorded_figures(
    event_id: int,
    basis: FigureBasis,
    values: dict[int, float | None],
    total: int | None,
    source: str,
) -> RecordedFigures:
    """Replace an event's recorded figures. Percentages are kept to one decimal place."""
    given = {sector_id: value for sector_id, value in values.items() if value is not None}
    if not given:
        raise FiguresError("Enter a figure for at least one sector.")
    if any(value < 0 for value in given.values()):
        raise FiguresError("Figures cannot be negative.")
    if basis == FigureBasis.percentages:
        stored = {sid: round(value * 10) for sid, value in given.items()}
        if sum(stored.values()) > 1000:
            raise FiguresError("The percentages add up to more than 100%.")
    else:
        if any(value != int(value) for value in given.values()):
            raise FiguresError("Counts must be whole numbers.")
        stored = {sid: int(value) for sid, value in given.items()}
        if total is not None and total < sum(stored.values()):
            raise FiguresError("The total is smaller than the sector counts added together.")
    if total is not None and total < 0:
        raise FiguresError("The total cannot be negative.")
    with unit_of_work():
        figures = db.session.scalar(
            select(RecordedFigures).where(RecordedFigures.event_id == event_id)
        )
        if figures is None:
            figures = RecordedFigures(event_id=event_id)
            db.session.add(figures)
        figures.basis = basis
        figures.total = total
        figures.source = source.strip()
        figures.lines.clear()
        db.session.flush()
        figures.lines = [
            RecordedSectorFigure(sector_id=sector_id, value=value)
            for sector_id, value in stored.items()
        ]
    return figures


def delete_recorded_figures(event_id: int) -> bool:
    with unit_of_work():
        figures = db.session.scalar(
            select(RecordedFigures).where(RecordedFigures.event_id == event_id)
        )
        if figures is None:
            return False
        db.session.delete(figures)
    return True
