"""The "tell me when booking opens" form: an address only."""

from __future__ import annotations

from bookings.booking.forms import LostLinkForm


class TellMeForm(LostLinkForm):
    """Checked as every delegate's address is."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, prefix="tell", **kwargs)
        self.email.label.text = "Your e-mail address"
