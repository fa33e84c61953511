"""The sign-in and password-reset forms, and the admins' forms for organiser accounts."""

from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from bookings.accounts.models import Role
from bookings.accounts.service import MIN_PASSWORD_LENGTH
from bookings.web.forms import Form, choices, text_field

ROLE_CHOICES = [(Role.organiser.value, "Organiser"), (Role.admin.value, "Admin")]

PASSWORD_LENGTH = Length(
    min=MIN_PASSWORD_LENGTH,
    max=200,
    message=f"Use at least {MIN_PASSWORD_LENGTH} characters.",
)


class LoginForm(Form):
    email = EmailField("E-mail address", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class ForgotPasswordForm(Form):
    email = EmailField(
        "E-mail address",
        validators=[
            DataRequired(message="Enter the e-mail address you log in with."),
            Email(message="Enter an address like name@example.org.", check_deliverability=False),
            Length(max=254, message="Please use at most 254 characters."),
        ],
        render_kw={"autocomplete": "username"},
    )


class NewPasswordForm(Form):
    password = PasswordField(
        "New password",
        validators=[DataRequired(message="Enter a new password."), PASSWORD_LENGTH],
        render_kw={"autocomplete": "new-password"},
    )
    repeat = PasswordField(
        "The new password again",
        validators=[
            DataRequired(message="Enter the new password again."),
            EqualTo("password", message="The two passwords are not the same."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class OrganiserForm(Form):
    """A new account; the admin hands its first password over in person."""

    email = EmailField(
        "E-mail address",
        validators=[
            DataRequired(message="Enter the organiser's e-mail address."),
            Email(message="Enter an address like name@example.org.", check_deliverability=False),
            Length(max=254, message="Please use at most 254 characters."),
        ],
    )
    name = text_field("Name", 120)
    role = SelectField("Role", choices=choices(ROLE_CHOICES), default="organiser")
    password = PasswordField(
        "First password",
        validators=[DataRequired(message="Enter a first password."), PASSWORD_LENGTH],
    )


class AccountForm(Form):
    role = SelectField("Role", choices=choices(ROLE_CHOICES))
    active = BooleanField("Can log in")


class DetailsForm(Form):
    """One account's name and, only when filled in, a new first password. Built with
    ``details_prefix`` so each account's row on the page has field ids of its own."""

    name = text_field("Name", 120)
    password = PasswordField(
        "New first password",
        validators=[Optional(), PASSWORD_LENGTH],
        # Browsers must not fill in the admin's own saved password here.
        render_kw={"autocomplete": "new-password"},
    )


def details_prefix(user_id: int) -> str:
    return f"account-{user_id}"
