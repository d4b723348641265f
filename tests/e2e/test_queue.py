"""The queue page: a run that waits for the only executor slot, and it leaving the
queue live when the run holding the slot is cancelled."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.browser import Browser
from tests.e2e.system import ADMIN, PASSWORD, System, start
from tests.support import wait_until


@pytest.fixture(scope="module")
def system(web_app: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    started = start(tmp_path_factory.mktemp("system"), DANUBE_MAX_CONCURRENT_JOBS="1")
    yield started
    started.stop()


def test_a_waiting_run_is_listed_with_why_and_leaves_live_when_the_slot_frees(
    browser: Browser, system: System
) -> None:
    blocker = system.trigger("long")
    system.wait_run(blocker, "RUNNING")
    waiting = system.trigger("live")
    queued = "{ queue { position reason job { runId } } }"
    wait_until(lambda: [e for e in system.graphql(queued)["queue"] if e["job"]["runId"] == waiting],
               what="the second run to wait in the queue")  # fmt: skip

    seen = browser.run(
        "queueLive", url=system.url, blocker=blocker, waiting=waiting, user=ADMIN, password=PASSWORD
    )

    assert seen["row"].split("\t")[0].strip() == "1", seen
    assert "live" in seen["row"]
    assert "capacity" in seen["row"] or "slot" in seen["row"] or "waiting" in seen["row"], seen
    assert system.wait_run(waiting, "SUCCESS", timeout=120)["state"] == "SUCCESS"
