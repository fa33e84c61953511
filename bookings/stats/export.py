"""The stats page's tables as CSV and JSON, for the Board's papers."""

from __future__ import annotations

from typing import Any

from bookings.london import format_datetime, london_date
from bookings.stats.service import (
    COUNTED_ON_THE_DAY,
    MEASURES,
    ROUNDING_NOTE,
    EventBreakdown,
    Row,
    Table,
    TakeUpTable,
)
from bookings.web.downloads import spreadsheet_csv


def _figures(row: Row) -> str:
    if row.recorded:
        return "recorded"
    return "not yet held" if row.not_held else "counted"


def _row_json(table: Table, row: Row) -> dict[str, Any]:
    return {
        "label": row.label,
        "date": london_date(row.starts_at).isoformat() if row.starts_at else None,
        "figures": _figures(row),
        "basis": row.basis,
        "source": row.source or None,
        "total": row.total,
        "sectors": {
            sector.name: {"count": count, "percent": percent}
            for sector, count, percent in zip(table.sectors, row.counts, row.percents, strict=True)
        },
        "not_given_percent": row.not_given,
        "not_given_count": row.not_given_count,
        "counts_worked_out": row.counts_worked_out,
    }


def table_json(table: Table) -> dict[str, Any]:
    return {
        "table": table.key,
        "title": table.title,
        "measure": table.measure,
        "notes": table.notes,
        "sectors": [sector.name for sector in table.sectors],
        "rows": [_row_json(table, row) for row in table.rows],
        "totals": _row_json(table, table.totals) if table.totals else None,
    }


def table_csv(table: Table) -> str:
    header = ["Row", "Date", "Figures", "Source"]
    for sector in table.sectors:
        header += [f"{sector.name} (number)", f"{sector.name} (%)"]
    header += ["Not given (number)", "Not given (%)", "Total"]
    lines = [header]
    for row in [*table.rows, *([table.totals] if table.totals else [])]:
        line = [
            row.label,
            london_date(row.starts_at).isoformat() if row.starts_at else "",
            row.basis,
            row.source,
        ]
        for count, percent in zip(row.counts, row.percents, strict=True):
            line += [count, percent]
        line += [row.not_given_count, row.not_given, row.total]
        lines.append(line)
    return spreadsheet_csv(lines)


def _count(breakdown: EventBreakdown, measure: str, value: int) -> int | None:
    """None for what is counted on the day, before the day: not a zero."""
    return None if measure in COUNTED_ON_THE_DAY and not breakdown.held else value


def breakdown_json(breakdown: EventBreakdown) -> dict[str, Any]:
    event = breakdown.event
    return {
        "event": {
            "id": event.id,
            "title": event.title,
            "kind": event.kind.value,
            "date": london_date(event.starts_at).isoformat(),
            "held": breakdown.held,
        },
        "rounding": ROUNDING_NOTE,
        "sectors": [
            {
                "sector": sector.name,
                **{
                    measure: {
                        "count": _count(breakdown, measure, counts.get(measure)),
                        "percent": _count(breakdown, measure, breakdown.percents[measure][i]),
                    }
                    for measure in MEASURES
                },
            }
            for i, (sector, counts) in enumerate(
                zip(breakdown.sectors, breakdown.counts, strict=True)
            )
        ],
        "totals": {
            measure: _count(breakdown, measure, breakdown.totals.get(measure))
            for measure in MEASURES
        },
        "not_represented": [sector.name for sector in breakdown.not_represented],
        "recorded": _recorded_json(breakdown),
    }


def _recorded_json(breakdown: EventBreakdown) -> dict[str, Any] | None:
    row = breakdown.recorded
    if row is None:
        return None
    return {
        "basis": breakdown.figures.basis.value if breakdown.figures else None,
        "source": row.source,
        "total": row.total,
        "sectors": {
            sector.name: {"count": count, "percent": percent}
            for sector, count, percent in zip(
                breakdown.sectors, row.counts, row.percents, strict=True
            )
        },
        "not_given_percent": row.not_given,
        "not_given_count": row.not_given_count,
        "counts_worked_out": row.counts_worked_out,
    }


