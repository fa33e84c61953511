"""The edge: what text and numbers from outside may be, checked once for every request.

Neither database can keep a NUL (PostgreSQL refuses it with an error, SQLite stores it) or a
lone surrogate, and no other control character has a place in a name, a title or a search.
So, before any view runs:

- a path segment holding one is a 404 (no such page),
- a query parameter holding one is a 400 (no link or form of ours makes it),
- a form field holding one gets a field error through ``bookings.web.forms.Form``.

Line breaks (and tabs) are text in a multi-line field; a single-line field, a path segment or a
query parameter refuses them. A well-formed but unknown filter value is the unfiltered page
(``whole_number``, ``query_date`` and each view's own choice lists).

Whole numbers in the path and in filters stay within the ids' column type, INTEGER (32-bit on
PostgreSQL), so a huge number is a 404 or no filter, never an overflow in the database. Dates
stay within ``FIRST_DATE`` and ``LAST_DATE``, far enough from Python's limits that a London
day's start, end and neighbours always exist.
"""

from __future__ import annotations

import re
from datetime import date

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter, Map

# Every table's id is an INTEGER column: 32-bit signed on PostgreSQL.
ID_MAX = 2**31 - 1

FIRST_DATE, LAST_DATE = date(1900, 1, 1), date(2999, 12, 31)

# C0 controls but tab, CR and LF; DEL; C1 controls; surrogates (only ever lone in a str).
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
_REFUSED_MULTI_LINE = re.compile(f"[{_CONTROLS}]")
_REFUSED_ONE_LINE = re.compile(f"[{_CONTROLS}\r\n]")
_WHOLE_NUMBER = re.compile(r"[0-9]{1,10}")

CONTROL_MESSAGE = (
    "This holds invisible control characters that cannot be stored. Please type it again."
)
LINE_BREAK_MESSAGE = "Please keep this on one line."
DATE_RANGE_MESSAGE = f"Enter a date from {FIRST_DATE.year} to {LAST_DATE.year}."


def refusal(text: str, *, multi_line: bool = False) -> str | None:
    """Why ``text`` cannot be kept, or None when it can."""
    if _REFUSED_MULTI_LINE.search(text):
        return CONTROL_MESSAGE
    if not multi_line and _REFUSED_ONE_LINE.search(text):
        return LINE_BREAK_MESSAGE
    return None


class IdConverter(IntegerConverter):
    """``<int:...>`` for the whole app: ASCII digits only (``\\d`` would take "٣"), at most
    ``ID_MAX``, so ``/manage/events/99999999999999999999`` is a 404, not a database error."""

    regex = r"[0-9]+"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = ID_MAX,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def whole_number(value: str, *, maximum: int = ID_MAX) -> int | None:
    """A numeric filter's ``value`` (from the query string) as a whole number from 0 to
    ``maximum``; None (no filter) when it is anything else, e.g. ``²``, which ``str.isdigit``
    takes and ``int`` then refuses."""
    if _WHOLE_NUMBER.fullmatch(value) and int(value) <= maximum:
        return int(value)
    return None


def query_date(name: str) -> date | None:
    """``?name=`` as an ISO date from ``FIRST_DATE`` to ``LAST_DATE``; None when it is missing
    or anything else."""
    value = request.args.get(name, "")
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if FIRST_DATE <= day <= LAST_DATE else None


def refuse_unreadable_request() -> None:
    """The app's first ``before_request``: bad path segments and query parameters stop here."""
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and refusal(value):
            abort(404)
    for key, values in request.args.lists():
        if refusal(key) or any(refusal(value) for value in values):
            abort(400)


def init_app(app: Flask) -> None:
    """Call before any blueprint is registered: the rules pick up the ``int`` converter then."""
    app.url_map.converters["int"] = IdConverter
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_unreadable_request)
