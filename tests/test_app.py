"""The foundation: factory, configuration, migrations, time zones, login, CSRF, error pages."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text

from bookings import create_app
from bookings.db import db
from bookings.london import NonexistentLocalTime, london_datetime
from bookings.london import format_date as london_date
from bookings.london import format_time_range as time_range
from tests.conftest import make_app

PROJECT = Path(__file__).resolve().parent.parent


def test_factory_takes_test_config(app):
    assert app.testing
    assert app.config["SERVER_NAME"] == "bookings.test"


def test_environment_overrides_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_MAIL_SERVER", "smtp.example.org")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    monkeypatch.setenv("FLASK_SECRET_KEY", "from-the-environment")
    app = create_app()
    assert app.config["MAIL_SERVER"] == "smtp.example.org"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("x.sqlite3")
    assert app.config["SECRET_KEY"] == "from-the-environment"


def test_secret_key_is_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    code = (
        "import sys; from bookings import create_app; "
        "app = create_app(); print(app.config['SECRET_KEY']); print(app.instance_path)"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    key, instance = first.stdout.split()
    assert len(key) == 64
    assert second.stdout.split()[0] == key
    assert (Path(instance) / "secret_key").read_text().strip() == key


def test_broken_database_url_stops_with_one_line_naming_it(tmp_path):
    env = {**os.environ, "DATABASE_URL": "postgress://nobody@nowhere/db"}
    result = subprocess.run(
        [sys.executable, "-c", "from bookings import create_app; create_app()"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "DATABASE_URL" in lines[0]


# ----------------------------------------------------------------------------- migrations


def _assert_migrations_match_models(url: str, tmp_path: Path) -> None:
    app = make_app(url, tmp_path)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
            tables = set(inspect(conn).get_table_names())
        db.engine.dispose()
    assert diff == []
    assert {"events", "bookings", "meetings", "networks", "outbox", "sectors"} <= tables


def test_migrations_build_a_blank_sqlite_database_like_the_models(tmp_path):
    _assert_migrations_match_models(f"sqlite:///{tmp_path / 'blank.sqlite3'}", tmp_path)


def test_migrations_build_a_blank_postgresql_database_like_the_models(tmp_path, postgres_url):
    base = postgres_url
    name = f"migration_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = base.rsplit("/", 1)[0] + f"/{name}"
        _assert_migrations_match_models(url, tmp_path)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


# ----------------------------------------------------------------------------- time


def test_times_are_stored_in_utc_and_shown_in_london_across_the_clock_change(app, make):
    summer = make.event(starts_at=london_datetime(date(2026, 7, 9), time(10, 0)))
    winter = make.event(starts_at=london_datetime(date(2026, 12, 9), time(10, 0)))
    db.session.expire_all()
    assert summer.starts_at == datetime(2026, 7, 9, 9, 0, tzinfo=UTC)
    assert winter.starts_at == datetime(2026, 12, 9, 10, 0, tzinfo=UTC)
    raw = db.session.execute(
        text("SELECT starts_at FROM events WHERE id IN (:a, :b) ORDER BY starts_at"),
        {"a": summer.id, "b": winter.id},
    ).scalars()
    hours = [value.hour if isinstance(value, datetime) else int(value[11:13]) for value in raw]
    if db.engine.dialect.name == "postgresql":
        hours = [9, 10]  # timestamptz is an instant; checked through the ORM above
    assert hours == [9, 10]
    assert time_range(summer.starts_at, summer.ends_at) == "10am to 12.30pm"
    assert time_range(winter.starts_at, winter.ends_at) == "10am to 12.30pm"
    assert london_date(summer.starts_at) == "Thursday 9 July 2026"


def test_naive_datetimes_are_refused(app, make):
    with pytest.raises(Exception, match="naive"):
        make.event(starts_at=datetime(2026, 7, 9, 10, 0))
    db.session.rollback()


def test_the_skipped_spring_hour_does_not_exist():
    with pytest.raises(NonexistentLocalTime):
        london_datetime(date(2026, 3, 29), time(1, 30))
    assert london_datetime(date(2026, 3, 29), time(2, 30)) == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )


# ----------------------------------------------------------------------------- pages


def test_unknown_pages_get_the_friendly_404(client):
    for url in ("/events/no-such-event", "/networks/no-such-network", "/nothing-here"):
        response = client.get(url)
        assert response.status_code == 404
        assert "Page not found" in response.text
        assert "Traceback" not in response.text


def test_draft_events_are_not_public(client, make):
    from bookings.models import EventStatus

    draft = make.event(status=EventStatus.draft, title="Secret draft")
    assert client.get(f"/events/{draft.slug}").status_code == 404
    assert "Secret draft" not in client.get("/events").text


def test_event_list_filters_by_kind_and_keeps_an_archive(client, make):
    from bookings.models import EventKind

    make.event(title="Upcoming seminar", kind=EventKind.seminar)
    make.event(title="Upcoming conference", kind=EventKind.conference)
    make.event(
        title="Old conference",
        kind=EventKind.conference,
        starts_at=london_datetime(date(2006, 12, 15), time(9, 30)),
    )
    page = client.get("/events?kind=conference").text
    assert "Upcoming conference" in page
    assert "Upcoming seminar" not in page
    assert "Old conference" not in page
    assert "Old conference" in client.get("/events?when=past").text
    assert client.get("/events?kind=party").status_code == 404


# ----------------------------------------------------------------------------- organisers


def test_manage_requires_login(client):
    response = client.get("/manage/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_organiser_logs_in_and_sees_the_dashboard(client, login, make):
    make.event(title="Conference to run")
    login()
    page = client.get("/manage/")
    assert page.status_code == 200
    assert "Conference to run" in page.text


def test_wrong_login_gives_one_generic_message(client, make):
    make.organiser(email="org@example.org")
    unknown = client.post("/login", data={"email": "nobody@example.org", "password": "whatever12"})
    wrong = client.post("/login", data={"email": "org@example.org", "password": "wrong password"})
    assert unknown.status_code == wrong.status_code == 400
    message = "That e-mail address and password do not match an organiser account."
    assert message in unknown.text and message in wrong.text
    assert client.get("/manage/").status_code == 302


def test_login_never_redirects_off_site(client, make):
    make.organiser()
    response = client.post(
        "/login?next=https://evil.example.com/",
        data={"email": "organiser@example.org", "password": "correct horse battery"},
    )
    assert response.headers["Location"] == "/manage/"


def test_forms_without_a_csrf_token_are_refused(csrf_app):
    client = csrf_app.test_client()
    from bookings.accounts.service import create_organiser

    create_organiser("org@example.org", "correct horse battery")
    response = client.post(
        "/login", data={"email": "org@example.org", "password": "correct horse battery"}
    )
    assert response.status_code == 400
    assert client.get("/manage/").status_code == 302


def test_organiser_create_command_reads_the_password_from_stdin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["organiser", "create", "chair@example.org", "--password-stdin", "--admin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    from bookings.accounts.service import authenticate

    assert authenticate("chair@example.org", "a long enough password").role.value == "admin"
    again = runner.invoke(
        args=["organiser", "create", "chair@example.org", "--password-stdin"],
        input="a long enough password\n",
    )
    assert again.exit_code != 0
    assert "already exists" in again.output


def test_request_logs_never_hold_a_manage_link(app, caplog):
    token = "Zx9_-" + "a" * 38
    with caplog.at_level("INFO", logger="werkzeug"):
        logging.getLogger("werkzeug").info(
            '%s - - [%s] "%s" %s -',
            "127.0.0.1",
            "24/Nov/2026",
            f"GET /bookings/{token} HTTP/1.1",
            200,
        )
    assert token not in caplog.text
    assert "GET /bookings/[link] HTTP/1.1" in caplog.text


# ----------------------------------------------------------------------------- the unit of work


def test_a_change_is_one_unit_of_work_committed_whole_or_not_at_all(app, make):
    """Nested service calls join the outer unit; a refusal anywhere rolls all of it back; an
    audit entry (like a lock or an outbox row) is refused outside a unit; rows left unsaved in
    the session cannot slip into the next unit's commit."""
    from sqlalchemy import func, select

    from bookings.accounts import service as accounts
    from bookings.accounts.models import AuditEntry
    from bookings.db import OutsideUnitOfWork, unit_of_work
    from bookings.events.models import Event

    event = make.event(title="Before")

    def entries() -> int:
        return db.session.scalar(select(func.count(AuditEntry.id)))

    with pytest.raises(OutsideUnitOfWork):
        accounts.audit("test.outside", "event", event.id, "no unit")
    db.session.rollback()

    with pytest.raises(RuntimeError), unit_of_work():
        event.title = "Renamed"
        with unit_of_work():
            accounts.audit("test.inner", "event", event.id, "joins the outer unit")
        raise RuntimeError("refused after the inner call returned")
    assert db.session.get(Event, event.id).title == "Before"
    assert entries() == 0

    with unit_of_work():
        event.title = "Renamed"
        with unit_of_work():
            accounts.audit("test.inner", "event", event.id, "joins the outer unit")
    db.session.expire_all()
    assert db.session.get(Event, event.id).title == "Renamed"
    assert entries() == 1

    event.title = "Changed outside any unit"
    with pytest.raises(OutsideUnitOfWork), unit_of_work():
        pass
    db.session.rollback()
    assert db.session.get(Event, event.id).title == "Renamed"
