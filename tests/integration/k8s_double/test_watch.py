"""Watches through kubernetes.watch.Watch: resourceVersion, 410, bookmarks, faults."""

from __future__ import annotations

import json

import pytest
import urllib3
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from tests.k8s_double import KubernetesDouble

from .support import pod_manifest, served
from .watching import WatchRecorder, summary


def test_a_watch_without_version_starts_with_every_matching_object(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    api.create_namespaced_pod(ns, pod_manifest("a", labels={"app": "x"}))
    api.create_namespaced_pod(ns, pod_manifest("b", labels={"app": "y"}))
    recorder = WatchRecorder(
        double, api.list_namespaced_pod, ns, label_selector="app", timeout_seconds=30
    ).start()
    assert summary(recorder.events(2)) == [("ADDED", "a"), ("ADDED", "b")]
    api.create_namespaced_pod(ns, pod_manifest("c", labels={"app": "x"}))
    event = recorder.event()
    assert (event["type"], event["object"].metadata.name) == ("ADDED", "c")
    assert isinstance(event["object"], client.V1Pod)
    recorder.stop()


def test_a_watch_from_a_version_replays_what_happened_since(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    api.create_namespaced_pod(ns, pod_manifest("before"))
    version = api.list_namespaced_pod(ns).metadata.resource_version
    api.create_namespaced_pod(ns, pod_manifest("p"))
    api.patch_namespaced_pod("p", ns, {"metadata": {"labels": {"step": "1"}}})
    api.delete_namespaced_pod("p", ns)
    recorder = WatchRecorder(double, api.list_namespaced_pod, ns, resource_version=version).start()
    events = recorder.events(4)
    # a deletion writes deletionTimestamp first, even with a grace period of 0
    assert summary(events) == [
        ("ADDED", "p"),
        ("MODIFIED", "p"),
        ("MODIFIED", "p"),
        ("DELETED", "p"),
    ]
    assert events[2]["object"].metadata.deletion_grace_period_seconds == 0
    versions = [int(e["object"].metadata.resource_version) for e in events]
    assert versions == sorted(versions) and versions[0] > int(version)
    recorder.stop()


def test_an_expired_version_gives_410_and_a_relist_recovers(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    old = api.list_namespaced_pod(ns).metadata.resource_version
    api.create_namespaced_pod(ns, pod_manifest("p"))
    double.faults.compact()
    stream = watch.Watch().stream(
        api.list_namespaced_pod, ns, resource_version=old, _request_timeout=5
    )
    with pytest.raises(ApiException) as expired:
        next(stream)
    assert expired.value.status == 410
    assert "Expired: too old resource version" in expired.value.reason
    watches = double.requests_matching(verb="watch")
    assert len(watches) == 2  # the client retried once with the same version
    assert all(w.query["resourceVersion"] == [old] for w in watches)

    relisted = api.list_namespaced_pod(ns)
    recorder = WatchRecorder(
        double, api.list_namespaced_pod, ns, resource_version=relisted.metadata.resource_version
    ).start()
    api.patch_namespaced_pod("p", ns, {"metadata": {"labels": {"x": "1"}}})
    assert summary([recorder.event()]) == [("MODIFIED", "p")]
    recorder.stop()


def test_a_small_history_expires_old_versions(tmp_path: object) -> None:
    with KubernetesDouble(history_size=3) as small:
        api = client.CoreV1Api(client.ApiClient(client.Configuration(host=small.url)))
        first = api.list_namespaced_pod("default").metadata.resource_version
        for i in range(5):
            api.create_namespaced_pod("default", pod_manifest(f"p{i}"))
        response = api.list_namespaced_pod(
            "default",
            watch=True,
            resource_version=first,
            _preload_content=False,
            _request_timeout=5,
        )
        line = response.readline()
        assert b'"type":"ERROR"' in line and b'"code":410' in line


def test_bookmarks_carry_the_current_version(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    recorder = WatchRecorder(
        double, api.list_namespaced_pod, ns, allow_watch_bookmarks=True
    ).start()
    api.create_namespaced_pod(ns, pod_manifest("p"))
    assert recorder.event()["type"] == "ADDED"
    other = double.create_namespace("elsewhere")  # moves the global version on
    assert double.send_bookmarks() == 1
    bookmark = recorder.event()
    assert bookmark["type"] == "BOOKMARK"
    assert isinstance(bookmark["object"], dict)
    assert (
        bookmark["object"]["metadata"]["resourceVersion"] == (other["metadata"]["resourceVersion"])
    )
    assert recorder.watch.resource_version == other["metadata"]["resourceVersion"]
    recorder.stop()


def test_a_watch_without_bookmarks_gets_none(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    recorder = WatchRecorder(double, api.list_namespaced_pod, ns).start()
    assert double.send_bookmarks() == 0
    recorder.stop()


def test_timeout_seconds_ends_the_watch(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    recorder = WatchRecorder(double, api.list_namespaced_pod, ns, timeout_seconds=1).start()
    assert recorder.next(timeout=5) == ("end", None)


def test_selectors_turn_updates_into_added_and_deleted(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    recorder = WatchRecorder(
        double, api.list_namespaced_pod, ns, label_selector="danube/run=1"
    ).start()
    api.create_namespaced_pod(ns, pod_manifest("p"))
    api.patch_namespaced_pod("p", ns, {"metadata": {"labels": {"danube/run": "1"}}})
    api.patch_namespaced_pod("p", ns, {"metadata": {"labels": {"step": "2"}}})
    api.patch_namespaced_pod("p", ns, {"metadata": {"labels": {"danube/run": None}}})
    assert summary(recorder.events(3)) == [("ADDED", "p"), ("MODIFIED", "p"), ("DELETED", "p")]
    recorder.stop()


def test_a_field_selected_watch_follows_one_pod(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    api.create_namespaced_pod(ns, pod_manifest("mine"))
    api.create_namespaced_pod(ns, pod_manifest("other"))
    recorder = WatchRecorder(
        double, api.list_namespaced_pod, ns, field_selector="metadata.name=mine"
    ).start()
    double.kubelet.schedule(ns, "other")
    double.kubelet.schedule(ns, "mine")
    assert summary(recorder.events(2)) == [("ADDED", "mine"), ("MODIFIED", "mine")]
    recorder.stop()


def test_a_dropped_watch_raises_protocol_error(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    api.create_namespaced_pod(ns, pod_manifest("p"))
    recorder = WatchRecorder(double, api.list_namespaced_pod, ns).start()
    assert recorder.event()["type"] == "ADDED"
    assert double.faults.drop_watches() == 1
    kind, error = recorder.next()
    assert kind == "error" and isinstance(error, ProtocolError)


def test_a_drop_after_some_events(double: KubernetesDouble, api: client.CoreV1Api, ns: str) -> None:
    for name in ("a", "b", "c"):
        api.create_namespaced_pod(ns, pod_manifest(name))
    double.faults.next_watch("drop", after_events=2)
    recorder = WatchRecorder(double, api.list_namespaced_pod, ns).start(open_watches=0)
    assert summary(recorder.events(2)) == [("ADDED", "a"), ("ADDED", "b")]
    kind, error = recorder.next()
    assert kind == "error" and isinstance(error, ProtocolError)


def test_a_cleanly_closed_watch_is_resumed_by_the_client(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    api.create_namespaced_pod(ns, pod_manifest("p"))
    recorder = WatchRecorder(double, api.list_namespaced_pod, ns).start()
    added = recorder.event()
    assert double.faults.close_watches() == 1
    double.wait_for(
        lambda: len(double.requests_matching(verb="watch")) == 2 and double.open_watches == 1,
        message="the client to watch again",
    )
    again = double.requests_matching(verb="watch")[1]
    assert again.query["resourceVersion"] == [added["object"].metadata.resource_version]
    api.patch_namespaced_pod("p", ns, {"metadata": {"labels": {"x": "1"}}})
    assert summary([recorder.event()]) == [("MODIFIED", "p")]
    recorder.stop()


def test_a_stalled_watch_hits_the_read_timeout(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    recorder = WatchRecorder(double, api.list_namespaced_pod, ns, _request_timeout=(5, 0.5)).start()
    assert double.faults.stall_watches() == 1
    api.create_namespaced_pod(ns, pod_manifest("p"))
    kind, error = recorder.next()
    assert kind == "error"
    assert isinstance(error, ReadTimeoutError) or "timed out" in str(error)
    double.wait_for(lambda: double.open_watches == 0, message="the stalled watch to end")


def test_a_stalled_watch_can_still_be_dropped(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    recorder = WatchRecorder(double, api.list_namespaced_pod, ns).start()
    assert double.faults.stall_watches() == 1
    api.create_namespaced_pod(ns, pod_manifest("p"))  # not sent: the watch is stalled
    assert double.faults.drop_watches() == 1
    kind, error = recorder.next()
    assert kind == "error" and isinstance(error, ProtocolError)


def test_watch_one_is_a_watch_too(double: KubernetesDouble, api: client.CoreV1Api, ns: str) -> None:
    api.create_namespaced_pod(ns, pod_manifest("p"))
    http = urllib3.PoolManager()
    response = http.request(
        "GET",
        f"{double.url}/api/v1/namespaces/{ns}/pods?watch=1&timeoutSeconds=5",
        headers={"Authorization": "Bearer test-token"},
        preload_content=False,
    )
    assert response.status == 200
    event = json.loads(response.readline())
    assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "p"
    served(event["object"], "V1Pod")
    response.release_conn()


def test_initial_events_end_with_a_bookmark_when_asked(
    double: KubernetesDouble, api: client.CoreV1Api, ns: str
) -> None:
    api.create_namespaced_pod(ns, pod_manifest("p"))
    recorder = WatchRecorder(
        double,
        api.list_namespaced_pod,
        ns,
        allow_watch_bookmarks=True,
        send_initial_events=True,
        resource_version_match="NotOlderThan",
    ).start()
    added, bookmark = recorder.events(2)
    assert added["type"] == "ADDED" and bookmark["type"] == "BOOKMARK"
    assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    recorder.stop()


def test_periodic_bookmarks_when_configured() -> None:
    with KubernetesDouble(bookmark_interval=0.05) as ticking:
        api = client.CoreV1Api(client.ApiClient(client.Configuration(host=ticking.url)))
        recorder = WatchRecorder(
            ticking, api.list_namespaced_pod, "default", allow_watch_bookmarks=True
        ).start()
        assert recorder.event()["type"] == "BOOKMARK"
        recorder.stop()
