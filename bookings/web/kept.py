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
to be flashed, a 200 answer in HTML. The key is the address as the app sees it (scheme, host,
prefix, path) and what the view made of its query (``variant``: the events list's kind and
"past", already read and checked), so other or repeated parameters find the same page and
cannot add pages. Each app has its own keep (``app.extensions``), of at most ``MOST_PAGES``
and ``MOST_BYTES``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from flask import Flask, Response, current_app, g, make_response, request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

KEY = "bookings.kept_pages"
MOST_PAGES = 256
MOST_BYTES = 8 * 1024 * 1024
# Stands for the visitor's CSRF token in a kept page: no page holds a NUL, since no form lets
# one in (bookings/web/input.py).
TOKEN = "\x00token\x00"

clock = time.monotonic


@dataclass(frozen=True)
class Kept:
    until: float
    body: str
    size: int
    has_token: bool
    headers: tuple[tuple[str, str], ...]


def kept(render: Callable[[], ResponseReturnValue], variant: Hashable = None) -> Response:
    """The page ``render`` makes (of the query, as read by the view, ``variant``), from the
    keep when it is there and fresh; never for a shared cache (a proxy's), since each answer
    carries its visitor's token and session."""
    response = _from_keep(render, variant)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _from_keep(render: Callable[[], ResponseReturnValue], variant: Hashable) -> Response:
    seconds = current_app.config["PUBLIC_PAGES_KEPT_SECONDS"]
    if not seconds or not _same_for_everyone():
        return make_response(render())
    pages: dict[tuple, Kept] = current_app.extensions[KEY]
    key = (request.url_root, request.path, variant)
    now = clock()
    page = pages.get(key)
    if page is not None and page.until > now:
        body = page.body.replace(TOKEN, generate_csrf()) if page.has_token else page.body
        return Response(body, 200, page.headers)
    response = make_response(render())
    body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
    if response.status_code == 200 and body and _room(pages, len(body), now):
        token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
        has_token = bool(token) and token in body
        pages[key] = Kept(
            until=now + seconds,
            body=body.replace(token, TOKEN) if has_token else body,
            size=len(body),
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


def _room(pages: dict[tuple, Kept], size: int, now: float) -> bool:
    """Whether one more page of ``size`` fits, once the pages whose time is over have gone."""

    def fits() -> bool:
        kept_pages = list(pages.values())  # a copy: the dev server's threads share the keep
        return len(kept_pages) < MOST_PAGES and sum(p.size for p in kept_pages) + size <= MOST_BYTES

    if fits():
        return True
    for key, page in list(pages.items()):
        if page.until <= now:
            pages.pop(key, None)
    return fits()


def init_app(app: Flask) -> None:
    app.extensions[KEY] = {}
