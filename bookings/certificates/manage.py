"""Organisers' certificate pages: what an event's certificates say, and name corrections."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from bookings.booking import service as booking_service
from bookings.certificates import service
from bookings.certificates.forms import NameForm, SettingsForm
from bookings.events import service as event_service
from bookings.web.console import guard
from bookings.web.forms import form_status

bp = Blueprint("certificates_manage", __name__, url_prefix="/manage/events/<int:event_id>")
guard(bp)


def _event(event_id: int):
    event = event_service.event(event_id)
    if event is None:
        abort(404)
    return event


@bp.route("/certificates", methods=["GET", "POST"])
def certificates(event_id: int):
    event = _event(event_id)
    facts = service.facts(event)
    form = SettingsForm()
    if request.method == "GET":
        form.hours.data = None if facts.chosen_minutes is None else facts.chosen_minutes / 60
        form.level.data = facts.level
        form.after_evaluation.data = facts.after_evaluation
    elif form.validate_on_submit():
        try:
            service.save_settings(
                event_id, form.minutes(), form.level.data or "", bool(form.after_evaluation.data)
            )
        except service.CertificateRefused as refusal:
            form.form_errors.append(str(refusal))
        else:
            flash("The certificate settings are saved.")
            return redirect(
                url_for("certificates_manage.certificates", event_id=event_id), code=303
            )
    return render_template(
        "certificates/manage/certificates.html",
        event=event,
        facts=facts,
        hours_text=service.hours_text,
        form=form,
        issued=service.issued_for_event(event_id),
    ), form_status(form)


@bp.route("/certificates/<int:booking_id>/name", methods=["GET", "POST"])
def correct_name(event_id: int, booking_id: int):
    event = _event(event_id)
    booking = booking_service.booking_of(event_id, booking_id)
    if booking is None:
        abort(404)
    form = NameForm()
    if request.method == "GET":
        form.name.data = booking.name
    elif form.validate_on_submit():
        try:
            service.correct_name(event_id, booking_id, form.name.data)
        except service.CertificateRefused as refusal:
            form.form_errors.append(str(refusal))
        else:
            flash(f"The name on booking {booking.reference} is corrected.")
            return redirect(
                url_for("certificates_manage.certificates", event_id=event_id), code=303
            )
    return render_template(
        "certificates/manage/name.html",
        event=event,
        booking=booking,
        certificate=service.certificate_of(booking_id),
        form=form,
    ), form_status(form)
