"""What tests call: stepping the kubelet and injecting faults (synchronous, one call each)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .faults import (
    DEFAULT_UNSCHEDULABLE,
    ContainerFault,
    ExecFault,
    RequestFault,
    Unschedulable,
    WatchFault,
)

if TYPE_CHECKING:
    from .double import Parts

STEP_TIMEOUT = 30.0


class KubeletControl:
    """Steps the simulated scheduler and kubelet. With `auto = True` pods progress alone."""

    def __init__(self, parts: Parts) -> None:
        self._p = parts

    @property
    def auto(self) -> bool:
        return self._p.kubelet.auto

    @auto.setter
    def auto(self, value: bool) -> None:
        self._p.loop.call(lambda: self._p.kubelet.set_auto(value))

    @property
    def hold_deletions(self) -> bool:
        """When True, deleted pods stay Terminating until `finish_deletions()`."""
        return self._p.kubelet.hold_deletions

    @hold_deletions.setter
    def hold_deletions(self, value: bool) -> None:
        self._p.loop.call(lambda: setattr(self._p.kubelet, "hold_deletions", value))

    def schedule(self, namespace: str, name: str, node: str | None = None) -> bool:
        """Bind the pod to the node (PodScheduled=True); False if it is unschedulable."""
        kubelet = self._p.kubelet
        return self._p.loop.call(lambda: kubelet.schedule(kubelet.runtime(namespace, name), node))

    def run_init_containers(self, namespace: str, name: str) -> bool:
        """Run the init containers in order, to completion; False if one failed or waits."""
        kubelet = self._p.kubelet
        rt = self._p.loop.call(lambda: kubelet.runtime(namespace, name))
        return self._p.loop.run(kubelet.run_init_containers(rt), STEP_TIMEOUT)

    def start(self, namespace: str, name: str, containers: list[str] | None = None) -> None:
        """Run what remains of the init containers, then start the (given) containers."""
        kubelet = self._p.kubelet
        rt = self._p.loop.call(lambda: kubelet.runtime(namespace, name))
        self._p.loop.run(kubelet.start(rt, containers), STEP_TIMEOUT)

    def run(self, namespace: str, name: str) -> None:
        """schedule + start."""
        if self.schedule(namespace, name):
            self.start(namespace, name)

    def sync(self, namespace: str, name: str) -> None:
        """One kubelet sync: retry whatever is waiting (image pulls back off, config, ...)."""
        kubelet = self._p.kubelet
        rt = self._p.loop.call(lambda: kubelet.runtime(namespace, name))
        self._p.loop.run(kubelet.sync(rt), STEP_TIMEOUT)

    def terminate(
        self,
        namespace: str,
        name: str,
        container: str,
        exit_code: int = 0,
        reason: str | None = None,
        message: str | None = None,
    ) -> None:
        """Kill the container's processes and report it terminated with `exit_code`."""
        kubelet = self._p.kubelet
        rt = self._p.loop.call(lambda: kubelet.runtime(namespace, name))
        self._p.loop.run(kubelet.containers.terminate(rt, container, exit_code, reason, message))

    def restart(self, namespace: str, name: str, container: str) -> None:
        """Restart a container waiting in CrashLoopBackOff."""
        kubelet = self._p.kubelet
        rt = self._p.loop.call(lambda: kubelet.runtime(namespace, name))
        self._p.loop.run(kubelet.containers.restart(rt, container))

    def finish_deletions(self) -> None:
        """Complete deletions held by `hold_deletions`."""
        self._p.loop.run(self._p.kubelet.finish_deletions())


