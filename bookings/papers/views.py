"""Papers' downloads: public ones, and those a delegate reaches through their manage link."""

from __future__ import annotations

from flask import Blueprint, abort

from bookings.booking import service as booking_service
from bookings.papers import service
from bookings.papers.downloads import send_paper

bp = Blueprint("papers", __name__)


@bp.get("/papers/<int:paper_id>")
def download(paper_id: int):
    paper = service.public_paper(paper_id)
    if paper is None:
        abort(404)
    return send_paper(paper, private=False)


@bp.get("/bookings/<token>/papers/<int:paper_id>")
def booking_download(token: str, paper_id: int):
    booking = booking_service.booking_for_token(token)
    paper = service.booking_paper(booking, paper_id) if booking is not None else None
    if paper is None:
        abort(404)
    return send_paper(paper, private=True)
