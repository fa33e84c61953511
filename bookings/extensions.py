"""Extension objects, created unbound here and bound to the app in ``create_app``."""

from __future__ import annotations

import logging
import os
import sys
from urllib.parse import urlsplit

from flask import Flask
from flask.logging import default_handler
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_talisman import DENY, Talisman
from flask_wtf import CSRFProtect
from werkzeug.datastructures import Headers
from werkzeug.middleware.proxy_fix import ProxyFix

from bookings.db import db

csrf = CSRFProtect()
mail = Mail()
login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = "Please log in to continue."
# Limits only where a request costs someone else something (an e-mail sent, a password tried).
limiter = Limiter(key_func=get_remote_address)

# Everything the pages use comes from this site's own static/ folder: no inline styles or
# scripts, no other origin, and no framing (the console must not be clickjacked).
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Same-origin pages see where a visitor came from; other sites learn nothing, not even our host.
REFERRER_POLICY = "same-origin"
PROXY_FIX_SETTINGS = ("x_for", "x_proto", "x_host", "x_port", "x_prefix")


class SecurityHeaders(Talisman):
    """Talisman, except that a response which chose a stricter Referrer-Policy keeps it
    (the delegates' manage-link pages send ``no-referrer``), and one that chose its own
    Content-Security-Policy keeps that (a paper's file is served in a ``sandbox``)."""

    def _set_referrer_policy_headers(self, headers: Headers) -> None:
        headers.setdefault("Referrer-Policy", self.referrer_policy)

    def _set_content_security_policy_headers(self, headers: Headers, options) -> None:
        chosen = headers.get("Content-Security-Policy")
        super()._set_content_security_policy_headers(headers, options)
        if chosen:
            headers["Content-Security-Policy"] = chosen


def init_security(app: Flask) -> None:
    """Security headers on every response; HTTPS-only cookies and HSTS when the site is HTTPS;
    X-Forwarded-* headers believed only from as many proxies as configured."""
    hops = {
        name: int(app.config.get(f"PROXY_FIX_{name.upper()}") or 0) for name in PROXY_FIX_SETTINGS
    }
    if any(hops.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **hops)
    https = app.config.get("PREFERRED_URL_SCHEME") == "https"
    for cookie in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        app.config[cookie] = https or bool(app.config.get(cookie))
    # One per app: Talisman keeps its settings (and the app) on the instance.
    app.extensions["talisman"] = SecurityHeaders(
        app,
        # Redirecting plain HTTP is the proxy's job; HSTS then keeps browsers on HTTPS.
        force_https=False,
        # Set above from the configuration, so that it holds in debug mode too.
        session_cookie_secure=False,
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
        frame_options=DENY,
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy=REFERRER_POLICY,
        strict_transport_security=https,
    )


def init_migrations(app: Flask, directory: str) -> None:
    """The ``flask db`` commands (Flask-Migrate). Only for the command line and the tests:
    Flask-Migrate brings alembic, mako and pygments, about 9 MiB that a web worker started by
    gunicorn would carry for nothing. ``FLASK_RUN_FROM_CLI`` is what Flask's command line
    sets before it makes the app (and ``app.run`` reads)."""
    if not (app.testing or os.environ.get("FLASK_RUN_FROM_CLI")):
        return
    from flask_migrate import Migrate

    Migrate(app, db, directory=directory, render_as_batch=True, compare_type=True)


def init_limiter(app: Flask) -> None:
    """Bind the limiter; a shared storage that does not answer stops a server's start-up, as
    each worker counting on its own would quietly multiply every limit by their number.

    The Flask CLI (``flask run``, migrations, ``mail send``) is one process that serves no
    limited request from several workers, so it starts anyway and falls back if need be.
    """
    limiter.init_app(app)
    if not app.config.get("RATELIMIT_ENABLED", True):
        return
    uri = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    from_cli = os.environ.get("FLASK_RUN_FROM_CLI") == "true"
    if not uri.startswith("memory://") and not from_cli and not limiter.storage.check():
        refuse_to_start(
            f"RATELIMIT_STORAGE_URI {_without_password(uri)} is not answering: start it, or set "
            "FLASK_RATELIMIT_STORAGE_URI=memory:// to count limits in each process on its own"
        )
    # Flask-Limiter's own logger has only a NullHandler: without this, its warning that the
    # storage went away (and limits fell back to each process's memory) would reach no log.
    limiter_log = logging.getLogger("flask-limiter")
    if not logging.getLogger().handlers and default_handler not in limiter_log.handlers:
        limiter_log.addHandler(default_handler)


def refuse_to_start(reason: str) -> None:
    """One line on stderr, then exit with gunicorn's "worker failed to boot" code (3), which
    stops its master too, instead of booting new workers that fail the same way for ever."""
    sys.stderr.write(f"{reason}\n")  # one write: workers failing together don't interleave
    sys.stderr.flush()
    raise SystemExit(3)


def _without_password(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=user + netloc).geturl()


__all__ = ["csrf", "db", "limiter", "login_manager", "mail"]
