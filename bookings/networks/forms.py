"""Organiser forms for networks and their meetings."""

from __future__ import annotations

from datetime import datetime, time

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

from bookings.london import to_london
from bookings.networks.models import Meeting, MeetingStatus
from bookings.networks.service import NETWORK_FIELDS, MeetingData
from bookings.web.forms import SLUG_PATTERN, EditsSavedRecord, Form, blank, choices, text_field

STATUS_CHOICES = [
    (MeetingStatus.confirmed.value, "Confirmed"),
    (MeetingStatus.provisional.value, "Provisional"),
    (MeetingStatus.tbc.value, "To be confirmed (tbc)"),
    (MeetingStatus.cancelled.value, "Cancelled"),
]


class NetworkForm(EditsSavedRecord, Form):
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


class MeetingForm(EditsSavedRecord, Form):
    day = DateField("Date", validators=[Optional()])
    start_time = TimeField("Starts at", validators=[Optional()])
    end_time = TimeField("Ends at", validators=[Optional()])
    status = SelectField("Status", choices=choices(STATUS_CHOICES), default="confirmed")
    location = text_field("Place", 300)
    note = text_field("Note", 300)

    def fill_from(self, meeting: Meeting) -> None:
        """Show a saved meeting on a GET, its times on the London clock."""
        self.process(obj=meeting)
        self.status.data = meeting.status.value
        self.start_time.data = _london_time(meeting.starts_at)
        self.end_time.data = _london_time(meeting.ends_at)

    def meeting_data(self) -> MeetingData:
        return MeetingData(
            day=self.day.data,
            start=self.start_time.data,
            end=self.end_time.data,
            status=MeetingStatus(self.status.data),
            location=self.location.data or "",
            note=self.note.data or "",
        )


class PasteMeetingsForm(Form):
    """Shown on the network's page beside MeetingForm: its ids start "paste-" so that no two
    fields share one (the names, which the server reads, stay as they are)."""

    lines = TextAreaField(
        "Meeting dates, one a line",
        id="paste-lines",
        validators=[
            DataRequired(message="Paste at least one date."),
            Length(max=5000, message="Please use at most 5000 characters."),
        ],
    )
    start_time = TimeField("Usual start time", id="paste-start_time", validators=[Optional()])
    end_time = TimeField("Usual end time", id="paste-end_time", validators=[Optional()])
    location = StringField(
        "Usual place",
        id="paste-location",
        validators=[Optional(), Length(max=300, message="Please use at most 300 characters.")],
        filters=[blank],
    )


def _london_time(value: datetime | None) -> time | None:
    return to_london(value).time().replace(tzinfo=None) if value else None
