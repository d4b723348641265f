"""Pods, secrets and namespaces through CoreV1Api: defaults, selectors, errors, patches."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.k8s_double import KubernetesDouble

from .support import container, pod_manifest, served


def status_of(exc: ApiException) -> client.V1Status:
    return served(json.loads(exc.body), "V1Status")


def test_a_created_pod_gets_the_defaults_of_an_api_server(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    body = client.V1Pod(
        metadata=client.V1ObjectMeta(name="job-1", labels={"danube/job": "1"}),
        spec=client.V1PodSpec(
            restart_policy="Never",
            containers=[
                client.V1Container(
                    name="worker",
                    image="busybox:1.36",
                    resources=client.V1ResourceRequirements(limits={"cpu": "1", "memory": "64Mi"}),
                )
            ],
        ),
    )
    pod = api.create_namespaced_pod(ns, body)

    assert pod.metadata.uid and pod.metadata.creation_timestamp is not None
    assert int(pod.metadata.resource_version) > 0
    assert pod.metadata.namespace == ns
    assert pod.status.phase == "Pending"
    assert pod.status.qos_class == "Guaranteed"
    worker = pod.spec.containers[0]
    assert worker.image_pull_policy == "IfNotPresent"
    assert worker.termination_message_policy == "File"
    assert pod.spec.service_account_name == "default"
    assert pod.spec.termination_grace_period_seconds == 30
    assert {t.key for t in pod.spec.tolerations} == {
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    }
    assert any(
        m.mount_path == "/var/run/secrets/kubernetes.io/serviceaccount"
        for m in worker.volume_mounts
    )
    create = double.requests_matching(verb="create", resource="pods")[0]
    assert create.status == 201
    assert create.content_type is None  # the client sends JSON without a Content-Type


def test_get_and_list_select_by_labels_and_fields(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    for name, labels in [
        ("a", {"app": "x", "tier": "web"}),
        ("b", {"app": "y"}),
        ("c", {"app": "z", "tier": "db"}),
        ("d", {}),
    ]:
        api.create_namespaced_pod(ns, pod_manifest(name, labels=labels))
    double.kubelet.schedule(ns, "a")

    def names(**kwargs: str) -> list[str]:
        return [p.metadata.name for p in api.list_namespaced_pod(ns, **kwargs).items]

    assert names() == ["a", "b", "c", "d"]
    assert names(label_selector="app=x") == ["a"]
    assert names(label_selector="app!=x") == ["b", "c", "d"]
    assert names(label_selector="app in (x, z)") == ["a", "c"]
    assert names(label_selector="app notin (x,z)") == ["b", "d"]
    assert names(label_selector="tier") == ["a", "c"]
    assert names(label_selector="!tier") == ["b", "d"]
    assert names(label_selector="app,tier=db") == ["c"]
    assert names(field_selector="metadata.name=b") == ["b"]
    assert names(field_selector="spec.nodeName=k8s-double-node") == ["a"]
    assert names(field_selector="status.phase=Pending,metadata.name!=a") == ["b", "c", "d"]
    assert api.read_namespaced_pod("c", ns).metadata.labels == {"app": "z", "tier": "db"}
    with pytest.raises(ApiException) as bad:
        api.list_namespaced_pod(ns, field_selector="spec.image=x")
    assert bad.value.status == 400
    assert status_of(bad.value).message == "field label not supported: spec.image"
    assert [
        p.metadata.name for p in api.list_pod_for_all_namespaces(label_selector="app=y").items
    ] == ["b"]


def test_a_missing_pod_is_a_not_found_status(api: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as missing:
        api.read_namespaced_pod("nope", ns)
    assert missing.value.status == 404
    assert json.loads(missing.value.body) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "kind": "pods"},
        "code": 404,
    }


def test_creating_a_pod_twice_is_already_exists(api: client.CoreV1Api, ns: str) -> None:
    api.create_namespaced_pod(ns, pod_manifest("twice"))
    with pytest.raises(ApiException) as again:
        api.create_namespaced_pod(ns, pod_manifest("twice"))
    assert again.value.status == 409
    assert json.loads(again.value.body) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "twice" already exists',
        "reason": "AlreadyExists",
        "details": {"name": "twice", "kind": "pods"},
        "code": 409,
    }


def test_an_invalid_pod_is_rejected_with_its_causes(api: client.CoreV1Api, ns: str) -> None:
    manifest = pod_manifest("Bad_Name", {"name": "worker"}, restart_policy="Sometimes")
    with pytest.raises(ApiException) as invalid:
        api.create_namespaced_pod(ns, manifest)
    assert invalid.value.status == 422
    status = status_of(invalid.value)
    assert status.reason == "Invalid"
    assert [c.field for c in status.details.causes] == ["metadata.name"]
    manifest = pod_manifest("bad", {"name": "worker"}, restart_policy="Sometimes")
    with pytest.raises(ApiException) as invalid:
        api.create_namespaced_pod(ns, manifest)
    causes = {c.field: c.reason for c in status_of(invalid.value).details.causes}
    assert causes == {
        "spec.containers[0].image": "FieldValueRequired",
        "spec.restartPolicy": "FieldValueNotSupported",
    }


def test_generate_name_gives_a_unique_name(api: client.CoreV1Api, ns: str) -> None:
    manifest = pod_manifest("")
    manifest["metadata"] = {"generateName": "run-"}
    first = api.create_namespaced_pod(ns, manifest)
    second = api.create_namespaced_pod(ns, manifest)
    assert first.metadata.name.startswith("run-") and len(first.metadata.name) == 9
    assert first.metadata.name != second.metadata.name


def test_the_three_patch_types(api: client.CoreV1Api, ns: str) -> None:
    api.create_namespaced_pod(
        ns, pod_manifest("p", container("main"), container("worker"), labels={"a": "1", "b": "2"})
    )

    patched = api.patch_namespaced_pod(
        "p",
        ns,
        {
            "metadata": {"labels": {"a": None, "c": "3"}},
            "spec": {"containers": [{"name": "worker", "image": "registry.example/other:2"}]},
        },
    )
    assert patched.metadata.labels == {"b": "2", "c": "3"}
    assert [c.image for c in patched.spec.containers] == [
        "registry.example/danube/runner:1.0",
        "registry.example/other:2",
    ]

    patched = api.patch_namespaced_pod(
        "p",
        ns,
        [
            {"op": "add", "path": "/metadata/annotations", "value": {"danube/step": "1"}},
            {"op": "test", "path": "/metadata/labels/b", "value": "2"},
        ],
    )
    assert patched.metadata.annotations == {"danube/step": "1"}

    patched = api.patch_namespaced_pod(
        "p",
        ns,
        {"metadata": {"annotations": {"danube/step": "2"}}},
        _content_type="application/merge-patch+json",
    )
    assert patched.metadata.annotations == {"danube/step": "2"}

    with pytest.raises(ApiException) as forbidden:
        api.patch_namespaced_pod("p", ns, {"spec": {"restartPolicy": "Always"}})
    assert forbidden.value.status == 422
    assert "pod updates may not change fields" in status_of(forbidden.value).message

    stale = {"metadata": {"resourceVersion": "1", "labels": {"d": "4"}}}
    with pytest.raises(ApiException) as conflict:
        api.patch_namespaced_pod("p", ns, stale)
    assert conflict.value.status == 409
    assert status_of(conflict.value).reason == "Conflict"


def test_replace_with_a_stale_resource_version_conflicts(api: client.CoreV1Api, ns: str) -> None:
    pod = api.create_namespaced_pod(ns, pod_manifest("r"))
    pod.metadata.labels = {"x": "1"}
    replaced = api.replace_namespaced_pod("r", ns, pod)
    assert replaced.metadata.labels == {"x": "1"}
    with pytest.raises(ApiException) as conflict:
        api.replace_namespaced_pod("r", ns, pod)  # still carries the old resourceVersion
    assert conflict.value.status == 409


def test_deleting_an_unscheduled_pod_is_immediate_and_returns_the_pod(
    api: client.CoreV1Api, ns: str
) -> None:
    api.create_namespaced_pod(ns, pod_manifest("gone"))
    deleted = api.delete_namespaced_pod("gone", ns)
    assert isinstance(deleted, client.V1Pod)
    assert deleted.metadata.name == "gone"
    with pytest.raises(ApiException) as missing:
        api.read_namespaced_pod("gone", ns)
    assert missing.value.status == 404


def test_a_finalizer_holds_a_deleted_pod_until_it_is_removed(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    manifest = pod_manifest("held")
    manifest["metadata"]["finalizers"] = ["danube.dev/cleanup"]
    api.create_namespaced_pod(ns, manifest)
    deleted = api.delete_namespaced_pod("held", ns)
    assert deleted.metadata.deletion_timestamp is not None
    assert api.read_namespaced_pod("held", ns).metadata.finalizers == ["danube.dev/cleanup"]
    api.patch_namespaced_pod("held", ns, [{"op": "remove", "path": "/metadata/finalizers"}])
    assert double.pod(ns, "held") is None


def test_delete_collection_by_label(api: client.CoreV1Api, ns: str) -> None:
    for name, run in [("a", "1"), ("b", "1"), ("c", "2")]:
        api.create_namespaced_pod(ns, pod_manifest(name, labels={"run": run}))
    api.delete_collection_namespaced_pod(ns, label_selector="run=1")
    assert [p.metadata.name for p in api.list_namespaced_pod(ns).items] == ["c"]


def test_lists_are_paginated_with_continue_tokens(api: client.CoreV1Api, ns: str) -> None:
    for i in range(5):
        api.create_namespaced_pod(ns, pod_manifest(f"p{i}"))
    first = api.list_namespaced_pod(ns, limit=2)
    assert [p.metadata.name for p in first.items] == ["p0", "p1"]
    assert first.metadata.remaining_item_count == 3
    rest = api.list_namespaced_pod(ns, limit=10, _continue=first.metadata._continue)
    assert [p.metadata.name for p in rest.items] == ["p2", "p3", "p4"]
    assert rest.metadata._continue is None


def test_secrets_store_string_data_as_base64(api: client.CoreV1Api, ns: str) -> None:
    created = api.create_namespaced_secret(
        ns,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="creds", labels={"danube/run": "7"}),
            string_data={"token": "s3cr3t"},
            data={"raw": base64.b64encode(b"\x00\x01").decode()},
        ),
    )
    assert created.type == "Opaque"
    assert created.string_data is None
    assert base64.b64decode(created.data["token"]) == b"s3cr3t"
    read = api.read_namespaced_secret("creds", ns)
    assert read.data == created.data
    assert [
        s.metadata.name for s in api.list_namespaced_secret(ns, label_selector="danube/run=7").items
    ] == ["creds"]
    # the API server answers a secret deletion with a Status; 37.x returns it as a dict
    status = served(api.delete_namespaced_secret("creds", ns), "V1Status")
    assert status.status == "Success" and status.details.name == "creds"
    with pytest.raises(ApiException) as missing:
        api.read_namespaced_secret("creds", ns)
    assert status_of(missing.value).details.kind == "secrets"


def test_a_secret_owned_by_a_pod_is_collected_with_it(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    pod = api.create_namespaced_pod(ns, pod_manifest("owner"))
    api.create_namespaced_secret(
        ns,
        {
            "metadata": {
                "name": "owned",
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "Pod", "name": "owner", "uid": pod.metadata.uid}
                ],
            },
            "stringData": {"k": "v"},
        },
    )
    api.create_namespaced_secret(ns, {"metadata": {"name": "free"}, "stringData": {"k": "v"}})
    api.delete_namespaced_pod("owner", ns)
    double.wait_for(lambda: double.secret(ns, "owned") is None, message="garbage collection")
    assert double.secret(ns, "free") is not None


def test_namespaces_can_be_created_listed_and_read(api: client.CoreV1Api) -> None:
    created = api.create_namespace({"metadata": {"name": "team-a"}})
    assert created.status.phase == "Active"
    assert created.metadata.labels == {"kubernetes.io/metadata.name": "team-a"}
    assert api.read_namespace("team-a").metadata.uid == created.metadata.uid
    names = [n.metadata.name for n in api.list_namespace().items]
    assert {"default", "kube-system", "team-a"} <= set(names)
    with pytest.raises(ApiException) as again:
        api.create_namespace({"metadata": {"name": "team-a"}})
    assert again.value.status == 409


def test_creating_in_a_missing_namespace_is_not_found(api: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as missing:
        api.create_namespaced_pod("nowhere", pod_manifest("p"))
    assert missing.value.status == 404
    assert status_of(missing.value).details.kind == "namespaces"


def test_deleting_a_namespace_removes_its_content(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    api.create_namespaced_pod(ns, pod_manifest("p"))
    api.create_namespaced_secret(ns, {"metadata": {"name": "s"}})
    terminating = served(api.delete_namespace(ns), "V1Namespace")  # a dict in 37.x
    assert terminating.status.phase == "Terminating"
    double.wait_for(
        lambda: ns not in [n["metadata"]["name"] for n in double.namespaces()],
        message="namespace removal",
    )
    assert double.pods(ns) == [] and double.secrets(ns) == []


def test_a_wrong_or_missing_token_is_unauthorized(double: KubernetesDouble, tmp_path: Path) -> None:
    for token in ("wrong", None):
        path = double.write_kubeconfig(tmp_path / f"kc-{token}", token=token)
        if token is None:
            path.write_text(path.read_text().replace('"token": "test-token"', ""))
        api = client.CoreV1Api(config.new_client_from_config(config_file=str(path)))
        with pytest.raises(ApiException) as denied:
            api.list_namespaced_pod("default")
        assert denied.value.status == 401
        assert json.loads(denied.value.body) == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        }
        version = client.VersionApi(api.api_client).get_code() if token is None else None
        assert version is None or version.major == "1"


def test_a_delete_precondition_on_the_uid(api: client.CoreV1Api, ns: str) -> None:
    pod = api.create_namespaced_pod(ns, pod_manifest("pre"))
    stale = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="not-the-uid"))
    with pytest.raises(ApiException) as conflict:
        api.delete_namespaced_pod("pre", ns, body=stale)
    assert conflict.value.status == 409
    assert "the UID in the precondition (not-the-uid)" in status_of(conflict.value).message
    current = client.V1DeleteOptions(
        preconditions=client.V1Preconditions(uid=pod.metadata.uid), grace_period_seconds=0
    )
    assert api.delete_namespaced_pod("pre", ns, body=current).metadata.uid == pod.metadata.uid


def test_secrets_can_be_patched_and_replaced(api: client.CoreV1Api, ns: str) -> None:
    api.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "stringData": {"a": "1"}})
    patched = api.patch_namespaced_secret(
        "s", ns, {"metadata": {"labels": {"x": "y"}}, "stringData": {"b": "2"}}
    )
    assert patched.metadata.labels == {"x": "y"}
    assert {k: base64.b64decode(v) for k, v in patched.data.items()} == {"a": b"1", "b": b"2"}
    patched.data = {"c": base64.b64encode(b"3").decode()}
    replaced = api.replace_namespaced_secret("s", ns, patched)
    assert list(replaced.data) == ["c"] and replaced.string_data is None
