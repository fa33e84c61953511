"""A delegate's own bookings: ask for the link, the page it opens, and the private feed."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request

from bookings.extensions import csrf, limiter
from bookings.mine import service
from bookings.mine.forms import MyBookingsForm
from bookings.web.forms import form_status

bp = Blueprint("mine", __name__)


@bp.route("/bookings/mine", methods=["GET", "POST"])
@limiter.limit("5 per 10 minutes", methods=["POST"])
@csrf.exempt  # no Referer under /bookings/ (see booking.views); the form checks its token
def ask():
    form = MyBookingsForm()
    if form.validate_on_submit():
        service.send_link(form.email.data)
        return render_template("mine/sent.html", email=form.email.data)
    return render_template("mine/ask.html", form=form), form_status(form)


@bp.get("/bookings/mine/<token>")
def page(token: str):
    bookings = service.bookings_for_token(token)
    if bookings is None:
        abort(404)
    return render_template(
        "mine/page.html",
        bookings=[(b, service.manage_url(b)) for b in bookings],
        token=token,
    )


@bp.get("/bookings/mine/<token>/calendar.ics")
def feed(token: str):
    bookings = service.bookings_for_token(token)
    if bookings is None:
        abort(404)
    return Response(
        service.calendar(bookings),
        mimetype="text/calendar",
        headers={"Content-Disposition": 'inline; filename="my-bookings.ics"'},
    )


@bp.after_request
def _private(response):
    """The link is a key to someone's bookings: never cached, never sent on as a referrer."""
    if request.path.startswith("/bookings/mine/"):
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response
