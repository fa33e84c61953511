"""Public pages: home, the event list and archive, one event."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from bookings.booking import service as booking_service
from bookings.booking.forms import BookingForm
from bookings.events import service
from bookings.events.models import EventKind

bp = Blueprint("events", __name__)


@bp.get("/")
def home():
    upcoming = service.public_events()[:6]
    return render_template(
        "events/home.html",
        events=upcoming,
        availability=booking_service.availability_for(upcoming),
    )


@bp.get("/events")
def index():
    kind = _kind_filter()
    past = request.args.get("when") == "past"
    events = service.public_events(kind, past=past)
    return render_template(
        "events/index.html",
        events=events,
        availability=booking_service.availability_for(events),
        kind=kind,
        kinds=list(EventKind),
        past=past,
    )


@bp.get("/events/<slug>")
def show(slug: str):
    event = service.public_event(slug)
    if event is None:
        abort(404)
    form = BookingForm()
    form.set_sectors(booking_service.active_sectors())
    return render_template(
        "events/show.html",
        event=event,
        availability=booking_service.availability(event),
        form=form,
    )


def _kind_filter() -> EventKind | None:
    value = request.args.get("kind", "")
    try:
        return EventKind(value) if value else None
    except ValueError:
        abort(404)
