"""The audit trail of a run and time travel across its events, in the browser."""

from __future__ import annotations

from tests.e2e.browser import Browser
from tests.e2e.system import ADMIN, PASSWORD, System


def test_time_travel_shows_the_run_as_it_was_after_each_event(
    browser: Browser, system: System
) -> None:
    run_id = system.trigger("live")
    finished = system.wait_run(run_id, "SUCCESS", "FAILURE", timeout=120)
    assert finished["state"] == "SUCCESS", finished

    seen = browser.run("timeTravel", url=system.url, runId=run_id, user=ADMIN, password=PASSWORD)

    # One slider position per stored event. (Run.version of the read model is not bumped
    # by every event, e.g. ProvenanceRecorded, so it can be lower than the count.)
    assert seen["count"] >= finished["version"] > 3
    assert seen["last"].startswith(f"After event {seen['count']} of {seen['count']}")
    assert seen["first"].startswith(f"After event 1 of {seen['count']}: Run.Requested")
    assert seen["second"].startswith(f"After event 2 of {seen['count']}")
    states = [line.split()[1].lower() for line in seen["states"]]  # "Run <state> live · main"
    assert states[0] == "queued", seen["states"]
    assert "running" in states, seen["states"]
    assert states[-1] == "succeeded", seen["states"]
