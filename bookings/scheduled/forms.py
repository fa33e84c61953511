"""The console form for one scheduled message of an event."""

from __future__ import annotations

from wtforms import BooleanField, IntegerField, SubmitField, TimeField
from wtforms.validators import InputRequired, NumberRange

from bookings.scheduled.models import MOST_DAYS_AFTER, MOST_DAYS_BEFORE, ScheduledKind, Setting
from bookings.web.forms import Form, text_field


class ScheduledForm(Form):
    enabled = BooleanField("Send this message")
    days = IntegerField("Days", validators=[InputRequired(message="Enter a number of days.")])
    at = TimeField(
        "Time of day (London time)",
        validators=[InputRequired(message="Enter a time, such as 09:00.")],
    )
    subject = text_field("Subject", 150, required="Enter a subject.")
    intro = text_field("Opening words", 5_000, area=True)
    briefing = text_field("Briefing for delegates", 10_000, area=True)
    preview = SubmitField("Preview")
    save = SubmitField("Save")

    def shape(self, kind: ScheduledKind) -> None:
        """The day range and wording of the kind; only joining instructions have a briefing."""
        if kind.before:
            low, high = (1, MOST_DAYS_BEFORE) if kind == ScheduledKind.joining else (1, 7)
            self.days.label.text = "Days before the event"
        else:
            low, high = 0, MOST_DAYS_AFTER
            self.days.label.text = "Days after the event"
        self.days.validators = [
            *self.days.validators,
            NumberRange(low, high, message=f"Enter a number from {low} to {high}."),
        ]
        if kind != ScheduledKind.joining:
            del self.briefing

    def fill_from(self, setting: Setting) -> None:
        self.enabled.data = setting.enabled
        self.days.data = setting.days
        self.at.data = setting.at
        self.subject.data = setting.subject
        self.intro.data = setting.intro
        if "briefing" in self:
            self.briefing.data = setting.briefing
