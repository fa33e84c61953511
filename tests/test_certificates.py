"""Certificates: issued to attended delegates, read back from the PDF, verified anonymously
without a name unless the delegate chose one, reissued under the same number, gated on the
evaluation when organisers say so, and never made after the purge."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from bookings.certificates import service
from bookings.certificates.models import Certificate
from bookings.db import db, utcnow
from bookings.evaluation import service as evaluation
from bookings.events.models import ProgrammeSlot, SlotKind
from bookings.privacy import service as privacy
from tests.aftercare import delegate, past_event

NUMBER = re.compile(r"LSCB-\d{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def issue_through_page(client, token: str) -> str:
    """Press "Get my certificate"; the certificate's number."""
    page = client.post(f"/bookings/{token}/certificate", follow_redirects=True)
    assert page.status_code == 200, page.text
    return NUMBER.search(page.text).group(0)


def test_an_attended_delegate_gets_a_numbered_certificate_as_pdf_and_page(client, make):
    sector = make.sector("Health")
    event = past_event(make, title="Safeguarding trafficked children")
    _booking, token = delegate(event, sector, name="Zoë Ødegaard")
    manage = client.get(f"/bookings/{token}").text
    assert "Get my certificate" in manage

    number = issue_through_page(client, token)
    page = client.get(f"/bookings/{token}/certificate").text
    assert "Zoë Ødegaard" in page and "Safeguarding trafficked children" in page
    assert "3 hours" in page and number in page
    pdf = client.get(f"/bookings/{token}/certificate.pdf")
    assert pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"] == f'attachment; filename="certificate-{number}.pdf"'
    text = pdf_text(pdf.data)
    for expected in (
        "Certificate of attendance",
        "Zoë Ødegaard",
        "Safeguarding trafficked",
        "Hours of learning: 3 hours",
        number,
        f"/certificates/{number}",
    ):
        assert expected in text, (expected, text)
    assert number in client.get(f"/bookings/{token}").text
    # Asked again, the same certificate.
    assert issue_through_page(client, token) == number
    assert db.session.scalar(select(func.count(Certificate.id))) == 1


def test_names_beyond_latin_1_are_printed_or_transliterated(app, make):
    from bookings.certificates.pdf import certificate_pdf, latin1

    sector = make.sector("Health")
    event = past_event(make)
    booking, _token = delegate(event, sector, name="Łukasz Żółw Дмитрий")
    service.issue(booking.id)
    view = service.for_delegate(booking)
    text = pdf_text(certificate_pdf(view, "https://bookings.test/certificates/x"))
    assert "Łukasz Żółw Дмитрий" in text  # DejaVu Sans is on this machine
    app.config["CERTIFICATE_FONT"] = ""
    text = pdf_text(certificate_pdf(view, "https://bookings.test/certificates/x"))
    assert "Łukasz" not in text and "Lukasz Z" in text and "???????" in text
    assert latin1("Łukasz Żółw Дмитрий") == "Lukasz Zólw ???????"


def test_the_verification_page_shows_no_name_unless_the_delegate_chose(app, client, make):
    sector = make.sector("Health")
    event = past_event(make, title="Working with fathers")
    _booking, token = delegate(event, sector, name="Ann Ash")
    number = issue_through_page(client, token)
    anonymous = app.test_client()
    page = anonymous.get(f"/certificates/{number}")
    assert page.status_code == 200
    assert "genuine" in page.text and "Working with fathers" in page.text and "3 hours" in page.text
    assert "Ann Ash" not in page.text

    chosen = client.post(
        f"/bookings/{token}/certificate/name", data={"show_name": "y"}, follow_redirects=True
    )
    assert "now shows your name" in chosen.text
    assert "Ann Ash" in anonymous.get(f"/certificates/{number}").text
    client.post(f"/bookings/{token}/certificate/name", data={})
    assert "Ann Ash" not in anonymous.get(f"/certificates/{number}").text

    missing = anonymous.get("/certificates/LSCB-2026-AAAA-BBBB")
    assert missing.status_code == 404 and "No certificate has this number" in missing.text


def test_a_name_corrected_by_organisers_reissues_with_the_same_number(client, make, login):
    login()
    sector = make.sector("Health")
    event = past_event(make)
    booking, token = delegate(event, sector, name="Ann Ahs")
    number = issue_through_page(client, token)
    listing = client.get(f"/manage/events/{event.id}/certificates").text
    assert number in listing and "Ann Ahs" in listing
    refused = client.post(f"/manage/events/{event.id}/certificates/{booking.id}/name", data={})
    assert refused.status_code == 422
    client.post(
        f"/manage/events/{event.id}/certificates/{booking.id}/name", data={"name": "Ann Ash"}
    )
    page = client.get(f"/bookings/{token}/certificate").text
    assert "Ann Ash" in page and "Ann Ahs" not in page and number in page and "reissued" in page
    assert "Ann Ash" in pdf_text(client.get(f"/bookings/{token}/certificate.pdf").data)
    assert db.session.scalar(select(Certificate.number)) == number


