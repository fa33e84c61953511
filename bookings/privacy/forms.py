"""The purge form: a date and a confirmation, since a purge cannot be undone."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField
from wtforms.validators import DataRequired, InputRequired


class PurgeForm(FlaskForm):
    before = DateField(
        "Purge bookings of events that ended before",
        validators=[InputRequired(message="Enter a date.")],
    )
    confirm = BooleanField(
        "I understand that names, e-mail addresses, organisations, job titles and needs are "
        "replaced for good",
        validators=[DataRequired(message="Tick the box to confirm.")],
    )
