"""Helpers for the evaluation and certificate tests: past events and attended delegates with
working manage links."""

from __future__ import annotations

import hashlib
import itertools
from datetime import timedelta

from bookings.booking.models import Booking, BookingStatus
from bookings.booking.tokens import manage_token
from bookings.db import db, utcnow
from tests.conftest import default_lscb

_numbers = itertools.count(1)


def past_event(make, days_ago: int = 2, **kw):
    starts = utcnow() - timedelta(days=days_ago, hours=3)
    return make.event(starts_at=starts, ends_at=starts + timedelta(hours=3), **kw)


def delegate(event, sector, *, attended: bool = True, name: str | None = None, status=None):
    """A booking written directly (past events cannot be booked) and its manage-link token."""
    k = next(_numbers)
    booking = Booking(
        event=event,
        sector=sector,
        lscb_id=default_lscb().id,
        reference=f"E{k:08d}",
        token_salt=f"salt-{k}",
        token_hash="",
        status=status or BookingStatus.confirmed,
        name=name or f"Delegate {k}",
        email=f"delegate{k}@example.org",
        email_key=f"delegate{k}@example.org",
        organisation="Barnet PCT",
        job_title="Named nurse",
        confirmed_at=event.starts_at - timedelta(days=10),
        attended_at=event.starts_at if attended else None,
    )
    token = manage_token(booking)
    booking.token_hash = hashlib.sha256(token.encode()).hexdigest()
    db.session.add(booking)
    db.session.commit()
    return booking, token
