"""Roles over the whole /manage URL map, sectors, organiser accounts and the audit log."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bookings.accounts.models import Role
from bookings.booking import service as booking_service
from bookings.db import db
from bookings.models import AuditEntry, OrganiserUser, Sector


def _manage_urls(app) -> list[tuple[str, str, str]]:
    """Every /manage route and method, with 1 (or the first allowed word) for each argument."""
    urls = []
    adapter = app.url_map.bind("bookings.test")
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/manage"):
            continue
        values = {}
        for name in rule.arguments:
            converter = rule._converters[name]
            values[name] = sorted(converter.items)[0] if hasattr(converter, "items") else 1
        url = adapter.build(rule.endpoint, values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((rule.endpoint, method, url))
    return urls


def test_every_manage_url_needs_login(app, client):
    urls = _manage_urls(app)
    assert len(urls) > 40
    for endpoint, method, url in urls:
        response = client.open(url, method=method)
        assert response.status_code == 302, (endpoint, method, url)
        assert "/login" in response.headers["Location"], (endpoint, method, url)


def _assert_allowed(response, *where) -> None:
    """Let through: any answer but a refusal or a bounce to the login page."""
    assert response.status_code not in (401, 403), (*where, response.status_code)
    assert "/login" not in response.headers.get("Location", ""), where


ADMIN_ONLY = re.compile(r"^admin\.|^stats\.purge$")


def test_organisers_cannot_reach_admin_pages_and_admins_can(app, client, make, login):
    login(email="organiser@example.org")
    for endpoint, method, url in _manage_urls(app):
        status = client.open(url, method=method).status_code
        if ADMIN_ONLY.match(endpoint):
            assert status == 403, (endpoint, method, url)
        else:
            _assert_allowed(client.open(url, method=method), endpoint, method, url)

    client.post("/logout")
    login(email="admin@example.org", role=Role.admin)
    for endpoint, method, url in _manage_urls(app):
        if ADMIN_ONLY.match(endpoint):
            _assert_allowed(client.open(url, method=method), endpoint, method, url)


def test_sector_add_rename_reorder_retire_and_no_delete_in_use(client, make, login):
    login(role=Role.admin)
    health = make.sector("Health", position=1)
    police = make.sector("Police", position=2)
    event = make.event()
    booking_service.book(
        event.id,
        booking_service.DelegateDetails("A", "a@example.org", "Org", "Job", police.id),
    )
    client.post("/manage/admin/sectors/new", data={"name": "Youth justice"})
    refused = client.post("/manage/admin/sectors/new", data={"name": "health"})
    assert "There is already a sector called health." in refused.text
    client.post(f"/manage/admin/sectors/{health.id}/rename", data={"name": "Health services"})
    client.post(f"/manage/admin/sectors/{police.id}/up")
    client.post(f"/manage/admin/sectors/{police.id}/retire")
    page = client.post(f"/manage/admin/sectors/{police.id}/delete", follow_redirects=True)
    assert "cannot be deleted" in page.text
    db.session.expire_all()
    names = list(db.session.scalars(select(Sector.name).order_by(Sector.position)))
    assert names == ["Police", "Health services", "Youth justice"]
    assert db.session.get(Sector, police.id).retired
    assert "Police" not in [s.name for s in booking_service.active_sectors()]

    youth = db.session.scalar(select(Sector).where(Sector.name == "Youth justice"))
    client.post(f"/manage/admin/sectors/{youth.id}/delete")
    db.session.expire_all()
    assert db.session.get(Sector, youth.id) is None


def test_admin_creates_and_locks_organisers(client, login):
    admin = login(role=Role.admin)
    response = client.post(
        "/manage/admin/organisers",
        data={
            "email": "New@Example.org",
            "name": "New",
            "role": "organiser",
            "password": "a long first password",
        },
    )
    assert response.status_code == 302
    new = db.session.scalar(select(OrganiserUser).where(OrganiserUser.email == "new@example.org"))
    client.post(f"/manage/admin/organisers/{new.id}", data={"role": "organiser"})
    db.session.expire_all()
    assert not db.session.get(OrganiserUser, new.id).active

    page = client.post(
        f"/manage/admin/organisers/{admin.id}", data={"role": "organiser"}, follow_redirects=True
    )
    assert "cannot change your own role" in page.text
    assert db.session.get(OrganiserUser, admin.id).role == Role.admin


def test_audit_log_records_who_and_before_after(client, make, login):
    admin = login(role=Role.admin)
    event = make.event(capacity=10)
    client.post(f"/manage/events/{event.id}/capacity", data={"capacity": "25"})
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "event.capacity"))
    assert entry.user_email == admin.email
    assert entry.changes == {"capacity": ["10", "25"]}
    page = client.get("/manage/admin/audit").text
    assert "10 → 25" in page and admin.email in page


@pytest.mark.parametrize("path", ["/manage/admin/audit", "/manage/admin/sectors"])
def test_organiser_sees_a_clear_refusal(client, login, path):
    login()
    response = client.get(path)
    assert response.status_code == 403
    assert "for the console's administrators" in response.text


def test_every_console_page_renders_for_real_records(app, client, make, login):
    login(role=Role.admin)
    sector = make.sector()
    event = make.event(capacity=0)  # the booking waits, so the override page shows
    booking = booking_service.book(
        event.id, booking_service.DelegateDetails("A", "a@example.org", "Org", "Job", sector.id)
    ).booking
    network = make.network()
    meeting = make.meeting(network, None, status="tbc")
    values = {
        "event_id": event.id,
        "booking_id": booking.id,
        "network_id": network.id,
        "meeting_id": meeting.id,
        "user_id": 1,
        "sector_id": sector.id,
    }
    adapter = app.url_map.bind("bookings.test")
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/manage") or "GET" not in rule.methods:
            continue
        if rule.endpoint.startswith("stats.") or set(rule.arguments) - set(values):
            continue
        url = adapter.build(rule.endpoint, {k: values[k] for k in rule.arguments})
        assert client.get(url).status_code == 200, url
