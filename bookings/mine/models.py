"""The one record "my bookings" keeps: which address a link was issued for, found by the
link's hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bookings.db import UTCDateTime, db, utcnow


class AddressLink(db.Model):
    """The link is an HMAC of the address key under the app's secret: the database alone
    gives no working link, and a guessed link is looked up by its SHA-256 only. Personal data:
    the purge deletes it once the address has no booking left (``bookings.privacy``)."""

    __tablename__ = "address_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
