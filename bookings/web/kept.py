"""Public pages kept for a second: the home page, the events list and each event's page.

When the annual conference opens for booking, thousands of visitors ask for the same few pages
within minutes, and each page is the same for all of them but for the form's CSRF token. So a
worker keeps each such page it renders for ``PUBLIC_PAGES_KEPT_SECONDS`` (default 1) and
answers the same address from it, with the visitor's own token put in; whatever a page shows
(places left, whether booking is open, the programme) is never more than that old, and a
change committed by the worker itself empties its keep at once (``after_commit``).

Kept only for what is the same for everyone: GET, a visitor not logged in, no message waiting
to be flashed, a 200 answer in HTML. Each app has its own keep (``app.extensions``), bounded in
size; an address's query string is part of its key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Response, current_app, g, has_app_context, make_response, request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event

from bookings.db import db

KEY = "bookings.kept_pages"
MOST_PAGES = 256
# Stands for the visitor's CSRF token in a kept page: no page holds a NUL, since no form lets
# one in (bookings/web/input.py).
TOKEN = "\x00token\x00"

clock = time.monotonic


@dataclass(frozen=True)
class Kept:
    until: float
    body: str
    has_token: bool
    headers: tuple[tuple[str, str], ...]


def kept(render: Callable[[], ResponseReturnValue]) -> Response:
    """The page ``render`` makes, from the keep when it is there and fresh; never for a shared
    cache (a proxy's), since each answer carries its visitor's token and session."""
    response = _from_keep(render)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _from_keep(render: Callable[[], ResponseReturnValue]) -> Response:
    seconds = current_app.config["PUBLIC_PAGES_KEPT_SECONDS"]
    if not seconds or not _same_for_everyone():
        return make_response(render())
    pages: dict[tuple[str, str], Kept] = current_app.extensions[KEY]
    key = (request.host, request.full_path)
    now = clock()
    page = pages.get(key)
    if page is not None and page.until > now:
        body = page.body.replace(TOKEN, generate_csrf()) if page.has_token else page.body
        return Response(body, 200, page.headers)
    response = make_response(render())
    if response.status_code == 200 and response.mimetype == "text/html":
        body = response.get_data(as_text=True)
        token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
        has_token = bool(token) and token in body
        if len(pages) >= MOST_PAGES:
            pages.clear()
        pages[key] = Kept(
            until=now + seconds,
            body=body.replace(token, TOKEN) if has_token else body,
            has_token=has_token,
            headers=tuple(
                (name, value)
                for name, value in response.headers.items()
                if name.lower() not in ("content-length", "cache-control")
            ),
        )
    return response


def _same_for_everyone() -> bool:
    return (
        request.method == "GET" and "_flashes" not in session and not current_user.is_authenticated
    )


@event.listens_for(db.session, "after_commit")
def _forget(_session) -> None:
    """A change this worker committed is seen on its next page, not a second later."""
    if has_app_context():
        pages = current_app.extensions.get(KEY)
        if pages:
            pages.clear()


def init_app(app: Flask) -> None:
    app.extensions[KEY] = {}
