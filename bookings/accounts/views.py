"""Log in and out of the organiser console, and set a new password through an e-mailed link."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user

from bookings.accounts import service
from bookings.accounts.forms import ForgotPasswordForm, LoginForm, NewPasswordForm
from bookings.extensions import limiter, login_manager
from bookings.web.forms import form_status

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


def _address_key() -> str:
    """One count per address asked about, whoever asks: no mailbox gets a flood of links.
    Hashed, so the limits' storage keeps no address."""
    address = (request.form.get("email") or "").strip().lower()
    return "reset:" + hashlib.sha256(address.encode()).hexdigest()


@bp.route("/login/forgot", methods=["GET", "POST"])
@limiter.limit("5 per 10 minutes", methods=["POST"])
@limiter.limit("5 per hour", methods=["POST"], key_func=_address_key)
def forgot_password():
    """The same answer whether or not the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        service.request_password_reset(form.email.data)
        return render_template("accounts/reset_sent.html", email=form.email.data)
    return render_template("accounts/forgot.html", form=form), form_status(form)


@bp.route("/login/reset", methods=["GET", "POST"])
@limiter.limit("10 per 5 minutes", methods=["POST"])
def reset_password():
    """The token is in the query string, which request logs keep only as ``?token=[value]``."""
    token = request.args.get("token", "")
    try:
        user = service.account_for_reset(token)
    except service.ResetLinkInvalid:
        return _dead_link()
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            service.reset_password(token, form.password.data)
        except service.ResetLinkInvalid:
            return _dead_link()
        except service.AccountError as problem:
            form.password.errors.append(str(problem))
        else:
            flash("Your new password is set, and every other device is signed out. Log in with it.")
            return redirect(url_for("accounts.login"))
    return render_template(
        "accounts/reset.html",
        form=form,
        email=user.email,
        token=token,
        min_password_length=service.MIN_PASSWORD_LENGTH,
    ), form_status(form)


def _dead_link():
    """An explanation and the way to a new link: a page like any other (200), not an error."""
    return render_template("accounts/reset_invalid.html")


@bp.after_request
def _private_pages(response):
    """A reset link is a key to an account: no cache keeps it, no Referer carries it."""
    if request.endpoint == "accounts.reset_password":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


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
