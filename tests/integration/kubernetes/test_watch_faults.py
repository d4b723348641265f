"""The pod watch breaks, stalls or expires: the adapter resumes from the last
resourceVersion, or lists again after 410 Gone, and jobs finish as if nothing happened."""

from __future__ import annotations

import pytest

from tests.integration.kubernetes.conftest import Kube
from tests.support import wait_until

TWO_STEPS = """
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        step.run("echo ready; sleep 0.5")
        step.run("echo done")
"""


def ready(kube: Kube, job_id) -> None:  # type: ignore[no-untyped-def]
    kube.printed(job_id, b"ready\n")


def watches(kube: Kube) -> list:  # type: ignore[type-arg]
    return kube.double.requests_matching(verb="watch", resource="pods")


def test_a_dropped_watch_resumes_from_its_resource_version(kube: Kube) -> None:
    _, job_id = kube.request(TWO_STEPS)
    ready(kube, job_id)
    assert kube.double.faults.drop_watches("pods") == 1
    assert kube.finished(job_id).state == "success"
    resumed = watches(kube)[1]
    assert resumed.query["resourceVersion"] != ["0"]
    assert len(kube.double.requests_matching(verb="list", resource="pods")) == 1
    kube.nothing_left()


def test_a_watch_whose_version_expired_lists_again(kube: Kube) -> None:
    _, job_id = kube.request(TWO_STEPS)
    ready(kube, job_id)
    faults = kube.double.faults
    faults.stall_watches("pods")  # the adapter sees nothing from here on...
    kube.double.create_namespace("elsewhere")  # ...while the cluster moves on
    faults.compact()
    faults.drop_watches("pods")
    assert kube.finished(job_id).state == "success"
    assert len(kube.double.requests_matching(verb="list", resource="pods")) == 2
    kube.nothing_left()


def test_a_watch_refused_with_410_lists_again(kube: Kube) -> None:
    _, job_id = kube.request(TWO_STEPS)
    ready(kube, job_id)
    kube.double.faults.fail_next(410, verb="watch", resource="pods")
    kube.double.faults.drop_watches("pods")
    assert kube.finished(job_id).state == "success"
    assert len(kube.double.requests_matching(verb="list", resource="pods")) == 2
    kube.nothing_left()


def test_a_cleanly_closed_watch_is_opened_again(kube: Kube) -> None:
    _, job_id = kube.request(TWO_STEPS)
    ready(kube, job_id)
    kube.double.faults.close_watches("pods")
    assert kube.finished(job_id).state == "success"
    assert len(watches(kube)) >= 2
    kube.nothing_left()


@pytest.mark.parametrize("executor_tweaks", [{"watch_read_timeout": 1.0}])
def test_a_stalled_watch_is_given_up_after_the_read_timeout(kube: Kube) -> None:
    _, job_id = kube.request(TWO_STEPS)
    ready(kube, job_id)
    kube.double.faults.stall_watches("pods")
    assert kube.finished(job_id).state == "success"
    assert len(watches(kube)) >= 2
    kube.nothing_left()


@pytest.mark.parametrize("double_options", [{"bookmark_interval": 0.1}])
def test_after_compaction_a_dropped_watch_resumes_from_a_bookmark_without_listing(
    kube: Kube,
) -> None:
    """Bookmarks carry versions of changes the watch does not match: resuming from
    the last one is still possible after the history is compacted."""
    _, job_id = kube.request(TWO_STEPS)
    ready(kube, job_id)
    kube.double.create_namespace("elsewhere")  # the cluster moves on, not our pods
    current = str(kube.double.resource_version)
    informer = kube.execution.executor.informer  # type: ignore[attr-defined]
    wait_until(
        lambda: informer.resource_version == current,
        timeout=10,
        what=f"a bookmark with version {current} to reach the informer",
    )
    kube.double.faults.compact()
    assert kube.double.faults.drop_watches("pods") == 1
    assert kube.finished(job_id).state == "success"
    assert len(kube.double.requests_matching(verb="list", resource="pods")) == 1
    resumed = watches(kube)[1]
    assert resumed.query["resourceVersion"] == [current]
    assert not [e for r in watches(kube) for e in r.events if e.get("type") == "ERROR"]
    assert any(e.get("type") == "BOOKMARK" for e in watches(kube)[0].events)
    kube.nothing_left()
