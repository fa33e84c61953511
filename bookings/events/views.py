"""Public pages: home, the event list and archive, one event.

Each is rendered from parts kept per process by what they are made of (``bookings/web/pages.py``):
one query reads the page's stamp (``service.public_event_stamp``, ``service.listing_stamp``)
and only a changed stamp renders the expensive part again.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from markupsafe import Markup

from bookings.booking import service as booking_service
from bookings.booking.forms import BookingForm
from bookings.events import service
from bookings.events.models import EventKind
from bookings.web import pages

bp = Blueprint("events", __name__)


@bp.get("/")
def home():
    stamp = service.listing_stamp(limit=6)
    key = ("home", stamp.key)
    if (unchanged := pages.not_modified(key)) is not None:
        return unchanged
    kept = pages.kept(key)
    if kept is None:
        listed = service.listing(limit=6)
        kept = pages.keep(key, (render_template("events/_home.html", **listed._asdict()),))
    html = pages.whole_page(
        key, lambda: render_template("events/home.html", content=Markup(kept[0]))
    )
    return pages.validated(Response(pages.with_token(html)), key)


@bp.get("/events")
def index():
    kind = _kind_filter()
    past = request.args.get("when") == "past"
    stamp = service.listing_stamp(kind, past=past)
    key = ("index", kind, past, stamp.key)
    if (unchanged := pages.not_modified(key)) is not None:
        return unchanged
    kept = pages.kept(key)
    if kept is None:
        listed = service.listing(kind, past=past)
        content = render_template(
            "events/_index.html",
            **listed._asdict(),
            kind=kind,
            kinds=list(EventKind),
            past=past,
        )
        kept = pages.keep(key, (content,))
    html = pages.whole_page(
        key, lambda: render_template("events/index.html", content=Markup(kept[0]), past=past)
    )
    return pages.validated(Response(pages.with_token(html)), key)


@bp.get("/events/<slug>")
def show(slug: str):
    stamp = service.public_event_stamp(slug)
    if stamp is None:
        abort(404)
    sectors, lscbs = booking_service.reference_choices()
    key = ("event", slug, stamp.key, sectors, lscbs)
    if (unchanged := pages.not_modified(key)) is not None:
        return unchanged
    (availability,) = stamp.availability.values()
    # Kept without the counts, which change with every booking: on opening day the event and
    # its programme are rendered once, and each request renders only the places left.
    content_key = ("event", slug, stamp.content_key, sectors, lscbs)
    kept = pages.kept(content_key)
    if kept is None:
        event = service.public_event(slug)
        if event is None:  # unpublished between the two queries
            abort(404)
        form = BookingForm()
        form.set_sectors(sectors)
        form.set_lscbs(lscbs)
        live = {name: pages.placeholder(name) for name in LIVE_PARTS}
        content = render_template(
            "events/_show.html", event=event, availability=availability, form=form, live=live
        )
        kept = pages.keep(content_key, (event.title, pages.without_token(content)))
    title, content = kept
    page = pages.whole_page(
        content_key,
        lambda: render_template("events/show.html", title=title, content=Markup(content)),
    )
    (past,) = (row_is_past for *_, row_is_past in stamp.content_key)
    live = {
        "badge": _partial("booking/_state_badge.html", a=availability),
        "panel": _partial("booking/_panel_status.html", availability=availability, past=past),
    }
    return pages.validated(Response(pages.fill(page, live)), key)


def _partial(name: str, **values) -> str:
    """A small template with its values only: the live parts need no request context."""
    templates = current_app.extensions.setdefault("live_templates", {})
    if name not in templates or current_app.debug:  # debug: edited templates show
        templates[name] = current_app.jinja_env.get_template(name)
    return templates[name].render(**values)


LIVE_PARTS = ("badge", "panel")


def _kind_filter() -> EventKind | None:
    value = request.args.get("kind", "")
    try:
        return EventKind(value) if value else None
    except ValueError:
        abort(404)
