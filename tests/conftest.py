"""Fixtures: an app on SQLite and, where TEST_DATABASE_URL is set, the same tests on PostgreSQL.

Under CI=true a missing PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from flask import g
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy import event as sa_event

from bookings import create_app
from bookings.db import db, utcnow
from bookings.london import london_datetime

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def _postgres_unavailable(message: str):
    if IN_CI:
        pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def _private_postgres() -> Iterator[str | None]:
    """A database of this test run's own on the TEST_DATABASE_URL server, dropped at the end,
    so that concurrent test runs never drop each other's tables."""
    if not PG_URL:
        yield None
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"bookings_test_{os.getpid()}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        yield f"unreachable: {exc}"
        return
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_url(_private_postgres: str | None) -> str:
    """The private PostgreSQL database's URL, or a skip (a failure under CI=true)."""
    if _private_postgres is None:
        _postgres_unavailable("TEST_DATABASE_URL is not set (PostgreSQL tests need it)")
    if _private_postgres.startswith("unreachable: "):
        _postgres_unavailable(f"PostgreSQL at TEST_DATABASE_URL is {_private_postgres}")
    return _private_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    return request.getfixturevalue("postgres_url")


def make_app(database_url: str, instance: Path, **extra):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SERVER_NAME": "bookings.test",
        "MAIL_SEND_AFTER_REQUEST": False,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        # The tests' requests share one app and look at pages straight after changing them:
        # the keep of public pages is tested where it is switched on (test_kept_pages.py) and
        # under gunicorn, where it is on by default (test_concurrency.py).
        "PUBLIC_PAGES_KEPT_SECONDS": 0,
        **extra,
    }
    app = create_app(config)
    app.instance_path = str(instance)

    @app.before_request
    def _signed_in_user_per_request() -> None:
        # The fixtures' app context outlives each request, and g with it; a server gives every
        # request a fresh g, so that one client's signed-in organiser (or CSRF token) never
        # serves another's.
        g.pop("_login_user", None)
        g.pop("csrf_token", None)

    return app


def _reset_schema() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    db.create_all()


@pytest.fixture
def app(database_url: str, tmp_path: Path):
    app = make_app(database_url, tmp_path)
    with app.app_context():
        _reset_schema()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def csrf_app(database_url: str, tmp_path: Path):
    """An app with CSRF checks on, as in production (TESTING leaves them on too)."""
    app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        _reset_schema()
        yield app
        db.session.remove()
        db.engine.dispose()


# ----------------------------------------------------------------------------- query counts


@pytest.fixture
def count_queries(app) -> Callable[[], AbstractContextManager[list[str]]]:
    """``with count_queries() as statements:`` lists the SQL statements run in the block.

    The block starts from an expired session: the tests' app context keeps one session across
    requests, and rows it still holds would otherwise hide the queries a page makes on a
    server, where every request starts afresh.
    """

    @contextmanager
    def counting() -> Iterator[list[str]]:
        db.session.expire_all()
        statements: list[str] = []

        def _count(_conn, _cursor, statement, *_args) -> None:
            statements.append(statement)

        sa_event.listen(db.engine, "before_cursor_execute", _count)
        try:
            yield statements
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", _count)

    return counting


# ----------------------------------------------------------------------------- factories


class Factory:
    """Builds committed records with sensible defaults; tests override what they test."""

    def __init__(self) -> None:
        self.counter = 0

    def _n(self) -> int:
        self.counter += 1
        return self.counter

    def venue(self, **kw):
        from bookings.models import Venue

        n = self._n()
        venue = Venue(
            name=kw.pop("name", f"Venue {n}"),
            address=kw.pop("address", "59½ Southwark Street, London"),
            postcode=kw.pop("postcode", "SE1 0AL"),
            **kw,
        )
        db.session.add(venue)
        db.session.commit()
        return venue

    def event(self, **kw):
        from bookings.models import Event, EventKind, EventStatus

        n = self._n()
        starts = kw.pop("starts_at", None) or london_datetime(
            (utcnow() + timedelta(days=30)).date(), time(10, 0)
        )
        event = Event(
            slug=kw.pop("slug", f"event-{n}"),
            title=kw.pop("title", f"Safeguarding seminar {n}"),
            kind=kw.pop("kind", EventKind.seminar),
            status=kw.pop("status", EventStatus.published),
            starts_at=starts,
            ends_at=kw.pop("ends_at", starts + timedelta(hours=2, minutes=30)),
            capacity=kw.pop("capacity", 50),
            venue=kw.pop("venue", None) or self.venue(),
            **kw,
        )
        db.session.add(event)
        db.session.commit()
        return event

    def sector(self, name: str | None = None, **kw):
        from bookings.models import Sector

        n = self._n()
        sector = Sector(name=name or f"Sector {n}", position=kw.pop("position", n), **kw)
        db.session.add(sector)
        db.session.commit()
        return sector

    def lscb(self, name: str | None = None, **kw):
        from bookings.booking.models import Lscb

        n = self._n()
        lscb = Lscb(name=name or f"LSCB {n}", position=kw.pop("position", n), **kw)
        db.session.add(lscb)
        db.session.commit()
        return lscb

    def network(self, **kw):
        from bookings.models import Network

        n = self._n()
        network = Network(
            slug=kw.pop("slug", f"network-{n}"),
            name=kw.pop("name", f"Network {n}"),
            chair=kw.pop("chair", "Tim Beach, Barnet"),
            **kw,
        )
        db.session.add(network)
        db.session.commit()
        return network

    def meeting(
        self, network, day: date | None, start: time | None = None, end: time | None = None, **kw
    ):
        from bookings.models import Meeting

        meeting = Meeting(
            network=network,
            day=day,
            starts_at=london_datetime(day, start) if day and start else None,
            ends_at=london_datetime(day, end) if day and end else None,
            **kw,
        )
        db.session.add(meeting)
        db.session.commit()
        return meeting

    def organiser(
        self, email: str = "organiser@example.org", password: str = "correct horse battery", **kw
    ):
        from bookings.accounts.service import create_organiser

        return create_organiser(email, password, **kw)


DEFAULT_LSCB = "Lambeth"


def default_lscb():
    """The LSCB of bookings whose test is not about LSCBs: made on first use."""
    from bookings.booking.models import Lscb

    lscb = db.session.scalar(select(Lscb).where(Lscb.name == DEFAULT_LSCB))
    if lscb is None:
        lscb = Lscb(name=DEFAULT_LSCB, position=0)
        db.session.add(lscb)
        db.session.commit()
    return lscb


def form_lscb() -> str:
    """The ``lscb`` value of a posted booking form: the default LSCB's id."""
    return str(default_lscb().id)


@pytest.fixture
def make(app) -> Iterator[Factory]:
    yield Factory()


@pytest.fixture
def login(client, make):
    """Log a new organiser in through the real form; returns the user."""

    def _login(**kw):
        user = make.organiser(**kw)
        response = client.post(
            "/login",
            data={"email": user.email, "password": kw.get("password", "correct horse battery")},
        )
        assert response.status_code == 302, response.text
        return user

    return _login
