"""Public pages: home, the event list and archive, one event."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from bookings.booking import service as booking_service
from bookings.booking.forms import BookingForm
from bookings.events import service
from bookings.events.models import EventKind
from bookings.openings import service as openings_service
from bookings.openings.forms import TellMeForm
from bookings.papers import service as papers_service
from bookings.web.kept import kept

bp = Blueprint("events", __name__)


@bp.get("/")
def home():
    return kept(lambda: render_template("events/home.html", **service.listing(limit=6)._asdict()))


@bp.get("/events")
def index():
    kind = _kind_filter()
    past = request.args.get("when") == "past"
    return kept(lambda: _index(kind, past), variant=(kind, past))


def _index(kind: EventKind | None, past: bool):
    return render_template(
        "events/index.html",
        **service.listing(kind, past=past)._asdict(),
        kind=kind,
        kinds=list(EventKind),
        past=past,
    )


@bp.get("/events/<slug>")
def show(slug: str):
    return kept(lambda: _show(slug))


def _show(slug: str):
    page = service.public_event_page(slug)
    if page is None:
        abort(404)
    form = BookingForm()
    form.set_sectors(booking_service.active_sectors())
    form.set_lscbs(booking_service.active_lscbs())
    return render_template(
        "events/show.html",
        **page._asdict(),
        form=form,
        papers=papers_service.public_papers(page.event.id),
        tell_form=TellMeForm() if openings_service.offered(page.event) else None,
    )


def _kind_filter() -> EventKind | None:
    value = request.args.get("kind", "")
    try:
        return EventKind(value) if value else None
    except ValueError:
        abort(404)
