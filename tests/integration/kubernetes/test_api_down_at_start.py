"""An API server that is unreachable when the pod adapter starts stalls nothing: no
call waits for it, a cancel is recorded at once, and jobs run once it is back."""

from __future__ import annotations

import time

import pytest

from domain.cause import Cause
from tests.integration.execution.conftest import TERMINAL
from tests.integration.kubernetes.conftest import Kube
from tests.k8s_double import KubernetesDouble
from tests.support import wait_until

QUICK = """
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        step.run("echo one")
"""


def refuse(double: KubernetesDouble) -> None:
    double.faults.refuse_connections()


@pytest.mark.parametrize("before_start", [refuse], ids=["api down"])
def test_with_the_api_down_a_cancel_is_recorded_at_once_and_the_rest_runs_once_it_is_back(
    kube: Kube,
) -> None:
    cancelled_run, cancelled = kube.request(QUICK)
    _, later = kube.request(QUICK)
    wait_until(lambda: kube.state(cancelled) and kube.state(later), what="both jobs")
    asked = time.monotonic()
    kube.danube.runs.cancel_run(cancelled_run, Cause(actor="user:alice"))
    assert kube.finished(cancelled, timeout=10).state == "cancelled"
    assert time.monotonic() - asked < 5  # not behind waits for the API (were 30 s each)
    assert kube.state(later) not in TERMINAL
    assert kube.double.requests == []  # nothing got through meanwhile
    kube.double.faults.accept_connections()
    job = kube.finished(later, timeout=60)
    assert job.state == "success", kube.log(later).decode(errors="replace")
    creates = kube.double.requests_matching(verb="create", resource="pods")
    created = [r.response["metadata"]["name"] for r in creates if r.response]
    assert created == [kube.pod_of(later)]  # the cancelled job never got a pod
    kube.nothing_left()
