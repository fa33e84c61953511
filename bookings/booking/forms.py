"""The delegate's booking form, the small forms of the manage page, and the console's forms:
booking by phone, the waiting-list override, the delegates' filter and the sector and LSCB
lists."""

from __future__ import annotations

from collections.abc import Sequence

from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, ValidationError

from bookings.booking.models import BookingStatus, Lscb, Sector
from bookings.booking.service import Choice, DelegateDetails, DelegateSort, Filters
from bookings.web.forms import Form, choices, text_field
from bookings.web.input import whole_number

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


class NeedsForm(Form):
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
    lscb = SelectField(
        "LSCB",
        coerce=int,
        validators=[InputRequired(message="Choose the LSCB you work with.")],
        validate_choice=True,
    )
    privacy = BooleanField(
        "I have read the privacy notice and agree to my details being used to run this event",
        validators=[DataRequired(message="Please agree to the privacy notice to book.")],
    )

    def set_sectors(self, sectors: Sequence[Sector | Choice]) -> None:
        self.sector.choices = [(-1, "Choose your sector")] + [(s.id, s.name) for s in sectors]

    def set_lscbs(self, lscbs: Sequence[Lscb | Choice]) -> None:
        self.lscb.choices = [(-1, "Choose your LSCB")] + [(b.id, b.name) for b in lscbs]

    def validate_sector(self, field: SelectField) -> None:
        if field.data == -1:
            raise ValidationError("Choose the sector you work in.")

    def validate_lscb(self, field: SelectField) -> None:
        if field.data == -1:
            raise ValidationError("Choose the LSCB you work with.")

    def details(self) -> DelegateDetails:
        return DelegateDetails(
            name=self.name.data,
            email=self.email.data,
            organisation=self.organisation.data,
            job_title=self.job_title.data,
            sector_id=self.sector.data,
            lscb_id=self.lscb.data,
            dietary_needs=self.dietary_needs.data or "",
            access_needs=self.access_needs.data or "",
        )


class LostLinkForm(Form):
    email = _email("E-mail address you booked with")


# ----------------------------------------------------------------------------- console


class OnBehalfForm(BookingForm):
    privacy = BooleanField(
        "The delegate has been told how their details are used (the privacy notice) and agrees",
        validators=[DataRequired(message="Confirm the delegate agrees to the privacy notice.")],
    )

    def set_sectors(self, sectors: list[Sector]) -> None:
        self.sector.choices = choices(
            [(-1, "Choose their sector")] + [(s.id, s.name) for s in sectors]
        )

    def set_lscbs(self, lscbs: list[Lscb]) -> None:
        self.lscb.choices = choices([(-1, "Choose their LSCB")] + [(b.id, b.name) for b in lscbs])


class OverrideForm(Form):
    reason = text_field(
        "Why this delegate gets a place ahead of the waiting list",
        250,
        required="Give the reason; it is kept in the audit log.",
        area=True,
    )
    confirm = BooleanField(
        "Yes, give a place now, adding one place if the event is full",
        validators=[DataRequired(message="Tick the box to confirm the override.")],
    )


# The status filter's choices; two are arrivals among the confirmed: (status, arrived).
STATUS_FILTERS = {
    "confirmed": (BookingStatus.confirmed, None),
    "not-arrived": (BookingStatus.confirmed, False),
    "arrived": (BookingStatus.confirmed, True),
    "waitlisted": (BookingStatus.waitlisted, None),
    "cancelled": (BookingStatus.cancelled, None),
}
STATUS_LABELS = {
    "": "Any status",
    "confirmed": "Confirmed",
    "not-arrived": "Confirmed, not yet arrived",
    "arrived": "Confirmed and arrived",
    "waitlisted": "On the waiting list",
    "cancelled": "Cancelled",
}


class FilterForm(Form):
    """The delegates list's search, filters, order and page, read from the query string (a
    GET: no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField("Search name, e-mail, organisation or reference")
    status = SelectField("Status", choices=choices(STATUS_LABELS.items()))
    sector = SelectField("Sector", coerce=str)
    # The order travels with a new search, so searching keeps the list sorted as it was.
    sort = HiddenField()
    dir = HiddenField()

    def filters(self) -> Filters:
        """What to show; an unknown status, sector or order in a hand-edited URL shows
        everyone, in the usual order."""
        status, arrived = STATUS_FILTERS.get(self.status.data or "", (None, None))
        sort = self.sort.data or ""
        return Filters(
            q=(self.q.data or "")[:100],
            status=status,
            sector_id=whole_number(self.sector.data or ""),
            arrived=arrived,
            sort=DelegateSort(sort) if sort in DelegateSort.__members__ else DelegateSort.status,
            descending=self.dir.data == "desc",
        )

    def args(self) -> dict[str, str]:
        """The search, filters and order as query arguments, for links that keep them (the
        page links, the sort links, the CSV, the way back from a confirmation)."""
        return {
            name: self[name].data
            for name in ("q", "status", "sector", "sort", "dir")
            if self[name].data
        }

    def set_sectors(self, sectors: list[Sector]) -> None:
        self.sector.choices = choices(
            [("", "Any sector")]
            + [(str(s.id), s.name + (" (retired)" if s.retired else "")) for s in sectors]
        )


class SectorForm(Form):
    name = text_field("Sector name", 100, required="Enter the sector's name.")


class LscbForm(Form):
    name = text_field("LSCB name", 100, required="Enter the LSCB's name.")
