"""The organiser console's event pages (/manage): dashboard, events from draft to
cancellation, places, copies, the programme and messages to delegates.

Each view reads the request, calls one function of the events' rules (``service``, or
``programme`` for the sessions) and renders. Every route needs a signed-in organiser
(``bookings.web.console.guard``).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from bookings.booking import service as booking_service
from bookings.db import StaleEdit, db
from bookings.events import programme, service
from bookings.events.forms import (
    AUDIENCES,
    CancelEventForm,
    CapacityForm,
    DuplicateForm,
    EventForm,
    MessageForm,
    SlotForm,
)
from bookings.events.models import Event, EventKind, EventStatus, SlotKind
from bookings.london import format_date, format_time_range, london_date
from bookings.web.console import Confirmation, confirmation_page, guard, page_arg
from bookings.web.forms import ButtonForm, form_status

bp = Blueprint("events_manage", __name__, url_prefix="/manage")
guard(bp)


def _event(event_id: int) -> Event:
    return db.get_or_404(Event, event_id, options=service.WITH_PROGRAMME)


@bp.get("/")
def dashboard():
    return render_template("events/manage/dashboard.html", **service.dashboard()._asdict())


@bp.get("/events")
def events():
    lists = service.event_lists(
        request.args.get("q", "")[:100], page_arg(), page_arg(name="past_page")
    )
    return render_template("events/manage/events.html", **lists._asdict())


# ----------------------------------------------------------------------------- create and edit


def _event_form(*, editing: bool = False) -> EventForm:
    form = EventForm()
    form.set_choices(*service.form_choices())
    if editing:
        form.drop_capacity()
    return form


def _event_data(form: EventForm) -> service.EventData:
    return service.EventData(
        title=form.title.data,
        slug=form.slug.data or "",
        kind=EventKind(form.kind.data),
        summary=form.summary.data,
        description=form.description.data,
        notes=form.notes.data,
        starts_at=form.starts_at,
        ends_at=form.ends_at,
        venue_id=form.venue.data or None,
        booking_opens_at=form.opens_at,
        booking_closes_at=form.closes_at,
        series=form.series.data,
        host_network_id=form.host_network.data or None,
        capacity=(form.capacity.data or 0) if "capacity" in form else 0,
        new_venue_name=form.new_venue_name.data,
        new_venue_address=form.new_venue_address.data,
        new_venue_postcode=form.new_venue_postcode.data,
    )


@bp.route("/events/new", methods=["GET", "POST"])
def new_event():
    form = _event_form()
    if form.validate_on_submit():
        event = service.create_event(_event_data(form))
        flash(f"Draft saved: {event.title}. Add its programme, then publish it.")
        return redirect(url_for("events_manage.event", event_id=event.id))
    return render_template("events/manage/event_form.html", form=form, event=None), form_status(
        form
    )


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
def edit_event(event_id: int):
    event = _event(event_id)
    form = _event_form(editing=True)
    if request.method == "GET":
        form.fill_from(event)
    elif form.validate_on_submit():
        try:
            _, told = service.update_event(
                event.id,
                _event_data(form),
                form.opened_version(),
                notify_delegates=form.notify_delegates.data,
            )
        except (StaleEdit, service.EventChangeRefused) as refusal:
            form.form_errors.append(str(refusal))
        else:
            flash("Event saved." + (f" {told} delegates were e-mailed the change." if told else ""))
            return redirect(url_for("events_manage.event", event_id=event_id))
    return render_template("events/manage/event_form.html", form=form, event=event), form_status(
        form
    )


def _event_page(event: Event, capacity_form: CapacityForm):
    return render_template(
        "events/manage/event.html",
        **service.event_page(event)._asdict(),
        capacity_form=capacity_form,
        audiences=AUDIENCES,
    ), form_status(capacity_form)


@bp.get("/events/<int:event_id>")
def event(event_id: int):
    event = _event(event_id)
    return _event_page(event, CapacityForm(capacity=event.capacity))


@bp.post("/events/<int:event_id>/publish")
def publish(event_id: int):
    return _status_change(event_id, service.publish, "Published: the event is now on the site.")


@bp.route("/events/<int:event_id>/unpublish", methods=["GET", "POST"])
def unpublish(event_id: int):
    if request.method == "GET":
        event = _event(event_id)
        return confirmation_page(
            Confirmation(
                title=f"Unpublish {event.title}?",
                button="Yes, unpublish it",
                back=url_for("events_manage.event", event_id=event_id),
                consequences=[
                    "It leaves the public pages, the API and the calendar feeds, and becomes a "
                    "draft you can publish again.",
                    "An event that delegates have booked cannot be unpublished: cancel it "
                    "instead, and they are told.",
                ],
                refusal=""
                if event.status == EventStatus.published
                else "Only a published event can be unpublished.",
            ),
            event=event,
        )
    return _status_change(event_id, service.unpublish, "Unpublished: the event is a draft again.")


def _status_change(event_id: int, change, message: str):
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        change(event_id)
    except LookupError:
        abort(404)
    except service.EventChangeRefused as refusal:
        flash(str(refusal), "error")
    else:
        flash(message)
    return redirect(url_for("events_manage.event", event_id=event_id))


@bp.post("/events/<int:event_id>/capacity")
def capacity(event_id: int):
    event = _event(event_id)
    form = CapacityForm()
    if form.validate_on_submit():
        try:
            promoted = service.change_capacity(event.id, form.capacity.data)
        except booking_service.CapacityTooLow as refusal:
            form.capacity.errors.append(str(refusal))
        else:
            extra = f" {len(promoted)} delegates moved from the waiting list." if promoted else ""
            flash(f"Places set to {form.capacity.data}.{extra}")
            return redirect(url_for("events_manage.event", event_id=event_id))
    return _event_page(event, form)


@bp.route("/events/<int:event_id>/cancel", methods=["GET", "POST"])
def cancel(event_id: int):
    event = _event(event_id)
    refusal = event.why_not_cancellable()
    if refusal:
        flash(refusal, "error")
        return redirect(url_for("events_manage.event", event_id=event_id))
    form = CancelEventForm()
    if form.validate_on_submit():
        try:
            told = service.cancel_event(event.id, form.reason.data)
        except service.EventChangeRefused as refusal:
            flash(str(refusal), "error")
        else:
            flash(f"Event cancelled. {told} delegates are being e-mailed.")
        return redirect(url_for("events_manage.event", event_id=event_id))
    return render_template(
        "events/manage/cancel.html",
        form=form,
        event=event,
        availability=booking_service.availability(event),
    ), form_status(form)


@bp.route("/events/<int:event_id>/duplicate", methods=["GET", "POST"])
def duplicate(event_id: int):
    event = _event(event_id)
    form = DuplicateForm()
    if request.method == "GET":
        form.title.data = event.title
    if form.validate_on_submit():
        try:
            copy = service.duplicate_event(event.id, form.title.data, form.weeks.data)
        except ValueError as problem:  # a moved time that London skips
            form.weeks.errors.append(str(problem))
        else:
            flash(f"Draft copy made: {copy.title}. Check its dates and programme.")
            return redirect(url_for("events_manage.event", event_id=copy.id))
    return render_template("events/manage/duplicate.html", form=form, event=event), form_status(
        form
    )


# ----------------------------------------------------------------------------- programme


def _slot_data(form: SlotForm) -> programme.SlotData:
    return programme.SlotData(
        starts_at=form.starts_at,
        ends_at=form.ends_at,
        kind=SlotKind(form.kind.data),
        title=form.title.data,
        description=form.description.data,
        room=form.room.data,
        capacity=form.capacity.data,
        speakers=form.speaker_list(),
    )


@bp.route("/events/<int:event_id>/programme", methods=["GET", "POST"], endpoint="programme")
def programme_page(event_id: int):
    event = _event(event_id)
    form = SlotForm()
    if request.method == "GET":
        form.day.data = london_date(event.starts_at)
    elif form.validate_on_submit():
        try:
            slot = programme.add_slot(event.id, _slot_data(form))
        except programme.SlotRefused as refusal:
            form.show_refusal(refusal.problems)
        else:
            flash(f"Added to the programme: {slot.title}.")
            return redirect(url_for("events_manage.programme", event_id=event_id))
    return render_template("events/manage/programme.html", event=event, form=form), form_status(
        form
    )


@bp.route("/events/<int:event_id>/programme/<int:slot_id>", methods=["GET", "POST"])
def edit_slot(event_id: int, slot_id: int):
    event = _event(event_id)
    slot = programme.slot(event_id, slot_id)
    if slot is None:
        abort(404)
    form = SlotForm()
    if request.method == "GET":
        form.fill_from(slot)
    elif form.validate_on_submit():
        try:
            programme.update_slot(slot, _slot_data(form), form.opened_version())
        except StaleEdit as stale:
            form.form_errors.append(str(stale))
        except programme.SlotRefused as refusal:
            form.show_refusal(refusal.problems)
        else:
            flash(f"Saved: {slot.title}.")
            return redirect(url_for("events_manage.programme", event_id=event_id))
    return render_template(
        "events/manage/slot_form.html", event=event, slot=slot, form=form
    ), form_status(form)


@bp.route("/events/<int:event_id>/programme/<int:slot_id>/delete", methods=["GET", "POST"])
def delete_slot(event_id: int, slot_id: int):
    slot = programme.slot(event_id, slot_id)
    if slot is None:
        abort(404)
    if request.method == "GET":
        event = _event(event_id)
        return confirmation_page(
            Confirmation(
                title=f"Remove {slot.title} from the programme?",
                button="Yes, remove it",
                back=url_for("events_manage.programme", event_id=event_id),
                facts=[
                    (
                        "When",
                        f"{format_date(slot.starts_at)}, "
                        f"{format_time_range(slot.starts_at, slot.ends_at)}",
                    ),
                    ("Room", slot.room or "not given"),
                    ("Speakers", ", ".join(str(s) for s in slot.speakers) or "none"),
                ],
                consequences=[
                    "The session and its speakers leave the programme, on the event's page "
                    "and in the calendar feeds.",
                ],
            ),
            event=event,
        )
    if not ButtonForm().validate_on_submit():
        abort(400)
    title = slot.title
    programme.delete_slot(slot)
    flash(f"Removed from the programme: {title}.")
    return redirect(url_for("events_manage.programme", event_id=event_id))


# ----------------------------------------------------------------------------- messages


# Write, check (the count and the e-mail as a delegate reads it, a test copy to yourself), then
# send: the form's fields travel hidden through the check page and are validated again there.


def _message_form(event: Event) -> MessageForm:
    form = MessageForm()
    form.offer(booking_service.message_audiences(event))
    return form


def _message_page(event: Event, form: MessageForm):
    """The form, with the messages already sent below it."""
    return render_template(
        "events/manage/message.html",
        event=event,
        form=form,
        availability=booking_service.availability(event),
        history=service.messages_of(event.id),
        audiences=AUDIENCES,
    ), form_status(form)


def _check_page(event: Event, form: MessageForm, notice: str = "", status: int = 200):
    preview = service.preview_message(
        event.id, form.audience.data, form.subject.data, form.body.data
    )
    return render_template(
        "events/manage/message_check.html",
        event=event,
        form=form,
        preview=preview,
        audience=AUDIENCES[preview.audience],
        notice=notice,
    ), status


# The rule nearest the function is registered first, so url_for builds the address it had.
@bp.route("/events/<int:event_id>/messages", methods=["GET", "POST"])
@bp.route("/events/<int:event_id>/message", methods=["GET", "POST"])
def message(event_id: int):
    """Nothing is sent without the check page's "Send" (``confirm``) and the audience's size
    it showed; any other valid POST shows the check page."""
    event = _event(event_id)
    form = _message_form(event)
    if not form.validate_on_submit() or form.change.data:
        return _message_page(event, form)
    expected = form.confirmed_recipients()
    if not form.confirm.data or expected is None:
        return _check_page(event, form)
    try:
        sent = service.send_message(
            event.id,
            form.audience.data,
            form.subject.data,
            form.body.data,
            current_user.email,
            expected=expected,
        )
    except booking_service.AudienceChanged as changed:
        notice = (
            f"The audience has changed since you checked: it is now {changed.recipients} "
            f"(it was {expected}). Check the message again before sending."
        )
        return _check_page(event, form, notice, 422)
    except booking_service.AudienceRefused as refused:
        form.audience.errors.append(str(refused))
        return _message_page(event, form)
    flash(f"Message queued for {sent.recipients} delegates; a copy is kept below.")
    return redirect(url_for("events_manage.message", event_id=event_id) + "#sent")


@bp.post("/events/<int:event_id>/message/test")
def message_test(event_id: int):
    """A copy to the signed-in organiser, then the check page again."""
    event = _event(event_id)
    form = _message_form(event)
    if not form.validate_on_submit():
        return _message_page(event, form)
    service.send_test_message(event.id, form.subject.data, form.body.data, current_user.email)
    notice = f"A test copy is on its way to {current_user.email}. Nothing has gone to delegates."
    return _check_page(event, form, notice)
