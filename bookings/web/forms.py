"""Form pieces every feature's forms use: the base class ``Form``, one family of text fields,
choices, the CSRF-only button form, the "re-show the form with 422" rule and the saved-record
version field."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from wtforms import (
    DecimalField,
    Field,
    FloatField,
    HiddenField,
    IntegerField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, StopValidation

from bookings.web.input import DATE_RANGE_MESSAGE, FIRST_DATE, ID_MAX, LAST_DATE, refusal

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


def blank(value: str | None) -> str:
    """Missing text is empty text, never None."""
    return value or ""


def choices(pairs: Iterable[tuple[Any, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def text_field(
    label: str, maximum: int, *, required: str = "", area: bool = False
) -> StringField | TextAreaField:
    """A text input (or textarea): ``required`` is the message shown when it is left empty;
    without it the field is optional."""
    validators = [
        DataRequired(message=required) if required else Optional(),
        Length(max=maximum, message=f"Please use at most {maximum} characters."),
    ]
    return (TextAreaField if area else StringField)(label, validators=validators, filters=[blank])


NUMBER_MESSAGE = "Enter a number."
NUMBER_RANGE_MESSAGE = f"Enter a number from -{ID_MAX:,} to {ID_MAX:,}."


def _finite(value: float | Decimal) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def _refusal(field: Field) -> str | None:
    multi_line = isinstance(field, TextAreaField)
    for typed in field.raw_data or ():
        if isinstance(typed, str) and (message := refusal(typed, multi_line=multi_line)):
            return message
    value = field.data
    if value is None:
        return None
    if isinstance(field, IntegerField | DecimalField | FloatField):
        if not _finite(value):
            return NUMBER_MESSAGE
        return NUMBER_RANGE_MESSAGE if abs(value) > ID_MAX else None
    if isinstance(value, date):
        day = value.date() if isinstance(value, datetime) else value
        return None if FIRST_DATE <= day <= LAST_DATE else DATE_RANGE_MESSAGE
    return None


def storable(_form: FlaskForm, field: Field) -> None:
    """The edge check every field of every form runs first: refuse what was typed when neither
    database can keep it (``bookings.web.input.refusal``; line breaks only in a textarea),
    numbers beyond the database's integers, ``NaN`` and infinities, and dates the app cannot
    turn into London times. It stops the field's other checks, which may query the database
    with the value, replaces their messages, and drops the value, so that a view re-showing
    the form (a preview, a typed name shown back) never uses it."""
    message = _refusal(field)
    if message is not None:
        field.errors.clear()
        field.data = "" if isinstance(field, StringField) else None
        raise StopValidation(message)


class Form(FlaskForm):
    """The base class of every form in the project, instead of ``FlaskForm``: each field checks
    ``storable`` before its own validators, so bad input shows as the usual field error and
    never reaches the database."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self:
            field.validators = [storable, *field.validators]


class ButtonForm(Form):
    """A CSRF-protected button: the form behind every one-click POST."""


class EditsSavedRecord:
    """Mixin for a form that edits a saved record: the record's ``version`` when the form was
    opened travels in a hidden field, so a save made meanwhile refuses this one
    (``bookings.db.saved_unless_stale``)."""

    version = HiddenField()

    def opened_version(self) -> int:
        """The version the form was opened at; 0, always stale, when missing or mangled."""
        try:
            return int(self.version.data or 0)
        except ValueError:
            return 0


def form_status(*forms: Form) -> int:
    """422 for a POST whose form came back with errors, so a refusal is never a 200."""
    failed = any(form.errors or form.form_errors for form in forms)
    return 422 if request.method == "POST" and failed else 200