def test_organisers_set_hours_and_level_and_the_default_comes_from_the_programme(
    client, make, login
):
    login()
    sector = make.sector("Health")
    event = past_event(make)
    start = event.starts_at
    for offset, minutes, kind in (
        (0, 30, SlotKind.registration),
        (30, 60, SlotKind.talk),
        (60, 60, SlotKind.workshop),
        (90, 15, SlotKind.break_),
        (120, 45, SlotKind.talk),
    ):
        db.session.add(
            ProgrammeSlot(
                event=event,
                starts_at=start + timedelta(minutes=offset),
                ends_at=start + timedelta(minutes=offset + minutes),
                kind=kind,
                title=f"Slot {offset}",
            )
        )
    db.session.commit()
    assert service.facts(event).minutes == 135
    assert "2.25 hours" in client.get(f"/manage/events/{event.id}/certificates").text
    bad = client.post(f"/manage/events/{event.id}/certificates", data={"hours": "0"})
    assert bad.status_code == 422
    client.post(
        f"/manage/events/{event.id}/certificates", data={"hours": "6.5", "level": "Level 3"}
    )
    _booking, token = delegate(event, sector)
    issue_through_page(client, token)
    text = pdf_text(client.get(f"/bookings/{token}/certificate.pdf").data)
    assert "Hours of learning: 6.5 hours" in text and "Competence level: Level 3" in text


def test_an_issued_certificate_keeps_what_it_said_when_the_event_changes(app, client, make, login):
    login()
    sector = make.sector("Health")
    event = past_event(make, title="Working with fathers")
    client.post(
        f"/manage/events/{event.id}/certificates", data={"hours": "6.5", "level": "Level 3"}
    )
    booking, token = delegate(event, sector, name="Ann Ahs")
    number = issue_through_page(client, token)
    printed_date = service.verification(number).event_date

    client.post(f"/manage/events/{event.id}/certificates", data={"hours": "2", "level": "Level 1"})
    event.title = "Working with fathers and carers"
    event.starts_at -= timedelta(days=1)
    event.ends_at -= timedelta(days=1)
    db.session.commit()
    client.post(
        f"/manage/events/{event.id}/certificates/{booking.id}/name", data={"name": "Ann Ash"}
    )

    page = app.test_client().get(f"/certificates/{number}").text
    assert "6.5 hours" in page and "Level 3" in page and printed_date in page
    assert "Working with fathers" in page and "and carers" not in page
    assert "2 hours" not in page and "Level 1" not in page
    text = pdf_text(client.get(f"/bookings/{token}/certificate.pdf").data)
    assert "Hours of learning: 6.5 hours" in text and "Ann Ash" in text
    # A certificate issued after the change says what the event says now.
    _later, later_token = delegate(event, sector)
    later = service.verification(issue_through_page(client, later_token))
    assert later.hours == "2 hours" and later.level == "Level 1"
    assert later.event_title == "Working with fathers and carers"


def test_only_after_the_evaluation_when_switched_on(client, make, login):
    login()
    sector = make.sector("Health")
    event = past_event(make)
    booking, token = delegate(event, sector)
    client.post(f"/manage/events/{event.id}/certificates", data={"after_evaluation": "y"})
    manage = client.get(f"/bookings/{token}").text
    assert "Please give your feedback first" in manage and "Get my certificate" not in manage
    refused = client.post(f"/bookings/{token}/certificate", follow_redirects=True)
    assert "Please give your feedback first" in refused.text
    assert db.session.scalar(select(func.count(Certificate.id))) == 0
    evaluation.submit(booking.id, [evaluation.Answer(rating=4)] * 4 + [evaluation.Answer()])
    assert "Get my certificate" in client.get(f"/bookings/{token}").text
    issue_through_page(client, token)


def test_no_certificate_for_those_who_did_not_come_or_before_the_end(client, make):
    sector = make.sector("Health")
    event = past_event(make)
    _absent, absent = delegate(event, sector, attended=False)
    assert "certificate" not in client.get(f"/bookings/{absent}").text.lower()
    client.post(f"/bookings/{absent}/certificate")
    assert client.get(f"/bookings/{absent}/certificate").status_code == 404
    starts = utcnow() - timedelta(hours=1)
    today = make.event(starts_at=starts, ends_at=starts + timedelta(hours=3))
    _here, here = delegate(today, sector)
    assert "once the event is over" in client.get(f"/bookings/{here}").text
    assert db.session.scalar(select(func.count(Certificate.id))) == 0


def test_after_the_purge_no_new_certificate_and_old_numbers_still_verify(app, client, make):
    sector = make.sector("Health")
    event = past_event(make, days_ago=10, title="Neglect and the toxic trio")
    issued, token = delegate(event, sector, name="Ann Ash")
    number = issue_through_page(client, token)
    client.post(f"/bookings/{token}/certificate/name", data={"show_name": "y"})
    never, _t = delegate(event, sector, name="Bo Birch")
    privacy.purge(utcnow().date(), ran_from="test")
    db.session.expire_all()
    with pytest.raises(service.CertificateRefused, match="personal data was deleted"):
        service.issue(never.id)
    page = app.test_client().get(f"/certificates/{number}").text
    assert "Neglect and the toxic trio" in page and "3 hours" in page
    assert "Ann Ash" not in page
    certificate = db.session.scalar(select(Certificate))
    assert certificate.issued_name == "" and certificate.number == number
    assert client.get(f"/bookings/{token}").status_code == 404
    assert db.session.get(type(issued), issued.id).name == privacy.PURGED_NAME
