"""Sector figures recorded by hand for events whose delegates the system never counted."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bookings.booking.models import Sector
from bookings.db import UTCDateTime, db, string_enum, utcnow
from bookings.events.models import Event


class FigureBasis(enum.StrEnum):
    counts = "counts"
    percentages = "percentages"


class RecordedFigures(db.Model):
    """One event's attendance by sector as reported elsewhere (a report, a sign-in sheet).

    Kept apart from bookings so that recorded and counted figures are never added together.
    ``total`` is the number who attended when known; with percentages it may be missing, as in
    the reports ("Last year attendance was: Health 20% ...").
    """

    __tablename__ = "recorded_figures"
    __table_args__ = (CheckConstraint("total IS NULL OR total >= 0", name="total_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    basis: Mapped[FigureBasis] = mapped_column(string_enum(FigureBasis, "figure_basis"))
    total: Mapped[int | None] = mapped_column()
    source: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
    lines: Mapped[list[RecordedSectorFigure]] = relationship(
        back_populates="figures", cascade="all, delete-orphan", lazy="selectin"
    )


class RecordedSectorFigure(db.Model):
    """One sector's figure: a count, or a percentage held in tenths so it stays exact."""

    __tablename__ = "recorded_sector_figures"
    __table_args__ = (
        UniqueConstraint("figures_id", "sector_id", name="uq_recorded_sector_figures_sector"),
        CheckConstraint("value >= 0", name="value_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    figures_id: Mapped[int] = mapped_column(
        ForeignKey("recorded_figures.id", ondelete="CASCADE"), index=True
    )
    sector_id: Mapped[int] = mapped_column(ForeignKey("sectors.id"))
    # A count, or tenths of a percent (335 = 33.5%), according to the parent's basis.
    value: Mapped[int] = mapped_column()

    figures: Mapped[RecordedFigures] = relationship(back_populates="lines")
    sector: Mapped[Sector] = relationship()
