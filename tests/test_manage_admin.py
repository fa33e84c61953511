"""Roles over the whole /manage URL map, sectors, organiser accounts and the audit log."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bookings.accounts import service as accounts
from bookings.accounts.models import Role
from bookings.booking import service as booking_service
from bookings.db import db
from bookings.models import AuditEntry, OrganiserUser, Sector
from tests.conftest import Factory, _reset_schema, default_lscb, make_app


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


# Accounts, sectors, the audit log and the privacy purge are for admins only.
ADMIN_ONLY = re.compile(r"^/manage/admin/|^/manage/stats/privacy$")


def test_organisers_cannot_reach_admin_pages_and_admins_can(app, client, make, login):
    login(email="organiser@example.org")
    for endpoint, method, url in _manage_urls(app):
        status = client.open(url, method=method).status_code
        if ADMIN_ONLY.match(url):
            assert status == 403, (endpoint, method, url)
        else:
            _assert_allowed(client.open(url, method=method), endpoint, method, url)

    client.post("/logout")
    login(email="admin@example.org", role=Role.admin)
    for endpoint, method, url in _manage_urls(app):
        if ADMIN_ONLY.match(url):
            _assert_allowed(client.open(url, method=method), endpoint, method, url)


def test_sector_add_rename_reorder_retire_and_no_delete_in_use(client, make, login):
    login(role=Role.admin)
    health = make.sector("Health", position=1)
    police = make.sector("Police", position=2)
    event = make.event()
    booking_service.book(
        event.id,
        booking_service.DelegateDetails(
            "A", "a@example.org", "Org", "Job", police.id, lscb_id=default_lscb().id
        ),
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
    created = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "organiser.create", AuditEntry.target_id == new.id
        )
    )
    assert created.user_email == admin.email
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
        event.id,
        booking_service.DelegateDetails(
            "A", "a@example.org", "Org", "Job", sector.id, lscb_id=default_lscb().id
        ),
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


def test_moving_an_unknown_sector_is_not_found(client, make, login):
    login(role=Role.admin)
    make.sector("Health")
    assert client.post("/manage/admin/sectors/999/up").status_code == 404
    assert client.post("/manage/admin/sectors/999/down").status_code == 404


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("  ", "Enter the sector&#39;s name."),
        ("police", "There is already a sector called police."),
    ],
)
def test_refused_sector_rename_is_shown_next_to_its_name(client, make, login, name, message):
    login(role=Role.admin)
    health = make.sector("Health")
    make.sector("Police")
    response = client.post(f"/manage/admin/sectors/{health.id}/rename", data={"name": name})
    assert response.status_code == 422
    assert f'<p class="error-message" id="name-{health.id}-error">{message}' in response.text
    assert f'href="#name-{health.id}"' in response.text  # the summary leads to the field
    db.session.expire_all()
    assert db.session.get(Sector, health.id).name == "Health"


@pytest.fixture
def forms_check_csrf(database_url, tmp_path):
    """An app whose forms check their CSRF tokens but whose global check is off, so a view's
    own answer to an expired form shows (the global check answers a bare 400 first)."""
    app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True, WTF_CSRF_CHECK_DEFAULT=False)
    with app.app_context():
        _reset_schema()
        yield app.test_client()
        db.session.remove()
        db.engine.dispose()


def test_expired_sector_form_says_so_not_that_the_name_is_missing(forms_check_csrf):
    client, make = forms_check_csrf, Factory()
    make.organiser(role=Role.admin)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    logged_in = client.post(
        "/login",
        data={
            "email": "organiser@example.org",
            "password": "correct horse battery",
            "csrf_token": token,
        },
    )
    assert logged_in.status_code == 302
    health = make.sector("Health")
    for action, data in (("rename", {"name": "Health services"}), ("up", {})):
        response = client.post(
            f"/manage/admin/sectors/{health.id}/{action}", data={**data, "csrf_token": "old"}
        )
        assert response.status_code == 422
        assert "The form had expired." in response.text
        assert "Enter the sector" not in response.text
    db.session.expire_all()
    assert db.session.get(Sector, health.id).name == "Health"


def test_refused_organiser_change_is_shown_in_its_row(client, login, make):
    admin = login(role=Role.admin)
    other = make.organiser(email="other@example.org")
    response = client.post(f"/manage/admin/organisers/{admin.id}", data={"role": "organiser"})
    assert response.status_code == 422
    assert (
        f'<p class="error-message" id="role-{admin.id}-error">You cannot change your own role'
        in response.text
    )
    response = client.post(
        f"/manage/admin/organisers/{other.id}", data={"role": "owner", "active": "y"}
    )
    assert response.status_code == 422
    assert f'<p class="error-message" id="role-{other.id}-error">Not a valid choice' in (
        response.text
    )
    db.session.expire_all()
    assert db.session.get(OrganiserUser, admin.id).role == Role.admin
    assert db.session.get(OrganiserUser, other.id).role == Role.organiser


def _details(user_id: int, name: str, password: str = "") -> dict[str, str]:
    """The fields of an account's own "Change the name or set a new password" form."""
    return {f"account-{user_id}-name": name, f"account-{user_id}-password": password}


