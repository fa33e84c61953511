"""Shared pieces of the browser tests: Debian's Chromium, a real HTTP server in a thread, keys.

Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian packages chromium, chromium-driver);
the tests are skipped without them, except under CI=true, where .ci/run installs them and a
missing browser fails the run.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import IN_CI

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

PHONE = (390, 844)
DESKTOP = (1280, 900)


def need_browser() -> None:
    """Skip without Chromium and its driver; under CI=true, fail instead."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        message = f"browser tests need Debian's chromium and chromium-driver: {missing} missing"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` (inside its app context) on a free local port; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join()


@contextmanager
def chromium(size: tuple[int, int] = PHONE) -> Iterator:
    """A headless Chromium whose console log keeps what the Content-Security-Policy refused."""
    need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--window-size={size[0]},{size[1]}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def set_width(driver, size: tuple[int, int]) -> None:
    """Make the page's viewport (not the window) the given size, as a phone's would be."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False},
    )


@contextmanager
def next_page(driver, timeout: float = 10) -> Iterator[None]:
    """Wait, after the block (a click, a key), until the browser shows the page it led to."""
    from selenium.webdriver.support.expected_conditions import staleness_of
    from selenium.webdriver.support.wait import WebDriverWait

    shown = driver.find_element("tag name", "html")
    yield
    WebDriverWait(driver, timeout).until(staleness_of(shown))


def tab_to(driver, element_id: str, limit: int = 60) -> None:
    """Press Tab until the element has focus, as a keyboard user would."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        if driver.switch_to.active_element.get_attribute("id") == element_id:
            return
        ActionChains(driver).send_keys(Keys.TAB).perform()
    raise AssertionError(f"#{element_id} cannot be reached with the Tab key")


def keys(driver, *text: str) -> None:
    """Type into whatever has focus."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*text).perform()
