"""Hostile input never reaches the database or a 5xx, on SQLite and on PostgreSQL.

The corpus test walks every rule of the URL map, public and console (signed in as an admin),
and sends hostile values in each path segment, each query parameter the view reads, each field
of the form the route posts, and a wrong method. It asserts that no answer is a 5xx, that a
refused character gives a 404 in a path, a 400 in a query string and the usual field error in a
form, and that nothing holding one was sent to the database or is stored afterwards.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from urllib.parse import quote

import pytest
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from markupsafe import escape
from sqlalchemy import String, event, func, select
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import AnyConverter, IntegerConverter, PathConverter
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import DataRequired, Email, InputRequired, NumberRange, Regexp

from bookings.accounts.models import Role
from bookings.booking import service as booking_service
from bookings.booking.models import Booking, BookingStatus, Sector
from bookings.certificates import service as certificate_service
from bookings.db import db
from bookings.events.models import Event, ProgrammeSlot, SlotKind
from bookings.mail.models import OutboxMessage
from bookings.papers import service as papers
from bookings.papers.models import Audience
from bookings.stats.models import RecordedFigures
from bookings.web import forms as web_forms
from bookings.web.forms import NUMBER_MESSAGE, NUMBER_RANGE_MESSAGE
from bookings.web.input import CONTROL_MESSAGE, DATE_RANGE_MESSAGE, ID_MAX, LINE_BREAK_MESSAGE
from tests.aftercare import delegate, past_event
from tests.conftest import default_lscb, form_lscb

# Routes walked with the past event's attended delegate (``World.aftercare``).
AFTERCARE = ("evaluation", "certificates")

# What the edge refuses everywhere; CR and LF are refused outside textareas.
REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
LINE_BREAK = re.compile("[\r\n]")

# ----------------------------------------------------------------------------- focused


def booking_data(sector, **kw) -> dict[str, str]:
    return {
        "name": "Sally Jones",
        "email": "sally.jones@example.org",
        "organisation": "Greenwich PCT",
        "job_title": "Named nurse",
        "sector": str(sector.id),
        "lscb": form_lscb(),
        "privacy": "y",
        **kw,
    }


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_nul_in_the_delegates_name_is_a_field_error_and_nothing_is_stored(client, make):
    sector = make.sector("Health")
    seminar = make.event()
    response = client.post(
        f"/events/{seminar.slug}/book", data=booking_data(sector, name="Sally\x00Jones")
    )
    assert response.status_code == 422
    assert response.text.count(CONTROL_MESSAGE) == 2  # the summary and the field
    assert 'value="Greenwich PCT"' in response.text
    assert count(Booking) == 0
    assert count(OutboxMessage) == 0


def test_line_breaks_are_refused_in_a_name_and_kept_in_the_needs(client, make):
    sector = make.sector("Health")
    seminar = make.event()
    refused = client.post(
        f"/events/{seminar.slug}/book", data=booking_data(sector, name="Sally\r\nJones")
    )
    assert refused.status_code == 422
    assert LINE_BREAK_MESSAGE in refused.text
    assert count(Booking) == 0
    booked = client.post(
        f"/events/{seminar.slug}/book",
        data=booking_data(sector, access_needs="Step-free access\r\nA hearing loop"),
    )
    assert booked.status_code == 303
    assert db.session.scalar(select(Booking.access_needs)).splitlines() == [
        "Step-free access",
        "A hearing loop",
    ]


def test_the_team_form_refuses_control_characters_in_the_booker_and_each_colleague(client, make):
    """The walk below posts one colleague's row; this posts the booker's fields and a second
    row too, and the add-a-row and remove-a-row posts."""
    sector = make.sector("Health")
    seminar = make.event()
    rows = {}
    for n in range(2):
        rows.update(
            {
                f"colleagues-{n}-{key}": value
                for key, value in booking_data(sector, email=f"c{n}@example.org").items()
                if key != "privacy"
            }
        )
    base = {
        "booker_name": "Tess Trainer",
        "booker_email": "tess@example.org",
        "mode": "fit",
        "privacy": "y",
        **rows,
    }
    for name, value in (
        ("booker_name", "Tess\x00Trainer"),
        ("colleagues-1-name", "Sam\x1bPatel"),
        ("colleagues-1-organisation", "Hackney\r\nCouncil"),
        ("colleagues-1-access_needs", "Step-free\x07"),
        ("colleagues-1-sector", "\x00"),
        ("mode", "fit\x00"),
    ):
        response = client.post(f"/events/{seminar.slug}/team", data={**base, name: value})
        assert response.status_code == 422, name
        assert CONTROL_MESSAGE in response.text or LINE_BREAK_MESSAGE in response.text, name
    for extra in ({"add": "1"}, {"remove": "\x00"}, {"remove": "99999999999999999999"}):
        posted = {**base, "colleagues-0-name": "Ann\x00Ash", **extra}
        assert client.post(f"/events/{seminar.slug}/team", data=posted).status_code == 200
    assert count(Booking) == 0
    assert count(OutboxMessage) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/events/%00",
        "/events/%00/book",
        "/networks/%00",
        "/feeds/events/%00.ics",
        "/feeds/events/%00/event.ics",
        "/feeds/networks/%00.ics",
        "/bookings/%00",
        "/bookings/%00/cancel",
        "/static/%00",
    ],
)
def test_a_nul_in_a_path_segment_is_page_not_found(client, make, path):
    make.event(slug="x")
    response = client.open(path, method="POST" if path.endswith("/book") else "GET")
    assert response.status_code == 404
    assert "Page not found" in response.text


def test_a_nul_in_the_apis_path_is_its_json_not_found(client):
    response = client.get("/api/events/%00")
    assert response.status_code == 404
    assert response.json == {"error": "not found"}


def test_a_control_character_in_a_query_string_is_a_bad_request(client, login):
    login(role=Role.admin)
    for url in (
        "/calendars?network=%00",
        "/feeds/networks.ics?network=%00",
        "/events?kind=%0D%0A",
        "/manage/events/1/delegates?q=%00",
        "/manage/admin/audit?type=%00",
        "/manage/stats/?date_from=%1B",
    ):
        assert client.get(url).status_code == 400, url


def test_a_sector_filter_it_cannot_read_shows_every_delegate(client, login, make):
    login()
    health, police = make.sector("Health"), make.sector("Police")
    seminar = make.event()
    for name, sector in (("Ann Ash", health), ("Bo Birch", police)):
        booking_service.book(
            seminar.id,
            booking_service.DelegateDetails(
                name, f"{name[:2]}@example.org", "Org", "Job", sector.id, lscb_id=default_lscb().id
            ),
        )
    base = f"/manage/events/{seminar.id}/delegates"
    only_police = client.get(f"{base}?sector={police.id}").text
    assert "Bo Birch" in only_police and "Ann Ash" not in only_police
    for unreadable in ("²", "٣", "99999999999999999999", "-1", "1.0"):
        page = client.get(f"{base}?sector={quote(unreadable)}")
        assert page.status_code == 200, unreadable
        assert "Ann Ash" in page.text and "Bo Birch" in page.text, unreadable


def test_an_id_beyond_the_database_integers_is_page_not_found(client, login, make):
    login()
    seminar = make.event()
    assert client.get(f"/manage/events/{seminar.id}").status_code == 200
    for path in (
        "/manage/events/99999999999999999999",
        "/manage/events/2147483648",
        f"/manage/events/{quote('٣')}",
        "/manage/events/-1",
        f"/manage/events/{seminar.id}/programme/99999999999999999999",
        "/manage/networks/99999999999999999999",
        "/manage/stats/events/99999999999999999999",
    ):
        assert client.get(path).status_code == 404, path


def test_console_forms_refuse_control_characters_with_the_field_error(client, login, make):
    login(role=Role.admin)
    sector = make.sector("Health")
    seminar = make.event()
    sectors = client.post("/manage/admin/sectors/new", data={"name": "Youth\x00justice"})
    by_phone = client.post(
        f"/manage/events/{seminar.id}/delegates/new",
        data=booking_data(sector, organisation="Met\x1b[2J"),
    )
    new_event = client.post(
        "/manage/events/new",
        data={
            "title": "Seminar\x00",
            "kind": "seminar",
            "start_date": "2030-05-01",
            "start_time": "10:00",
            "end_time": "12:00",
            "venue": "0",
            "host_network": "0",
            "capacity": "50",
        },
    )
    for response in (sectors, by_phone, new_event):
        # 400 until every console form answers with form_status's 422
        assert response.status_code in (400, 422)
        assert CONTROL_MESSAGE in response.text
    assert [s.name for s in db.session.scalars(select(Sector))] == ["Health"]
    assert count(Booking) == 0
    assert [e.title for e in db.session.scalars(select(Event))] == [seminar.title]


def test_numbers_and_dates_the_app_cannot_hold_are_field_errors(client, login, make):
    login(role=Role.admin)
    sector = make.sector("Health")
    seminar = make.event(capacity=10)
    figures = {"basis": "counts", "source": "The 2005 report", f"sector_{sector.id}": "3"}
    recorded = f"/manage/stats/events/{seminar.id}/recorded"
    for field_name, value, message in (
        (f"sector_{sector.id}", "NaN", NUMBER_MESSAGE),
        (f"sector_{sector.id}", "Infinity", NUMBER_MESSAGE),
        ("total", "99999999999999999999", NUMBER_RANGE_MESSAGE),
    ):
        response = client.post(recorded, data={**figures, field_name: value})
        assert response.status_code in (400, 422), value
        assert escape(message) in response.text, value
    capacity = client.post(
        f"/manage/events/{seminar.id}/capacity", data={"capacity": "99999999999999999999"}
    )
    assert escape(NUMBER_RANGE_MESSAGE) in capacity.text
    purge = client.post("/manage/stats/privacy", data={"before": "9999-12-31", "confirm": "y"})
    assert purge.status_code in (400, 422)
    assert DATE_RANGE_MESSAGE in purge.text
    assert client.get("/manage/stats/privacy?before=9999-12-31").status_code == 200
    db.session.expire_all()
    assert count(RecordedFigures) == 0
    assert db.session.get(Event, seminar.id).capacity == 10


def test_every_form_in_the_project_checks_its_fields_at_the_edge(app):
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    forms = {cls for cls in subclasses(FlaskForm) if cls.__module__.startswith("bookings.")}
    assert len(forms) > 20
    assert {cls.__qualname__ for cls in forms if not issubclass(cls, web_forms.Form)} == set()


# ----------------------------------------------------------------------------- the corpus

CONTROLS = [
    "\x00",
    "Ann\x00Smith",
    "x" * 50 + "\x00",
    "\x1b[31mred\x1b[0m",
    "bell\x07",
    "back\x08space",
    "form\x0cfeed",
    "vertical\x0btab",
    "rub\x7fout",
    "next\x85line",
    "c1\x9bcsi",
    "\x01\x02\x03\x04\x05\x06",
    "\x1f\x1e\x1d",
]
LINE_BREAKS = ["first\r\nsecond", "line\nfeed", "carriage\rreturn", "\r\n", "trailing\n"]
TEXTS = [
    "x" * 100_000,
    "\u202eexe.cod\u202c \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
    "👩🏽‍⚕️ safeguarding 🎉",
    "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522 \U0010fffd",
    "a\u200bzero\u200dwidth\ufeff",
    "\ufffd\uffff\ufffe",
    "tab\tseparated",
    '=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }} {% raw %}",
    "' OR 1=1 --",
    "Robert'); DROP TABLE bookings;--",
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "%00",
    "%2e%2e%2f",
    "   ",
    "",
    "\ud800",
    "lone \udfff surrogate",
]
NUMBERS = [
    "99999999999999999999",
    "2147483648",
    str(ID_MAX),
    "-2147483649",
    "-1",
    "²",
    "٣",
    "1e400",
    "NaN",
    "sNaN",
    "Infinity",
    "9" * 5000,
]
DATES = [
    "2024-02-30",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "²⁰²⁴-01-01",
    "2024-01-01T25:61",
    "9999-12-31T23:59",
    "25:61",
    "24:00",
]
CHOICES = ["-1", "not-a-choice", "99999999999999999999", "²", "٣", "<b>x</b>", "", "x" * 100_000]
PATH_TEXTS = [
    "\x00",
    "slug\x00",
    "\r\nSet-Cookie: x=1",
    "\x1b",
    "\x85",
    "../../../../etc/passwd",
    "..",
    "%00",
    "x" * 100_000,
    "\u202egnp.exe",
    "👩🏽‍⚕️",
    "<script>",
    "=1+1",
    "\ud800",
    " ",
]
PATH_NUMBERS = [
    "99999999999999999999",
    "2147483648",
    str(ID_MAX),
    "-1",
    "0",
    "²",
    "٣",
    "1e3",
    "0x1",
    "\x00",
    "1\x00",
    "9" * 5000,
]
# Every query parameter gets these: numbers and dates are what filters parse.
QUERY_TYPED = [
    "99999999999999999999",
    "-1",
    "²",
    "٣",
    "9999-12-31",
    "0001-01-01",
    "2024-02-30",
    "10000-01-01",
]
UNREAD = "utm_source"
WRONG_METHODS = ["PUT", "DELETE", "PATCH", "POST", "TRACE"]


def corpus_size() -> int:
    """How many distinct hostile values the corpus holds."""
    pools = [CONTROLS, LINE_BREAKS, TEXTS, NUMBERS, DATES, CHOICES, PATH_TEXTS, PATH_NUMBERS]
    return len({value for pool in [*pools, QUERY_TYPED] for value in pool})


def refused(value: str, *, multi_line: bool = False) -> bool:
    """Whether the edge must refuse ``value``, as a client sent it (lone surrogates arrive as
    invalid UTF-8 and are read as U+FFFD, which may be stored)."""
    value = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return bool(REFUSED.search(value) or (not multi_line and LINE_BREAK.search(value)))


def encode(value: str) -> str:
    """Percent-encoded as a hostile client sends it: lone surrogates as their raw bytes."""
    return quote(value, safe="", errors="surrogatepass")


def body(pairs: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{encode(k)}={encode(v)}" for k, v in pairs).encode("ascii")


# ----------------------------------------------------------------------------- the world


@dataclass
class World:
    path_values: dict[str, object]
    network_slug: str
    # The waiting-list override's own event, whose waiting delegate no other route promotes.
    override: dict[str, int]
    # The evaluation's and certificates' routes: a past event's attended delegate.
    aftercare: dict[str, object] = field(default_factory=dict)


def build_world(make, login) -> World:
    login(email="admin@example.org", role=Role.admin)
    other = make.organiser(email="other@example.org", name="Other Organiser")
    health = make.sector("Health")
    make.sector("Police")
    network = make.network(slug="lscb-chairs", name="LSCB Chairs")
    soon = date.today() + timedelta(days=40)
    meeting = make.meeting(network, soon, time(10), time(12))
    seminar = make.event(slug="corpus-seminar", capacity=1)
    slot = ProgrammeSlot(
        event=seminar,
        starts_at=seminar.starts_at,
        ends_at=seminar.starts_at + timedelta(hours=1),
        kind=SlotKind.talk,
        title="Opening talk",
    )
    db.session.add(slot)
    db.session.commit()
    confirmed = booking_service.book(
        seminar.id,
        booking_service.DelegateDetails(
            "Ann Ash", "ann@example.org", "NHS", "Nurse", health.id, lscb_id=default_lscb().id
        ),
    )
    full = make.event(slug="corpus-full", capacity=1)
    for name in ("Bo Birch", "Cy Cedar"):
        waiting = booking_service.book(
            full.id,
            booking_service.DelegateDetails(
                name, f"{name[:2]}@example.org", "Met", "PC", health.id, lscb_id=default_lscb().id
            ),
        )
    assert waiting.booking.status == BookingStatus.waitlisted
    past = past_event(make, slug="corpus-held")
    attended, attended_token = delegate(past, health, name="Di Dogwood")
    number = certificate_service.issue(attended.id).number
    paper = papers.add_paper(
        papers.PaperData("Slides", Audience.everyone, None, "https://example.org/slides"),
        event_id=seminar.id,
    )
    booking_service.set_allocation(seminar.id, default_lscb().id, 0)
    link = booking_service.held_places(seminar).allocations[0]
    return World(
        path_values={
            "event_id": seminar.id,
            "booking_id": confirmed.booking.id,
            "slot_id": slot.id,
            "network_id": network.id,
            "meeting_id": meeting.id,
            "paper_id": paper.id,
            "sector_id": health.id,
            "entry_id": default_lscb().id,
            "user_id": other.id,
            "slug": seminar.slug,
            "token": confirmed.token,
            "allocation_id": link.allocation.id,
            "link": link.token,
            "action": "rename",
            "filename": "css/site.css",
        },
        network_slug=network.slug,
        override={"event_id": full.id, "booking_id": waiting.booking.id},
        aftercare={
            "event_id": past.id,
            "booking_id": attended.id,
            "token": attended_token,
            "number": number,
        },
    )


# ----------------------------------------------------------------------------- recording


class RecordingArgs(ImmutableMultiDict):
    """Query strings and form bodies that note which names the view reads."""

    read: set[str] = set()

    def __getitem__(self, key):
        RecordingArgs.read.add(key)
        return super().__getitem__(key)

    def getlist(self, key, type=None):
        RecordingArgs.read.add(key)
        return super().getlist(key, type)

    def __contains__(self, key) -> bool:
        RecordingArgs.read.add(key)
        return super().__contains__(key)


@dataclass
class Recorder:
    """What one request did: the forms it built and the text it sent to the database."""

    forms: list = field(default_factory=list)
    to_database: list[str] = field(default_factory=list)
    where: str = ""

    def start(self, where: str) -> None:
        self.forms.clear()
        RecordingArgs.read = set()
        self.where = where

    def sql(self, _conn, _cursor, statement, parameters, _context, _many) -> None:
        rows = parameters if isinstance(parameters, list) else [parameters]
        for row in rows:
            values = row.values() if isinstance(row, dict) else row or ()
            for value in values:
                if isinstance(value, str) and REFUSED.search(value):
                    self.to_database.append(f"{self.where}: {statement[:80]} <- {value[:40]!r}")


@pytest.fixture
def recorder(app, monkeypatch) -> Iterator[Recorder]:
    recorder = Recorder()
    built = web_forms.Form.__init__
    # A failure answers 500 and the walk goes on, so one run lists every one.
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def recording_init(form, *args, **kwargs):
        built(form, *args, **kwargs)
        recorder.forms.append(form)

    monkeypatch.setattr(web_forms.Form, "__init__", recording_init)
    app.request_class = type(
        "RecordingRequest", (app.request_class,), {"parameter_storage_class": RecordingArgs}
    )
    event.listen(db.engine, "before_cursor_execute", recorder.sql)
    yield recorder
    event.remove(db.engine, "before_cursor_execute", recorder.sql)


# ----------------------------------------------------------------------------- forms


PLACEHOLDERS = {"", "-1"}


def _required(form_field) -> bool:
    return any(isinstance(v, DataRequired | InputRequired) for v in form_field.validators)


def _choice_values(form_field) -> list[str]:
    return [str(choice[0]) for choice in form_field.iter_choices()]


def submitted(form_field, n: int) -> str | None:
    """What a careful organiser or delegate would type into ``form_field``; None: left out."""
    name = form_field.short_name
    if isinstance(form_field, BooleanField):
        return "y"
    if isinstance(form_field, SelectField | RadioField):
        values = _choice_values(form_field)
        current = None if form_field.data is None else str(form_field.data)
        if current in values and current not in PLACEHOLDERS:
            return current
        return next((v for v in values if v not in PLACEHOLDERS), None)
    shown = form_field._value() if hasattr(form_field, "_value") else ""
    if shown:
        return shown
    validators = form_field.validators
    if isinstance(form_field, HiddenField | DateTimeLocalField):
        return None
    if isinstance(form_field, EmailField) or any(isinstance(v, Email) for v in validators):
        return f"corpus{n}@example.org"
    if any(isinstance(v, Regexp) for v in validators):
        return f"corpus-{n}"
    if isinstance(form_field, URLField):
        return "https://example.org/papers"
    if isinstance(form_field, DateField):
        if name == "before":
            return "2000-01-01"
        return None if name.startswith("end") else (date.today() + timedelta(days=60)).isoformat()
    if isinstance(form_field, TimeField):
        return "12:00" if name.startswith("end") else "10:00"
    if isinstance(form_field, DecimalField):
        return "1"
    if not _required(form_field):
        return None
    if isinstance(form_field, PasswordField):
        return "corpus password 1234"
    if isinstance(form_field, IntegerField):
        ranges = [v for v in validators if isinstance(v, NumberRange)]
        low = max([1, *(v.min for v in ranges if v.min is not None)])
        return str(min([500, *(v.max for v in ranges if v.max is not None)], default=low))
    if name == "lines":
        return f"6 December {date.today().year + 2}"
    return f"Corpus {n}"


def kind_of(form_field) -> str:
    if isinstance(form_field, FileField):
        return "file"
    if isinstance(form_field, BooleanField | SelectField | RadioField):
        return "choice"
    if isinstance(form_field, IntegerField | DecimalField):
        return "number"
    if isinstance(form_field, DateField | TimeField | DateTimeLocalField):
        return "date"
    return "textarea" if isinstance(form_field, TextAreaField) else "text"


SLOT_VALUES = {
    "text": TEXTS + NUMBERS[:3] + DATES[:2],
    "textarea": TEXTS + LINE_BREAKS,
    "number": NUMBERS,
    "date": [*DATES, "²", "-1"],
    "choice": CHOICES,
    # Text posted where a file is expected: not a file, so the field has none (never a 500).
    "file": TEXTS[:4] + CONTROLS[:2],
}
REFUSED_FOR = {
    "text": CONTROLS + LINE_BREAKS,
    "textarea": CONTROLS,
    "number": CONTROLS[:4] + LINE_BREAKS[:1],
    "date": CONTROLS[:4] + LINE_BREAKS[:1],
    "choice": CONTROLS[:4] + LINE_BREAKS[:1],
    "file": [],
}


class Rotation:
    """Each slot gets the next few values of its kind, so that every value is used on many
    slots without sending the whole cross product."""

    def __init__(self) -> None:
        self.positions: dict[str, Iterator[str]] = {}

    def take(self, kind: str, values: list[str], how_many: int) -> list[str]:
        cycle = self.positions.setdefault(kind, itertools.cycle(values))
        return [next(cycle) for _ in range(how_many)]


# ----------------------------------------------------------------------------- the walk


# Routes whose accepted post ends what later posts need (a booking, a slot, the event, the
# session): walked last, in this order.
LAST = [
    "booking_manage.override",
    "booking_manage.cancel",
    "booking.cancel",
    "events_manage.delete_slot",
    "stats.delete_recorded",
    "events_manage.unpublish",
    "events_manage.cancel",
    "privacy_manage.purge",
    "accounts.logout",
]


@dataclass
class Walk:
    client: object
    world: World
    recorder: Recorder
    rotation: Rotation = field(default_factory=Rotation)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    requests: int = 0
    routes: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)

    def send(self, method: str, url: str, data: bytes | None = None, *, what: str):
        self.recorder.start(f"{method} {url[:120]} [{what}]")
        self.requests += 1
        kwargs = {}
        if data is not None:
            kwargs = {"data": data, "content_type": "application/x-www-form-urlencoded"}
        response = self.client.open(url, method=method, **kwargs)
        response.get_data()
        response.close()
        if response.status_code >= 500:
            self.failures.append(f"{response.status_code}: {self.recorder.where}")
        return response

    def expect(self, response, statuses: tuple[int, ...], why: str) -> None:
        if response.status_code not in statuses:
            self.failures.append(
                f"{response.status_code} not {statuses} ({why}): {self.recorder.where}"
            )

    # -- URLs

    def values_for(self, rule) -> dict[str, object]:
        values = {}
        for name in rule.arguments:
            if name == "slug" and "network" in rule.endpoint:
                values[name] = self.world.network_slug
            elif rule.endpoint == "booking_manage.override" and name in self.world.override:
                values[name] = self.world.override[name]
            elif rule.endpoint.startswith(AFTERCARE) and name in self.world.aftercare:
                values[name] = self.world.aftercare[name]
            elif isinstance(rule._converters[name], AnyConverter):
                values[name] = sorted(rule._converters[name].items)[0]
            else:
                assert name in self.world.path_values, f"add a valid {name} for {rule.rule}"
                values[name] = self.world.path_values[name]
        return values

    def url(
        self, rule, query: list[tuple[str, str]] = (), replace: tuple[str, str] | None = None
    ) -> str:
        """The rule's URL with valid arguments; ``replace`` puts a raw value in one segment."""
        values = self.values_for(rule)
        marker = None
        if replace:
            name, _ = replace
            converter = rule._converters[name]
            if isinstance(converter, IntegerConverter):
                marker = values[name] = 918273645
            elif isinstance(converter, AnyConverter):
                marker = values[name]
            else:
                marker = values[name] = "hostilemarker"
        url = rule.build(values, append_unknown=False)[1]
        if replace:
            url = url.replace(str(marker), encode(replace[1]), 1)
        if query:
            url += "?" + "&".join(f"{encode(k)}={encode(v)}" for k, v in query)
        return url

    # -- per route

    def walk(self, rule) -> None:
        self.routes.add(rule.endpoint)
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        for method in methods:
            if method == "GET":
                self.walk_get(rule)
            else:
                self.walk_post(rule)
        wrong = next(m for m in self.rotation.take("method", WRONG_METHODS, 5) if m not in methods)
        response = self.send(wrong, self.url(rule), what="wrong method")
        self.expect(response, (405,), "a method the route does not take")

    def walk_get(self, rule) -> None:
        self.send("GET", self.url(rule), what="valid")
        read = set(RecordingArgs.read)
        for name in rule.arguments:
            self.walk_path(rule, "GET", name)
        for name in [*sorted(read), UNREAD]:
            self.walk_query(rule, "GET", name)

    def walk_path(self, rule, method: str, name: str, data: bytes | None = None) -> None:
        numeric = isinstance(rule._converters[name], IntegerConverter)
        pool = PATH_NUMBERS if numeric else PATH_TEXTS
        values = [pool[0], *self.rotation.take(f"path-{numeric}", pool[1:], 4)]
        if isinstance(rule._converters[name], PathConverter):
            values += ["../../../../etc/passwd", "..%2f..%2fsecret_key", "css/../../pyproject.toml"]
        for value in values:
            url = self.url(rule, replace=(name, value))
            response = self.send(method, url, data, what=f"{name}={value[:20]!r}")
            if refused(value) or (numeric and value in ("99999999999999999999", "2147483648")):
                self.expect(response, (404,), f"a path segment {value[:20]!r}")

    def walk_query(self, rule, method: str, name: str, data: bytes | None = None) -> None:
        """Hostile values in ``?name=``; a name the view does not read gets only a few."""
        values = [CONTROLS[0], LINE_BREAKS[0], *self.rotation.take("query", TEXTS, 2)]
        values += self.rotation.take("query-bad", CONTROLS + LINE_BREAKS, 1)
        if name != UNREAD:
            values += QUERY_TYPED
        for value in values:
            what = f"?{name}={value[:20]!r}"
            response = self.send(method, self.url(rule, [(name, value)]), data, what=what)
            if refused(value):
                self.expect(response, (400,), f"a query parameter {value[:20]!r}")

    def discover_form(self, rule):
        """The form the route reads, from a post of none of its fields (an empty body would
        leave every form unsubmitted), and its fields as a GET shows them."""
        self.send("POST", self.url(rule), b"probe=1", what="probe")
        posting = [f for f in self.recorder.forms if _reads_post(f)]
        read = set(RecordingArgs.read) - {"probe"} - {f.name for form in posting for f in form}
        posted = posting[0] if posting else None
        shown = posted
        if posted is not None and "GET" in rule.methods:
            self.send("GET", self.url(rule), what="form page")
            shown = next(
                (
                    f
                    for f in self.recorder.forms
                    if type(f) is type(posted) and f._prefix == posted._prefix
                ),
                posted,
            )
        return shown, read

    def baseline(self, shown) -> list[tuple[str, str]]:
        if shown is None:
            return []
        n = next(self.counter)
        pairs = []
        for form_field in shown:
            value = submitted(form_field, n)
            if value is not None:
                pairs.append((form_field.name, value))
        return pairs

    def walk_post(self, rule) -> None:
        shown, read = self.discover_form(rule)
        fields = {f.name: f for f in shown} if shown is not None else {}
        extra = sorted(read)
        for name in rule.arguments:
            self.walk_path(rule, "POST", name, body(self.baseline(shown)))
        for name in extra:
            self.walk_query(rule, "POST", name, body(self.baseline(shown)))
        # Refused values first, while the record they change is as the world made it.
        plans = []
        for name, form_field in fields.items():
            kind = kind_of(form_field)
            if not REFUSED_FOR[kind]:
                continue
            bad = [REFUSED_FOR[kind][0], *self.rotation.take(f"bad-{kind}", REFUSED_FOR[kind], 1)]
            plans += [(name, form_field, value, True) for value in bad]
        seen = set()
        for name, form_field in fields.items():
            kind = kind_of(form_field)
            # Every number and date on each kind of such field: parsing is where they differ.
            every = kind in ("number", "date") and type(form_field) not in seen
            seen.add(type(form_field))
            values = SLOT_VALUES[kind] if every else self.rotation.take(kind, SLOT_VALUES[kind], 1)
            plans += [(name, form_field, value, False) for value in values]
        for name, form_field, value, expect_refusal in plans:
            pairs = [(k, v) for k, v in self.baseline(shown) if k != name] + [(name, value)]
            response = self.send("POST", self.url(rule), body(pairs), what=f"{name}={value[:20]!r}")
            if expect_refusal:
                self.expect_field_error(response, form_field, value)
        self.send("POST", self.url(rule), body(self.baseline(shown)), what="baseline")

    def expect_field_error(self, response, form_field, value: str) -> None:
        self.expect(response, (400, 422), f"{form_field.name}={value[:20]!r} refused")
        if response.status_code in (400, 422) and not isinstance(form_field, HiddenField):
            multi_line = isinstance(form_field, TextAreaField)
            shown = (
                CONTROL_MESSAGE
                if REFUSED.search(value) or (not multi_line and not LINE_BREAK.search(value))
                else LINE_BREAK_MESSAGE
            )
            if str(escape(shown)) not in response.text and shown not in response.text:
                self.failures.append(f"no field error {shown!r}: {self.recorder.where}")


