"""The feed routes (with their HTTP caching) and the calendars page.

Every feed answers GET and HEAD with ``text/calendar; charset=utf-8``, an ETag and a
Last-Modified taken from aggregate queries; a matching If-None-Match (or, without one, an
If-Modified-Since not older than Last-Modified) gets a 304 before any calendar is built.
Feeds are never compressed: some calendar clients mishandle compressed calendars.
"""

from __future__ import annotations

import re
from datetime import datetime

from flask import Blueprint, Response, abort, render_template, request

from bookings.events.models import Event, EventKind, EventStatus
from bookings.feeds import ical, links, service
from bookings.feeds.ical import Context

bp = Blueprint("feeds", __name__)

CONTENT_TYPE = "text/calendar; charset=utf-8"
# Clients may keep a copy but must ask (cheaply, with the validators) before using it.
CACHE_CONTROL = "no-cache"


@bp.app_template_global("add_to_calendar_links")
def _add_to_calendar_links(event: Event) -> links.AddLinks | None:
    """For templates/feeds/_add_to_calendar.html: only events that can still be attended."""
    if event.status != EventStatus.published or event.is_past():
        return None
    return links.add_to_calendar_links(event)


def _filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", name) or "calendar.ics"


def _not_modified(etag: str, last_modified: datetime) -> bool:
    if request.if_none_match:  # when both are sent, If-None-Match decides (RFC 9110 13.2.2)
        return request.if_none_match.contains_weak(etag)
    since = request.if_modified_since
    return since is not None and last_modified.replace(microsecond=0) <= since


def _respond(feed: service.Feed | None, disposition: str = "inline") -> Response:
    if feed is None:
        abort(404)
    context = Context.current()
    etag, last_modified = feed.validators(context)
    if _not_modified(etag, last_modified):
        response = Response(status=304)
    else:
        response = Response(feed.body(context), content_type=CONTENT_TYPE)
        response.headers["Content-Disposition"] = (
            f'{disposition}; filename="{_filename(feed.filename)}"'
        )
    response.set_etag(etag)
    response.last_modified = last_modified
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@bp.get("/feeds/all.ics")
def everything():
    return _respond(service.all_feed())


@bp.get("/feeds/events.ics")
def events():
    value = request.args.get("kind", "")
    try:
        kind = EventKind(value) if value else None
    except ValueError:
        abort(404)
    return _respond(service.events_feed(kind))


@bp.get("/feeds/events/<slug>.ics")
def event(slug: str):
    return _respond(service.event_feed(slug))


@bp.get("/feeds/events/<slug>/event.ics")
def event_file(slug: str):
    return _respond(service.event_file(slug), disposition="attachment")


def _chosen_networks() -> list[str]:
    """``?network=a,b`` (the feed's form) or ``?network=a&network=b`` (the page's form)."""
    chosen = []
    for value in request.args.getlist("network"):
        chosen.extend(slug.strip() for slug in value.split(",") if slug.strip())
    return list(dict.fromkeys(chosen))


@bp.get("/feeds/networks.ics")
def networks():
    chosen = _chosen_networks()
    if "network" in request.args and not chosen:
        abort(404)
    return _respond(service.networks_feed(chosen))


@bp.get("/feeds/networks/<slug>.ics")
def network(slug: str):
    return _respond(service.network_feed(slug))


@bp.get("/calendars")
def calendars():
    subscribe = links.subscribe_links
    general = [
        subscribe("feeds.everything", service.ALL_FEED_NAME),
        subscribe("feeds.events", service.KIND_FEED_NAMES[None]),
        *(
            subscribe("feeds.events", service.KIND_FEED_NAMES[kind], kind=kind.value)
            for kind in EventKind
        ),
        subscribe("feeds.networks", service.NETWORKS_FEED_NAME),
    ]
    overview = [
        (
            item,
            subscribe(
                "feeds.network",
                service.network_feed_name(item.network.name),
                slug=item.network.slug,
            ),
        )
        for item in service.networks_overview()
    ]
    chosen = service.networks_by_slug(_chosen_networks())
    selection = None
    if chosen:
        selection = subscribe(
            "feeds.networks",
            service.networks_feed_name(", ".join(network.name for network in chosen)),
            network=",".join(network.slug for network in chosen),
        )
    return render_template(
        "feeds/calendars.html",
        general=general,
        overview=overview,
        chosen={network.slug for network in chosen},
        selection=selection,
        default_length=ical.length_text(ical.DEFAULT_LENGTH),
    )
