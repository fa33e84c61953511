"""Shared web pieces: template filters, error pages, request-log redaction.

The other modules here are the form helpers (``forms``), the console guard (``console``) and
the edge checks of paths, query strings and numbers (``input``) that every feature's pages
use; the features' blueprints are registered by ``create_app``.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, render_template
from markupsafe import Markup

from bookings import london
from bookings.db import db
from bookings.web import input as edge
from bookings.web import kept

# A manage, team or "my bookings" link, or an LSCB's booking link: each is a key to something.
MANAGE_LINK = re.compile(r"/bookings/(?:[a-z]+/)?[A-Za-z0-9_-]{20,}")
LSCB_LINK = re.compile(r"(?<=/lscb/)[A-Za-z0-9_-]{20,}")
# The servers' request logs: the dev server's (make run) and gunicorn's, when switched on.
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")


class RedactManageLinks(logging.Filter):
    """A manage link opens a delegate's booking: it must not sit in a request log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        safe = redact_links(message)
        if safe != message:
            record.msg, record.args = safe, ()
        return True


def redact_links(text: str) -> str:
    """The text with every secret link's key replaced by ``[link]``."""
    return LSCB_LINK.sub("[link]", MANAGE_LINK.sub("/bookings/[link]", text))


def paragraphs(text: str) -> Markup:
    """Blank-line separated text as escaped HTML paragraphs."""
    blocks = [block.strip() for block in (text or "").split("\n\n") if block.strip()]
    return Markup("").join(Markup("<p>%s</p>") % block for block in blocks)


def init_app(app: Flask) -> None:
    edge.init_app(app)
    kept.init_app(app)
    for name in ACCESS_LOGGERS:
        access_log = logging.getLogger(name)
        if not any(isinstance(f, RedactManageLinks) for f in access_log.filters):
            access_log.addFilter(RedactManageLinks())

    app.add_template_filter(london.format_date, "london_date")
    app.add_template_filter(london.format_short_date, "short_date")
    app.add_template_filter(london.format_time, "london_time")
    app.add_template_filter(london.format_datetime, "london_datetime")
    app.add_template_filter(london.format_time_range, "time_range")
    app.add_template_filter(london.format_moment, "london_moment")
    app.add_template_filter(london.format_span, "span")
    app.add_template_filter(london.format_stamp, "stamp")
    app.add_template_filter(paragraphs, "paragraphs")

    @app.errorhandler(403)
    def forbidden(_error):
        return render_template("errors/403.html"), 403

    @app.errorhandler(404)
    def not_found(_error):
        return render_template("errors/404.html"), 404

    @app.errorhandler(413)
    def too_large(_error):
        return render_template("errors/413.html"), 413

    @app.errorhandler(429)
    def too_many(_error):
        return render_template("errors/429.html"), 429

    @app.errorhandler(500)
    def server_error(_error):
        db.session.rollback()
        return render_template("errors/500.html"), 500
