"""The delegate's certificate (through the manage link) and the public verification page."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from bookings.booking import service as booking_service
from bookings.certificates import service
from bookings.certificates.forms import ShowNameForm
from bookings.extensions import csrf, limiter
from bookings.web.forms import ButtonForm

bp = Blueprint("certificates", __name__)


def _booking(token: str):
    booking = booking_service.booking_for_token(token)
    if booking is None:
        abort(404)
    return booking


def _back(token: str):
    return redirect(url_for("booking.manage", token=token, _anchor="certificate"), code=303)


@bp.post("/bookings/<token>/certificate")
@csrf.exempt  # as the other manage-link pages: the form checks its own token
def issue(token: str):
    booking = _booking(token)
    if not ButtonForm().validate_on_submit():
        flash("The form had expired. Please try again.")
        return _back(token)
    try:
        service.issue(booking.id)
    except service.CertificateRefused as refusal:
        flash(str(refusal))
        return _back(token)
    return redirect(url_for("certificates.show", token=token), code=303)


def _view(token: str):
    booking = _booking(token)
    view = service.for_delegate(booking)
    if view is None:
        abort(404)
    return view


def _verify_url(number: str) -> str:
    return url_for("certificates.verify", number=number, _external=True)


@bp.get("/bookings/<token>/certificate")
def show(token: str):
    view = _view(token)
    return render_template(
        "certificates/certificate.html", c=view, token=token, verify_url=_verify_url(view.number)
    )


@bp.get("/bookings/<token>/certificate.pdf")
def pdf(token: str):
    # fpdf2 and its font tools add about 20 MiB and a quarter of a second to a worker: only
    # the workers that make a certificate import them.
    from bookings.certificates.pdf import certificate_pdf

    view = _view(token)
    response = Response(certificate_pdf(view, _verify_url(view.number)), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="certificate-{view.number}.pdf"'
    )
    return response


@bp.post("/bookings/<token>/certificate/name")
@csrf.exempt
def show_name(token: str):
    booking = _booking(token)
    form = ShowNameForm()
    if not form.validate_on_submit():
        return render_template(
            "certificates/show_name.html", booking=booking, token=token, form=form
        ), 422
    try:
        service.set_show_name(booking.id, bool(form.show_name.data))
    except service.CertificateRefused as refusal:
        flash(str(refusal))
    else:
        flash(
            "The verification page now shows your name."
            if form.show_name.data
            else "The verification page no longer shows your name."
        )
    return _back(token)


@bp.get("/certificates/<number>")
@limiter.limit("60 per minute")  # numbers are 40 bits of chance; no walking through them
def verify(number: str):
    view = service.verification(number)
    if view is None:
        return render_template("certificates/not_found.html", number=number[:40]), 404
    return render_template("certificates/verify.html", c=view)


@bp.after_request
def _private(response):
    if request.path.startswith("/bookings/"):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response
