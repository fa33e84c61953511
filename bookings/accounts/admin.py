"""Admins' pages (/manage/admin): organiser accounts and the audit log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from bookings.accounts import service as accounts
from bookings.accounts.models import Role
from bookings.web.console import guard
from bookings.web.forms import choices

bp = Blueprint("accounts_manage", __name__, url_prefix="/manage/admin")
guard(bp, Role.admin)

ROLE_CHOICES = [(Role.organiser.value, "Organiser"), (Role.admin.value, "Admin")]


PASSWORD_LENGTH = Length(
    min=accounts.MIN_PASSWORD_LENGTH,
    max=200,
    message=f"Use at least {accounts.MIN_PASSWORD_LENGTH} characters.",
)


class OrganiserForm(FlaskForm):
    email = EmailField(
        "E-mail address",
        validators=[
            DataRequired(message="Enter the organiser's e-mail address."),
            Email(message="Enter an address like name@example.org.", check_deliverability=False),
            Length(max=254, message="Please use at most 254 characters."),
        ],
    )
    name = StringField("Name", validators=[Length(max=120)])
    role = SelectField("Role", choices=choices(ROLE_CHOICES), default="organiser")
    password = PasswordField(
        "First password",
        validators=[DataRequired(message="Enter a first password."), PASSWORD_LENGTH],
    )


class AccountForm(FlaskForm):
    role = SelectField("Role", choices=choices(ROLE_CHOICES))
    active = BooleanField("Can log in")


class DetailsForm(FlaskForm):
    """One account's name and, only when filled in, a new first password. Built with
    ``details_prefix`` so each account's row on the page has field ids of its own."""

    name = StringField(
        "Name", validators=[Length(max=120, message="Please use at most 120 characters.")]
    )
    password = PasswordField(
        "New first password",
        validators=[Optional(), PASSWORD_LENGTH],
        # Browsers must not fill in the admin's own saved password here.
        render_kw={"autocomplete": "new-password"},
    )


def details_prefix(user_id: int) -> str:
    return f"account-{user_id}"


# ----------------------------------------------------------------------------- organisers


def _organisers_page(
    form: OrganiserForm,
    status: int = 200,
    *,
    failed: AccountForm | DetailsForm | None = None,
    failed_id: int | None = None,
):
    """The accounts; ``failed`` is an account's refused change, shown at the top and in its
    row."""
    users = accounts.organisers()
    details = {
        user.id: DetailsForm(formdata=None, prefix=details_prefix(user.id), name=user.name)
        for user in users
    }
    if isinstance(failed, DetailsForm):
        details[failed_id] = failed
    return render_template(
        "accounts/manage/organisers.html",
        users=users,
        form=form,
        details=details,
        min_password_length=accounts.MIN_PASSWORD_LENGTH,
        failed=failed,
        failed_id=failed_id,
    ), status


@bp.route("/organisers", methods=["GET", "POST"])
def organisers():
    form = OrganiserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_organiser(
                form.email.data, form.password.data, name=form.name.data, role=Role(form.role.data)
            )
        except accounts.AccountError as problem:
            form.email.errors.append(str(problem))
        else:
            flash(f"Account made for {user.email}. Give them the first password in person.")
            return redirect(url_for("accounts_manage.organisers"))
    return _organisers_page(form, 400 if request.method == "POST" else 200)


@bp.post("/organisers/<int:user_id>")
def update_organiser(user_id: int):
    form = AccountForm()
    form.role.id = f"role-{user_id}"
    if form.validate_on_submit():
        try:
            accounts.update_organiser(
                user_id,
                role=Role(form.role.data),
                active=form.active.data,
                acting=current_user._get_current_object(),
            )
        except LookupError:
            abort(404)
        except accounts.AccountError as problem:
            form.form_errors.append(str(problem))
        else:
            flash("Account saved.")
            return redirect(url_for("accounts_manage.organisers"))
    return _organisers_page(OrganiserForm(formdata=None), 400, failed=form, failed_id=user_id)


@bp.post("/organisers/<int:user_id>/details")
def update_details(user_id: int):
    form = DetailsForm(prefix=details_prefix(user_id))
    if form.validate_on_submit():
        try:
            user, changed = accounts.update_details(
                user_id, name=form.name.data or "", password=form.password.data or ""
            )
        except LookupError:
            abort(404)
        except accounts.AccountError as problem:
            form.password.errors.append(str(problem))
        else:
            if not changed:
                flash(f"Nothing to save for {user.email}: no new name or password was given.")
            elif "password" in changed:
                flash(f"Saved. Give {user.email} the new first password in person.")
            else:
                flash(f"Saved the new name of {user.email}.")
            return redirect(url_for("accounts_manage.organisers"))
    return _organisers_page(OrganiserForm(formdata=None), 400, failed=form, failed_id=user_id)


# ----------------------------------------------------------------------------- audit log


@bp.get("/audit")
def audit_log():
    kind = request.args.get("type") or None
    return render_template(
        "accounts/manage/audit.html",
        entries=accounts.recent_activity(300, target_type=kind),
        kind=kind,
        kinds=("event", "network", "sector", "organiser"),
    )
