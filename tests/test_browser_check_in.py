"""Check-in on the day in Debian's Chromium at phone width: a tap marks a delegate arrived
without a page load (static/js/check-in.js), the row changes in place and offers the undo.

Needs /usr/bin/chromium and /usr/bin/chromedriver; skipped without them, except under CI=true.
"""

from __future__ import annotations

from bookings.booking import service as booking_service
from bookings.db import db
from bookings.models import Booking
from tests import test_browser
from tests.conftest import default_lscb

site = test_browser.site
browser = test_browser.browser


def _wait(driver, condition, seconds: float = 10):
    """Until ``condition``; a row replaced while it is read is read again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, seconds, ignored_exceptions=[StaleElementReferenceException])
    return wait.until(condition)


def _row(driver, booking_id: int):
    return driver.find_element("id", f"booking-{booking_id}")


def test_a_tap_marks_a_delegate_arrived_without_reloading_and_undo_works(site, browser):
    from selenium.webdriver.common.keys import Keys

    base, make = site
    sector = make.sector("Health")
    event = make.event(title="Neglect seminar", capacity=10)
    lscb = default_lscb().id
    details = booking_service.DelegateDetails
    precious = booking_service.book(
        event.id,
        details("Precious Adeyemi", "pa@example.org", "Hackney", "Nurse", sector.id, lscb_id=lscb),
    ).booking
    booking_service.book(
        event.id, details("Sam Other", "so@example.org", "Camden", "Nurse", sector.id, lscb_id=lscb)
    )
    make.organiser()

    browser.get(f"{base}/login")
    browser.find_element("id", "email").send_keys("organiser@example.org")
    browser.find_element("id", "password").send_keys("correct horse battery", Keys.ENTER)
    _wait(browser, lambda d: "/manage" in d.current_url)
    browser.get(f"{base}/manage/events/{event.id}/check-in")
    test_browser._csp_reports(browser)  # drain what the log holds so far

    # A marker on window survives only if the page is never loaded again.
    browser.execute_script("window.checkInMarker = 'still here'")
    button = _row(browser, precious.id).find_element("css selector", "button")
    assert button.accessible_name == "Mark Precious Adeyemi as arrived"
    size = button.size
    assert size["height"] >= 44 and size["width"] >= 44, size
    button.click()

    _wait(browser, lambda d: "is-attended" in _row(d, precious.id).get_attribute("class"))
    row = _row(browser, precious.id)
    assert "Arrived" in row.text
    tick = browser.execute_script(
        "return getComputedStyle(arguments[0], '::before').content",
        row.find_element("css selector", ".check-in-icon"),
    )
    assert tick == '"✓"'  # an icon besides the colour and the words
    assert browser.execute_script("return window.checkInMarker") == "still here"
    assert browser.execute_script("return performance.getEntriesByType('navigation').length") == 1
    count = browser.find_element("id", "check-in-count").text
    assert count == "1 attended of 2 confirmed"
    focused = browser.switch_to.active_element
    assert focused.accessible_name == "Undo arrival of Precious Adeyemi"
    _wait(browser, lambda d: "marked as arrived" in d.find_element("id", "check-in-news").text)
    db.session.expire_all()
    assert db.session.get(Booking, precious.id).attended

    # The undo, from the keyboard: the focus is already on it.
    focused.send_keys(Keys.ENTER)
    _wait(browser, lambda d: "is-attended" not in _row(d, precious.id).get_attribute("class"))
    assert "Not yet arrived" in _row(browser, precious.id).text
    assert browser.find_element("id", "check-in-count").text == "0 attended of 2 confirmed"
    assert browser.execute_script("return window.checkInMarker") == "still here"
    db.session.expire_all()
    assert not db.session.get(Booking, precious.id).attended
    assert test_browser._csp_reports(browser) == []

    for page in ("check-in", "delegates", f"delegates/{precious.id}/cancel"):
        browser.get(f"{base}/manage/events/{event.id}/{page}")
        page_width = browser.execute_script("return document.documentElement.scrollWidth")
        view_width = browser.execute_script("return document.documentElement.clientWidth")
        assert page_width <= view_width, f"{page} scrolls sideways on a phone"