def _reads_post(form) -> bool:
    """Whether ``form`` took the posted body (not a form built only to be shown)."""
    return any(f.raw_data is not None for f in form) or not list(form)


def stored_refusals() -> list[str]:
    """Every text value in every table that holds a refused character. (CR and LF may be
    stored: a textarea's text keeps them, also in a single-line column such as an audit
    summary; a single-line field refusing them is checked by its field error.)"""
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String)]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if isinstance(value, str) and REFUSED.search(value):
                    found.append(f"{table.name}.{column.name} = {value[:60]!r}")
    return found


def test_every_route_takes_hostile_input_without_5xx_and_stores_none_of_it(
    app, client, make, login, recorder, capsys
):
    world = build_world(make, login)
    assert set(LAST) <= {rule.endpoint for rule in app.url_map.iter_rules()}
    rules = sorted(
        app.url_map.iter_rules(),
        key=lambda r: (LAST.index(r.endpoint) if r.endpoint in LAST else -1, r.rule),
    )
    walk = Walk(client, world, recorder)
    for rule in rules:
        walk.walk(rule)

    db.session.rollback()
    assert not walk.failures, "\n".join(walk.failures)
    assert not recorder.to_database, "\n".join(recorder.to_database)
    stored = stored_refusals()
    assert not stored, "\n".join(stored)
    assert walk.routes == {rule.endpoint for rule in app.url_map.iter_rules()}
    with capsys.disabled():
        print(
            f"\nhostile corpus: {corpus_size()} values, {walk.requests} requests, "
            f"{len(walk.routes)} routes ({len(rules)} rules)"
        )
