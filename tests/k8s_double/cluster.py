"""The control plane: object lifecycle rules of the API server and its controllers.

Creation admission (namespace lifecycle), graceful pod deletion, finalizers, the
garbage collector (ownerReferences) and the namespace controller. Runs in the loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any

from . import objects, podspec
from .events import EventRecorder
from .faults import FaultState
from .meta import clone, parse_time, rfc3339, utcnow
from .status import (
    ApiError,
    already_exists,
    conflict,
    failure,
    forbidden_terminating,
    method_not_allowed,
    not_found,
)
from .store import Store

if TYPE_CHECKING:
    from .kubelet import Kubelet

JsonDict = dict[str, Any]
NAMESPACED = ("pods", "secrets", "events")
NODE_NAME = "k8s-double-node"


class Cluster:
    def __init__(self, store: Store, faults: FaultState) -> None:
        self.store = store
        self.faults = faults
        self.events = EventRecorder(store, NODE_NAME)
        self.kubelet: Kubelet  # wired by the double
        self.held_namespaces: set[str] = set()
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.store.add("namespaces", objects.new_namespace({"metadata": {"name": name}}))

    # reads ----------------------------------------------------------------------------

    def get(self, resource: str, namespace: str, name: str) -> JsonDict:
        obj = self.store.get(resource, namespace, name)
        if obj is None:
            raise not_found(resource, name)
        return obj

    def require_namespace(self, namespace: str) -> JsonDict:
        return self.get("namespaces", "", namespace)

    # creation -------------------------------------------------------------------------

    def create(self, resource: str, namespace: str, body: JsonDict) -> JsonDict:
        if resource == "namespaces":
            obj = objects.new_namespace(body)
            return self._add(resource, obj)
        ns = self.require_namespace(namespace)
        name = (body.get("metadata") or {}).get("name") or ""
        if ns["status"].get("phase") == "Terminating":
            raise forbidden_terminating(resource, name, namespace)
        if resource == "pods":
            obj = podspec.new_pod(body, namespace)
        elif resource == "secrets":
            obj = objects.new_secret(body, namespace)
        else:
            raise method_not_allowed("POST")
        added = self._add(resource, obj)
        if resource == "pods":
            self.kubelet.pod_created(added)
        elif resource == "secrets":
            self.kubelet.secret_changed(namespace)
        return added

    def _add(self, resource: str, obj: JsonDict) -> JsonDict:
        meta = obj["metadata"]
        if self.store.get(resource, meta.get("namespace", ""), meta["name"]) is not None:
            raise already_exists(resource, meta["name"])
        return self.store.add(resource, obj)

    # updates --------------------------------------------------------------------------

    def update(self, resource: str, old: JsonDict, new: JsonDict) -> JsonDict:
        """Write `new` over `old` (already validated); returns what is stored."""
        objects.strip_for_update(new, old)
        wanted_rv = new["metadata"].get("resourceVersion")
        if wanted_rv not in (None, "") and wanted_rv != old["metadata"]["resourceVersion"]:
            raise conflict(resource, old["metadata"]["name"])
        if resource == "pods":
            podspec.check_pod_update(old, new)
        elif resource == "secrets":
            objects.check_secret_update(old, new)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:
            return old
        if resource == "pods" and new["spec"] != old["spec"]:
            new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        stored = self.store.modify(resource, new)
        if resource == "secrets":
            self.kubelet.secret_changed(stored["metadata"]["namespace"])
        self._finish_if_released(resource, stored)
        return stored

    def _finish_if_released(self, resource: str, obj: JsonDict) -> None:
        meta = obj["metadata"]
        if meta.get("deletionTimestamp") is None or meta.get("finalizers"):
            return
        if resource == "pods" and meta.get("deletionGracePeriodSeconds", 0) != 0:
            return
        if resource == "namespaces":
            return
        self._remove(resource, meta.get("namespace", ""), meta["name"])

    # deletion -------------------------------------------------------------------------

    def delete(self, resource: str, namespace: str, name: str, options: JsonDict) -> JsonDict:
        obj = self.get(resource, namespace, name)
        self._check_preconditions(resource, obj, options.get("preconditions") or {})
        if resource == "pods":
            return self.delete_pod(
                obj, options.get("gracePeriodSeconds"), options.get("propagationPolicy")
            )
        if resource == "namespaces":
            return self.delete_namespace(name)
        if obj["metadata"].get("finalizers"):
            if obj["metadata"].get("deletionTimestamp"):
                return obj
            return self._mark_deleting(resource, obj, 0)
        removed = self._remove(resource, namespace, name, options.get("propagationPolicy"))
        return removed

    def _check_preconditions(self, resource: str, obj: JsonDict, pre: JsonDict) -> None:
        """As rest.BeforeDelete words it (the Kind stands where the resource would)."""
        meta, kind = obj["metadata"], obj["kind"]
        if pre.get("uid") and pre["uid"] != meta["uid"]:
            reason = (
                f"the UID in the precondition ({pre['uid']}) does not match the UID in "
                f"record ({meta['uid']}). The object might have been deleted and then "
                "recreated"
            )
        elif pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
            reason = (
                f"the ResourceVersion in the precondition ({pre['resourceVersion']}) does "
                f"not match the ResourceVersion in record ({meta['resourceVersion']}). "
                "The object might have been modified"
            )
        else:
            return
        raise ApiError(
            failure(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {kind} "{meta["name"]}": {reason}',
                {"name": meta["name"], "kind": kind},
            )
        )

    def delete_pod(
        self, pod: JsonDict, grace: int | None, propagation: str | None = None
    ) -> JsonDict:
        """Graceful deletion as the registry does it (rest.BeforeDelete + Store.Delete).

        Every pod deletion first writes deletionTimestamp/deletionGracePeriodSeconds
        (MODIFIED); with a grace period of 0 and no finalizers the pod is then removed
        (DELETED), otherwise the kubelet stops it and deletes it with grace period 0.
        """
        meta = pod["metadata"]
        if grace is None:
            grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))
        grace = 1 if grace < 0 else grace
        current = meta.get("deletionGracePeriodSeconds")
        if meta.get("deletionTimestamp") is None:
            if not pod["spec"].get("nodeName") or pod["status"].get("phase") in (
                "Succeeded",
                "Failed",
            ):
                grace = 0
            marked = self._mark_deleting("pods", pod, grace, utcnow())
        elif current not in (None, 0) and grace < current:
            requested = parse_time(meta["deletionTimestamp"]) - dt.timedelta(seconds=current)
            marked = self._mark_deleting("pods", pod, grace, max(requested, utcnow()))
        elif current in (None, 0):
            marked = pod
        else:
            return pod  # already terminating, no shorter grace period asked for
        if marked["metadata"]["deletionGracePeriodSeconds"] == 0:
            self.kubelet.pod_removed(marked)
            if not meta.get("finalizers"):
                return self._remove("pods", meta["namespace"], meta["name"], propagation)
        elif marked is not pod:
            self.kubelet.pod_deleting(marked)
        return marked

    def _mark_deleting(
        self, resource: str, obj: JsonDict, grace: int, since: dt.datetime | None = None
    ) -> JsonDict:
        updated = clone(obj)
        meta = updated["metadata"]
        if meta.get("deletionTimestamp") is None and meta.get("generation"):
            meta["generation"] += 1
        meta["deletionTimestamp"] = rfc3339((since or utcnow()) + dt.timedelta(seconds=grace))
        meta["deletionGracePeriodSeconds"] = grace
        return self.store.modify(resource, updated)

    def finish_pod_deletion(self, namespace: str, name: str, uid: str) -> None:
        """The kubelet has stopped the pod's containers: it deletes with grace period 0."""
        pod = self.store.get("pods", namespace, name)
        if pod is None or pod["metadata"]["uid"] != uid:
            return
        self.delete_pod(pod, 0)

    def _remove(
        self, resource: str, namespace: str, name: str, propagation: str | None = None
    ) -> JsonDict:
        removed = self.store.remove(resource, namespace, name)
        if resource == "pods":
            self.kubelet.pod_removed(removed)
        if propagation != "Orphan":
            asyncio.get_running_loop().call_soon(self._collect_garbage, removed["metadata"]["uid"])
        if namespace:
            asyncio.get_running_loop().call_soon(self._maybe_finish_namespace, namespace)
        return removed

    def _collect_garbage(self, owner_uid: str) -> None:
        """Delete dependents whose owners are all gone (background propagation)."""
        for resource in ("pods", "secrets"):
            for obj in list(self.store.list(resource)):
                refs = obj["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == owner_uid for r in refs):
                    continue
                if any(self._uid_exists(r.get("uid", "")) for r in refs):
                    continue
                if obj["metadata"].get("deletionTimestamp"):
                    continue
                if resource == "pods":
                    self.delete_pod(obj, None)
                else:
                    self._remove(resource, obj["metadata"]["namespace"], obj["metadata"]["name"])

    def _uid_exists(self, uid: str) -> bool:
        return any(
            o["metadata"]["uid"] == uid
            for r in ("pods", "secrets", "namespaces")
            for o in self.store.list(r)
        )

    # namespaces -----------------------------------------------------------------------

    def delete_namespace(self, name: str, hold: bool = False) -> JsonDict:
        ns = self.require_namespace(name)
        if hold:
            self.held_namespaces.add(name)
        if ns["status"].get("phase") == "Terminating":
            return ns
        updated = clone(ns)
        updated["metadata"]["deletionTimestamp"] = rfc3339()
        updated["metadata"]["deletionGracePeriodSeconds"] = 0
        updated["status"]["phase"] = "Terminating"
        stored = self.store.modify("namespaces", updated)
        asyncio.get_running_loop().call_soon(self._drain_namespace, name)
        return stored

    def release_namespace(self, name: str) -> None:
        self.held_namespaces.discard(name)
        self._drain_namespace(name)

    def _drain_namespace(self, name: str) -> None:
        if name in self.held_namespaces or self.store.get("namespaces", "", name) is None:
            return
        for resource in ("secrets", "events"):
            for obj in list(self.store.list(resource, name)):
                self.store.remove(resource, name, obj["metadata"]["name"])
        for pod in list(self.store.list("pods", name)):
            if not pod["metadata"].get("deletionTimestamp"):
                self.delete_pod(pod, None)
        self._maybe_finish_namespace(name)

    def _maybe_finish_namespace(self, name: str) -> None:
        ns = self.store.get("namespaces", "", name)
        if ns is None or ns["status"].get("phase") != "Terminating":
            return
        if name in self.held_namespaces:
            return
        if any(self.store.list(r, name) for r in NAMESPACED):
            return
        self.store.remove("namespaces", "", name)
