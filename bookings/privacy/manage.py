"""The purge's console page (/manage/stats/privacy), for admins only: it shows what a purge
would do for a date, and runs it once the admin confirms."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for

from bookings.accounts.models import Role
from bookings.db import utcnow
from bookings.london import london_date
from bookings.privacy import service
from bookings.privacy.forms import PurgeForm
from bookings.web.console import guard
from bookings.web.forms import form_status
from bookings.web.input import query_date

bp = Blueprint("privacy_manage", __name__, url_prefix="/manage/stats")
guard(bp, Role.admin)

# The day the page offers first: events over for a year.
DEFAULT_AGE = timedelta(days=365)


@bp.route("/privacy", methods=["GET", "POST"])
def purge():
    form = PurgeForm()
    if request.method == "GET":
        form.before.data = query_date("before") or london_date(utcnow()) - DEFAULT_AGE
    if form.validate_on_submit():
        result = service.purge(form.before.data)
        flash(
            f"Purged {result.bookings} bookings at {result.events} events; "
            f"deleted {result.messages} outbox messages."
        )
        return redirect(url_for("privacy_manage.purge"))
    preview = service.preview(form.before.data) if form.before.data else None
    return render_template("privacy/manage/purge.html", form=form, preview=preview), form_status(
        form
    )
