"""The console's forms for papers: add (a link or a file) and edit."""

from __future__ import annotations

from datetime import datetime

from flask_wtf.file import FileField
from wtforms import DateTimeLocalField, RadioField
from wtforms.validators import InputRequired, Optional

from bookings.events.forms import london_instant
from bookings.london import to_london
from bookings.papers.models import Audience, Paper
from bookings.papers.service import KINDS_TEXT, PaperData, PaperRefused, checked_url
from bookings.web.forms import Form, choices, text_field


def _audience_choices(for_meeting: bool) -> list:
    return choices(
        (a.value, a.label) for a in Audience if not (for_meeting and a == Audience.delegates)
    )


class PaperForm(Form):
    title = text_field("Title", 200, required="Enter the title delegates will see.")
    url = text_field("Web address (a link to the paper)", 1000)
    audience = RadioField(
        "Who may see it",
        choices=_audience_choices(False),
        default=Audience.everyone.value,
        validators=[InputRequired(message="Choose who may see it.")],
    )
    embargo_until = DateTimeLocalField(
        "Not before (London time)", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )

    embargo: datetime | None = None

    def for_meeting(self) -> None:
        self.audience.choices = _audience_choices(True)

    def fill_from(self, paper: Paper) -> None:
        self.title.data = paper.title
        self.url.data = paper.url
        self.audience.data = paper.audience.value
        if paper.embargo_until:
            self.embargo_until.data = to_london(paper.embargo_until).replace(tzinfo=None)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.embargo_until.data is not None:
            self.embargo = london_instant(
                self.embargo_until, self.embargo_until.data.date(), self.embargo_until.data.time()
            )
        if self.url.data:
            try:
                checked_url(self.url.data)
            except PaperRefused as refusal:
                self.url.errors.append(str(refusal))
        return valid and not self.url.errors and not self.embargo_until.errors

    def data_for_service(self) -> PaperData:
        return PaperData(
            title=self.title.data or "",
            audience=Audience(self.audience.data),
            embargo_until=self.embargo,
            url=self.url.data or "",
        )


class NewPaperForm(PaperForm):
    upload = FileField("Or a file")
    hint = f"{KINDS_TEXT}, at most 20 MB."

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        has_file = bool(self.upload.data and getattr(self.upload.data, "filename", ""))
        if has_file and self.url.data:
            self.upload.errors.append("Give a web address or a file, not both.")
        elif not has_file and not self.url.data:
            self.url.errors.append("Give a web address or choose a file.")
        return valid and not self.upload.errors and not self.url.errors
