"""A delegate books on a phone-sized screen with the keyboard only, in Debian's Chromium.

Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian packages chromium, chromium-driver);
skipped without them, except under CI=true where .ci/run installs them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time
from pathlib import Path

import pytest

from bookings.db import db
from tests.browser import chromium, keys, need_browser, next_page, serving, tab_to
from tests.conftest import Factory, default_lscb, make_app


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Factory]]:
    """The app on SQLite behind a real HTTP server in a thread."""
    need_browser()
    app = make_app(f"sqlite:///{tmp_path / 'browser.sqlite3'}", tmp_path, SERVER_NAME=None)
    with app.app_context():
        db.create_all()
        try:
            with serving(app) as base:
                yield base, Factory()
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def browser() -> Iterator:
    with chromium() as driver:
        yield driver


def test_a_delegate_books_on_a_phone_with_the_keyboard_only(site, browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    base, make = site
    make.sector("Health")
    make.sector("Police")
    make.lscb("Hackney")
    make.lscb("Tower Hamlets")
    event = make.event(capacity=1, title="Child sexual abuse seminar")
    browser.get(f"{base}/events/{event.slug}")

    page_width = browser.execute_script("return document.documentElement.scrollWidth")
    view_width = browser.execute_script("return document.documentElement.clientWidth")
    assert page_width <= view_width, "the event page scrolls sideways on a phone"

    # Submitting empty shows the error summary, and its links lead to the fields.
    tab_to(browser, "name")
    tab_to(browser, "booking-submit")
    with next_page(browser):
        ActionChains(browser).send_keys(Keys.ENTER).perform()
    summary = browser.find_element("id", "error-summary")
    assert "Enter your full name." in summary.text

    for field, text in (
        ("name", "Jan Pearson"),
        ("email", "jan.pearson@example.org"),
        ("organisation", "East London NHS Foundation Trust"),
        ("job_title", "Associate Director"),
    ):
        tab_to(browser, field)
        keys(browser, text)
    tab_to(browser, "sector")
    keys(browser, "P")  # type-ahead picks "Police" in a focused select
    tab_to(browser, "lscb")
    keys(browser, "T")
    tab_to(browser, "privacy")
    keys(browser, " ")
    tab_to(browser, "booking-submit")
    with next_page(browser):
        ActionChains(browser).send_keys(Keys.ENTER).perform()

    heading = browser.find_element("tag name", "h1").text
    assert heading == "Your place is booked"
    body = browser.find_element("tag name", "body").text
    assert "Police" in body
    assert "East London NHS Foundation Trust" in body
    browser.save_screenshot(str(tmp_path / "booked.png"))

    # The next delegate finds the event full and is offered the waiting list.
    browser.delete_all_cookies()
    browser.get(f"{base}/events/{event.slug}")
    assert browser.find_element("id", "booking-submit").text == "Join the waiting list"


def _csp_reports(driver) -> list[str]:
    """What the Content-Security-Policy refused since the last call (the log is drained)."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]


def _colour(driver, selector: str, prop: str) -> str:
    element = driver.find_element("css selector", selector)
    return driver.execute_script(
        "return getComputedStyle(arguments[0]).getPropertyValue(arguments[1])", element, prop
    )


def test_public_stats_and_console_pages_break_no_content_security_rule(site, browser):
    from selenium.webdriver.common.keys import Keys

    from bookings.booking.models import Booking, BookingStatus
    from bookings.london import london_datetime

    base, make = site
    health, police = make.sector("Health"), make.sector("Police")
    event = make.event(title="Neglect seminar")
    held = make.event(starts_at=london_datetime(date(2008, 7, 10), time(10)))
    for n, sector in enumerate((health, police, police)):
        db.session.add(
            Booking(
                event=held,
                sector=sector,
                lscb_id=default_lscb().id,
                reference=f"CSP{n:05d}",
                token_salt="salt",
                token_hash=f"hash-{n}",
                status=BookingStatus.confirmed,
                name=f"Delegate {n}",
                email=f"delegate{n}@example.org",
                email_key=f"delegate{n}@example.org",
                organisation="Barnet",
                job_title="Nurse",
                attended_at=held.starts_at,
            )
        )
    db.session.commit()
    make.organiser()

    browser.get(f"{base}/events/{event.slug}")
    assert browser.find_element("tag name", "h1").text == "Neglect seminar"
    # The stylesheet applied: the header has the brand colour from static/css/site.css.
    assert _colour(browser, ".site-header", "background-color") == "rgb(29, 79, 122)"
    assert _csp_reports(browser) == []

    browser.get(f"{base}/login")
    browser.find_element("id", "email").send_keys("organiser@example.org")
    with next_page(browser):
        browser.find_element("id", "password").send_keys("correct horse battery", Keys.ENTER)
    browser.get(f"{base}/manage/")
    assert "/manage" in browser.current_url
    assert _csp_reports(browser) == []

    browser.get(f"{base}/manage/stats")
    assert browser.find_elements("css selector", ".chart svg")
    # Sector colours come from classes now: the first bar and the first swatch are brand blue.
    assert _colour(browser, ".chart rect.series-0", "fill") == "rgb(29, 79, 122)"
    assert _colour(browser, ".swatch.series-1", "background-color") == "rgb(213, 94, 0)"
    assert _csp_reports(browser) == []

    # The check can fail: an inline style is refused and reported in the same log.
    browser.execute_script(
        "document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')"
    )
    assert _csp_reports(browser), "an inline style attribute went unreported"
