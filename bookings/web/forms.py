"""Form pieces every feature's forms use: one family of text fields, choices, the CSRF-only
button form, the "re-show the form with 422" rule and the saved-record version field."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

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


class ButtonForm(FlaskForm):
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


def form_status(*forms: FlaskForm) -> int:
    """422 for a POST whose form came back with errors, so a refusal is never a 200."""
    failed = any(form.errors or form.form_errors for form in forms)
    return 422 if request.method == "POST" and failed else 200
