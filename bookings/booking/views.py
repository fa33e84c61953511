"""Delegates' pages: book, see and change a booking through its private link, lost links."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from bookings.booking import service
from bookings.booking.forms import BookingForm, LostLinkForm, NeedsForm
from bookings.booking.models import BookingStatus
from bookings.events import service as event_service
from bookings.extensions import csrf, limiter
from bookings.web.forms import ButtonForm, form_status

bp = Blueprint("booking", __name__)
# The pages under /bookings/ send no Referer (a manage link is a secret), and over HTTPS
# CSRFProtect refuses a form post without one. So their form views are exempt from it and
# each form validates its own CSRF token instead; the link's token is what grants access.


@bp.get("/events/<slug>/book")
def book_form(slug: str):
    """A reloaded or shared booking address leads to the form on the event page."""
    if event_service.public_event_id(slug) is None:
        abort(404)
    return redirect(url_for("events.show", slug=slug, _anchor="book"), code=303)


@bp.post("/events/<slug>/book")
def book(slug: str):
    event_id = event_service.public_event_id(slug)
    if event_id is None:
        abort(404)
    form = BookingForm()
    sectors, lscbs = service.reference_choices()
    form.set_sectors(sectors)
    form.set_lscbs(lscbs)
    if not form.validate_on_submit():
        return _book_page(slug, form), 422
    try:
        placed = service.book(event_id, form.details())
    except service.BookingRefused as refusal:
        form.form_errors.append(str(refusal))
        return _book_page(slug, form), 409
    except service.AlreadyBooked:
        event = event_service.public_event(slug)
        return render_template(
            "booking/already_booked.html",
            event=event,
            email=form.email.data,
            form=LostLinkForm(email=form.email.data),
        ), 409
    return redirect(url_for("booking.manage", token=placed.token, new=1), code=303)


def _book_page(slug: str, form: BookingForm) -> str:
    """The form again, first on its own page, with the delegate's answers and what was wrong
    with them: the event page would put the error summary screens below the top."""
    event = event_service.public_event(slug)
    return render_template(
        "booking/book.html", event=event, availability=service.availability(event), form=form
    )


@bp.get("/bookings/<token>")
def manage(token: str):
    booking = _booking_or_404(token)
    return _manage_page(
        booking, token, NeedsForm(obj=booking), just_booked=request.args.get("new") == "1"
    )


def _manage_page(booking, token: str, form: NeedsForm, just_booked: bool = False) -> str:
    """The delegate's booking; ``form`` is the needs form (base.html reads its errors)."""
    return render_template(
        "booking/manage.html",
        booking=booking,
        token=token,
        position=service.waiting_position(booking),
        form=form,
        just_booked=just_booked,
    )


@bp.post("/bookings/<token>/needs")
@csrf.exempt
def update_needs(token: str):
    booking = _booking_or_404(token)
    form = NeedsForm()
    if not form.validate_on_submit():
        return _manage_page(booking, token, form), 422
    try:
        service.update_needs(booking, form.dietary_needs.data or "", form.access_needs.data or "")
    except service.BookingRefused as refusal:
        flash(str(refusal))
    else:
        flash("Your needs have been saved. Thank you for telling us.")
    return redirect(url_for("booking.manage", token=token), code=303)


@bp.route("/bookings/<token>/cancel", methods=["GET", "POST"])
@csrf.exempt
def cancel(token: str):
    booking = _booking_or_404(token)
    form = ButtonForm()
    if booking.status == BookingStatus.cancelled:
        flash("This booking is already cancelled.")
        return redirect(url_for("booking.manage", token=token), code=303)
    if form.validate_on_submit():
        waiting = booking.status == BookingStatus.waitlisted
        service.cancel(booking.id)
        flash(
            "You have left the waiting list. We have sent you an e-mail to confirm."
            if waiting
            else "Your booking is cancelled. We have sent you an e-mail to confirm."
        )
        return redirect(url_for("booking.manage", token=token), code=303)
    return render_template("booking/cancel.html", booking=booking, token=token, form=form)


@bp.route("/bookings/lost-link", methods=["GET", "POST"])
@limiter.limit("5 per 10 minutes", methods=["POST"])
@csrf.exempt
def lost_link():
    form = LostLinkForm()
    if form.validate_on_submit():
        service.resend_links(form.email.data)
        return render_template("booking/link_sent.html", email=form.email.data)
    return render_template("booking/lost_link.html", form=form), form_status(form)


@bp.get("/privacy")
def privacy():
    return render_template("booking/privacy.html")


@bp.after_request
def _private_pages(response):
    """Manage links are secrets: keep them out of caches and other sites' referrer logs."""
    if request.path.startswith("/bookings/"):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _booking_or_404(token: str):
    booking = service.booking_for_token(token)
    if booking is None:
        abort(404)
    return booking
