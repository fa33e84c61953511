"""The delegate's booking form, the small forms of the manage page, and the console's forms:
booking by phone, the waiting-list override, the delegates' filter, the sector and LSCB
lists, and the places held for LSCBs and sectors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time

from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NoneOf,
    NumberRange,
    Optional,
)

from bookings.booking.models import BookingStatus, Lscb, Sector, SectorLimit
from bookings.booking.service import (
    MAX_TEAM,
    DelegateDetails,
    DelegateSort,
    Entry,
    Filters,
    LimitInput,
    TeamMode,
)
from bookings.events.forms import london_instant
from bookings.london import to_london
from bookings.web.forms import Form, choices, text_field
from bookings.web.input import whole_number

NEEDS_MAX = 1000


def _text(label: str, maximum: int, *, required: bool = True, message: str = "") -> StringField:
    validators = [Length(max=maximum, message=f"Please use at most {maximum} characters.")]
    if required:
        validators.insert(0, DataRequired(message=message or f"Enter your {label.lower()}."))
    return StringField(label, validators=validators)


def _email(label: str, message: str = "Enter your e-mail address.") -> EmailField:
    return EmailField(
        label,
        validators=[
            DataRequired(message=message),
            Length(max=254, message="Please use at most 254 characters."),
            Email(
                message="Enter an e-mail address like name@example.org.", check_deliverability=False
            ),
        ],
    )


# The "Choose …" entry a list starts with, so that nothing is chosen for the delegate.
UNCHOSEN = -1


def _listed(label: str, message: str) -> SelectField:
    """A required choice from a reference list (sectors, LSCBs), its prompt refused."""
    return SelectField(
        label,
        coerce=int,
        validators=[InputRequired(message=message), NoneOf([UNCHOSEN], message=message)],
        validate_choice=True,
    )


def _details(form: Form, lscb_id: int) -> DelegateDetails:
    """A delegate's details from any form with the delegate's fields (own, link, colleague)."""
    return DelegateDetails(
        name=form.name.data,
        email=form.email.data,
        organisation=form.organisation.data,
        job_title=form.job_title.data,
        sector_id=form.sector.data,
        lscb_id=lscb_id,
        dietary_needs=form.dietary_needs.data or "",
        access_needs=form.access_needs.data or "",
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
    sector = _listed("Sector", "Choose the sector you work in.")
    lscb = _listed("LSCB", "Choose the LSCB you work with.")
    privacy = BooleanField(
        "I have read the privacy notice and agree to my details being used to run this event",
        validators=[DataRequired(message="Please agree to the privacy notice to book.")],
    )

    def set_sectors(self, sectors: Sequence[Sector | Entry]) -> None:
        self.sector.choices = [(UNCHOSEN, "Choose your sector")] + [(s.id, s.name) for s in sectors]

    def set_lscbs(self, lscbs: Sequence[Lscb | Entry]) -> None:
        self.lscb.choices = [(UNCHOSEN, "Choose your LSCB")] + [(b.id, b.name) for b in lscbs]

    def details(self) -> DelegateDetails:
        return _details(self, self.lscb.data)


class LinkBookingForm(BookingForm):
    """The booking form of an LSCB's own link: the link says the LSCB."""

    lscb = None

    def details_for(self, lscb_id: int) -> DelegateDetails:
        return _details(self, lscb_id)


# ----------------------------------------------------------------------------- team booking

# Rows a new team form starts with; "Add another colleague" posts back with one more.
TEAM_START_ROWS = 2


class ColleagueForm(Form):
    """One colleague's row of the team form (a fieldset): their own details, as on the
    delegate's form but worded for someone booking for them."""

    class Meta:
        csrf = False

    name = _text("Full name", 120, message="Enter their full name.")
    email = _email("E-mail address", "Enter their e-mail address.")
    organisation = _text("Organisation", 200, message="Enter their organisation.")
    job_title = _text("Job title", 200, message="Enter their job title.")
    sector = _listed("Sector", "Choose the sector they work in.")
    lscb = _listed("LSCB", "Choose the LSCB they work with.")
    dietary_needs = _needs("Dietary needs")
    access_needs = _needs("Access needs")

    def is_blank(self) -> bool:
        """Nothing typed or chosen: a spare row, left out of the booking."""
        typed = (self.name, self.email, self.organisation, self.job_title)
        needs = (self.dietary_needs, self.access_needs)
        return (
            not any((f.data or "").strip() for f in (*typed, *needs))
            and self.sector.data in (None, UNCHOSEN)
            and self.lscb.data in (None, UNCHOSEN)
        )

    def details(self) -> DelegateDetails:
        return _details(self, self.lscb.data)


MODE_LABELS = {
    TeamMode.fit: "Confirm those that fit, in the order given here, and put the rest on the "
    "waiting list",
    TeamMode.waitlist: "Put the whole team on the waiting list, so that you all come or none of "
    "you does",
}


