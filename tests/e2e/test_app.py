"""The app as a person first meets it: the URL ``danube up`` prints, the login, the
pages' own URLs; and the Admin page's draining control."""

from __future__ import annotations

from tests.e2e.browser import Browser
from tests.e2e.system import ADMIN, PASSWORD, System

AS_ADMIN = {"user": ADMIN, "password": PASSWORD}


def test_the_printed_url_leads_to_the_login_and_then_the_pipelines(
    browser: Browser, system: System
) -> None:
    seen = browser.run("logIn", url=system.url, **AS_ADMIN)
    assert (seen["status"], seen["deepStatus"]) == (200, 200)
    assert seen["title"] == "Danube"
    assert ADMIN in seen["viewer"] and "platform" in seen["viewer"], seen["viewer"]
    assert seen["path"] == "/audit", "the app's own links navigate"
    assert not any(seen["overflows"].values()), f"wider than a phone: {seen['overflows']}"


def test_an_admin_sees_the_config_in_force_and_drains_and_undrains(
    browser: Browser, system: System
) -> None:
    commit = system.graphql("{ status { configCommit } }")["status"]["configCommit"]
    seen = browser.run("adminDrain", url=system.url, **AS_ADMIN)
    assert commit[:12] in seen["config"]
    assert seen["drainingSeenByServer"] is True
    assert system.graphql("{ status { draining } }")["status"]["draining"] is False
