"""LSCBs as reference data: the booking form's required choice, the admin list, the purge, the
statistics, and the migration that seeds them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import insert, select

from bookings.accounts.models import Role
from bookings.booking import service
from bookings.booking.models import Booking, Lscb, LscbKind
from bookings.db import db, utcnow
from bookings.events.models import Event
from bookings.london import london_date
from tests.conftest import make_app


@pytest.fixture
def sector(make):
    return make.sector("Health")


@pytest.fixture
def lambeth(make):
    return make.lscb("Lambeth")


def details(sector, lscb, n: int = 1) -> service.DelegateDetails:
    return service.DelegateDetails(
        name=f"Delegate {n}",
        email=f"delegate{n}@example.org",
        organisation="Lambeth Council",
        job_title="Social worker",
        sector_id=sector.id,
        lscb_id=lscb.id,
    )


def form(sector, lscb=None, **kw) -> dict[str, str]:
    data = {
        "name": "Ruth Adeyemi",
        "email": "ruth@example.org",
        "organisation": "Lambeth Council",
        "job_title": "Social worker",
        "sector": str(sector.id),
        "privacy": "y",
    }
    if lscb is not None:
        data["lscb"] = str(lscb.id)
    return data | kw


# ----------------------------------------------------------------------------- the booking form


def test_the_booking_form_asks_for_the_lscb_and_records_it(client, make, sector, lambeth):
    make.lscb("Retired board", retired=True)
    event = make.event()
    page = client.get(f"/events/{event.slug}").text
    assert "Choose your LSCB" in page and "Lambeth" in page
    assert "Retired board" not in page

    refused = client.post(f"/events/{event.slug}/book", data=form(sector))
    assert refused.status_code == 422
    assert "Choose the LSCB you work with." in refused.text
    assert db.session.scalar(select(Booking)) is None

    booked = client.post(f"/events/{event.slug}/book", data=form(sector, lambeth))
    assert booked.status_code == 303
    assert db.session.scalar(select(Booking)).lscb.name == "Lambeth"


def test_a_retired_lscb_is_refused_by_the_rule_itself(make, sector):
    retired = make.lscb("Old board", retired=True)
    event = make.event()
    with pytest.raises(service.BookingRefused, match="choose your LSCB"):
        service.book(event.id, details(sector, retired))


def test_booking_by_phone_records_the_lscb(client, login, make, sector, lambeth):
    login()
    event = make.event()
    url = f"/manage/events/{event.id}/delegates/new"
    assert "Choose their LSCB" in client.get(url).text
    assert client.post(url, data=form(sector)).status_code == 422
    assert client.post(url, data=form(sector, lambeth)).status_code == 302
    assert db.session.scalar(select(Booking)).lscb_id == lambeth.id


# ----------------------------------------------------------------------------- the admin list


def test_admins_keep_the_lscb_list_like_the_sectors(client, make, login, sector, lambeth):
    login(role=Role.admin)
    barnet = make.lscb("Barnet")
    event = make.event()
    service.book(event.id, details(sector, lambeth))

    page = client.get("/manage/admin/lscbs").text
    assert "<h1>LSCBs</h1>" in page and "Add an LSCB" in page
    client.post("/manage/admin/lscbs/new", data={"name": "Outside London"})
    refused = client.post("/manage/admin/lscbs/new", data={"name": "lambeth"})
    assert refused.status_code == 422
    assert "There is already an LSCB called lambeth." in refused.text
    client.post(f"/manage/admin/lscbs/{barnet.id}/rename", data={"name": "Barnet LSCB"})
    client.post(f"/manage/admin/lscbs/{lambeth.id}/retire")
    in_use = client.post(f"/manage/admin/lscbs/{lambeth.id}/delete", follow_redirects=True)
    assert "cannot be deleted" in in_use.text

    db.session.expire_all()
    names = [lscb.name for lscb in service.all_lscbs()]
    assert names == ["Lambeth", "Barnet LSCB", "Outside London"]
    assert "Lambeth" not in [lscb.name for lscb in service.active_lscbs()]
    client.post(f"/manage/admin/lscbs/{barnet.id}/delete")
    assert db.session.get(Lscb, barnet.id) is None


def test_the_lscb_list_is_for_admins_only(client, login):
    login()
    assert client.get("/manage/admin/lscbs").status_code == 403


# ----------------------------------------------------------------------------- purge, statistics


def test_the_lscb_survives_the_purge_and_counts_in_the_statistics(client, login, make, sector):
    from bookings.privacy import service as privacy

    login(role=Role.admin)
    lambeth, barnet = make.lscb("Lambeth"), make.lscb("Barnet")
    event = make.event(capacity=10)
    for n in range(3):
        service.book(event.id, details(sector, lambeth, n))
    service.book(event.id, details(sector, barnet, 9))
    event.starts_at = utcnow() - timedelta(days=40)
    event.ends_at = event.starts_at + timedelta(hours=3)
    db.session.commit()

    result = privacy.purge(london_date(utcnow()))
    assert result.bookings == 4
    db.session.expire_all()
    kept = sorted(b.lscb.name for b in db.session.scalars(select(Booking)))
    assert kept == ["Barnet", "Lambeth", "Lambeth", "Lambeth"]

    page = client.get(f"/manage/stats/events/{event.id}").text
    table = page[page.index('id="by-lscb"') :]
    assert table.index("Lambeth") < table.index("Barnet")  # the list's order
    csv_text = client.get(f"/manage/stats/events/{event.id}/lscbs.csv").data.decode("utf-8-sig")
    lines = csv_text.splitlines()
    assert lines[0].startswith("LSCB,")
    assert lines[1].startswith("Lambeth,3,") and lines[2].startswith("Barnet,1,")
    assert lines[3].startswith("Total,4,")


# ----------------------------------------------------------------------------- the migration


def test_the_migration_seeds_london_and_gives_old_bookings_not_linked(tmp_path):
    from tests.conftest import Factory

    app = make_app(f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path)
    with app.app_context():
        upgrade(revision="c4b1e0a7d2f3")
        factory = Factory()
        sector = factory.sector()
        # The schema before LSCBs: only the columns it had.
        starts = utcnow() + timedelta(days=30)
        event_id = db.session.execute(
            insert(Event.__table__)
            .values(
                slug="old-event",
                title="An old event",
                kind="seminar",
                status="published",
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                capacity=50,
            )
            .returning(Event.__table__.c.id)
        ).scalar_one()
        db.session.execute(
            insert(Booking.__table__).values(
                event_id=event_id,
                reference="OLD-12345",
                token_salt="salt",
                token_hash="h" * 64,
                status="confirmed",
                sector_id=sector.id,
                name="A delegate",
                email="delegate@example.org",
                email_key="delegate@example.org",
            )
        )
        db.session.commit()
        db.session.remove()

        upgrade()
        lscbs = list(db.session.scalars(select(Lscb).order_by(Lscb.position)))
        assert len([b for b in lscbs if b.kind == LscbKind.london]) == 33
        assert "City of London" in [b.name for b in lscbs]
        assert [(b.name, b.kind) for b in lscbs[-2:]] == [
            ("Outside London", LscbKind.outside),
            ("Not linked to an LSCB", LscbKind.none),
        ]
        assert db.session.scalar(select(Booking)).lscb.name == "Not linked to an LSCB"
        added = factory.lscb("A new board")  # the sequence continues past the seeded ids
        assert added.id > lscbs[-1].id
        db.session.remove()
        db.engine.dispose()
