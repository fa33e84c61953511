"""Queries behind the network pages."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bookings.db import db, utcnow
from bookings.london import london_date
from bookings.networks.models import Meeting, Network


def networks() -> list[Network]:
    return list(
        db.session.scalars(
            select(Network).options(selectinload(Network.meetings)).order_by(Network.name)
        )
    )


def network(slug: str) -> Network | None:
    return db.session.scalar(
        select(Network).options(selectinload(Network.meetings)).where(Network.slug == slug)
    )


def split_meetings(
    network: Network, today: date | None = None
) -> tuple[list[Meeting], list[Meeting]]:
    """Upcoming meetings (soonest first, undated "tbc" last) and past ones (latest first)."""
    today = today or london_date(utcnow())
    upcoming = [m for m in network.meetings if m.day is None or m.day >= today]
    upcoming.sort(key=lambda m: (m.day is None, m.day or today))
    past = sorted(
        (m for m in network.meetings if m.day is not None and m.day < today),
        key=lambda m: m.day,
        reverse=True,
    )
    return upcoming, past
