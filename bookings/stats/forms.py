"""The filter form of the stats page and the recorded-figures form."""

from __future__ import annotations

from collections.abc import Sequence

from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from bookings.booking.models import Sector
from bookings.events.models import EventKind
from bookings.stats.models import FigureBasis
from bookings.stats.service import MEASURES, board_year_label
from bookings.web.forms import Form


class FilterForm(Form):
    """A GET form: its values live in the address, so a filtered page can be bookmarked."""

    class Meta:
        csrf = False

    measure = SelectField(
        "Show", choices=[SelectChoice(k, v) for k, v in MEASURES.items()], default="attended"
    )
    kind = SelectField(
        "Kind of event",
        choices=[
            SelectChoice("", "All kinds"),
            *(SelectChoice(k.value, k.label) for k in EventKind),
        ],
        default="",
    )
    board_year = SelectField(
        "Board's year (April to March)", choices=[SelectChoice("", "Any year")], default=""
    )
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
    series = SelectField("Series", choices=[SelectChoice("", "Any series")], default="")
    network = SelectField("Host network", choices=[SelectChoice("", "Any host")], default="")

    def set_choices(
        self, series: Sequence[str], networks: Sequence[tuple[int, str]], years: Sequence[int]
    ) -> None:
        self.series.choices = [
            SelectChoice("", "Any series"),
            *(SelectChoice(s, s) for s in series),
        ]
        self.network.choices = [
            SelectChoice("", "Any host"),
            *(SelectChoice(str(i), name) for i, name in networks),
        ]
        self.board_year.choices = [
            SelectChoice("", "Any year"),
            *(SelectChoice(str(y), board_year_label(y)) for y in years),
        ]

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date must be on or after the start date.")


class TakeUpFilterForm(FilterForm):
    """The same choice of events for the LSCBs' take-up, which has no measure to choose."""

    measure = None


class RecordedFiguresBase(Form):
    basis = RadioField(
        "The figures are",
        choices=[
            SelectChoice(FigureBasis.counts.value, "Numbers of delegates"),
            SelectChoice(FigureBasis.percentages.value, "Percentages of delegates"),
        ],
        default=FigureBasis.counts.value,
        validators=[InputRequired(message="Say whether the figures are numbers or percentages.")],
    )
    total = IntegerField(
        "Total who attended",
        validators=[Optional(), NumberRange(min=0, message="The total cannot be negative.")],
    )
    source = StringField(
        "Where the figures come from",
        validators=[
            DataRequired(message="Say where the figures come from, for example a report."),
            Length(max=300, message="Please use at most 300 characters."),
        ],
    )

    sector_field_names: list[tuple[Sector, str]]


def recorded_figures_form(sectors: Sequence[Sector], **kwargs) -> RecordedFiguresBase:
    """A form with one figure field per sector, named ``sector_<id>``."""

    class RecordedFiguresForm(RecordedFiguresBase):
        pass

    for sector in sectors:
        setattr(
            RecordedFiguresForm,
            f"sector_{sector.id}",
            DecimalField(
                sector.name,
                places=1,
                validators=[Optional(), NumberRange(min=0, message="Figures cannot be negative.")],
            ),
        )
    form = RecordedFiguresForm(**kwargs)
    form.sector_field_names = [(sector, f"sector_{sector.id}") for sector in sectors]
    return form