def test_admin_renames_an_organiser_and_resets_their_password(client, login, make):
    admin = login(role=Role.admin)
    other = make.organiser(email="other@example.org", name="Sam Smith")
    url = f"/manage/admin/organisers/{other.id}/details"
    page = client.get("/manage/admin/organisers").text
    assert f'id="account-{other.id}-name" maxlength="120" name="account-{other.id}-name"' in page

    renamed = client.post(url, data=_details(other.id, "Sam Smith-Jones"), follow_redirects=True)
    assert "Saved the new name of other@example.org." in renamed.text
    assert "Sam Smith-Jones" in renamed.text
    assert accounts.authenticate("other@example.org", "correct horse battery") is not None

    reset = client.post(
        url,
        data=_details(other.id, "Sam Smith-Jones", "a new first password"),
        follow_redirects=True,
    )
    assert "Give other@example.org the new first password in person." in reset.text
    assert accounts.authenticate("other@example.org", "a new first password") is not None
    assert accounts.authenticate("other@example.org", "correct horse battery") is None

    entries = list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target_type == "organiser", AuditEntry.target_id == other.id)
            .order_by(AuditEntry.id)
        )
    )
    assert [(e.action, e.user_email) for e in entries] == [
        ("organiser.create", ""),
        ("organiser.update", admin.email),
        ("organiser.password", admin.email),
    ]
    assert entries[1].changes == {"name": ["Sam Smith", "Sam Smith-Jones"]}
    audit_page = client.get("/manage/admin/audit").text
    assert "Reset other@example.org&#39;s password" in audit_page
    assert "a new first password" not in audit_page + entries[2].changes_json


def test_too_short_new_password_is_refused_in_its_row_and_nothing_saved(client, login, make):
    login(role=Role.admin)
    other = make.organiser(email="other@example.org", name="Sam Smith")
    response = client.post(
        f"/manage/admin/organisers/{other.id}/details",
        data=_details(other.id, "Someone else", "short"),
    )
    assert response.status_code == 422
    assert (
        f'<p class="error-message" id="account-{other.id}-password-error">'
        f"Use at least {accounts.MIN_PASSWORD_LENGTH} characters." in response.text
    )
    db.session.expire_all()
    assert db.session.get(OrganiserUser, other.id).name == "Sam Smith"
    assert accounts.authenticate("other@example.org", "correct horse battery") is not None
    with pytest.raises(accounts.AccountError):
        accounts.update_details(other.id, name="Sam Smith", password="x" * 9)
    assert (
        client.post(
            "/manage/admin/organisers/999/details", data=_details(999, "Nobody")
        ).status_code
        == 404
    )


def test_a_new_password_ends_the_sessions_opened_with_the_old_one(app, client, login, make):
    admin = login(role=Role.admin)
    other = make.organiser(email="laptop@example.org")
    laptop = app.test_client()
    laptop.post("/login", data={"email": other.email, "password": "correct horse battery"})
    assert laptop.get("/manage/").status_code == 200

    client.post(
        f"/manage/admin/organisers/{other.id}/details",
        data=_details(other.id, other.name, "a new first password"),
    )
    assert laptop.get("/manage/").status_code == 302  # back to the login page
    assert client.get("/manage/").status_code == 200  # the admin's own session goes on
    assert admin.active
