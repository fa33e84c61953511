"""Log in and out of the organiser console."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user

from bookings.accounts import service
from bookings.accounts.forms import LoginForm
from bookings.extensions import limiter, login_manager

bp = Blueprint("accounts", __name__)
login_manager.user_loader(service.load_user)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per 5 minutes", methods=["POST"])
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = service.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        form.form_errors.append(
            "That e-mail address and password do not match an organiser account."
        )
    if form.errors or form.form_errors:
        status = 400 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You have logged out.")
    return redirect(url_for("events.home"))


def _safe_next(target: str | None) -> str:
    """Only same-site paths: a crafted ?next= must not send an organiser elsewhere."""
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
        ):
            return target
    return url_for("events_manage.dashboard")
