"""Organiser forms for events, their programme, capacity, cancellation and messages.

Dates and times are typed as London wall-clock values; ``validate`` turns them into UTC
instants and refuses the hour London skips in spring.
"""

from __future__ import annotations

from datetime import date, datetime, time

from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from bookings.events.models import Event, EventKind, ProgrammeSlot, SlotKind
from bookings.london import NonexistentLocalTime, clock, format_date, london_datetime, to_london
from bookings.web.forms import SLUG_PATTERN, EditsSavedRecord, Form, blank, choices, text_field


def london_instant(field, day: date | None, at: time | None) -> datetime | None:
    """The UTC instant, or None with an error on ``field`` when London has no such time."""
    if day is None or at is None:
        return None
    try:
        return london_datetime(day, at)
    except NonexistentLocalTime:
        field.errors.append(
            f"{clock(at)} on {format_date(day)} does not exist in London: the clocks go "
            "forward that night. Choose another time."
        )
        return None


def _local_instant(field: DateTimeLocalField) -> datetime | None:
    if field.data is None:
        return None
    return london_instant(field, field.data.date(), field.data.time())


class EventForm(EditsSavedRecord, Form):
    title = text_field("Title", 200, required="Enter the event's title.")
    slug = StringField(
        "Web address name",
        filters=[blank],
        validators=[
            Optional(),
            Length(max=120, message="Please use at most 120 characters."),
            Regexp(SLUG_PATTERN, message="Use lower-case letters, digits and single hyphens."),
        ],
    )
    kind = SelectField(
        "Kind of event",
        choices=choices((kind.value, kind.label) for kind in EventKind),
        validators=[InputRequired()],
    )
    summary = text_field("Summary", 500)
    description = text_field("Description", 20_000, area=True)
    notes = text_field("Good to know", 300)
    start_date = DateField("Date", validators=[InputRequired(message="Enter the date.")])
    start_time = TimeField("Starts at", validators=[InputRequired(message="Enter the start time.")])
    end_date = DateField("Ends on another day", validators=[Optional()])
    end_time = TimeField("Ends at", validators=[InputRequired(message="Enter the end time.")])
    venue = SelectField("Venue", coerce=int)
    new_venue_name = text_field("Or a new venue: name", 200)
    new_venue_address = text_field("New venue: address", 500)
    new_venue_postcode = text_field("New venue: postcode", 12)
    capacity = IntegerField(
        "Places",
        validators=[
            InputRequired(message="Enter the number of places."),
            NumberRange(min=0, max=100_000, message="Enter a number from 0 to 100,000."),
        ],
    )
    booking_opens_at = DateTimeLocalField(
        "Booking opens", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    booking_closes_at = DateTimeLocalField(
        "Booking closes", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    series = text_field("Series", 200)
    host_network = SelectField("Hosted by", coerce=int)
    notify_delegates = BooleanField(
        "If the time or venue changes, e-mail the delegates the change with the new calendar file",
        default=True,
    )

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None

    def fill_from(self, event: Event) -> None:
        """Show a saved event's values on a GET, in London time."""
        start, end = to_london(event.starts_at), to_london(event.ends_at)
        for name in ("title", "slug", "summary", "description", "notes"):
            getattr(self, name).data = getattr(event, name)
        self.kind.data = event.kind.value
        self.series.data = event.series or ""
        self.start_date.data, self.start_time.data = start.date(), start.time()
        self.end_time.data = end.time()
        self.end_date.data = end.date() if end.date() != start.date() else None
        self.venue.data = event.venue_id or 0
        self.host_network.data = event.host_network_id or 0
        for field, value in (
            (self.booking_opens_at, event.booking_opens_at),
            (self.booking_closes_at, event.booking_closes_at),
        ):
            field.data = to_london(value).replace(tzinfo=None) if value else None
        self.version.data = str(event.version)

    def drop_capacity(self) -> None:
        """An edit leaves places alone: they change through ``CapacityForm``, whose rules move
        the waiting list and refuse going below the confirmed count."""
        del self.capacity

    def set_choices(self, venues: list[tuple[int, str]], networks: list[tuple[int, str]]) -> None:
        self.venue.choices = choices([(0, "No venue yet / new venue below"), *venues])
        self.host_network.choices = choices([(0, "None"), *networks])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not valid:
            return False
        self.starts_at = london_instant(self.start_time, self.start_date.data, self.start_time.data)
        end_day = self.end_date.data or self.start_date.data
        self.ends_at = london_instant(self.end_time, end_day, self.end_time.data)
        self.opens_at = _local_instant(self.booking_opens_at)
        self.closes_at = _local_instant(self.booking_closes_at)
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            self.end_time.errors.append("The event must end after it starts.")
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            self.booking_closes_at.errors.append("Booking must close after it opens.")
        if self.closes_at and self.ends_at and self.closes_at > self.ends_at:
            self.booking_closes_at.errors.append("Booking must close before the event ends.")
        if self.new_venue_name.data.strip() and self.venue.data:
            self.new_venue_name.errors.append("Choose a venue from the list or name a new one.")
        return not any(field.errors for field in self)


class CapacityForm(Form):
    capacity = IntegerField(
        "Places",
        validators=[
            InputRequired(message="Enter the number of places."),
            NumberRange(min=0, max=100_000, message="Enter a number from 0 to 100,000."),
        ],
    )


class CancelEventForm(Form):
    reason = TextAreaField(
        "Message to the delegates",
        validators=[
            DataRequired(message="Say why the event is cancelled; the delegates will read it."),
            Length(max=5000, message="Please use at most 5000 characters."),
        ],
    )
    confirm = BooleanField(
        "Yes, cancel this event and every booking",
        validators=[DataRequired(message="Tick the box to confirm.")],
    )


class DuplicateForm(Form):
    title = text_field("Title of the new event", 200, required="Enter the new event's title.")
    weeks = IntegerField(
        "Move the dates by (weeks)",
        default=52,
        validators=[
            InputRequired(message="Enter a whole number of weeks."),
            NumberRange(min=-520, max=520, message="Enter a number of weeks from -520 to 520."),
        ],
    )


class SlotForm(EditsSavedRecord, Form):
    day = DateField("Date", validators=[InputRequired(message="Enter the date.")])
    start_time = TimeField("Starts at", validators=[InputRequired(message="Enter the start time.")])
    end_time = TimeField("Ends at", validators=[Optional()])
    kind = SelectField(
        "Kind", choices=choices((kind.value, kind.value.title()) for kind in SlotKind)
    )
    title = text_field("Title", 300, required="Enter the session's title.")
    description = text_field("Description", 5000, area=True)
    room = text_field("Room", 120)
    capacity = IntegerField(
        "Places in this session",
        validators=[Optional(), NumberRange(min=1, max=100_000, message="Enter 1 or more.")],
    )
    speakers = TextAreaField(
        "Speakers",
        filters=[blank],
        validators=[Length(max=5000, message="Please use at most 5000 characters.")],
    )

    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def fill_from(self, slot: ProgrammeSlot) -> None:
        start = to_london(slot.starts_at)
        self.day.data, self.start_time.data = start.date(), start.time()
        self.end_time.data = to_london(slot.ends_at).time() if slot.ends_at else None
        self.kind.data = slot.kind.value
        for name in ("title", "description", "room", "capacity"):
            getattr(self, name).data = getattr(slot, name)
        self.speakers.data = "\n".join(
            f"{s.name}, {s.organisation}" if s.organisation else s.name for s in slot.speakers
        )
        self.version.data = str(slot.version)

    def validate(self, extra_validators=None) -> bool:
        """Validate, then turn the London times into instants. Whether the session fits its
        event and its room is the programme service's rule (``show_refusal``)."""
        if not super().validate(extra_validators):
            return False
        self.starts_at = london_instant(self.start_time, self.day.data, self.start_time.data)
        self.ends_at = london_instant(self.end_time, self.day.data, self.end_time.data)
        return not any(field.errors for field in self)

    def show_refusal(self, problems: list[tuple[str, str]]) -> None:
        """Put the service's reasons, given by ``SlotData`` field, next to the form's fields."""
        fields = {"starts_at": self.start_time, "ends_at": self.end_time, "room": self.room}
        for name, message in problems:
            field = fields.get(name)
            (field.errors if field else self.form_errors).append(message)

    def speaker_list(self) -> list[tuple[str, str]]:
        """One speaker a line, "Name, Organisation"; the organisation is what follows the
        first comma."""
        result = []
        for line in (self.speakers.data or "").splitlines():
            name, _, organisation = line.partition(",")
            if name.strip():
                result.append((name.strip()[:200], organisation.strip()[:200]))
        return result


AUDIENCES = {
    "confirmed": "Delegates with a confirmed place",
    "waitlisted": "Delegates on the waiting list",
    "both": "Everyone confirmed or on the waiting list",
    "attended": "Delegates who attended (checked in)",
    "did_not_attend": "Confirmed delegates who did not attend",
}


class MessageForm(Form):
    """The message, and on its check page the same fields hidden: every step re-validates
    them, so nothing the organiser has not seen is sent."""

    audience = RadioField("Send to", choices=choices(AUDIENCES.items()), default="confirmed")
    subject = text_field("Subject", 150, required="Enter a subject.")
    body = TextAreaField(
        "Message",
        validators=[
            DataRequired(message="Write the message."),
            Length(max=10_000, message="Please use at most 10,000 characters."),
        ],
    )
    # The audience's size the organiser was shown; the send is refused if it has changed.
    recipients = HiddenField()
    confirm = SubmitField("Send")
    change = SubmitField("Change the message")

    def offer(self, audiences: list[str]) -> None:
        """Only the audiences the event has now (who attended: once it has started)."""
        self.audience.choices = choices(
            (name, label) for name, label in AUDIENCES.items() if name in audiences
        )

    def confirmed_recipients(self) -> int | None:
        try:
            return int(self.recipients.data)
        except (TypeError, ValueError):
            return None
