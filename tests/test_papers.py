"""Papers: what an upload may be, how files are served, who sees which item when, and the
once-per-booking "papers are posted" e-mail (also when pressed at the same time)."""

from __future__ import annotations

import io
import threading
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bookings.booking import service as booking
from bookings.db import db, utcnow
from bookings.mail.models import OutboxMessage
from bookings.papers import service
from bookings.papers.models import Audience, Paper
from tests.conftest import default_lscb, make_app

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _zip(names: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in names.items():
            archive.writestr(name, content)
    return buffer.getvalue()


DOCX = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
ODP = _zip({"mimetype": b"application/vnd.oasis.opendocument.presentation", "content.xml": b""})


def details(sector, n: int = 1) -> booking.DelegateDetails:
    return booking.DelegateDetails(
        name=f"Delegate {n}",
        email=f"delegate{n}@example.org",
        organisation="Barnet Council",
        job_title="Social worker",
        sector_id=sector.id,
        lscb_id=default_lscb().id,
    )


def _upload(client, event, filename: str, content: bytes, **fields):
    data = {
        "title": fields.pop("title", "Slides"),
        "audience": fields.pop("audience", "everyone"),
        "upload": (io.BytesIO(content), filename),
        **fields,
    }
    return client.post(
        f"/manage/events/{event.id}/papers", data=data, content_type="multipart/form-data"
    )


def _papers() -> list[Paper]:
    db.session.expire_all()
    return list(db.session.scalars(select(Paper).order_by(Paper.id)))


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("slides.pdf", PDF),
        ("notes.docx", DOCX),
        ("talk.odp", ODP),
        ("agenda.txt", "Caf\u00e9\n".encode()),
    ],
)
def test_allowed_files_are_kept_under_a_random_name(app, client, make, login, filename, content):
    login()
    event = make.event()
    response = _upload(client, event, filename, content)
    assert response.status_code == 303, response.text
    [paper] = _papers()
    assert paper.filename == filename and paper.stored_name != filename
    assert (service.papers_directory() / paper.stored_name).read_bytes() == content


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("slides.pdf", b"MZ\x90\x00 a program", "not the PDF file"),
        ("notes.docx", PDF, "not the DOCX file"),
        ("picture.png", b"\xff\xd8\xff\xe0 jpeg", "not the PNG file"),
        ("run.exe", b"MZ", "Upload a PDF"),
        ("page.html", b"<script>alert(1)</script>", "Upload a PDF"),
        ("noextension", PDF, "Upload a PDF"),
        ("empty.pdf", b"", "empty"),
        ("nul.txt", b"a\x00b", "not the TXT file"),
    ],
)
def test_wrong_or_unknown_content_is_refused_and_nothing_kept(
    app, client, make, login, filename, content, message
):
    login()
    event = make.event()
    response = _upload(client, event, filename, content)
    assert response.status_code == 422
    assert message in response.text
    assert _papers() == []
    directory = service.papers_directory()
    assert not directory.exists() or list(directory.iterdir()) == []


def test_hostile_names_are_only_download_names(app, client, make, login):
    login()
    event = make.event()
    name = "../..\\etc/passwd\x07\u202e\t; filename=evil.html \u201cslides\u201d.pdf"
    assert _upload(client, event, name, PDF).status_code == 303
    [paper] = _papers()
    assert "/" not in paper.filename and "\r" not in paper.filename and "\n" not in paper.filename
    assert "\u202e" not in paper.filename
    response = client.get(f"/papers/{paper.id}")
    response.close()
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    assert "filename*=UTF-8''" in disposition and "\n" not in disposition
    assert "evil.html" not in disposition.split(";")[1].split("=", 1)[0]
    assert disposition.count("filename=") == 1 and '"' not in disposition.split('"')[1]


def test_a_file_over_the_limit_is_refused(app, client, make, login, monkeypatch):
    monkeypatch.setattr(service, "MAX_BYTES", 64 * 1024)
    login()
    event = make.event()
    too_big = b"%PDF-" + b"0" * service.MAX_BYTES
    response = _upload(client, event, "big.pdf", too_big)
    assert response.status_code == 422 and "larger than 20 MB" in response.text
    assert _papers() == []


