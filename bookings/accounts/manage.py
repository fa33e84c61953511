"""Admins' console pages (/manage/admin): organiser accounts and the audit log. (The sector
list, also under /manage/admin, is booking's: ``bookings.booking.manage``.)"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from bookings.accounts import service as accounts
from bookings.accounts.forms import AccountForm, DetailsForm, OrganiserForm, details_prefix
from bookings.accounts.models import Role
from bookings.web.console import guard
from bookings.web.forms import form_status

bp = Blueprint("accounts_manage", __name__, url_prefix="/manage/admin")
guard(bp, Role.admin)


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
