"""The purge form: a date and a confirmation, since a purge cannot be undone."""

from __future__ import annotations

from wtforms import BooleanField, DateField
from wtforms.validators import DataRequired, InputRequired

from bookings.web.forms import Form


class PurgeForm(Form):
    before = DateField(
        "Purge bookings of events that ended before",
        validators=[InputRequired(message="Enter a date.")],
    )
    confirm = BooleanField(
        "I understand that names, e-mail addresses, organisations, job titles and needs are "
        "replaced for good",
        validators=[DataRequired(message="Tick the box to confirm.")],
    )
