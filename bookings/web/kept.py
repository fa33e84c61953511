"""Public pages kept for a second: the home page, the events list and each event's page.

When the annual conference opens for booking, thousands of visitors ask for the same few pages
within minutes, and each page is the same for all of them but for the form's CSRF token. So a
worker keeps each such page it renders for ``PUBLIC_PAGES_KEPT_SECONDS`` (default 1) and
answers the same address from it, with the visitor's own token put in: whatever a page shows
(places left, whether booking is open, the programme) is never more than that old, on any
worker, and nothing has to know when to forget it (a new thing on the event page is kept as
the rest is). Each worker renders each page at most once a kept time, however many bookings
are made meanwhile.

Kept only for what is the same for everyone: GET, a visitor not logged in, no message waiting
to be flashed, no query parameter but those the page reads, a 200 answer in HTML. The key is
the address as the app sees it (scheme, host, prefix, path, the page's parameters). Each app
has its own keep (``app.extensions``), of at most ``MOST_PAGES``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import Flask, Response, current_app, g, make_response, request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

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


def kept(render: Callable[[], ResponseReturnValue], reads: Sequence[str] = ()) -> Response:
    """The page ``render`` makes (reading the query parameters ``reads``), from the keep when
    it is there and fresh; never for a shared cache (a proxy's), since each answer carries its
    visitor's token and session."""
    response = _from_keep(render, reads)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _from_keep(render: Callable[[], ResponseReturnValue], reads: Sequence[str]) -> Response:
    seconds = current_app.config["PUBLIC_PAGES_KEPT_SECONDS"]
    if not seconds or not _same_for_everyone(reads):
        return make_response(render())
    pages: dict[tuple, Kept] = current_app.extensions[KEY]
    key = (request.url_root, request.path, *(tuple(request.args.getlist(n)) for n in reads))
    now = clock()
    page = pages.get(key)
    if page is not None and page.until > now:
        body = page.body.replace(TOKEN, generate_csrf()) if page.has_token else page.body
        return Response(body, 200, page.headers)
    response = make_response(render())
    if response.status_code == 200 and response.mimetype == "text/html" and _room(pages, now):
        body = response.get_data(as_text=True)
        token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
        has_token = bool(token) and token in body
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


def _same_for_everyone(reads: Sequence[str]) -> bool:
    return (
        request.method == "GET"
        and all(name in reads for name in request.args)
        and "_flashes" not in session
        and not current_user.is_authenticated
    )


def _room(pages: dict[tuple, Kept], now: float) -> bool:
    """Whether one more page fits, once the pages whose time is over have gone."""
    if len(pages) < MOST_PAGES:
        return True
    for key, page in list(pages.items()):  # a copy: the dev server's threads share the keep
        if page.until <= now:
            pages.pop(key, None)
    return len(pages) < MOST_PAGES


def init_app(app: Flask) -> None:
    app.extensions[KEY] = {}
