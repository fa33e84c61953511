"""Delegates' pages: book, see and change a booking through its private link, lost links."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from bookings.booking import service
from bookings.booking.forms import (
    TEAM_START_ROWS,
    BookingForm,
    LinkBookingForm,
    LostLinkForm,
    NeedsForm,
    TeamForm,
)
from bookings.booking.models import BookingStatus
from bookings.certificates import service as certificates
from bookings.certificates.forms import ShowNameForm
from bookings.evaluation import service as evaluation
from bookings.events import service as event_service
from bookings.extensions import csrf, limiter
from bookings.papers import service as papers_service
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
    form = BookingForm()
    sectors, lscbs = service.form_entries()
    form.set_sectors(sectors)
    form.set_lscbs(lscbs)
    if not form.validate_on_submit():
        return _book_page(slug, form), 422
    try:
        placed = service.book_at(slug, form.details())
    except service.NoSuchEvent:
        abort(404)
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
    if event is None:
        abort(404)
    return render_template(
        "booking/book.html", event=event, availability=service.availability(event), form=form
    )


@bp.route("/events/<slug>/lscb/<link>", methods=["GET", "POST"])
@csrf.exempt
def lscb_link(slug: str, link: str):
    """An LSCB's own booking link: the form with the LSCB fixed, taking one of the places held
    for it while any is left. An unknown or guessed link is a 404."""
    allocation = service.allocation_for_link(slug, link)
    if allocation is None:
        abort(404)
    form = LinkBookingForm()
    form.set_sectors(service.active_sectors())
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                placed = service.book(
                    allocation.event_id,
                    form.details_for(allocation.lscb_id),
                    allocation_id=allocation.id,
                )
            except service.BookingRefused as refusal:
                form.form_errors.append(str(refusal))
                status = 409
            except service.AlreadyBooked:
                return render_template(
                    "booking/already_booked.html",
                    event=allocation.event,
                    email=form.email.data,
                    form=LostLinkForm(email=form.email.data),
                ), 409
            else:
                return redirect(url_for("booking.manage", token=placed.token, new=1), code=303)
        else:
            status = 422
    return render_template(
        "booking/lscb_link.html",
        event=allocation.event,
        offer=service.link_offer(allocation),
        form=form,
        link=link,
    ), status


@bp.get("/events/<slug>/team")
def team_form(slug: str):
    event = event_service.public_event(slug)
    if event is None:
        abort(404)
    form = TeamForm()
    form.set_choices(service.active_sectors(), service.active_lscbs())
    while len(form.colleagues) < TEAM_START_ROWS:
        form.add_row()
    return _team_page(event, form)


@bp.post("/events/<slug>/team")
def book_team(slug: str):
    """Adds a row, removes one, or books the team: the first two only re-show the form, so the
    page works without script."""
    event = event_service.public_event(slug)
    if event is None:
        abort(404)
    form = TeamForm()
    form.set_choices(service.active_sectors(), service.active_lscbs())
    if "add" in request.form:
        if not form.add_row():
            form.form_errors.append(
                f"A team booking takes at most {service.MAX_TEAM} people; please book the "
                "others in a second team booking."
            )
            return _team_page(event, form)
        return _team_page(event, form, added=len(form.colleagues))
    if "remove" in request.form:
        form.remove_row(_whole(request.form["remove"]))
        return _team_page(event, form)
    if not form.validate_on_submit():
        return _team_page(event, form), 422
    try:
        booked = service.book_team(
            event.id,
            form.booker_name.data,
            form.booker_email.data,
            form.members(),
            service.TeamMode(form.mode.data),
        )
    except service.TeamRefused as refusal:
        form.attach_problems(refusal.problems)
        return _team_page(event, form), 409
    except (service.BookingRefused, service.AlreadyBooked) as refusal:
        form.form_errors.append(
            str(refusal) or "Someone in the team was booked meanwhile; please send the form again."
        )
        return _team_page(event, form), 409
    return redirect(url_for("booking.team", token=booked.token, new=1), code=303)


def _whole(value: str) -> int:
    return int(value) if value.isascii() and value.isdigit() and len(value) < 4 else -1


def _team_page(event, form: TeamForm, added: int | None = None) -> str:
    """``added``: the number of the row just added, announced at the top with a link to it."""
    return render_template(
        "booking/team_form.html",
        event=event,
        availability=service.availability(event),
        form=form,
        max_team=service.MAX_TEAM,
        added=added,
    )


@bp.get("/bookings/teams/<token>")
def team(token: str):
    group = service.group_for_token(token)
    if group is None:
        abort(404)
    return render_template(
        "booking/team.html",
        group=group,
        event=group.event,
        members=service.team_members(group),
        just_booked=request.args.get("new") == "1",
    )


@bp.get("/bookings/<token>")
def manage(token: str):
    booking = _booking_or_404(token)
    return _manage_page(
        booking, token, NeedsForm(obj=booking), just_booked=request.args.get("new") == "1"
    )


def _manage_page(booking, token: str, form: NeedsForm, just_booked: bool = False) -> str:
    """The delegate's booking; ``form`` is the needs form (base.html reads its errors). After
    the event: the evaluation and the certificate."""
    offer = certificates.offer(booking)
    return render_template(
        "booking/manage.html",
        booking=booking,
        token=token,
        position=service.waiting_position(booking),
        papers=papers_service.papers_for_booking(booking),
        form=form,
        just_booked=just_booked,
        invitation=evaluation.invitation(booking),
        offer=offer,
        show_name_form=ShowNameForm(formdata=None, show_name=offer.shown),
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
    """Manage links and LSCBs' links are secrets: keep them out of caches and other sites'
    referrer logs."""
    if request.path.startswith("/bookings/") or "/lscb/" in request.path:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _booking_or_404(token: str):
    booking = service.booking_for_token(token)
    if booking is None:
        abort(404)
    return booking
