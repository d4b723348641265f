"""A job's Secret and pod are created at the same time, not one round trip after the
other: a slow Secret create does not hold up the pod's."""

from __future__ import annotations

from tests.integration.kubernetes.conftest import Kube
from tests.integration.kubernetes.test_faults import QUICK


def test_the_pod_is_created_while_its_secret_is_still_being_created(kube: Kube) -> None:
    kube.double.faults.fail_next(429, verb="create", resource="secrets", retry_after=1)
    _, job_id = kube.request(QUICK)
    job = kube.finished(job_id)
    assert job.state == "success", kube.log(job_id).decode(errors="replace")
    secrets = kube.double.requests_matching(verb="create", resource="secrets")
    pods = kube.double.requests_matching(verb="create", resource="pods")
    assert [r.status for r in secrets] == [429, 201]
    assert [r.status for r in pods] == [201]
    assert pods[0].at < secrets[1].at  # not after the Secret existed
    kube.nothing_left()
