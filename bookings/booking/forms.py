"""The delegate's booking form and the small forms of the manage page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, ValidationError

from bookings.booking.models import Sector
from bookings.booking.service import DelegateDetails

NEEDS_MAX = 1000


def _text(label: str, maximum: int, *, required: bool = True, message: str = "") -> StringField:
    validators = [Length(max=maximum, message=f"Please use at most {maximum} characters.")]
    if required:
        validators.insert(0, DataRequired(message=message or f"Enter your {label.lower()}."))
    return StringField(label, validators=validators)


def _email(label: str) -> EmailField:
    return EmailField(
        label,
        validators=[
            DataRequired(message="Enter your e-mail address."),
            Length(max=254, message="Please use at most 254 characters."),
            Email(
                message="Enter an e-mail address like name@example.org.", check_deliverability=False
            ),
        ],
    )


def _needs(label: str) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[Length(max=NEEDS_MAX, message=f"Please use at most {NEEDS_MAX} characters.")],
    )


class NeedsForm(FlaskForm):
    dietary_needs = _needs("Dietary needs")
    access_needs = _needs("Access needs")


class BookingForm(NeedsForm):
    name = _text("Full name", 120, message="Enter your full name.")
    email = _email("E-mail address")
    organisation = _text("Organisation", 200)
    job_title = _text("Job title", 200)
    sector = SelectField(
        "Sector",
        coerce=int,
        validators=[InputRequired(message="Choose the sector you work in.")],
        validate_choice=True,
    )
    privacy = BooleanField(
        "I have read the privacy notice and agree to my details being used to run this event",
        validators=[DataRequired(message="Please agree to the privacy notice to book.")],
    )

    def set_sectors(self, sectors: list[Sector]) -> None:
        self.sector.choices = [(-1, "Choose your sector")] + [(s.id, s.name) for s in sectors]

    def validate_sector(self, field: SelectField) -> None:
        if field.data == -1:
            raise ValidationError("Choose the sector you work in.")

    def details(self) -> DelegateDetails:
        return DelegateDetails(
            name=self.name.data,
            email=self.email.data,
            organisation=self.organisation.data,
            job_title=self.job_title.data,
            sector_id=self.sector.data,
            dietary_needs=self.dietary_needs.data or "",
            access_needs=self.access_needs.data or "",
        )


class LostLinkForm(FlaskForm):
    email = _email("E-mail address you booked with")


class ConfirmForm(FlaskForm):
    """A CSRF-protected button: cancel a booking, re-send a link."""
