"""Security headers, HTTPS-only cookies and the proxy settings, read off real responses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bookings.booking import service
from bookings.booking.models import BookingStatus
from bookings.db import db
from tests.conftest import Factory, _reset_schema, default_lscb, make_app


def _directives(policy: str) -> dict[str, str]:
    return dict(part.strip().partition(" ")[::2] for part in policy.split(";") if part.strip())


def _assert_hardened(response, referrer: str = "same-origin") -> None:
    csp = _directives(response.headers["Content-Security-Policy"])
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    for directive in ("default-src", "script-src", "style-src"):
        assert csp[directive] == "'self'", directive
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == referrer


def test_public_pages_console_pages_and_feeds_carry_the_security_headers(client, login, make):
    event = make.event(slug="cse-seminar")
    _assert_hardened(client.get("/"))
    _assert_hardened(client.get(f"/events/{event.slug}"))
    _assert_hardened(client.get("/feeds/all.ics"))
    _assert_hardened(client.get("/nothing-here"))
    login()
    console = client.get("/manage/")
    assert console.status_code == 200
    _assert_hardened(console)
    # Plain HTTP: no HSTS (a browser would ignore it, and a dev server must stay reachable).
    assert "Strict-Transport-Security" not in console.headers


def test_manage_link_pages_keep_their_stricter_referrer_policy(client, make):
    sector = make.sector("Health")
    event = make.event()
    placed = service.book(
        event.id,
        service.DelegateDetails(
            name="Jan Pearson",
            email="jan@example.org",
            organisation="Barnet",
            job_title="Nurse",
            sector_id=sector.id,
            lscb_id=default_lscb().id,
        ),
    )
    for url in (f"/bookings/{placed.token}", f"/bookings/{placed.token}/cancel"):
        _assert_hardened(client.get(url), referrer="no-referrer")


def test_pages_load_only_their_own_stylesheets_with_no_inline_style(client, login, make):
    """What the policy would block must not be on the pages in the first place."""
    event = make.event(slug="cse-seminar")
    login()
    for url in ("/", "/events", f"/events/{event.slug}", "/calendars", "/manage/", "/manage/stats"):
        html = client.get(url, follow_redirects=True).text
        assert "<style" not in html and "style=" not in html, url
        # Scripts only from this site's static files, never inline.
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
        assert html.count("<script") == len(scripts), url
        for attributes, body in scripts:
            assert re.search(r'src="/static/js/[^"]+"', attributes) and not body.strip(), url
        for sheet in re.findall(r'<link rel="stylesheet" href="([^"]+)"', html):
            with client.get(sheet) as response:
                assert response.status_code == 200, sheet
                assert response.mimetype == "text/css"


@pytest.fixture
def https_app(database_url: str, tmp_path: Path):
    """As deployed behind one TLS-terminating proxy."""
    app = make_app(
        database_url,
        tmp_path,
        PREFERRED_URL_SCHEME="https",
        PROXY_FIX_X_FOR=1,
        PROXY_FIX_X_PROTO=1,
        WTF_CSRF_ENABLED=True,
    )
    with app.app_context():
        _reset_schema()
        yield app
        db.session.remove()
        db.engine.dispose()


PROXIED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


def test_behind_an_https_proxy_cookies_are_secure_and_hsts_is_sent(https_app):
    client = https_app.test_client()
    Factory().organiser()
    page = client.get("/login", headers=PROXIED)
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)[1]
    response = client.post(
        "/login",
        data={
            "csrf_token": token,
            "email": "organiser@example.org",
            "password": "correct horse battery",
        },
        headers={**PROXIED, "Referer": "https://bookings.test/login"},
    )
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("session="))
    assert "Secure" in session and "HttpOnly" in session and "SameSite=Lax" in session
    assert https_app.config["REMEMBER_COOKIE_SECURE"] is True


def test_forwarded_headers_are_believed_only_when_configured(https_app, tmp_path):
    """Without PROXY_FIX_* settings a client cannot claim another address (and so another
    rate-limit bucket) or HTTPS."""
    plain = make_app(f"sqlite:///{tmp_path / 'plain.sqlite3'}", tmp_path / "plain")
    seen = {}

    def whoami():
        from flask import request

        seen.update(remote=request.remote_addr, secure=request.is_secure)
        return "ok"

    for each in (plain, https_app):
        each.add_url_rule("/_whoami", "whoami", whoami)
    response = plain.test_client().get("/_whoami", headers=PROXIED)
    assert seen == {"remote": "127.0.0.1", "secure": False}
    assert "Strict-Transport-Security" not in response.headers
    response = https_app.test_client().get("/_whoami", headers=PROXIED)
    assert seen == {"remote": "203.0.113.7", "secure": True}
    assert "Strict-Transport-Security" in response.headers


def test_a_delegate_can_cancel_over_https_from_a_no_referrer_page(https_app):
    """The manage pages send no Referer (they hold the link's secret), so their forms must
    not depend on one; the CSRF token still guards them."""
    make = Factory()
    sector = make.sector("Health")
    event = make.event()
    placed = service.book(
        event.id,
        service.DelegateDetails(
            name="Jan Pearson",
            email="jan@example.org",
            organisation="Barnet",
            job_title="Nurse",
            sector_id=sector.id,
            lscb_id=default_lscb().id,
        ),
    )
    client = https_app.test_client()
    url = f"/bookings/{placed.token}/cancel"
    page = client.get(url, headers=PROXIED)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)[1]
    forged = client.post(url, data={}, headers=PROXIED)
    assert forged.status_code == 200 and "Cancel your booking" in forged.text
    db.session.refresh(placed.booking)
    assert placed.booking.status == BookingStatus.confirmed
    response = client.post(url, data={"csrf_token": token}, headers=PROXIED)
    assert response.status_code == 303
    db.session.refresh(placed.booking)
    assert placed.booking.status == BookingStatus.cancelled
    lost = client.get("/bookings/lost-link", headers=PROXIED)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', lost.text)[1]
    sent = client.post(
        "/bookings/lost-link",
        data={"csrf_token": token, "email": "jan@example.org"},
        headers=PROXIED,
    )
    assert sent.status_code == 200 and "jan@example.org" in sent.text