def test_a_request_over_the_limit_gets_the_413_page(app, client, make, login):
    login()
    event = make.event()
    body = b"0" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(
        f"/manage/events/{event.id}/papers",
        data=body,
        content_type="multipart/form-data; boundary=x",
    )
    assert response.status_code == 413
    assert "too large" in response.text and "20 MB" in response.text


def test_files_are_served_as_sandboxed_attachments(app, client, make, login):
    login()
    event = make.event()
    _upload(client, event, "Caf\u00e9 slides.pdf", PDF)
    _upload(client, event, "private.pdf", PDF, title="Briefing", audience="delegates")
    public, private = _papers()
    response = client.get(f"/papers/{public.id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"].startswith("sandbox;")
    assert "filename*=UTF-8''Caf%C3%A9%20slides.pdf" in response.headers["Content-Disposition"]
    response.close()
    console = client.get(f"/manage/papers/{private.id}/file")
    console.close()
    assert console.status_code == 200 and "no-store" in console.headers["Cache-Control"]
    assert client.get(f"/papers/{private.id}").status_code == 404


def _paper(event, title: str, audience: Audience, embargo=None, url="") -> Paper:
    return service.add_paper(
        service.PaperData(title, audience, embargo, url or "https://example.org/" + title),
        event_id=event.id,
    )


def test_visibility_and_embargo_on_pages_feeds_and_api(app, client, make):
    event = make.event(slug="neglect")
    sector = make.sector()
    placed = booking.book(event.id, details(sector))
    _paper(event, "public-item", Audience.everyone)
    _paper(event, "delegates-item", Audience.delegates)
    _paper(event, "organisers-item", Audience.organisers)
    _paper(event, "embargoed-item", Audience.everyone, utcnow() + timedelta(days=1))
    public_urls = [
        "/events/neglect",
        "/events",
        "/",
        "/api/events",
        "/api/events/neglect",
        "/feeds/all.ics",
        "/feeds/events.ics",
        "/events/neglect.ics",
        "/feeds/events/neglect.ics",
    ]
    for url in public_urls:
        text = client.get(url).get_data(as_text=True)
        assert "delegates-item" not in text and "organisers-item" not in text, url
        assert "embargoed-item" not in text, url
    assert "public-item" in client.get("/events/neglect").text
    manage = client.get(f"/bookings/{placed.token}").text
    assert "public-item" in manage and "delegates-item" in manage
    assert "organisers-item" not in manage and "embargoed-item" not in manage


def test_a_waitlisted_delegate_does_not_see_delegates_papers(app, client, make):
    event = make.event(capacity=0)
    placed = booking.book(event.id, details(make.sector()))
    _paper(event, "delegates-item", Audience.delegates)
    assert "delegates-item" not in client.get(f"/bookings/{placed.token}").text


def test_an_embargo_ends_at_its_london_time(app, make):
    event = make.event()
    placed = booking.book(event.id, details(make.sector()))
    at = utcnow() + timedelta(hours=3)
    _paper(event, "later", Audience.delegates, at)
    assert service.papers_for_booking(placed.booking, at - timedelta(seconds=1)) == []
    assert [p.title for p in service.papers_for_booking(placed.booking, at)] == ["later"]


def test_meeting_papers_on_the_network_page(app, client, make):
    network = make.network(slug="chairs")
    meeting = make.meeting(network, (utcnow() + timedelta(days=10)).date())
    for title, audience in (
        ("minutes-public", Audience.everyone),
        ("minutes-private", Audience.organisers),
    ):
        service.add_paper(
            service.PaperData(title, audience, None, "https://example.org/m"), meeting_id=meeting.id
        )
    page = client.get("/networks/chairs").text
    assert "minutes-public" in page and "minutes-private" not in page
    assert "minutes-private" not in client.get("/feeds/networks/chairs.ics").text
    with pytest.raises(service.PaperRefused):
        service.add_paper(
            service.PaperData("x", Audience.delegates, None, "https://example.org/"),
            meeting_id=meeting.id,
        )


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,x", "ftp://example.org/", "https://"]
)
def test_only_web_links(app, client, make, login, url):
    login()
    event = make.event()
    response = client.post(
        f"/manage/events/{event.id}/papers", data={"title": "x", "audience": "everyone", "url": url}
    )
    assert response.status_code == 422 and _papers() == []


