"""Organisers' pages for an event's delegates: the list, booking by phone, cancelling, the
waiting-list override, the CSV, print views and check-in on the day."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from bookings.booking import service as booking_service
from bookings.booking.forms import BookingForm
from bookings.booking.models import BookingStatus
from bookings.events import manage_delegates as service
from bookings.events import service as events_service
from bookings.events.models import Event
from bookings.web.console import guard
from bookings.web.forms import ButtonForm, choices

bp = Blueprint("booking_manage", __name__, url_prefix="/manage/events/<int:event_id>")
guard(bp)


class OnBehalfForm(BookingForm):
    privacy = BooleanField(
        "The delegate has been told how their details are used (the privacy notice) and agrees",
        validators=[DataRequired(message="Confirm the delegate agrees to the privacy notice.")],
    )

    def set_sectors(self, sectors) -> None:
        self.sector.choices = choices(
            [(-1, "Choose their sector")] + [(s.id, s.name) for s in sectors]
        )


class OverrideForm(FlaskForm):
    reason = TextAreaField(
        "Why this delegate gets a place ahead of the waiting list",
        validators=[
            DataRequired(message="Give the reason; it is kept in the audit log."),
            Length(max=250, message="Please use at most 250 characters."),
        ],
    )
    confirm = BooleanField(
        "Yes, give a place now, adding one place if the event is full",
        validators=[DataRequired(message="Tick the box to confirm the override.")],
    )


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Search name, e-mail, organisation or reference")
    status = SelectField(
        "Status",
        choices=choices([("", "Any status")] + [(s.value, s.value.title()) for s in BookingStatus]),
    )
    sector = SelectField("Sector", coerce=str)


def _event(event_id: int) -> Event:
    event = events_service.event(event_id)
    if event is None:
        abort(404)
    return event


def _booking(event_id: int, booking_id: int):
    booking = service.booking_of(event_id, booking_id)
    if booking is None:
        abort(404)
    return booking


def _filters() -> tuple[FilterForm, service.Filters]:
    form = FilterForm(formdata=request.args)
    form.sector.choices = choices(
        [("", "Any sector")]
        + [
            (str(s.id), s.name + (" (retired)" if s.retired else ""))
            for s in service.sectors_in_use()
        ]
    )
    status = request.args.get("status", "")
    sector = request.args.get("sector", "")
    return form, service.Filters(
        q=(form.q.data or "")[:100],
        status=BookingStatus(status) if status in BookingStatus.__members__ else None,
        sector_id=int(sector) if sector.isdigit() else None,
    )


@bp.get("/delegates")
def delegates(event_id: int):
    event = _event(event_id)
    form, filters = _filters()
    return render_template(
        "booking/manage/delegates.html",
        event=event,
        form=form,
        bookings=service.delegates(event.id, filters),
        positions=service.waiting_positions(event.id),
        availability=booking_service.availability(event),
        action_form=ButtonForm(),
        query=request.args.to_dict(),
    )


@bp.get("/delegates.csv")
def delegates_csv(event_id: int):
    event = _event(event_id)
    _, filters = _filters()
    response = Response(service.csv_export(event.id, filters), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{event.slug}-delegates.csv"'
    response.charset = "utf-8"
    return response


def _confirmed_sheet(event_id: int, template: str) -> str:
    """A printed sheet of the confirmed delegates: the list, or their name badges."""
    event = _event(event_id)
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
    event = _event(event_id)
    form = OnBehalfForm()
    form.set_sectors(booking_service.active_sectors())
    if form.validate_on_submit():
        try:
            booking = service.book_on_behalf(event.id, form.details())
        except booking_service.BookingRefused as refusal:
            form.form_errors.append(str(refusal))
        except booking_service.AlreadyBooked:
            form.email.errors.append("This address already has a booking for this event.")
        else:
            where = (
                "a confirmed place"
                if booking.status == BookingStatus.confirmed
                else ("a place on the waiting list")
            )
            flash(f"Booked {where}; reference {booking.reference}. The delegate has been e-mailed.")
            return redirect(url_for("booking_manage.delegates", event_id=event_id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "booking/manage/book.html",
        event=event,
        form=form,
        availability=booking_service.availability(event),
    ), status


@bp.post("/delegates/<int:booking_id>/cancel")
def cancel(event_id: int, booking_id: int):
    booking = _booking(event_id, booking_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    reference = booking.reference
    service.cancel(booking)
    flash(f"Booking {reference} cancelled; the delegate has been e-mailed.")
    return redirect(url_for("booking_manage.delegates", event_id=event_id))


@bp.route("/delegates/<int:booking_id>/override", methods=["GET", "POST"])
def override(event_id: int, booking_id: int):
    event = _event(event_id)
    booking = _booking(event_id, booking_id)
    form = OverrideForm()
    if booking.status != BookingStatus.waitlisted:
        flash("This delegate is not on the waiting list.", "error")
        return redirect(url_for("booking_manage.delegates", event_id=event_id))
    if form.validate_on_submit():
        try:
            raised = service.override(booking, form.reason.data)
        except booking_service.NotWaitlisted:
            flash("This delegate is no longer on the waiting list.", "error")
        else:
            extra = " Places were raised by one to make room." if raised else ""
            flash(f"{booking.reference} now has a confirmed place and has been e-mailed.{extra}")
        return redirect(url_for("booking_manage.delegates", event_id=event_id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "booking/manage/override.html",
        event=event,
        booking=booking,
        form=form,
        position=service.waiting_positions(event.id).get(booking.id),
        availability=booking_service.availability(event),
    ), status


# ----------------------------------------------------------------------------- check-in


@bp.get("/check-in")
def check_in(event_id: int):
    event = _event(event_id)
    q = request.args.get("q", "")[:100]
    attended, confirmed = service.attendance(event.id)
    return render_template(
        "booking/manage/check_in.html",
        event=event,
        q=q,
        bookings=service.delegates(event.id, service.Filters(q=q, status=BookingStatus.confirmed)),
        attended=attended,
        confirmed=confirmed,
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
        service.check_in(booking)
    except booking_service.NotConfirmed:
        flash("Only a delegate with a confirmed place can be checked in.", "error")
    else:
        flash(f"{booking.name} checked in.")
    return _back_to_check_in(event_id, booking_id)


@bp.post("/check-in/<int:booking_id>/undo")
def undo_attended(event_id: int, booking_id: int):
    booking = _booking(event_id, booking_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    service.undo_check_in(booking)
    flash(f"Check-in undone for {booking.name}.")
    return _back_to_check_in(event_id, booking_id)