class TeamForm(Form):
    """A booker's form for several colleagues: about the booker, then one row per colleague
    (at most ``MAX_TEAM``), what to do when there are too few places, and the privacy notice."""

    booker_name = _text("Your full name", 120, message="Enter your full name.")
    booker_email = _email("Your e-mail address")
    colleagues = FieldList(FormField(ColleagueForm), min_entries=1, max_entries=MAX_TEAM)
    mode = RadioField(
        "If fewer places are left than people in your team",
        choices=choices(MODE_LABELS.items()),
        validators=[InputRequired(message="Choose what happens if there are too few places.")],
    )
    privacy = BooleanField(
        "My colleagues know I am booking for them and how their details are used (the "
        "privacy notice)",
        validators=[DataRequired(message="Confirm your colleagues agree to the privacy notice.")],
    )

    def set_choices(self, sectors: list[Sector], lscbs: list[Lscb]) -> None:
        """The lists each row offers; call again after adding a row."""
        self._lists = (sectors, lscbs)
        for entry in self.colleagues:
            entry.sector.choices = [(UNCHOSEN, "Choose their sector")] + [
                (s.id, s.name) for s in sectors
            ]
            entry.lscb.choices = [(UNCHOSEN, "Choose their LSCB")] + [(b.id, b.name) for b in lscbs]

    def add_row(self) -> bool:
        """One more blank row; False when the team is at its largest."""
        if len(self.colleagues) >= MAX_TEAM:
            return False
        self.colleagues.append_entry()
        self.set_choices(*self._lists)
        return True

    def remove_row(self, index: int) -> None:
        if 0 <= index < len(self.colleagues.entries) and len(self.colleagues.entries) > 1:
            del self.colleagues.entries[index]

    def validate(self, extra_validators=None) -> bool:
        """Spare blank rows are dropped first; at least one colleague must remain."""
        filled = [e for e in self.colleagues.entries if not e.form.is_blank()]
        self.colleagues.entries = filled or self.colleagues.entries[:1]
        return super().validate(extra_validators)

    def members(self) -> list[DelegateDetails]:
        return [entry.form.details() for entry in self.colleagues]

    def attach_problems(self, problems) -> None:
        """Show each refused colleague's reason beside their e-mail address."""
        for problem in problems:
            field = self.colleagues.entries[problem.index].form.email
            field.errors = [*field.errors, problem.message]


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
            [(UNCHOSEN, "Choose their sector")] + [(s.id, s.name) for s in sectors]
        )

    def set_lscbs(self, lscbs: list[Lscb]) -> None:
        self.lscb.choices = choices(
            [(UNCHOSEN, "Choose their LSCB")] + [(b.id, b.name) for b in lscbs]
        )


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


# ----------------------------------------------------------------------------- held places


def _places_field(label: str) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            InputRequired(message="Enter a number of places, 0 or more."),
            NumberRange(min=0, max=9999, message="Enter a number of places from 0 to 9999."),
        ],
    )


def _london_instant(form: Form, day: DateField, at: TimeField) -> datetime | None:
    """The UTC instant of a London date and time typed in two fields; a date alone means
    its midnight's start."""
    if day.data is None:
        if at.data is not None:
            day.errors.append("Enter the date as well as the time.")
        return None
    return london_instant(day, day.data, at.data or time(0, 0))


class AllocateForm(Form):
    """One form for "N places for every London LSCB", with the release time."""

    places = _places_field("Places for every London LSCB")
    release_date = DateField("Release unclaimed places on", validators=[Optional()])
    release_time = TimeField("at (London time)", validators=[Optional()])

    def release_at(self) -> datetime | None:
        return _london_instant(self, self.release_date, self.release_time)


class AllocationForm(Form):
    """One LSCB's reserved places (0 holds none; its link and take-up stay)."""

    lscb = _listed("LSCB", "Choose an LSCB.")
    reserved = _places_field("Places held")

    def set_lscbs(self, lscbs: list[Lscb]) -> None:
        self.lscb.choices = choices(
            [(UNCHOSEN, "Choose an LSCB")] + [(b.id, b.name) for b in lscbs]
        )


def _percent(label: str) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            Optional(),
            NumberRange(min=0, max=100, message="Enter a percentage from 0 to 100."),
        ],
    )


class SectorLimitsForm(Form):
    """Every sector's floor, cap and floor date: fields named ``min_<id>``, ``max_<id>``,
    ``until_<id>`` and ``until_time_<id>``, made for the sector list (``for_sectors``)."""

    sectors: list[Sector] = []

    @classmethod
    def for_sectors(cls, sectors: list[Sector], **kwargs) -> SectorLimitsForm:
        fields = {"sectors": sectors}
        for sector in sectors:
            fields[f"min_{sector.id}"] = _percent(f"{sector.name}: at least (%)")
            fields[f"max_{sector.id}"] = _percent(f"{sector.name}: at most (%)")
            fields[f"until_{sector.id}"] = DateField(
                f"{sector.name}: hold the floor until", validators=[Optional()]
            )
            fields[f"until_time_{sector.id}"] = TimeField(
                f"{sector.name}: until (London time)", validators=[Optional()]
            )
        return type("SectorLimitsFormFor", (cls,), fields)(**kwargs)

    def fill(self, limits: list[SectorLimit]) -> None:
        for limit in limits:
            if f"min_{limit.sector_id}" not in self:
                continue
            self[f"min_{limit.sector_id}"].data = limit.min_percent
            self[f"max_{limit.sector_id}"].data = limit.max_percent
            if limit.until is not None:
                local = to_london(limit.until)
                self[f"until_{limit.sector_id}"].data = local.date()
                self[f"until_time_{limit.sector_id}"].data = local.time()

    def rows(self) -> list[LimitInput]:
        return [
            LimitInput(
                sector_id=sector.id,
                min_percent=self[f"min_{sector.id}"].data,
                max_percent=self[f"max_{sector.id}"].data,
                until=_london_instant(
                    self, self[f"until_{sector.id}"], self[f"until_time_{sector.id}"]
                ),
            )
            for sector in self.sectors
        ]
