"""Blueprints, template filters, error pages, the login loader and request-log redaction."""

from __future__ import annotations

import hmac
import logging
import re

from flask import Flask, render_template
from markupsafe import Markup

from bookings import london
from bookings.db import db
from bookings.extensions import login_manager

MANAGE_LINK = re.compile(r"/bookings/[A-Za-z0-9_-]{20,}")
# The servers' request logs: the dev server's (make run) and gunicorn's, when switched on.
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")


class RedactManageLinks(logging.Filter):
    """A manage link opens a delegate's booking: it must not sit in a request log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if MANAGE_LINK.search(message):
            record.msg, record.args = MANAGE_LINK.sub("/bookings/[link]", message), ()
        return True


def init_app(app: Flask) -> None:
    for name in ACCESS_LOGGERS:
        access_log = logging.getLogger(name)
        if not any(isinstance(f, RedactManageLinks) for f in access_log.filters):
            access_log.addFilter(RedactManageLinks())
    from bookings.accounts.admin import bp as admin_bp
    from bookings.accounts.views import bp as accounts_bp
    from bookings.booking.console import bp as console_bp
    from bookings.booking.views import bp as booking_bp
    from bookings.events.api import bp as api_bp
    from bookings.events.manage import bp as manage_bp
    from bookings.events.views import bp as events_bp
    from bookings.feeds.views import bp as feeds_bp
    from bookings.networks.manage import bp as manage_networks_bp
    from bookings.networks.views import bp as networks_bp
    from bookings.stats.views import bp as stats_bp

    for blueprint in (
        events_bp,
        booking_bp,
        networks_bp,
        feeds_bp,
        api_bp,
        accounts_bp,
        manage_bp,
        console_bp,
        manage_networks_bp,
        admin_bp,
        stats_bp,
    ):
        app.register_blueprint(blueprint)

    app.add_template_filter(london.format_date, "london_date")
    app.add_template_filter(london.format_short_date, "short_date")
    app.add_template_filter(london.format_time, "london_time")
    app.add_template_filter(london.format_datetime, "london_datetime")
    app.add_template_filter(london.format_time_range, "time_range")
    app.add_template_filter(london.format_stamp, "stamp")
    app.add_template_filter(paragraphs, "paragraphs")

    @app.errorhandler(404)
    def not_found(_error):
        return render_template("errors/404.html"), 404

    @app.errorhandler(429)
    def too_many(_error):
        return render_template("errors/429.html"), 429

    @app.errorhandler(500)
    def server_error(_error):
        db.session.rollback()
        return render_template("errors/500.html"), 500


@login_manager.user_loader
def _load_user(user_id: str):
    from bookings.accounts.models import OrganiserUser

    number, _, fingerprint = user_id.partition("-")
    user = db.session.get(OrganiserUser, int(number)) if number.isdigit() else None
    if user is None or not user.active:
        return None
    return user if hmac.compare_digest(fingerprint, user.password_fingerprint()) else None


def paragraphs(text: str) -> Markup:
    """Blank-line separated text as escaped HTML paragraphs."""
    blocks = [block.strip() for block in (text or "").split("\n\n") if block.strip()]
    return Markup("").join(Markup("<p>%s</p>") % block for block in blocks)
