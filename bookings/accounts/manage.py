"""Admins' console pages (/manage/admin): organiser accounts, the audit log and, until they move
to the booking console, the sector list."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from bookings.accounts import sectors as sector_service
from bookings.accounts import service as accounts
from bookings.accounts.forms import AccountForm, DetailsForm, OrganiserForm, details_prefix
from bookings.accounts.models import Role
from bookings.web.console import guard
from bookings.web.forms import ButtonForm, form_status

bp = Blueprint("accounts_manage", __name__, url_prefix="/manage/admin")
guard(bp, Role.admin)


class SectorForm(FlaskForm):
    name = StringField(
        "Sector name",
        validators=[
            DataRequired(message="Enter the sector's name."),
            Length(max=100, message="Please use at most 100 characters."),
        ],
    )


# ----------------------------------------------------------------------------- sectors


@bp.get("/sectors", endpoint="sectors")
def sector_list():
    return _sectors_page(SectorForm())


def _sectors_page(
    form: SectorForm,
    status: int = 200,
    *,
    failed: FlaskForm | None = None,
    failed_id: int | None = None,
):
    """The list; ``failed`` is a row's form that was refused, shown at the top and, for a
    rename, next to that row's name."""
    return render_template(
        "booking/manage/sectors.html",
        rows=sector_service.sectors_with_use(),
        form=form,
        action_form=ButtonForm(),
        failed=failed,
        failed_id=failed_id,
    ), status


@bp.post("/sectors/new")
def add_sector():
    form = SectorForm()
    if form.validate_on_submit():
        try:
            sector = sector_service.add(form.name.data)
        except sector_service.SectorError as problem:
            form.name.errors.append(str(problem))
        else:
            flash(f"Sector added: {sector.name}.")
            return redirect(url_for("accounts_manage.sectors"))
    return _sectors_page(form, 400)


@bp.post("/sectors/<int:sector_id>/<action>")
def sector_action(sector_id: int, action: str):
    if action not in ("rename", "up", "down", "retire", "restore", "delete"):
        abort(404)
    renaming = action == "rename"
    form = SectorForm() if renaming else ButtonForm()
    if renaming:
        form.name.id = f"name-{sector_id}"
    if form.validate_on_submit():
        try:
            if renaming:
                sector_service.rename(sector_id, form.name.data)
            elif action in ("up", "down"):
                sector_service.move(sector_id, -1 if action == "up" else 1)
            elif action in ("retire", "restore"):
                sector_service.set_retired(sector_id, action == "retire")
            else:
                sector_service.delete(sector_id)
        except LookupError:
            abort(404)
        except sector_service.SectorError as problem:
            if not renaming:
                flash(str(problem), "error")
                return redirect(url_for("accounts_manage.sectors"))
            form.name.errors.append(str(problem))
        else:
            flash("Sector list saved.")
            return redirect(url_for("accounts_manage.sectors"))
    return _sectors_page(SectorForm(formdata=None), 400, failed=form, failed_id=sector_id)


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
    return _organisers_page(form, form_status(form))


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
    return _organisers_page(
        OrganiserForm(formdata=None), form_status(form), failed=form, failed_id=user_id
    )


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
    return _organisers_page(
        OrganiserForm(formdata=None), form_status(form), failed=form, failed_id=user_id
    )


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
