"""What reaches the logs: where a fault happened, never a delegate's personal data.

A failed write carries the row it was writing: SQLAlchemy appends the statement's parameters
(``hide_parameters`` removes them), PostgreSQL adds ``DETAIL: Failing row contains (...)``, and a
bad value can sit in the message of any ``ValueError`` or ``KeyError``. So a traceback that goes
through the app's logger keeps its frames and exception types, the SQL statement (values are
bound, never in its text), the SQL state and the constraint, and drops every other message.
Manage links in messages (Flask names the request path of a failed request) become ``[link]``,
and request logs keep a query string's names but not its values (the console's check-in search
``?q=`` is a delegate's name).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import traceback

from flask import Flask
from flask.logging import default_handler
from sqlalchemy.exc import StatementError

from bookings.web import ACCESS_LOGGERS, redact_links

# Their messages describe code (a name, an attribute, a type), not the data it was handling.
CODE_ERRORS = (AttributeError, ImportError, NameError, NotImplementedError, TypeError)
HIDDEN = "(message hidden: it may hold personal data)"
CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
QUERY = re.compile(r"\?([^\s\"]+)")


class HidePersonalData(logging.Filter):
    """Rewrites a record in place, so that every handler (and pytest's caplog) sees the same
    safe text; the exception object itself is dropped from the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        safe = redact_links(message)
        if safe != message:
            record.msg, record.args = safe, ()
        if record.exc_info:
            error = record.exc_info[1]
            record.exc_info = None
            if error is not None:
                record.exc_text = safe_traceback(error)
        return True


class HideQueryValues(logging.Filter):
    """``GET /manage/events/3/check-in?q=Jan+Pearson`` is logged as ``...?q=[value]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if QUERY.search(message):
            record.msg, record.args = QUERY.sub(_names_only, message), ()
        return True


def _names_only(query: re.Match) -> str:
    names = [part.partition("=")[0] + "=[value]" for part in query[1].split("&") if part]
    return "?" + "&".join(names)


def init_app(app: Flask) -> None:
    """The app's logger and everything under it (``bookings.*`` through Flask's handler),
    gunicorn's error log, which reports a request that failed outside Flask's handling, and
    the request logs of the dev server and gunicorn."""
    targets = [
        (target, HidePersonalData)
        for target in (app.logger, default_handler, logging.getLogger("gunicorn.error"))
    ]
    targets += [(logging.getLogger(name), HideQueryValues) for name in ACCESS_LOGGERS]
    for target, kind in targets:
        if not any(isinstance(f, kind) for f in target.filters):
            target.addFilter(kind())


def safe_traceback(error: BaseException) -> str:
    """Like ``traceback.format_exception``, with each message replaced by ``describe``."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and not any(current is seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    text = ""
    for position in reversed(range(len(chain))):
        older = chain[position]
        text += "Traceback (most recent call last):\n"
        text += "".join(traceback.format_tb(older.__traceback__))
        text += f"{_qualified_name(older)}: {describe(older)}\n"
        if position:
            text += CAUSE if chain[position - 1].__cause__ is older else CONTEXT
    return text.rstrip("\n")


def describe(error: BaseException) -> str:
    """A message that names what failed without the values involved."""
    if isinstance(error, StatementError):
        statement = " ".join((error.statement or "").split())[:500]
        orig = describe(error.orig) if error.orig is not None else HIDDEN
        return f"{orig} [SQL: {statement}]"
    if isinstance(error, sqlite3.Error) or type(error).__module__.startswith("psycopg"):
        facts = [
            f"{label} {value}"
            for label, value in (
                ("SQLSTATE", getattr(error, "sqlstate", None)),
                ("SQLite error", getattr(error, "sqlite_errorname", None)),
                ("constraint", getattr(getattr(error, "diag", None), "constraint_name", None)),
                ("table", getattr(getattr(error, "diag", None), "table_name", None)),
            )
            if value
        ]
        return f"{_qualified_name(error)} ({', '.join(facts) or 'no code'})"
    if isinstance(error, CODE_ERRORS):
        return str(error)
    return HIDDEN


def _qualified_name(error: BaseException) -> str:
    kind = type(error)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
