"""The console's booking pages: an event's delegates, booking by phone, cancelling, the
waiting-list override, the CSV, print views and check-in on the day (``bp``, for organisers),
and the sector and LSCB lists (``admin_bp``, for admins only).

Each view parses the request, calls one function of ``bookings.booking.service`` and renders.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from bookings.accounts.models import Role
from bookings.booking import service
from bookings.booking.forms import (
    FilterForm,
    LscbForm,
    OnBehalfForm,
    OverrideForm,
    SectorForm,
)
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
    form.set_lscbs(service.active_lscbs())
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


# ------------------------------------------------------------------ sectors and LSCBs (admins)


@dataclass(frozen=True)
class _ListPage:
    """How one reference list appears in the console: its service list, form and endpoints."""

    ref: service.ReferenceList
    form: type[SectorForm] | type[LscbForm]
    title: str
    about: str
    endpoint: str
    add_endpoint: str
    action_endpoint: str


SECTOR_PAGE = _ListPage(
    service.SECTORS,
    SectorForm,
    "Sectors",
    "The booking form offers these in this order. A retired sector is not offered any more but "
    "stays on old bookings and in the statistics. A sector in use cannot be deleted.",
    "booking_admin.sectors",
    "booking_admin.add_sector",
    "booking_admin.sector_action",
)
LSCB_PAGE = _ListPage(
    service.LSCBS,
    LscbForm,
    "LSCBs",
    "The local safeguarding children boards the booking form offers, in this order. A retired "
    "LSCB is not offered any more but stays on old bookings and in the statistics. An LSCB in "
    "use cannot be deleted.",
    "booking_admin.lscbs",
    "booking_admin.add_lscb",
    "booking_admin.lscb_action",
)
LIST_ACTIONS = ("rename", "up", "down", "retire", "restore", "delete")


def _list_page(
    page: _ListPage,
    form: SectorForm | LscbForm,
    status: int = 200,
    *,
    failed: SectorForm | LscbForm | ButtonForm | None = None,
    failed_id: int | None = None,
):
    """The list; ``failed`` is a row's form that was refused, shown at the top and, for a
    rename, next to that row's name."""
    return render_template(
        "booking/manage/reference_list.html",
        page=page,
        rows=service.entries_with_use(page.ref),
        form=form,
        action_form=ButtonForm(),
        failed=failed,
        failed_id=failed_id,
    ), status


def _add_entry(page: _ListPage):
    form = page.form()
    if form.validate_on_submit():
        try:
            entry = service.add_entry(page.ref, form.name.data)
        except service.ReferenceListError as problem:
            form.name.errors.append(str(problem))
        else:
            flash(f"{page.ref.noun[0].upper()}{page.ref.noun[1:]} added: {entry.name}.")
            return redirect(url_for(page.endpoint))
    return _list_page(page, form, form_status(form))


def _entry_action(page: _ListPage, entry_id: int, action: str):
    if action not in LIST_ACTIONS:
        abort(404)
    renaming = action == "rename"
    form = page.form() if renaming else ButtonForm()
    if renaming:
        form.name.id = f"name-{entry_id}"
    if form.validate_on_submit():
        try:
            if renaming:
                service.rename_entry(page.ref, entry_id, form.name.data)
            elif action in ("up", "down"):
                service.move_entry(page.ref, entry_id, -1 if action == "up" else 1)
            elif action in ("retire", "restore"):
                service.set_entry_retired(page.ref, entry_id, action == "retire")
            else:
                service.delete_entry(page.ref, entry_id)
        except LookupError:
            abort(404)
        except service.ReferenceListError as problem:
            if not renaming:
                flash(str(problem), "error")
                return redirect(url_for(page.endpoint))
            form.name.errors.append(str(problem))
        else:
            flash(f"{page.ref.noun[0].upper()}{page.ref.noun[1:]} list saved.")
            return redirect(url_for(page.endpoint))
    return _list_page(
        page, page.form(formdata=None), form_status(form), failed=form, failed_id=entry_id
    )


@admin_bp.get("/sectors", endpoint="sectors")
def sector_list():
    return _list_page(SECTOR_PAGE, SectorForm())


@admin_bp.post("/sectors/new")
def add_sector():
    return _add_entry(SECTOR_PAGE)


@admin_bp.post("/sectors/<int:entry_id>/<action>")
def sector_action(entry_id: int, action: str):
    return _entry_action(SECTOR_PAGE, entry_id, action)


@admin_bp.get("/lscbs", endpoint="lscbs")
def lscb_list():
    return _list_page(LSCB_PAGE, LscbForm())


@admin_bp.post("/lscbs/new")
def add_lscb():
    return _add_entry(LSCB_PAGE)


@admin_bp.post("/lscbs/<int:entry_id>/<action>")
def lscb_action(entry_id: int, action: str):
    return _entry_action(LSCB_PAGE, entry_id, action)
