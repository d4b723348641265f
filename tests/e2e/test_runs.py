"""Runs in the browser: trigger one and watch its log stream to the end, download its
artifact, cancel a long one, re-run only what failed, and what a reader may not do."""

from __future__ import annotations

from tests.e2e.browser import Browser
from tests.e2e.system import ADMIN, PASSWORD, READER, System

AS_ADMIN = {"user": ADMIN, "password": PASSWORD}


def test_a_run_started_with_the_run_button_streams_its_log_live_to_the_end(
    browser: Browser, system: System
) -> None:
    seen = browser.run("triggerAndWatch", url=system.url, **AS_ADMIN)
    # 25 lines 0.2 s apart: the first were on screen seconds before the last.
    assert not seen["endedEarly"], "the first lines were shown while the run still ran"
    assert seen["lastAt"] - seen["firstAt"] > 2000, seen
    assert system.run(seen["runId"])["state"] == "SUCCESS"

    downloaded = browser.run("downloadArtifact", url=system.url, runId=seen["runId"], **AS_ADMIN)
    assert downloaded == {"name": "report.txt", "text": "the artifact body\n"}


def test_a_long_run_is_cancelled_from_its_page(browser: Browser, system: System) -> None:
    seen = browser.run("cancelLong", url=system.url, **AS_ADMIN)
    assert system.wait_run(seen["runId"], "CANCELLED")["state"] == "CANCELLED"


def test_rerunning_only_the_failed_jobs_starts_a_run_that_retries_it(
    browser: Browser, system: System
) -> None:
    seen = browser.run("rerunFailed", url=system.url, timeout=180, **AS_ADMIN)
    assert system.run(seen["failedId"])["state"] == "FAILURE"
    rerun = system.wait_run(seen["rerunId"], "SUCCESS", "FAILURE")
    assert rerun["state"] == "SUCCESS"
    retry_of = system.graphql("query($id: ID!) { run(id: $id) { retryOf } }", id=seen["rerunId"])
    assert retry_of["run"]["retryOf"] == seen["failedId"]


def test_a_reader_sees_no_controls_and_is_refused_with_403(
    browser: Browser, system: System
) -> None:
    run_id = system.trigger("live")
    system.wait_run(run_id, "SUCCESS", "FAILURE", timeout=120)
    seen = browser.run(
        "readerForbidden", url=system.url, user=READER, password=PASSWORD, runId=run_id,
        console_errors_expected=True,
    )  # fmt: skip
    assert seen["runButtons"] == 0 and seen["actionButtons"] == 0 and seen["drainButtons"] == 0
    assert (
        "only global admins" in seen["refused"].lower()
        or "forbidden" in seen["refused"].lower()
        or "may not" in seen["refused"].lower()
    ), seen["refused"]
    assert seen["restStatus"] == 403
    assert seen["graphql"]["errors"][0]["extensions"]["code"] == "FORBIDDEN", seen["graphql"]
