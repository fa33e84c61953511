"""The organisers' certificate settings and name correction; the delegate's name choice."""

from __future__ import annotations

from decimal import Decimal

from wtforms import BooleanField, DecimalField
from wtforms.validators import NumberRange, Optional

from bookings.web.forms import Form, text_field


class SettingsForm(Form):
    hours = DecimalField(
        "Hours of learning",
        places=2,
        validators=[
            Optional(),
            NumberRange(min=Decimal("0.25"), max=100, message="Enter from 0.25 to 100 hours."),
        ],
    )
    level = text_field("Competence level", 60)
    after_evaluation = BooleanField("Only after the delegate has given feedback")

    def minutes(self) -> int | None:
        return None if self.hours.data is None else round(self.hours.data * 60)


class NameForm(Form):
    name = text_field("Name on the certificate", 120, required="Enter the delegate's name.")


class ShowNameForm(Form):
    show_name = BooleanField("Show my name on the public verification page")
