"""Serving a paper's file: always a download, never run or shown in the site's origin."""

from __future__ import annotations

from flask import Response, abort, send_file

from bookings.papers import service
from bookings.papers.models import Paper


def send_paper(paper: Paper, *, private: bool) -> Response:
    """The file as an attachment under its cleaned name, with its own type, not sniffed, in a
    sandbox; ``private`` ones (for delegates or organisers) are never kept by a cache."""
    try:
        path = service.stored_path(paper)
        response = send_file(
            path, mimetype=paper.content_type, conditional=False, max_age=0, etag=False
        )
    except FileNotFoundError:
        abort(404)
    response.headers["Content-Disposition"] = service.content_disposition(paper.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    # Even a public one is revalidated: an organiser may restrict or remove it at any time.
    response.headers["Cache-Control"] = "private, no-store" if private else "public, no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