def _papers_messages() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "papers_posted"))
    )


def test_papers_posted_goes_once_per_booking(app, client, make, login):
    login()
    event = make.event()
    sector = make.sector()
    first = booking.book(event.id, details(sector, 1))
    _paper(event, "slides", Audience.delegates)
    client.post(f"/manage/events/{event.id}/papers/tell")
    client.post(f"/manage/events/{event.id}/papers/tell")
    second = booking.book(event.id, details(sector, 2))
    assert service.tell_delegates(event.id) == 1
    assert service.tell_delegates(event.id) == 0
    assert sorted(m.booking_id for m in _papers_messages()) == [first.booking.id, second.booking.id]


def test_nothing_to_tell_without_a_visible_paper(app, make):
    event = make.event()
    booking.book(event.id, details(make.sector()))
    _paper(event, "secret", Audience.organisers)
    with pytest.raises(service.NothingToTell):
        service.tell_delegates(event.id)
    assert _papers_messages() == []


def test_papers_posted_pressed_at_the_same_time_goes_once(app, make):
    event = make.event(capacity=30)
    sector = make.sector()
    for n in range(20):
        booking.book(event.id, details(sector, n))
    _paper(event, "slides", Audience.everyone)
    event_id = event.id
    barrier = threading.Barrier(4)
    told: list[int] = []

    def press() -> None:
        own = make_app(app.config["SQLALCHEMY_DATABASE_URI"], Path(app.instance_path))
        with own.app_context():
            barrier.wait()
            told.append(service.tell_delegates(event_id))
            db.session.remove()
            db.engine.dispose()

    threads = [threading.Thread(target=press) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(told) == 20
    per_booking = db.session.execute(
        select(OutboxMessage.booking_id, func.count())
        .where(OutboxMessage.kind == "papers_posted")
        .group_by(OutboxMessage.booking_id)
    ).all()
    assert len(per_booking) == 20 and {count for _, count in per_booking} == {1}


def test_remove_deletes_the_file(app, client, make, login):
    login()
    event = make.event()
    _upload(client, event, "slides.pdf", PDF)
    [paper] = _papers()
    path = service.stored_path(paper)
    assert client.post(f"/manage/papers/{paper.id}/remove").status_code == 303
    assert _papers() == [] and not path.exists()


def test_the_embargo_is_entered_in_london_time(app, client, make, login):
    login()
    event = make.event()
    response = client.post(
        f"/manage/events/{event.id}/papers",
        data={
            "title": "Summer slides",
            "audience": "everyone",
            "url": "https://example.org/slides",
            "embargo_until": "2031-07-01T09:30",
        },
    )
    assert response.status_code == 303
    [paper] = _papers()
    assert paper.embargo_until.isoformat() == "2031-07-01T08:30:00+00:00"  # BST
    edit = client.get(f"/manage/papers/{paper.id}").text
    assert 'value="2031-07-01T09:30"' in edit
    assert "Summer slides" not in client.get(f"/events/{event.slug}").text


def test_adding_editing_and_removing_are_audited(app, client, make, login):
    from bookings.accounts.models import AuditEntry

    login()
    event = make.event()
    client.post(
        f"/manage/events/{event.id}/papers",
        data={"title": "Slides", "audience": "everyone", "url": "https://example.org/a"},
    )
    [paper] = _papers()
    response = client.post(
        f"/manage/papers/{paper.id}",
        data={"title": "Slides v2", "audience": "delegates", "url": "https://example.org/a"},
    )
    assert response.status_code == 303
    assert _papers()[0].audience == Audience.delegates
    client.post(f"/manage/papers/{paper.id}/remove")
    actions = db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.target_type == "event", AuditEntry.target_id == event.id)
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["papers.add", "papers.edit", "papers.remove"]
    who = db.session.scalars(
        select(AuditEntry.user_email).where(AuditEntry.action.startswith("papers."))
    ).all()
    assert set(who) == {"organiser@example.org"}
