"""The London Safeguarding Children Board's event and conference booking system."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_object("bookings.config")
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env()
    else:
        app.config.from_mapping(test_config)
    _configure_database(app)
    _configure_secret_key(app)
    _configure_hosts(app)
    # What the app logs at INFO (mail sent, purges) is what an operator needs to see by
    # default; none of it names a delegate.
    if app.logger.level == logging.NOTSET:
        app.logger.setLevel(logging.INFO)

    from bookings import models  # noqa: F401  (registers every table with the metadata)
    from bookings.extensions import (
        csrf,
        db,
        init_limiter,
        init_migrations,
        init_security,
        login_manager,
        mail,
    )

    init_security(app)
    db.init_app(app)
    init_migrations(app, str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    mail.init_app(app)
    login_manager.init_app(app)
    init_limiter(app)

    from bookings import cli, logs, web
    from bookings.accounts import notifications as account_mail  # noqa: F401  (renderers)
    from bookings.booking import notifications  # noqa: F401  (registers the renderers)
    from bookings.mail import sender
    from bookings.mine import notifications as mine_mail  # noqa: F401  (renderers)
    from bookings.openings import notifications as openings_mail  # noqa: F401  (renderers, job)
    from bookings.papers import notifications as papers_mail  # noqa: F401  (renderers)
    from bookings.scheduled import service as scheduled  # noqa: F401  (renderers, round job)

    logs.init_app(app)
    web.init_app(app)
    _register_blueprints(app)
    cli.init_app(app)
    sender.init_app(app)
    return app


def _register_blueprints(app: Flask) -> None:
    """Each feature's public pages and console pages."""
    from bookings.accounts.manage import bp as accounts_manage_bp
    from bookings.accounts.views import bp as accounts_bp
    from bookings.booking.manage import admin_bp as booking_admin_bp
    from bookings.booking.manage import bp as console_bp
    from bookings.booking.views import bp as booking_bp
    from bookings.certificates.manage import bp as certificates_manage_bp
    from bookings.certificates.views import bp as certificates_bp
    from bookings.evaluation.manage import bp as evaluation_manage_bp
    from bookings.evaluation.views import bp as evaluation_bp
    from bookings.events.api import bp as api_bp
    from bookings.events.manage import bp as manage_bp
    from bookings.events.views import bp as events_bp
    from bookings.feeds.views import bp as feeds_bp
    from bookings.mine.views import bp as mine_bp
    from bookings.networks.manage import bp as manage_networks_bp
    from bookings.networks.views import bp as networks_bp
    from bookings.openings.views import bp as openings_bp
    from bookings.papers.manage import bp as papers_manage_bp
    from bookings.papers.views import bp as papers_bp
    from bookings.privacy.manage import bp as privacy_manage_bp
    from bookings.scheduled.manage import bp as scheduled_manage_bp
    from bookings.stats.manage import bp as stats_bp

    for blueprint in (
        events_bp,
        booking_bp,
        networks_bp,
        feeds_bp,
        api_bp,
        accounts_bp,
        manage_bp,
        console_bp,
        booking_admin_bp,
        manage_networks_bp,
        accounts_manage_bp,
        stats_bp,
        privacy_manage_bp,
        evaluation_bp,
        evaluation_manage_bp,
        certificates_bp,
        certificates_manage_bp,
        scheduled_manage_bp,
        papers_bp,
        papers_manage_bp,
        mine_bp,
        openings_bp,
    ):
        app.register_blueprint(blueprint)


def _configure_database(app: Flask) -> None:
    """``DATABASE_URL`` picks the database; a bad one stops start-up with a one-line reason."""
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        default = f"sqlite:///{Path(app.instance_path) / 'bookings.sqlite3'}"
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL") or default
    raw = app.config["SQLALCHEMY_DATABASE_URI"]
    try:
        url = make_url(raw)
        url.get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise SystemExit(f"DATABASE_URL is not a usable database URL ({exc})") from None
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        # psycopg 3 is the driver we install; plain postgresql:// would ask for psycopg2.
        app.config["SQLALCHEMY_DATABASE_URI"] = url.set(drivername="postgresql+psycopg")
    # Whatever the configuration says: a failed statement's values are a delegate's data.
    options = {**app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}), "hide_parameters": True}
    if url.get_backend_name() == "sqlite":
        options["connect_args"] = {"timeout": 30}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _configure_hosts(app: Flask) -> None:
    """The public host (``SERVER_NAME``) is always one the app answers for."""
    server_name = app.config.get("SERVER_NAME")
    trusted = app.config.get("TRUSTED_HOSTS")
    if server_name and trusted is not None:
        app.config["TRUSTED_HOSTS"] = [*trusted, urlsplit(f"//{server_name}").hostname]


def _configure_secret_key(app: Flask) -> None:
    """Use ``SECRET_KEY`` if given, else one generated once and kept in ``instance/``."""
    if app.config.get("SECRET_KEY"):
        return
    key_file = Path(app.instance_path) / "secret_key"
    if not key_file.exists():
        # Written aside, then linked into place: concurrent workers never read half a key.
        scratch = key_file.with_name(f".secret_key.{os.getpid()}")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(scratch, key_file)
        except FileExistsError:
            pass
        finally:
            scratch.unlink()
    app.config["SECRET_KEY"] = key_file.read_text().strip()
