"""The delegates of an event for organisers: search, the CSV, and audited changes.

Changes of places go through ``bookings.booking.service``; audit entries name a delegate only by
booking reference.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from bookings.accounts import service as accounts
from bookings.booking import service as booking_service
from bookings.booking.models import Booking, BookingStatus, Sector
from bookings.db import db
from bookings.events.models import Event
from bookings.london import format_stamp

STATUS_ORDER = {BookingStatus.confirmed: 0, BookingStatus.waitlisted: 1, BookingStatus.cancelled: 2}


@dataclass(frozen=True)
class Filters:
    q: str = ""
    status: BookingStatus | None = None
    sector_id: int | None = None


def _reference_like(q: str) -> str | None:
    """ "abcd2345" and "ABCD-2345" both find reference ABCD-2345."""
    raw = re.sub(r"[^A-Za-z0-9]", "", q).upper()
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == 8 else None


def delegates(event_id: int, filters: Filters = Filters()) -> list[Booking]:
    """Matching bookings with their sectors, in one query: confirmed by name, then the
    waiting list in queue order, then cancellations."""
    query = select(Booking).options(joinedload(Booking.sector)).where(Booking.event_id == event_id)
    q = filters.q.strip()
    if q:
        needle = q.lower()
        conditions = [
            func.lower(column).contains(needle, autoescape=True)
            for column in (Booking.name, Booking.email, Booking.organisation, Booking.reference)
        ]
        reference = _reference_like(q)
        if reference:
            conditions.append(Booking.reference == reference)
        query = query.where(or_(*conditions))
    if filters.status is not None:
        query = query.where(Booking.status == filters.status)
    if filters.sector_id is not None:
        query = query.where(Booking.sector_id == filters.sector_id)
    rows = list(db.session.scalars(query.order_by(Booking.queued_at, Booking.id)))
    rows.sort(
        key=lambda b: (
            STATUS_ORDER[b.status],
            b.name.casefold() if b.status == BookingStatus.confirmed else "",
        )
    )
    return rows


def waiting_positions(event_id: int) -> dict[int, int]:
    """Booking id to place in the queue (1 = next), in one query."""
    ids = db.session.scalars(
        select(Booking.id)
        .where(Booking.event_id == event_id, Booking.status == BookingStatus.waitlisted)
        .order_by(Booking.queued_at, Booking.id)
    )
    return {booking_id: n for n, booking_id in enumerate(ids, start=1)}


def sectors_in_use() -> list[Sector]:
    """Every sector, retired ones too: old bookings still carry them."""
    return list(db.session.scalars(select(Sector).order_by(Sector.position, Sector.name)))


def booking_of(event_id: int, booking_id: int) -> Booking | None:
    return db.session.scalar(
        select(Booking).where(Booking.id == booking_id, Booking.event_id == event_id)
    )


# ----------------------------------------------------------------------------- CSV

CSV_COLUMNS = (
    "Reference",
    "Status",
    "Waiting list position",
    "Name",
    "E-mail",
    "Organisation",
    "Job title",
    "Sector",
    "Dietary needs",
    "Access needs",
    "Booked at",
    "Confirmed at",
    "Cancelled at",
    "Attended at",
)


def _cell(value: str) -> str:
    """Spreadsheets run cells starting = + - @ as formulas; a delegate's text must not."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_export(event_id: int, filters: Filters = Filters()) -> str:
    """UTF-8 text with a byte-order mark, so Excel reads accents and the ½ right."""
    positions = waiting_positions(event_id)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for b in delegates(event_id, filters):
        writer.writerow(
            [
                b.reference,
                b.status.value,
                positions.get(b.id, ""),
                *(
                    _cell(text)
                    for text in (
                        b.name,
                        b.email,
                        b.organisation,
                        b.job_title,
                        b.sector.name,
                        b.dietary_needs,
                        b.access_needs,
                    )
                ),
                format_stamp(b.created_at),
                format_stamp(b.confirmed_at),
                format_stamp(b.cancelled_at),
                format_stamp(b.attended_at),
            ]
        )
    return out.getvalue()


# ----------------------------------------------------------------------------- changes


def book_on_behalf(event_id: int, details: booking_service.DelegateDetails) -> Booking:
    """The public form's rules and e-mails, for a delegate who phoned."""

    def audited(booking: Booking) -> None:
        accounts.audit(
            "booking.create",
            "event",
            event_id,
            f"Booked {booking.reference} on a delegate's behalf ({booking.status.value})",
        )

    return booking_service.book(event_id, details, also=audited).booking


def cancel(booking: Booking) -> Booking:
    accounts.audit(
        "booking.cancel",
        "event",
        booking.event_id,
        f"Cancelled booking {booking.reference} ({booking.status.value})",
        {"status": [booking.status.value, "cancelled"]},
    )
    return booking_service.cancel(booking.id)


def override(booking: Booking, reason: str) -> bool:
    """A waitlisted delegate gets a place now; who and why go to the audit log. Returns
    whether capacity grew by one to make room."""
    accounts.audit(
        "booking.override",
        "event",
        booking.event_id,
        f"Gave {booking.reference} a place from the waiting list by override: {reason.strip()}",
        {"status": ["waitlisted", "confirmed"]},
    )
    _, raised = booking_service.confirm_with_override(booking.id)
    if raised:
        event = db.session.get(Event, booking.event_id)
        accounts.audit(
            "event.capacity",
            "event",
            booking.event_id,
            f"Places raised by one for the override of {booking.reference}",
            {"capacity": [str(event.capacity - 1), str(event.capacity)]},
        )
        db.session.commit()
    return raised


def check_in(booking: Booking) -> None:
    if booking.attended_at is None and booking.status == BookingStatus.confirmed:
        accounts.audit(
            "booking.check_in", "event", booking.event_id, f"Checked in {booking.reference}"
        )
    booking_service.check_in(booking.id)
    db.session.commit()


def undo_check_in(booking: Booking) -> None:
    if booking.attended_at is not None:
        accounts.audit(
            "booking.undo_check_in",
            "event",
            booking.event_id,
            f"Undid check-in of {booking.reference}",
        )
    booking_service.undo_check_in(booking.id)


def attendance(event_id: int) -> tuple[int, int]:
    """(attended, confirmed)."""
    attended, confirmed = db.session.execute(
        select(
            func.count(Booking.attended_at),
            func.count(Booking.id),
        ).where(Booking.event_id == event_id, Booking.status == BookingStatus.confirmed)
    ).one()
    return attended, confirmed
