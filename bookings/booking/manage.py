"""The console's booking pages: an event's delegates, booking by phone, cancelling, the
waiting-list override, the CSV, print views and check-in on the day (``bp``, for organisers),
and the sector list (``admin_bp``, for admins only).

Each view parses the request, calls one function of ``bookings.booking.service`` and renders.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from bookings.accounts.models import Role
from bookings.booking import service
from bookings.booking.forms import FilterForm, OnBehalfForm, OverrideForm, SectorForm
from bookings.booking.models import Booking, BookingStatus
from bookings.db import db
from bookings.events.models import Event
from bookings.web.console import guard
from bookings.web.forms import ButtonForm, form_status

bp = Blueprint("booking_manage", __name__, url_prefix="/manage/events/<int:event_id>")
guard(bp)

admin_bp = Blueprint("booking_admin", __name__, url_prefix="/manage/admin")
guard(admin_bp, Role.admin)


def _booking(event_id: int, booking_id: int) -> Booking:
    booking = service.booking_of(event_id, booking_id)
    if booking is None:
        abort(404)
    return booking


def _to_delegates(event_id: int):
    return redirect(url_for("booking_manage.delegates", event_id=event_id))


@bp.get("/delegates")
def delegates(event_id: int):
    event = db.get_or_404(Event, event_id)
    form = FilterForm(formdata=request.args)
    listed = service.delegate_list(event, form.filters())
    form.set_sectors(listed.sectors)
    return render_template(
        "booking/manage/delegates.html",
        event=event,
        form=form,
        bookings=listed.bookings,
        positions=listed.positions,
        availability=listed.availability,
        action_form=ButtonForm(),
        query=request.args.to_dict(),
    )


@bp.get("/delegates.csv")
def delegates_csv(event_id: int):
    event = db.get_or_404(Event, event_id)
    filters = FilterForm(formdata=request.args).filters()
    response = Response(service.csv_export(event.id, filters), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{event.slug}-delegates.csv"'
    response.charset = "utf-8"
    return response


def _confirmed_sheet(event_id: int, template: str) -> str:
    """A printed sheet of the confirmed delegates: the list, or their name badges."""
    event = db.get_or_404(Event, event_id)
    confirmed = service.Filters(status=BookingStatus.confirmed)
    return render_template(template, event=event, bookings=service.delegates(event.id, confirmed))


@bp.get("/delegates/print")
def delegates_print(event_id: int):
    return _confirmed_sheet(event_id, "booking/manage/delegates_print.html")


@bp.get("/badges")
def badges(event_id: int):
    return _confirmed_sheet(event_id, "booking/manage/badges.html")


@bp.route("/delegates/new", methods=["GET", "POST"])
def book(event_id: int):
    event = db.get_or_404(Event, event_id)
    form = OnBehalfForm()
    form.set_sectors(service.active_sectors())
    if form.validate_on_submit():
        try:
            booking = service.book_on_behalf(event.id, form.details())
        except service.BookingRefused as refusal:
            form.form_errors.append(str(refusal))
        except service.AlreadyBooked:
            form.email.errors.append("This address already has a booking for this event.")
        else:
            where = (
                "a confirmed place"
                if booking.status == BookingStatus.confirmed
                else "a place on the waiting list"
            )
            flash(f"Booked {where}; reference {booking.reference}. The delegate has been e-mailed.")
            return _to_delegates(event_id)
    return render_template(
        "booking/manage/book.html",
        event=event,
        form=form,
        availability=service.availability(event),
    ), form_status(form)


@bp.post("/delegates/<int:booking_id>/cancel")
def cancel(event_id: int, booking_id: int):
    booking = _booking(event_id, booking_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    reference = booking.reference
    service.cancel_for_delegate(booking.id)
    flash(f"Booking {reference} cancelled; the delegate has been e-mailed.")
    return _to_delegates(event_id)


@bp.route("/delegates/<int:booking_id>/override", methods=["GET", "POST"])
def override(event_id: int, booking_id: int):
    event = db.get_or_404(Event, event_id)
    booking = _booking(event_id, booking_id)
    form = OverrideForm()
    if booking.status != BookingStatus.waitlisted:
        flash("This delegate is not on the waiting list.", "error")
        return _to_delegates(event_id)
    if form.validate_on_submit():
        try:
            _, raised = service.confirm_with_override(booking.id, form.reason.data)
        except service.NotWaitlisted:
            flash("This delegate is no longer on the waiting list.", "error")
        else:
            extra = " Places were raised by one to make room." if raised else ""
            flash(f"{booking.reference} now has a confirmed place and has been e-mailed.{extra}")
        return _to_delegates(event_id)
    return render_template(
        "booking/manage/override.html",
        event=event,
        booking=booking,
        form=form,
        position=service.waiting_position(booking),
        availability=service.availability(event),
    ), form_status(form)


# ----------------------------------------------------------------------------- check-in


@bp.get("/check-in")
def check_in(event_id: int):
    event = db.get_or_404(Event, event_id)
    q = request.args.get("q", "")[:100]
    listed = service.check_in_list(event.id, q)
    return render_template(
        "booking/manage/check_in.html",
        event=event,
        q=q,
        bookings=listed.bookings,
        attended=listed.attended,
        confirmed=listed.confirmed,
        action_form=ButtonForm(),
    )


def _back_to_check_in(event_id: int, booking_id: int):
    q = request.form.get("q", "")[:100]
    target = url_for("booking_manage.check_in", event_id=event_id, q=q or None)
    return redirect(f"{target}#booking-{booking_id}")


@bp.post("/check-in/<int:booking_id>")
def mark_attended(event_id: int, booking_id: int):
    booking = _booking(event_id, booking_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        service.check_in(booking.id)
    except service.NotConfirmed:
        flash("Only a delegate with a confirmed place can be checked in.", "error")
    else:
        flash(f"{booking.name} checked in.")
    return _back_to_check_in(event_id, booking_id)


@bp.post("/check-in/<int:booking_id>/undo")
def undo_attended(event_id: int, booking_id: int):
    booking = _booking(event_id, booking_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    service.undo_check_in(booking.id)
    flash(f"Check-in undone for {booking.name}.")
    return _back_to_check_in(event_id, booking_id)


# ----------------------------------------------------------------------------- sectors (admins)


@admin_bp.get("/sectors", endpoint="sectors")
def sector_list():
    return _sectors_page(SectorForm())


def _sectors_page(
    form: SectorForm,
    status: int = 200,
    *,
    failed: SectorForm | ButtonForm | None = None,
    failed_id: int | None = None,
):
    """The list; ``failed`` is a row's form that was refused, shown at the top and, for a
    rename, next to that row's name."""
    return render_template(
        "booking/manage/sectors.html",
        rows=service.sectors_with_use(),
        form=form,
        action_form=ButtonForm(),
        failed=failed,
        failed_id=failed_id,
    ), status


