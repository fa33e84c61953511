"""The sector list, kept by admins. A sector in use is never deleted, only retired: old bookings
and the statistics keep it, the booking form stops offering it."""

from __future__ import annotations

from sqlalchemy import func, select

from bookings.accounts import service as accounts
from bookings.booking.models import Booking, Sector
from bookings.db import db
from bookings.stats.models import RecordedSectorFigure


class SectorError(ValueError):
    """The change is not allowed; the message says why."""


def sectors_with_use() -> list[tuple[Sector, int]]:
    """Every sector in order with the number of bookings and recorded figures using it."""
    bookings = (
        select(Booking.sector_id, func.count().label("n")).group_by(Booking.sector_id).subquery()
    )
    figures = (
        select(RecordedSectorFigure.sector_id, func.count().label("n"))
        .group_by(RecordedSectorFigure.sector_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Sector,
            func.coalesce(bookings.c.n, 0) + func.coalesce(figures.c.n, 0),
        )
        .outerjoin(bookings, bookings.c.sector_id == Sector.id)
        .outerjoin(figures, figures.c.sector_id == Sector.id)
        .order_by(Sector.position, Sector.name)
    )
    return [(sector, int(used)) for sector, used in rows]


def _name_free(name: str, exclude_id: int | None = None) -> None:
    query = select(Sector.id).where(func.lower(Sector.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Sector.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise SectorError(f"There is already a sector called {name}.")


def _clean(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise SectorError("Enter the sector's name.")
    return name


def add(name: str) -> Sector:
    name = _clean(name)
    _name_free(name)
    last = db.session.scalar(select(func.max(Sector.position))) or 0
    sector = Sector(name=name, position=last + 1)
    db.session.add(sector)
    db.session.flush()
    accounts.audit("sector.create", "sector", sector.id, f"Added sector {name}")
    db.session.commit()
    return sector


def _get(sector_id: int) -> Sector:
    sector = db.session.get(Sector, sector_id)
    if sector is None:
        raise LookupError(sector_id)
    return sector


def rename(sector_id: int, name: str) -> Sector:
    sector = _get(sector_id)
    name = _clean(name)
    _name_free(name, exclude_id=sector.id)
    accounts.audit(
        "sector.rename",
        "sector",
        sector.id,
        f"Renamed sector {sector.name} to {name}",
        {"name": [sector.name, name]},
    )
    sector.name = name
    db.session.commit()
    return sector


def set_retired(sector_id: int, retired: bool) -> Sector:
    sector = _get(sector_id)
    if sector.retired != retired:
        sector.retired = retired
        accounts.audit(
            "sector.retire" if retired else "sector.restore",
            "sector",
            sector.id,
            f"{'Retired' if retired else 'Restored'} sector {sector.name}",
            {"retired": [str(not retired), str(retired)]},
        )
        db.session.commit()
    return sector


def move(sector_id: int, step: int) -> None:
    """Swap with the neighbour above (-1) or below (+1), renumbering the list 1..n."""
    ordered = list(db.session.scalars(select(Sector).order_by(Sector.position, Sector.name)))
    index = next((i for i, s in enumerate(ordered) if s.id == sector_id), None)
    if index is None:
        raise LookupError(sector_id)
    other = index + step
    if 0 <= other < len(ordered):
        ordered[index], ordered[other] = ordered[other], ordered[index]
        for position, sector in enumerate(ordered, start=1):
            sector.position = position
        accounts.audit(
            "sector.move",
            "sector",
            sector_id,
            f"Moved sector {ordered[other].name} {'up' if step < 0 else 'down'}",
        )
        db.session.commit()


def delete(sector_id: int) -> None:
    sector = _get(sector_id)
    used = dict((s.id, n) for s, n in sectors_with_use()).get(sector.id, 0)
    if used:
        raise SectorError(
            f"{sector.name} is used by {used} bookings or recorded figures, so it cannot be "
            "deleted. Retire it instead: it stays in the statistics but leaves the form."
        )
    accounts.audit("sector.delete", "sector", sector.id, f"Deleted sector {sector.name}")
    db.session.delete(sector)
    db.session.commit()
