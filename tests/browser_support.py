"""Headless Chromium for the console tests: Debian's ``chromium`` and ``chromedriver``, never a download.

``make chromium`` installs both (``apt-get install chromium chromium-driver``). Selenium is handed the
driver's path and the browser's binary, and Selenium Manager is put offline, so nothing is fetched.
Without them the tests skip, unless ``AEP2_REQUIRE_BROWSER=1`` (``make test`` sets it) makes that a
failure.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("AEP2_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("AEP2_CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS_ENV = "AEP2_CONSOLE_SCREENSHOTS"
"""A folder to save each page's screenshot in (the docs': ``docs/console``); unset: not saved."""


def browser_or_skip() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).is_file() or shutil.which(p))]
    if missing:
        reason = f"no {' or '.join(missing)}: run `make chromium`"
        if os.environ.get("AEP2_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@contextmanager
def headless_chromium() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser_or_skip()
    offline = os.environ.get("SE_OFFLINE")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never reach the network
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,1000", "--disable-extensions", "--no-first-run"):  # fmt: skip
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    finally:
        if offline is None:
            del os.environ["SE_OFFLINE"]
        else:
            os.environ["SE_OFFLINE"] = offline
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> float:
    """Poll ``predicate`` (a page read) until true; the seconds it took, or fail naming ``what``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - start


def screenshot(driver: object, name: str, tmp: Path) -> Path:
    """A PNG of the whole page; also copied to ``$AEP2_CONSOLE_SCREENSHOTS`` when set."""
    height = driver.execute_script("return document.documentElement.scrollHeight")  # type: ignore[attr-defined]
    metrics = {
        "width": 1280,
        "height": max(600, min(int(height), 2400)),
        "deviceScaleFactor": 1,
        "mobile": False,
    }
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)  # type: ignore[attr-defined]
    path = tmp / f"{name}.png"
    try:
        driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})  # type: ignore[attr-defined]
    target = os.environ.get(SCREENSHOTS_ENV)
    if target:
        from PIL import Image  # matplotlib's dependency; a 64-colour palette keeps the docs' PNGs small

        Path(target).mkdir(parents=True, exist_ok=True)
        with Image.open(path) as image:
            image.convert("RGB").quantize(colors=64).save(Path(target) / path.name, optimize=True)
    return path
