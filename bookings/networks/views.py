"""Public pages of the networks and sub-groups."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from bookings.networks import service
from bookings.papers import service as papers_service

bp = Blueprint("networks", __name__)


@bp.get("/networks")
def index():
    return render_template("networks/index.html", networks=service.networks_with_meetings())


@bp.get("/networks/<slug>")
def show(slug: str):
    page = service.network_page(slug)
    if page is None:
        abort(404)
    meetings = [*page.upcoming, *page.past[:10]]
    return render_template(
        "networks/show.html",
        **page._asdict(),
        papers=papers_service.meeting_papers([m.id for m in meetings]),
    )
