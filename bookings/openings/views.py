"""Ask to be told when an event's booking opens, and take an address off again."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from bookings.events import service as event_service
from bookings.extensions import csrf, limiter
from bookings.openings import service
from bookings.openings.forms import TellMeForm
from bookings.web.forms import ButtonForm

bp = Blueprint("openings", __name__)


@bp.post("/events/<slug>/tell-me")
@limiter.limit("5 per 10 minutes")
def tell_me(slug: str):
    event = event_service.public_event(slug)
    if event is None:
        abort(404)
    form = TellMeForm()
    if not form.validate_on_submit():
        return render_template("openings/tell_me.html", event=event, tell_form=form), 422
    service.subscribe(event.id, form.email.data)
    return render_template("openings/told.html", event=event, email=form.email.data)


@bp.route("/bookings/alerts/<token>", methods=["GET", "POST"])
@csrf.exempt  # no Referer under /bookings/; the button form checks its own token
def unsubscribe(token: str):
    """A GET only asks (mail scanners open links); the button deletes."""
    form = ButtonForm()
    if form.validate_on_submit():
        service.unsubscribe(token)
        return render_template("openings/unsubscribed.html")
    return render_template("openings/unsubscribe.html", form=form)
