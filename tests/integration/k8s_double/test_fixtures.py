"""The shared fixtures others import, and the shape of an adapter test against the double."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client, config

from tests.k8s_double import KubernetesDouble
from tests.k8s_double.fixtures import k8s_double, k8s_kubeconfig  # noqa: F401

from .support import container, pod_manifest, run_exec, shell


def test_the_shared_fixtures_give_a_double_and_a_kubeconfig(
    k8s_double: KubernetesDouble,  # noqa: F811
    k8s_kubeconfig: Path,  # noqa: F811
) -> None:
    api = client.CoreV1Api(config.new_client_from_config(config_file=str(k8s_kubeconfig)))
    k8s_double.kubelet.auto = True
    volumes = [{"name": "workspace", "emptyDir": {}}]
    mounts = [{"name": "workspace", "mountPath": "/workspace"}]
    api.create_namespaced_pod(
        "default",
        pod_manifest(
            "job-1",
            container("worker", volumeMounts=mounts),
            volumes=volumes,
            labels={"danube.dev/job": "1"},
        ),
    )
    k8s_double.wait_for_phase("default", "job-1", "Running")

    step = run_exec(
        api,
        "default",
        "job-1",
        shell(
            "mkdir -p /workspace/.danube/steps && echo built | tee /workspace/.danube/steps/1.out; "
            "echo 0 > /workspace/.danube/steps/1.exit"
        ),
    )
    assert (step.stdout, step.exit_code) == (b"built\n", 0)
    steps = k8s_double.volume_dir("default", "job-1", "workspace") / ".danube" / "steps"
    assert (steps / "1.exit").read_text() == "0\n"

    api.delete_namespaced_pod("job-1", "default")
    k8s_double.wait_for(
        lambda: k8s_double.pod("default", "job-1") is None, message="job-1 to be deleted"
    )
    verbs = [(r.verb, r.resource, r.subresource) for r in k8s_double.requests]
    assert verbs == [("create", "pods", ""), ("get", "pods", "exec"), ("delete", "pods", "")]
