"""The form that asks for the "my bookings" link."""

from __future__ import annotations

from bookings.booking.forms import LostLinkForm


class MyBookingsForm(LostLinkForm):
    """The address only, checked as the lost-link form checks it."""