class Faults:
    """Fault injection. Request faults match on verb/resource/subresource/namespace/name
    (None matches anything; a resource without subresource matches only the resource)."""

    def __init__(self, parts: Parts) -> None:
        self._p = parts

    def _arm_request(self, fault: RequestFault) -> None:
        self._p.loop.call(lambda: self._p.faults.requests.append(fault))

    # API errors and broken connections --------------------------------------------------

    def fail_next(
        self,
        code: int,
        *,
        verb: str | None = None,
        resource: str | None = None,
        subresource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        times: int = 1,
        retry_after: int | None = None,
        message: str | None = None,
    ) -> None:
        """The next `times` matching requests get `code` with the API server's Status body
        (429/503 carry Retry-After when `retry_after` is given)."""
        self._arm_request(
            RequestFault(
                "error",
                code,
                verb,
                resource,
                subresource,
                namespace,
                name,
                times,
                retry_after,
                message,
            )
        )

    def reset_next(
        self,
        *,
        when: str = "before",
        verb: str | None = None,
        resource: str | None = None,
        subresource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        times: int = 1,
    ) -> None:
        """Close the TCP connection with a reset: "before" processing (nothing happened),
        "after" processing (the change is made, no response), or "mid" response."""
        action = {"before": "reset", "after": "reset-after", "mid": "reset-mid"}[when]
        self._arm_request(
            RequestFault(action, 0, verb, resource, subresource, namespace, name, times)
        )

    def refuse_connections(self) -> None:
        """Stop listening (connection refused) and reset open connections."""
        self._p.loop.run(self._p.server.stop_listening(drop_connections=True))

    def accept_connections(self) -> None:
        """Listen again on the same port."""
        self._p.loop.run(self._p.server.start())

    @contextlib.contextmanager
    def connections_refused(self) -> Iterator[None]:
        self.refuse_connections()
        try:
            yield
        finally:
            self.accept_connections()

    # containers -----------------------------------------------------------------------

    def _arm_container(self, fault: ContainerFault) -> None:
        self._p.loop.call(lambda: self._p.faults.containers.append(fault))

    def image_pull_failure(
        self,
        *,
        image: str | None = None,
        container: str | None = None,
        pod: str | None = None,
        namespace: str | None = None,
        message: str | None = None,
    ) -> None:
        """Matching containers wait with ErrImagePull, then ImagePullBackOff."""
        self._arm_container(
            ContainerFault("ErrImagePull", message, namespace, pod, container, image)
        )

    def invalid_image_name(
        self,
        *,
        image: str | None = None,
        container: str | None = None,
        pod: str | None = None,
        namespace: str | None = None,
    ) -> None:
        self._arm_container(
            ContainerFault("InvalidImageName", None, namespace, pod, container, image)
        )

    def create_container_config_error(
        self,
        *,
        container: str | None = None,
        pod: str | None = None,
        namespace: str | None = None,
        message: str = 'secret "missing" not found',
    ) -> None:
        self._arm_container(
            ContainerFault("CreateContainerConfigError", message, namespace, pod, container)
        )

    def clear_container_faults(self) -> None:
        """Remove container faults; in auto mode waiting containers are retried."""

        def clear() -> None:
            self._p.faults.containers.clear()
            if self._p.kubelet.auto:
                self._p.kubelet.resync_all()

        self._p.loop.call(clear)

    def oom_kill(self, namespace: str, name: str, container: str) -> None:
        """Kill the container: terminated, reason OOMKilled, exit code 137."""
        KubeletControl(self._p).terminate(namespace, name, container, 137, "OOMKilled")

    # pods -----------------------------------------------------------------------------

    def evict(self, namespace: str, name: str, message: str | None = None) -> None:
        """Kubelet eviction: pod Failed, reason Evicted, DisruptionTarget condition."""
        text = message or (
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: 42Mi. "
        )
        kubelet = self._p.kubelet
        rt = self._p.loop.call(lambda: kubelet.runtime(namespace, name))
        disruption = {"reason": "TerminationByKubelet", "message": text}
        self._p.loop.run(kubelet.fail_pod(rt, "Evicted", text, disruption))
        self._p.loop.call(lambda: kubelet.event(rt, "Evicted", text, warning=True))

    def deadline_exceeded(self, namespace: str, name: str) -> None:
        """activeDeadlineSeconds passed: pod Failed, reason DeadlineExceeded."""
        kubelet = self._p.kubelet
        rt = self._p.loop.call(lambda: kubelet.runtime(namespace, name))
        self._p.loop.run(
            kubelet.fail_pod(
                rt,
                "DeadlineExceeded",
                "Pod was active on the node longer than the specified deadline",
            )
        )

    def preempt(self, namespace: str, name: str) -> None:
        """Scheduler preemption: DisruptionTarget (PreemptionByScheduler), then deletion."""
        cluster, kubelet = self._p.cluster, self._p.kubelet

        def preempt() -> None:
            rt = kubelet.runtime(namespace, name)
            rt.record.disruption = {
                "reason": "PreemptionByScheduler",
                "message": "default-scheduler: preempting to accommodate a higher priority pod",
            }
            kubelet.write_status(rt, kubelet=False)
            pod = cluster.get("pods", namespace, name)
            cluster.delete_pod(pod, None)

        self._p.loop.call(preempt)

    def unschedulable(
        self,
        *,
        namespace: str | None = None,
        pod: str | None = None,
        message: str = DEFAULT_UNSCHEDULABLE,
    ) -> None:
        """Matching pods that are not yet scheduled get PodScheduled=False/Unschedulable."""
        kubelet = self._p.kubelet

        def arm() -> None:
            self._p.faults.unschedulable.append(Unschedulable(message, namespace, pod))
            for rt in kubelet.pods.values():
                if (
                    not rt.record.scheduled
                    and not rt.removed
                    and namespace in (None, rt.namespace)
                    and pod in (None, rt.name)
                ):
                    kubelet.mark_unschedulable(rt, message)

        self._p.loop.call(arm)

    def schedulable(self) -> None:
        """Lift `unschedulable`; in auto mode pending pods are scheduled now."""

        def lift() -> None:
            self._p.faults.unschedulable.clear()
            if self._p.kubelet.auto:
                self._p.kubelet.resync_all()

        self._p.loop.call(lift)

    # node and namespaces --------------------------------------------------------------

    def lose_node(self) -> None:
        """The node stops answering: pods not ready, logs/exec 5xx, deletions stay
        Terminating (until forced with grace period 0 or `restore_node`)."""
        self._p.loop.call(self._p.kubelet.lose_node)

    def restore_node(self) -> None:
        self._p.loop.run(self._p.kubelet.restore_node())

    def terminate_namespace(self, namespace: str) -> None:
        """Put the namespace in Terminating and keep it there: creates get 403 Forbidden."""
        self._p.loop.call(lambda: self._p.cluster.delete_namespace(namespace, hold=True))

    def finish_namespace_termination(self, namespace: str) -> None:
        self._p.loop.call(lambda: self._p.cluster.release_namespace(namespace))

    # watches --------------------------------------------------------------------------

    def compact(self) -> None:
        """Every resourceVersion older than the current one is now too old (410)."""
        self._p.loop.call(self._p.store.compact)

    def drop_watches(self, resource: str | None = None) -> int:
        """Reset open watch connections mid-stream; returns how many."""
        return self._p.loop.call(lambda: self._p.watches.interrupt_all("drop", resource))

    def close_watches(self, resource: str | None = None) -> int:
        """End open watch streams cleanly (terminating chunk)."""
        return self._p.loop.call(lambda: self._p.watches.interrupt_all("close", resource))

    def stall_watches(self, resource: str | None = None) -> int:
        """Open watches stop sending anything but stay connected."""
        return self._p.loop.call(lambda: self._p.watches.interrupt_all("stall", resource))

    def next_watch(
        self, action: str, *, after_events: int = 0, resource: str | None = None, times: int = 1
    ) -> None:
        """The next `times` watches "drop", "close" or "stall" after `after_events` events."""
        fault = WatchFault(action, after_events, resource, times)
        self._p.loop.call(lambda: self._p.faults.watches.append(fault))

    # exec -----------------------------------------------------------------------------

    def _arm_exec(self, fault: ExecFault) -> None:
        self._p.loop.call(lambda: self._p.faults.execs.append(fault))

    def exec_drop(
        self,
        *,
        after_bytes: int = 1,
        pod: str | None = None,
        container: str | None = None,
        times: int = 1,
    ) -> None:
        """Reset the exec connection once `after_bytes` of output were sent; the command
        keeps running."""
        self._arm_exec(ExecFault("drop", after_bytes, None, pod, container, times))

    def exec_stall(
        self,
        *,
        after_bytes: int = 1,
        pod: str | None = None,
        container: str | None = None,
        times: int = 1,
    ) -> None:
        """A black hole once `after_bytes` of output were sent: the connection stays open
        but nothing more arrives (no output, status or close) and pings go unanswered; the
        command keeps running."""
        self._arm_exec(ExecFault("stall", after_bytes, None, pod, container, times))

    def exec_close_without_status(
        self, *, pod: str | None = None, container: str | None = None, times: int = 1
    ) -> None:
        """Normal close frame after the command ends, but no channel-3 status."""
        self._arm_exec(ExecFault("no-status", 0, None, pod, container, times))

    def exec_internal_error(
        self,
        *,
        message: str | None = None,
        pod: str | None = None,
        container: str | None = None,
        times: int = 1,
    ) -> None:
        """The command is not run; the status is InternalError (code 500)."""
        self._arm_exec(ExecFault("internal-error", 0, message, pod, container, times))

    def clear(self) -> None:
        """Disarm all armed faults (not node loss or namespace termination)."""
        self._p.loop.call(self._p.faults.clear)