def _to_sectors():
    return redirect(url_for("booking_admin.sectors"))


@admin_bp.post("/sectors/new")
def add_sector():
    form = SectorForm()
    if form.validate_on_submit():
        try:
            sector = service.add_sector(form.name.data)
        except service.SectorError as problem:
            form.name.errors.append(str(problem))
        else:
            flash(f"Sector added: {sector.name}.")
            return _to_sectors()
    return _sectors_page(form, form_status(form))


SECTOR_ACTIONS = ("rename", "up", "down", "retire", "restore", "delete")


@admin_bp.post("/sectors/<int:sector_id>/<action>")
def sector_action(sector_id: int, action: str):
    if action not in SECTOR_ACTIONS:
        abort(404)
    renaming = action == "rename"
    form = SectorForm() if renaming else ButtonForm()
    if renaming:
        form.name.id = f"name-{sector_id}"
    if form.validate_on_submit():
        try:
            if renaming:
                service.rename_sector(sector_id, form.name.data)
            elif action in ("up", "down"):
                service.move_sector(sector_id, -1 if action == "up" else 1)
            elif action in ("retire", "restore"):
                service.set_sector_retired(sector_id, action == "retire")
            else:
                service.delete_sector(sector_id)
        except LookupError:
            abort(404)
        except service.SectorError as problem:
            if not renaming:
                flash(str(problem), "error")
                return _to_sectors()
            form.name.errors.append(str(problem))
        else:
            flash("Sector list saved.")
            return _to_sectors()
    return _sectors_page(
        SectorForm(formdata=None), form_status(form), failed=form, failed_id=sector_id
    )
