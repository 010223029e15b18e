"""Debian's chromium driven by selenium, trusting the emulator's certificate by its key only.

The tests skip (with the reason) only where chromium or its driver is missing; ``./dev test`` installs both.
The driver path is given, so Selenium Manager never looks for (or downloads) a driver.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import ssl
import tempfile
import threading
import webbrowser
from collections.abc import Callable, Iterator
from typing import Any, Optional

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 60  # seconds: bound on every wait for a page (waits end on the page's condition, not on time)
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage")


def _require_chromium() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.skip(f"{' and '.join(missing)} missing: apt-get install chromium chromium-driver (./dev test does)")


def spki_hash(host: str, port: int) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of the certificate a TLS server presents: what chromium's
    --ignore-certificate-errors-spki-list takes, so that only that key (the emulator's) is trusted."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pem = ssl.get_server_certificate((host, port))
    key = x509.load_pem_x509_certificate(pem.encode("ascii")).public_key()
    return base64.b64encode(hashlib.sha256(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
                            .digest()).decode("ascii")


@pytest.fixture
def chromium(emulator: Any) -> Iterator[Callable[[], Any]]:
    """``chromium()``: a new headless browser (its own profile: its own cookies); all quit after the test."""
    _require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    spki = spki_hash("127.0.0.1", emulator.port)
    drivers: list[Any] = []
    profiles: list[str] = []

    def start() -> Any:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        profile = tempfile.mkdtemp(prefix="netkit-chromium-")
        profiles.append(profile)
        for flag in (*_FLAGS, f"--user-data-dir={profile}", f"--ignore-certificate-errors-spki-list={spki}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(WAIT)
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()
    for profile in profiles:
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver: Any, condition: Callable[[Any], Any], what: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(condition, message=f"waited {WAIT} s for {what}")


def sign_in_at_emulator(driver: Any, user: str, *, accept: bool = True) -> None:
    """A person on the emulator's sign-in page: picks ``user``, keeps the consent box, accepts (or cancels)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    wait_for(driver, lambda d: d.find_elements(By.ID, "signin"), "the emulator's sign-in page")
    Select(driver.find_element(By.NAME, "user")).select_by_value(user)
    driver.find_element(By.CSS_SELECTOR, f"button[value={'accept' if accept else 'cancel'}]").click()


class SeleniumBrowser(webbrowser.BaseBrowser):
    """``webbrowser``'s browser for get_token(): the URL opens in a selenium-driven chromium (like a person's
    browser, open() returns at once), then ``then(driver)`` plays the person's part on the sign-in page."""

    def __init__(self, driver: Any, then: Optional[Callable[[Any], None]] = None) -> None:
        super().__init__("netkit-msal-selenium")
        self.driver, self.then = driver, then
        self.opened: list[str] = []
        self.errors: list[BaseException] = []
        self.done = threading.Event()

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.opened.append(url)
        threading.Thread(target=self._visit, args=(url,), daemon=True).start()
        return True

    def _visit(self, url: str) -> None:
        try:
            self.driver.get(url)
            if self.then:
                self.then(self.driver)
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)
        finally:
            self.done.set()


def install(browser: SeleniumBrowser) -> SeleniumBrowser:
    webbrowser.register(browser.name, None, browser, preferred=True)
    return browser
