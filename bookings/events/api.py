"""JSON for the Board's website: availability of events, never personal data."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request, url_for

from bookings.booking import service as booking_service
from bookings.booking.service import Availability
from bookings.events import service
from bookings.events.models import Event, EventKind
from bookings.london import to_london

bp = Blueprint("api", __name__, url_prefix="/api")


def _iso(value) -> str | None:
    return to_london(value).isoformat() if value is not None else None


def _event_json(event: Event, availability: Availability) -> dict[str, Any]:
    return {
        "slug": event.slug,
        "title": event.title,
        "kind": event.kind.value,
        "status": event.status.value,
        "starts_at": _iso(event.starts_at),
        "ends_at": _iso(event.ends_at),
        "venue": event.venue.full_address if event.venue else None,
        "capacity": availability.capacity,
        "confirmed": availability.confirmed,
        "waitlisted": availability.waitlisted,
        "places_left": availability.places_left,
        "booking_state": availability.state.value,
        "booking_open": availability.bookable,
        "url": url_for("events.show", slug=event.slug, _external=True),
    }


@bp.get("/events")
def events():
    kind = request.args.get("kind")
    try:
        kind_filter = EventKind(kind) if kind else None
    except ValueError:
        return jsonify(error=f"unknown kind {kind!r}"), 400
    listed = service.public_events(kind_filter, past=request.args.get("when") == "past")
    availability = booking_service.availability_for(listed)
    return jsonify(events=[_event_json(e, availability[e.id]) for e in listed])


@bp.get("/events/<slug>")
def event(slug: str):
    found = service.public_event(slug)
    if found is None:
        abort(404)
    held = booking_service.held_places(found)
    body = _event_json(found, held.availability)
    body["allocations"] = [
        {
            "lscb": row.allocation.lscb.name,
            "reserved": row.reserved,
            "taken": row.taken,
            "release_at": _iso(found.allocations_release_at),
        }
        for row in held.allocations
    ]
    body["sector_limits"] = [
        {
            "sector": limit.sector.name,
            "min_percent": limit.min_percent,
            "max_percent": limit.max_percent,
            "until": _iso(limit.until),
        }
        for limit in held.limits
    ]
    body["programme"] = [
        {
            "starts_at": _iso(slot.starts_at),
            "ends_at": _iso(slot.ends_at),
            "kind": slot.kind.value,
            "title": slot.title,
            "room": slot.room or None,
            "speakers": [{"name": s.name, "organisation": s.organisation} for s in slot.speakers],
        }
        for slot in found.slots
    ]
    return jsonify(body)


@bp.errorhandler(404)
def _not_found(_error):
    return jsonify(error="not found"), 404
