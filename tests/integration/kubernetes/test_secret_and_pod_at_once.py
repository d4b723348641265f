"""A job's pod is created first and its Secret right after, owned by the pod from its
create on: a slow Secret create does not hold up the pod's, and no patch follows."""

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


def test_the_secret_is_created_owned_by_its_pod_without_a_patch(kube: Kube) -> None:
    _, job_id = kube.request(QUICK)
    job = kube.finished(job_id)
    assert job.state == "success", kube.log(job_id).decode(errors="replace")
    [pod] = kube.double.requests_matching(verb="create", resource="pods")
    [secret] = kube.double.requests_matching(verb="create", resource="secrets")
    meta = pod.response["metadata"]
    owner = {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]}
    assert secret.body["metadata"]["ownerReferences"] == [owner]
    assert kube.double.requests_matching(verb="patch", resource="secrets") == []
    kube.nothing_left()
