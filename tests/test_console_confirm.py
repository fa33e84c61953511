"""Every destructive console action asks first: its link leads to one confirmation page
(templates/console/confirm.html) that names what it acts on and what happens; only the POST
from that page acts, and a refusal shows the reason with only the way back."""

from __future__ import annotations

import re
from datetime import date, time

from sqlalchemy import func, select

from bookings.booking import service as booking_service
from bookings.db import db
from bookings.events import programme
from bookings.london import london_datetime
from bookings.models import EventStatus, ProgrammeSlot, Role, Sector, SlotKind
from bookings.stats import service as stats
from bookings.stats.models import RecordedFigures
from tests.conftest import default_lscb


def _asks(client, url: str, *words: str) -> str:
    """GET ``url``: the confirmation page, whose form posts back to the same address."""
    page = client.get(url)
    assert page.status_code == 200, url
    text = page.text
    for word in words:
        assert word in text, word
    assert re.search(r'<form method="post" class="console-confirm" novalidate>', text)
    assert "No, go back" in text
    return text


def _no_one_click_form(page: str, url: str) -> None:
    assert f'action="{url}"' not in page, f"a one-click form still posts to {url}"
    assert f'href="{url}"' in page, f"no link to the confirmation at {url}"


def test_deleting_a_session_asks_first(client, login, make):
    login()
    event = make.event()
    slot = programme.add_slot(
        event.id,
        programme.SlotData(
            starts_at=event.starts_at,
            ends_at=None,
            kind=SlotKind.talk,
            title="Keynote: neglect",
            description="",
            room="Room 2",
            capacity=None,
            speakers=[],
        ),
    )
    url = f"/manage/events/{event.id}/programme/{slot.id}/delete"
    _no_one_click_form(client.get(f"/manage/events/{event.id}/programme").text, url)
    _asks(client, url, "Remove Keynote: neglect from the programme?", "Room 2", "Yes, remove it")
    assert db.session.get(ProgrammeSlot, slot.id) is not None
    done = client.post(url, follow_redirects=True)
    assert "Removed from the programme: Keynote: neglect." in done.text
    assert db.session.get(ProgrammeSlot, slot.id) is None


def test_unpublishing_asks_first(client, login, make):
    login()
    event = make.event(title="Neglect seminar")
    url = f"/manage/events/{event.id}/unpublish"
    _no_one_click_form(client.get(f"/manage/events/{event.id}").text, url)
    _asks(client, url, "Unpublish Neglect seminar?", "leaves the public pages", "Yes, unpublish")
    db.session.refresh(event)
    assert event.status == EventStatus.published
    client.post(url)
    db.session.refresh(event)
    assert event.status == EventStatus.draft
    again = client.get(url).text
    assert "Only a published event can be unpublished." in again
    assert "Yes, unpublish" not in again


def test_retiring_and_deleting_a_sector_ask_first(client, login, make):
    login(role=Role.admin)
    police = make.sector("Police")
    spare = make.sector("Olympics liaison")
    booking_service.book(
        make.event().id,
        booking_service.DelegateDetails(
            "A", "a@example.org", "Org", "Job", police.id, lscb_id=default_lscb().id
        ),
    )
    sectors = client.get("/manage/admin/sectors").text
    _no_one_click_form(sectors, f"/manage/admin/sectors/{police.id}/retire")
    _no_one_click_form(sectors, f"/manage/admin/sectors/{spare.id}/delete")

    retire = f"/manage/admin/sectors/{police.id}/retire"
    _asks(client, retire, "Retire the sector Police?", "1 bookings or recorded figures")
    db.session.refresh(police)
    assert not police.retired
    done = client.post(retire, follow_redirects=True)
    assert "Sector retired: the booking form no longer offers it." in done.text
    db.session.refresh(police)
    assert police.retired

    # In use: the question is a refusal, with the reason and no button.
    refused = client.get(f"/manage/admin/sectors/{police.id}/delete").text
    assert "cannot be deleted. Retire it instead" in refused
    assert "Yes, delete it" not in refused

    delete = f"/manage/admin/sectors/{spare.id}/delete"
    _asks(client, delete, "Delete the sector Olympics liaison?", "Yes, delete it")
    assert db.session.get(Sector, spare.id) is not None
    client.post(delete)
    db.session.expire_all()
    assert db.session.get(Sector, spare.id) is None
    assert client.get(delete).status_code == 404
    assert client.get(f"/manage/admin/sectors/{police.id}/up").status_code == 404


def test_deleting_recorded_figures_asks_first(client, login, make):
    login()
    sector = make.sector("Health")
    held = make.event(
        title="Conference 2005", starts_at=london_datetime(date(2005, 11, 3), time(9))
    )
    stats.save_recorded_figures(held.id, stats.FigureBasis.counts, {sector.id: 5}, None, "Sheet")
    url = f"/manage/stats/events/{held.id}/recorded/delete"
    _no_one_click_form(client.get(f"/manage/stats/events/{held.id}").text, url)
    _asks(client, url, "Delete the recorded figures of Conference 2005?", "Yes, delete them")
    assert db.session.scalar(select(func.count(RecordedFigures.id))) == 1
    client.post(url)
    assert db.session.scalar(select(func.count(RecordedFigures.id))) == 0
    nothing = client.get(url).text
    assert "No figures are recorded for this event." in nothing and "Yes, delete" not in nothing


def test_retiring_and_deleting_an_lscb_ask_first(client, login, make):
    login(role=Role.admin)
    spare = make.lscb("City of London")
    retire = f"/manage/admin/lscbs/{spare.id}/retire"
    _no_one_click_form(client.get("/manage/admin/lscbs").text, retire)
    _asks(client, retire, "Retire the LSCB City of London?", "0 bookings or allocations")
    db.session.refresh(spare)
    assert not spare.retired
    assert "LSCB retired" in client.post(retire, follow_redirects=True).text
    db.session.refresh(spare)
    assert spare.retired
    delete = f"/manage/admin/lscbs/{spare.id}/delete"
    _asks(client, delete, "Delete the LSCB City of London?", "It leaves the LSCB list for good.")