def breakdown_csv(breakdown: EventBreakdown) -> str:
    header = ["Sector"]
    for label in MEASURES.values():
        header += [f"{label} (number)", f"{label} (%)"]
    lines: list[list[Any]] = [header]
    for i, (sector, counts) in enumerate(zip(breakdown.sectors, breakdown.counts, strict=True)):
        line: list[Any] = [sector.name]
        for measure in MEASURES:
            line += [
                _count(breakdown, measure, counts.get(measure)),
                _count(breakdown, measure, breakdown.percents[measure][i]),
            ]
        lines.append(line)
    total: list[Any] = ["Total"]
    for measure in MEASURES:
        count = breakdown.totals.get(measure)
        total += [
            _count(breakdown, measure, count),
            _count(breakdown, measure, 100 if count else 0),
        ]
    lines.append(total)
    if breakdown.recorded is not None:
        row = breakdown.recorded
        lines.append([])
        lines.append(["Recorded figures (not counted by the system)", row.basis, row.source])
        number = "Number (worked out, not recorded)" if row.counts_worked_out else "Number"
        lines.append(["Sector", number, "%"])
        for sector, count, percent in zip(breakdown.sectors, row.counts, row.percents, strict=True):
            lines.append([sector.name, count, percent])
        lines.append(["Not given", row.not_given_count, row.not_given])
        lines.append(["Total", row.total, ""])
    return spreadsheet_csv(lines)


def lscb_csv(breakdown: EventBreakdown) -> str:
    """An event's bookings by LSCB and what became of them (numbers only; attendance once the
    event has been held)."""
    columns = breakdown.columns
    lines: list[list[Any]] = [["LSCB", *(MEASURES[measure] for measure in columns)]]
    for lscb, counts in zip(breakdown.lscbs, breakdown.lscb_counts, strict=True):
        lines.append([lscb.name, *(counts.get(measure) for measure in columns)])
    lines.append(["Total", *(breakdown.totals.get(measure) for measure in columns)])
    return spreadsheet_csv(lines)


def take_up_csv(table: TakeUpTable, across: bool = False) -> str:
    """The LSCBs' reserved places and what became of them, one LSCB a line; ``across`` adds
    how many of the chosen events reserved places for each."""
    header = ["LSCB", *(["Events"] if across else [])]
    header += ["Reserved", "Taken", "Taken (%)", "Still held", "Released", "Attended"]
    header += ["Booked in all"]
    lines: list[list[Any]] = [header]
    for label, figures in [
        *((row.lscb.name, row.figures) for row in table.rows),
        ("Total", table.totals),
    ]:
        line: list[Any] = [label, *([figures.events] if across else [])]
        line += [figures.reserved, figures.taken, figures.taken_percent, figures.held]
        line += [figures.released, figures.attended, figures.booked]
        lines.append(line)
    return spreadsheet_csv(lines)


def _mark(value: bool | None, yes: str, no: str) -> str:
    return "" if value is None else (yes if value else no)


def sector_mix_csv(breakdown: EventBreakdown) -> str:
    """Each limited sector's floor and cap beside its confirmed places (share of the event's
    places) and, once held, its attendance (share of those who came)."""
    lines: list[list[Any]] = [
        [
            "Sector",
            "At least (%)",
            "Floor held until",
            "At most (%)",
            "Confirmed",
            "Confirmed (% of places)",
            "Floor",
            "Cap",
            "Attended",
            "Attended (% of those who came)",
            "Floor (attended)",
            "Cap (attended)",
        ]
    ]
    for line in breakdown.sector_mix:
        lines.append(
            [
                line.sector.name,
                line.min_percent,
                format_datetime(line.until) if line.until else "",
                line.max_percent,
                line.confirmed,
                line.confirmed_percent,
                _mark(line.floor_met, "met", "not met"),
                _mark(line.cap_kept, "within", "over"),
                line.attended,
                line.attended_percent,
                _mark(line.attended_floor_met, "met", "not met"),
                _mark(line.attended_cap_kept, "within", "over"),
            ]
        )
    return spreadsheet_csv(lines)
