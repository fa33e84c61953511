"""The manage link's secret: derived from the booking's salt, so it can be derived again.

Its own module so that the service (which issues links) and the notifications (which put them
into e-mails when they are sent) share it without importing each other.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode

from flask import current_app

from bookings.booking.models import Booking


def manage_token(booking: Booking) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, b"manage-link:" + booking.token_salt.encode(), hashlib.sha256).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode()
