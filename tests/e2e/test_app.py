"""The app as a person first meets it: opened at the URL ``danube up`` prints."""

from __future__ import annotations

from tests.e2e.browser import Browser
from tests.e2e.system import System


def test_the_printed_url_opens_the_app(browser: Browser, system: System) -> None:
    opened = browser.run("opens", url=system.url)
    assert (opened["status"], opened["deepStatus"]) == (200, 200)
    assert opened["title"] == "Danube"
    assert opened["path"] == "/audit", "the app's own links navigate"
