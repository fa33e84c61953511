"""The delegate's feedback page, reached through the booking's manage link."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from bookings.booking import service as booking_service
from bookings.evaluation import service
from bookings.evaluation.forms import feedback_form
from bookings.extensions import csrf

bp = Blueprint("evaluation", __name__)


def _booking(token: str):
    booking = booking_service.booking_for_token(token)
    if booking is None:
        abort(404)
    return booking


@bp.route("/bookings/<token>/feedback", methods=["GET", "POST"])
@csrf.exempt  # as the other manage-link pages: the form checks its own token (booking.views)
def feedback(token: str):
    booking = _booking(token)
    invitation = service.invitation(booking)
    if invitation.state != service.InvitationState.open:
        return render_template(
            "evaluation/feedback.html", booking=booking, token=token, invitation=invitation
        )
    form = feedback_form(invitation.questions)
    if form.validate_on_submit():
        try:
            service.submit(booking.id, form.answers())
        except service.EvaluationRefused as refusal:
            flash(str(refusal))
        else:
            flash("Thank you: your feedback has been received.")
        return redirect(url_for("booking.manage", token=token, _anchor="feedback"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "evaluation/feedback.html", booking=booking, token=token, invitation=invitation, form=form
    ), status


@bp.after_request
def _private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
