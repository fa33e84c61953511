"""An organiser who forgot a password sets a new one through an e-mailed link: the same answer
for every address, a link that works once and for an hour, dies when the password changes and
signs every other device out; the requests are rate-limited and audited."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from bookings.accounts import service as accounts
from bookings.db import db
from bookings.mail.outbox import render
from bookings.mail.sender import send_due
from bookings.models import AuditEntry, OrganiserUser, OutboxMessage

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"


def _resets() -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "password_reset")
            .order_by(OutboxMessage.id)
        )
    )


def _link(row: OutboxMessage) -> str:
    """The path and query of the link in the e-mail, as the organiser would click it."""
    url = re.search(r"https?://\S+/login/reset\?token=\S+", render(row).body_text)[0]
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _token(link: str) -> str:
    return link.partition("token=")[2]


def _ask(client, email: str):
    return client.post("/login/forgot", data={"email": email})


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_the_login_page_offers_a_way_back(client):
    page = client.get("/login").text
    assert 'href="/login/forgot"' in page and "Forgot your password?" in page
    assert client.get("/login/forgot").status_code == 200


def test_every_address_gets_the_same_answer_and_only_an_account_gets_mail(client, make):
    user = make.organiser("kay@example.org")
    make.organiser("locked@example.org").active = False
    db.session.commit()

    answers = {
        email: _ask(client, email)
        for email in ("Kay@Example.org", "nobody@example.org", "locked@example.org")
    }

    assert {response.status_code for response in answers.values()} == {200}
    pages = {response.text.replace(email, "ADDRESS") for email, response in answers.items()}
    assert len(pages) == 1
    assert "If ADDRESS has an organiser account, we have e-mailed it a link" in pages.pop()
    [row] = _resets()
    assert row.recipient == "kay@example.org" and row.booking_id is None
    # Nothing in the row but the address: no link (it is signed again when the mail goes).
    assert set(row.data) == {"organiser", "fingerprint"} and row.data["organiser"] == user.id
    assert _token(_link(row)) not in str(row.data)
    # Each request is audited; a stranger's address is not kept.
    requests = _entries("organiser.reset_request")
    assert len(requests) == 3
    assert not any("nobody@example.org" in entry.summary for entry in requests)


def test_the_link_sets_a_new_password_once_and_signs_every_device_out(app, client, make):
    user = make.organiser("kay@example.org", PASSWORD)
    laptop = app.test_client()
    laptop.post("/login", data={"email": user.email, "password": PASSWORD})
    assert laptop.get("/manage/").status_code == 200
    _ask(client, user.email)
    link = _link(_resets()[0])

    form = client.get(link)
    assert form.status_code == 200 and "kay@example.org" in form.text
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert form.headers["Cache-Control"] == "no-store"
    short = client.post(link, data={"password": "short", "repeat": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.text
    differ = client.post(link, data={"password": NEW_PASSWORD, "repeat": NEW_PASSWORD + "!"})
    assert differ.status_code == 422 and "not the same" in differ.text

    done = client.post(link, data={"password": NEW_PASSWORD, "repeat": NEW_PASSWORD})

    assert done.status_code == 302 and done.location.endswith("/login")
    assert "Your new password is set" in client.get(done.location).text
    assert laptop.get("/manage/").status_code == 302  # the old session has ended
    assert accounts.authenticate(user.email, PASSWORD) is None
    assert accounts.authenticate(user.email, NEW_PASSWORD) is not None
    [entry] = _entries("organiser.password")
    assert entry.user_email == "kay@example.org" and entry.target_id == user.id

    # Once only: the link is dead, and a second try changes nothing.
    assert "This link no longer works" in client.get(link).text
    again = client.post(
        link, data={"password": "yet another phrase", "repeat": "yet another phrase"}
    )
    assert "This link no longer works" in again.text
    assert accounts.authenticate(user.email, NEW_PASSWORD) is not None


def test_the_link_expires_after_an_hour(client, make):
    user = make.organiser("kay@example.org", PASSWORD)
    _ask(client, user.email)
    row = _resets()[0]
    token = _token(_link(row))

    assert accounts.account_for_reset(token, now=row.created_at + timedelta(minutes=59)) == user
    with pytest.raises(accounts.ResetLinkInvalid):
        accounts.reset_password(token, NEW_PASSWORD, now=row.created_at + timedelta(minutes=61))
    assert accounts.authenticate(user.email, PASSWORD) is not None


def test_the_link_dies_when_the_password_changes_another_way(client, make):
    user = make.organiser("kay@example.org", PASSWORD)
    _ask(client, user.email)
    link = _link(_resets()[0])
    _ask(client, user.email)  # a second request, still unsent

    accounts.update_details(user.id, name="", password="handed over in person")

    assert "This link no longer works" in client.get(link).text
    # The queued second e-mail would carry a link for the old password: it is withdrawn.
    assert send_due().withdrawn == 2


def test_a_made_up_or_mangled_link_is_refused(client, make):
    user = make.organiser("kay@example.org", PASSWORD)
    _ask(client, user.email)
    link = _link(_resets()[0])
    mangled = link[:-3] + ("abc" if link.endswith("xyz") else "xyz")  # always a change
    for bad in ("/login/reset", "/login/reset?token=abc", mangled):
        assert "This link no longer works" in client.get(bad).text, bad
        refused = client.post(bad, data={"password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
        assert "This link no longer works" in refused.text, bad
    assert accounts.authenticate(user.email, PASSWORD) is not None
    assert db.session.get(OrganiserUser, user.id).active


def test_requests_for_links_are_rate_limited(database_url, tmp_path):
    from bookings.extensions import limiter
    from tests.conftest import make_app

    app = make_app(database_url, tmp_path, RATELIMIT_ENABLED=True)
    with app.app_context():
        db.drop_all()
        db.create_all()
        limiter.reset()
        client = app.test_client()
        # From one address: five requests, whatever they ask about, then a wait.
        answers = [_ask(client, f"x{n}@example.org").status_code for n in range(6)]
        assert answers == [200] * 5 + [429]
        assert client.get("/login/forgot").status_code == 200
        # About one address, from anywhere: five links an hour at most.
        limiter.reset()
        answers = [
            client.post(
                "/login/forgot",
                data={"email": "kay@example.org"},
                environ_base={"REMOTE_ADDR": f"192.0.2.{n}"},
            ).status_code
            for n in range(6)
        ]
        assert answers == [200] * 5 + [429]
        limiter.reset()
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
