"""Public pages of the networks and sub-groups."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from bookings.networks import service

bp = Blueprint("networks", __name__)


@bp.get("/networks")
def index():
    networks = service.networks()
    return render_template(
        "networks/index.html",
        networks=[(network, *service.split_meetings(network)) for network in networks],
    )


@bp.get("/networks/<slug>")
def show(slug: str):
    network = service.network(slug)
    if network is None:
        abort(404)
    upcoming, past = service.split_meetings(network)
    return render_template("networks/show.html", network=network, upcoming=upcoming, past=past)
