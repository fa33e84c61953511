"""A failed write leaves a traceback in the log, and nothing of the delegate it was writing."""

from __future__ import annotations

import io
import logging

from sqlalchemy import func, select, text

from bookings.booking.models import Booking
from bookings.db import db
from bookings.logs import safe_traceback
from tests.conftest import form_lscb, make_app

NAME = "Quenby Marklewhite"
EMAIL = "quenby.marklewhite@example.org"
ORGANISATION = "Marklewhite Primary School"
ACCESS = "Marklewhite hearing loop"
MARKERS = ("Marklewhite", "marklewhite", "Quenby", "quenby")


def _break_booking_inserts() -> None:
    """A trigger that fails every new booking row, as a full disk or a broken schema would.

    On PostgreSQL it also quotes the row in its DETAIL, as the server's own constraint errors
    do ("Failing row contains (...)"), which ``hide_parameters`` alone does not remove.
    """
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            text(
                """
                CREATE FUNCTION refuse_booking() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  RAISE EXCEPTION 'forced failure'
                    USING DETAIL = 'Failing row contains (' || NEW.name || ', ' || NEW.email
                      || ', ' || NEW.organisation || ').';
                END $$
                """
            )
        )
        db.session.execute(
            text(
                "CREATE TRIGGER refuse_booking BEFORE INSERT ON bookings "
                "FOR EACH ROW EXECUTE FUNCTION refuse_booking()"
            )
        )
    else:
        # RAISE() would be an IntegrityError, which booking reads as a duplicate; an error
        # inside the trigger's statement is an OperationalError, which nothing catches.
        db.session.execute(
            text(
                "CREATE TRIGGER refuse_booking BEFORE INSERT ON bookings "
                "BEGIN SELECT json('forced failure'); END"
            )
        )
    db.session.commit()


def test_a_failed_booking_write_logs_no_personal_data(app, client, make, caplog, capsys):
    sector = make.sector("Education")
    event = make.event(slug="neglect-seminar")
    _break_booking_inserts()
    app.config["PROPAGATE_EXCEPTIONS"] = False  # handled as in production: logged, then 500
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    app.logger.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    try:
        response = client.post(
            f"/events/{event.slug}/book",
            data={
                "name": NAME,
                "email": EMAIL,
                "organisation": ORGANISATION,
                "job_title": "Designated safeguarding lead",
                "sector": str(sector.id),
                "lscb": form_lscb(),
                "dietary_needs": "Marklewhite diet",
                "access_needs": ACCESS,
                "privacy": "y",
            },
        )
    finally:
        app.logger.removeHandler(handler)

    assert response.status_code == 500
    assert "Sorry, something went wrong on our side" in response.text
    db.session.rollback()
    assert db.session.scalar(select(func.count(Booking.id))) == 0

    logged = output.getvalue()
    # The log still says what failed and where, so the fault can be found...
    assert f"Exception on /events/{event.slug}/book [POST]" in logged
    assert "INSERT INTO bookings" in logged
    assert "Traceback (most recent call last)" in logged
    if db.engine.dialect.name == "postgresql":
        assert "psycopg.errors.RaiseException (SQLSTATE P0001)" in logged
    else:
        assert "sqlalchemy.exc.OperationalError: sqlite3.OperationalError" in logged
    # ...and nothing of the delegate, in any log or in the page.
    captured = capsys.readouterr()
    for where, seen in (
        ("app log", logged),
        ("caplog", caplog.text),
        ("stderr", captured.err),
        ("stdout", captured.out),
        ("page", response.text),
    ):
        for marker in MARKERS:
            assert marker not in seen, (where, marker)


def test_a_failed_manage_link_request_logs_neither_the_link_nor_the_value(app, caplog):
    """Flask's log line names the failing path; a manage link there would open the booking."""
    token = "x" * 43
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def explode():
        int(NAME)  # a ValueError whose message quotes the value

    app.add_url_rule(f"/bookings/{token}/boom", "boom", explode)
    caplog.set_level(logging.ERROR)
    assert app.test_client().get(f"/bookings/{token}/boom").status_code == 500
    assert "Exception on /bookings/[link]/boom [GET]" in caplog.text
    assert "ValueError: (message hidden: it may hold personal data)" in caplog.text
    assert token not in caplog.text
    assert "Quenby" not in caplog.text


def test_tracebacks_keep_chained_causes_and_code_level_messages():
    first_name = NAME.split()[0]
    try:
        try:
            {}[first_name]
        except KeyError as missing:
            raise AttributeError("'Booking' object has no attribute 'nmae'") from missing
    except AttributeError as error:
        text_ = safe_traceback(error)
    assert text_.count("Traceback (most recent call last)") == 2
    assert "KeyError: (message hidden" in text_
    assert "direct cause of the following exception" in text_
    assert text_.endswith("AttributeError: 'Booking' object has no attribute 'nmae'")
    assert "Quenby" not in text_


def test_sql_parameters_stay_hidden_whatever_the_engine_options_say(tmp_path):
    app = make_app(
        f"sqlite:///{tmp_path / 'options.sqlite3'}",
        tmp_path,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "hide_parameters": False},
    )
    with app.app_context():
        assert db.engine.hide_parameters is True
        db.engine.dispose()


def test_request_logs_keep_query_names_but_not_values(app, caplog):
    caplog.set_level(logging.INFO)
    url = "/manage/events/3/check-in?q=Quenby+Marklewhite&page=2"
    logging.getLogger("werkzeug").info('127.0.0.1 - - "GET %s HTTP/1.1" 200 -', url)
    # gunicorn's access log formats a dict of atoms; the referrer carries a query too.
    logging.getLogger("gunicorn.access").info(
        '"%(r)s" %(s)s "%(f)s"',
        {"r": f"GET {url} HTTP/1.1", "s": "200", "f": f"http://bookings.test{url}"},
    )
    assert caplog.text.count("/manage/events/3/check-in?q=[value]&page=[value]") == 3
    for marker in MARKERS:
        assert marker not in caplog.text


def test_request_logs_hide_every_secret_link(app, caplog):
    """Manage, team and "my bookings" links, and an LSCB's booking link, each open something."""
    caplog.set_level(logging.INFO)
    secret = "Ab3_-" * 9
    paths = {
        f"/bookings/{secret}": "/bookings/[link]",
        f"/bookings/teams/{secret}": "/bookings/[link]",
        f"/events/london-disturbances/lscb/{secret}": "/events/london-disturbances/lscb/[link]",
    }
    for path in paths:
        logging.getLogger("werkzeug").info('127.0.0.1 - - "GET %s HTTP/1.1" 200 -', path)
    assert secret not in caplog.text
    for shown in paths.values():
        assert f'"GET {shown} HTTP/1.1"' in caplog.text
