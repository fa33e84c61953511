"""Organiser forms for networks and their meetings."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import URL, DataRequired, Email, Length, Optional, Regexp

from bookings.networks.manage_service import NETWORK_FIELDS
from bookings.networks.models import MeetingStatus
from bookings.web.forms import SLUG_PATTERN, EditsSavedRecord, choices, text_field

STATUS_CHOICES = [
    (MeetingStatus.confirmed.value, "Confirmed"),
    (MeetingStatus.provisional.value, "Provisional"),
    (MeetingStatus.tbc.value, "To be confirmed (tbc)"),
    (MeetingStatus.cancelled.value, "Cancelled"),
]


class NetworkForm(EditsSavedRecord, FlaskForm):
    name = text_field("Name", 200, required="Enter the network's name.")
    slug = StringField(
        "Web address name",
        validators=[
            DataRequired(message="Enter a web address name, e.g. lscb-chairs."),
            Length(max=120, message="Please use at most 120 characters."),
            Regexp(SLUG_PATTERN, message="Use lower-case letters, digits and single hyphens."),
        ],
    )
    chair = text_field("Chair", 200)
    chair_organisation = text_field("Chair's organisation", 200)
    contact_name = text_field("Contact name", 200)
    contact_email = EmailField(
        "Contact e-mail",
        validators=[
            Optional(),
            Length(max=254, message="Please use at most 254 characters."),
            Email(message="Enter an address like name@example.org.", check_deliverability=False),
        ],
    )
    remit = text_field("Remit", 10_000, area=True)
    membership = text_field("Membership", 10_000, area=True)
    papers_url = URLField(
        "Papers link",
        validators=[
            Optional(),
            Length(max=500, message="Please use at most 500 characters."),
            URL(message="Enter a full web address starting https://"),
        ],
    )
    default_location = text_field("Usual meeting place", 300)

    def values(self) -> dict[str, str]:
        return {name: (getattr(self, name).data or "") for name in NETWORK_FIELDS}


class MeetingForm(EditsSavedRecord, FlaskForm):
    day = DateField("Date", validators=[Optional()])
    start_time = TimeField("Starts at", validators=[Optional()])
    end_time = TimeField("Ends at", validators=[Optional()])
    status = SelectField("Status", choices=choices(STATUS_CHOICES), default="confirmed")
    location = text_field("Place", 300)
    note = text_field("Note", 300)


class PasteMeetingsForm(FlaskForm):
    lines = TextAreaField(
        "Meeting dates, one a line",
        validators=[
            DataRequired(message="Paste at least one date."),
            Length(max=5000, message="Please use at most 5000 characters."),
        ],
    )
    start_time = TimeField("Usual start time", validators=[Optional()])
    end_time = TimeField("Usual end time", validators=[Optional()])
    location = text_field("Usual place", 300)
