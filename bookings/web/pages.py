"""Public pages kept rendered per process, by what they are made of, and their validators.

A page's expensive part (the event with its programme, the booking form's lists, a list of
events) is rendered once per distinct key and kept here; the key is every value it shows, read
in one cheap query on each request (``events.service.public_event_stamp``), so a change shows
on the very next request. What is the visitor's own is never kept: the page around the kept
part (navigation, flashed messages, the organiser's log-out form) is rendered on each request,
and the booking form's CSRF token is put into the kept part on the way out (``with_token``).

Browsers get an ETag made of the key and of the visitor's session (their CSRF secret and who is
signed in), with ``Cache-Control: private, no-cache``: a revisit costs the key query and a 304,
and a shared cache never stores the page. There is no Last-Modified: places left change without
the event changing, so a date cannot say whether the page did.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import Response, current_app, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

CACHE_CONTROL = "private, no-cache"
# Placeholders are never in rendered HTML otherwise: forms refuse control characters.
TOKEN_PLACEHOLDER = "\x00csrf-token\x00"
# Bumped whenever the templates of kept parts change in a way the key does not see.
FORMAT_VERSION = 1


class RenderedParts:
    """Rendered fragments by key, the least recently used dropped beyond ``size``."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._parts: OrderedDict[Hashable, tuple[str, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[str, ...] | None:
        with self._lock:
            parts = self._parts.get(key)
            if parts is not None:
                self._parts.move_to_end(key)
            return parts

    def put(self, key: Hashable, parts: tuple[str, ...]) -> tuple[str, ...]:
        with self._lock:
            self._parts[key] = parts
            self._parts.move_to_end(key)
            while len(self._parts) > self.size:
                self._parts.popitem(last=False)
        return parts

    def clear(self) -> None:
        with self._lock:
            self._parts.clear()


def kept(key: Hashable) -> tuple[str, ...] | None:
    """The parts kept for ``key`` by this app, for this host (pages may hold absolute links)."""
    return _parts().get((request.host_url, key))


def keep(key: Hashable, parts: tuple[str, ...]) -> tuple[str, ...]:
    return _parts().put((request.host_url, key), parts)


def _parts() -> RenderedParts:
    return current_app.extensions.setdefault("rendered_parts", RenderedParts())


def placeholder(name: str) -> Markup:
    """Stands in a kept part for what is rendered on each request (``fill``)."""
    return Markup(f"\x00live-{name}\x00")


def fill(kept: str, live: dict[str, str]) -> Markup:
    """Kept HTML with the live parts and the visitor's CSRF token put in."""
    for name, html in live.items():
        kept = kept.replace(placeholder(name), html)
    return with_token(kept)


def whole_page(key: Hashable, render: Callable[[], str]) -> str:
    """The page as ``render`` makes it, kept whole for visitors who are not signed in and have
    no message waiting: for them the page around the kept parts is the same for everybody
    (the navigation depends only on the page, the footer on the settings). Anybody else gets
    it rendered around the kept parts on each request."""
    if current_user.is_authenticated or "_flashes" in session:
        return render()
    page = kept(("whole", key))
    if page is None:
        page = keep(("whole", key), (render(),))
    return page[0]


def without_token(html: str) -> str:
    """The rendered HTML with this request's CSRF token taken out, to be kept."""
    return html.replace(generate_csrf(), TOKEN_PLACEHOLDER)


def with_token(kept: str) -> Markup:
    """Kept HTML with the current visitor's CSRF token put in."""
    if TOKEN_PLACEHOLDER in kept:
        kept = kept.replace(TOKEN_PLACEHOLDER, generate_csrf())
    return Markup(kept)


def etag(key: Hashable) -> str:
    """The page's validator: its key and the visitor's session, never shared between them."""
    visitor = (session.get("csrf_token"), current_user.get_id())
    digest = hashlib.blake2b(repr((FORMAT_VERSION, key, visitor)).encode(), digest_size=16)
    return digest.hexdigest()


def not_modified(key: Hashable) -> Response | None:
    """A 304 when the browser's copy is the page as it would be now; None otherwise.

    Never when a message is waiting to be flashed: the browser's copy cannot show it.
    """
    if "_flashes" in session or not request.if_none_match:
        return None
    tag = etag(key)
    if not request.if_none_match.contains(tag):
        return None
    return validated(Response(status=304), key)


def validated(response: Response, key: Hashable) -> Response:
    """The response with its validator, taken after rendering (which may have given the
    session its CSRF secret), and kept out of shared caches."""
    response.set_etag(etag(key))
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.vary.add("Cookie")
    return response
