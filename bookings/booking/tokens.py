"""The secrets of links: derived from a stored salt, so they can be derived again.

Its own module so that the service (which issues links) and the notifications (which put them
into e-mails when they are sent) share it without importing each other.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode

from flask import current_app

from bookings.booking.models import Allocation, Booking, BookingGroup


def _token(purpose: bytes, salt: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, purpose + salt.encode(), hashlib.sha256).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode()


def manage_token(booking: Booking) -> str:
    return _token(b"manage-link:", booking.token_salt)


def team_token(group: BookingGroup) -> str:
    """The team page's secret, under its own purpose so it never opens a booking."""
    return _token(b"team-link:", group.token_salt)


def allocation_token(allocation: Allocation) -> str:
    """The secret of an LSCB's booking link for one event, under its own purpose, so neither
    secret can stand for another."""
    return _token(b"lscb-link:", allocation.token_salt)
