"""Armed faults: what the next matching requests, watches, execs and containers get.

This is the state; tests arm faults through `controls.Faults`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


@dataclass
class RequestInfo:
    """The API server's view of a request (like k8s.io/apiserver RequestInfo)."""

    verb: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""


def _match(wanted: str | None, actual: str) -> bool:
    return wanted is None or wanted == actual


@dataclass
class RequestFault:
    action: str  # "error", "reset", "reset-after", "reset-mid"
    code: int = 0
    verb: str | None = None
    resource: str | None = None
    subresource: str | None = None
    namespace: str | None = None
    name: str | None = None
    remaining: int = 1
    retry_after: int | None = None
    message: str | None = None

    def matches(self, info: RequestInfo) -> bool:
        subresource = (
            self.subresource
            if self.subresource is not None
            else (None if self.resource is None else "")
        )
        return (
            self.remaining > 0
            and _match(self.verb, info.verb)
            and _match(self.resource, info.resource)
            and _match(subresource, info.subresource)
            and _match(self.namespace, info.namespace)
            and _match(self.name, info.name)
        )


@dataclass
class ContainerFault:
    reason: str  # ErrImagePull, InvalidImageName, CreateContainerConfigError
    message: str | None = None
    namespace: str | None = None
    pod: str | None = None
    container: str | None = None
    image: str | None = None

    def matches(self, namespace: str, pod: str, container: str, image: str) -> bool:
        return (
            _match(self.namespace, namespace)
            and _match(self.pod, pod)
            and _match(self.container, container)
            and _match(self.image, image)
        )


@dataclass
class WatchFault:
    action: str  # "drop", "close", "stall"
    after_events: int = 0
    resource: str | None = None
    remaining: int = 1


@dataclass
class ExecFault:
    action: str  # "drop", "stall", "no-status", "internal-error"
    after_bytes: int = 1
    message: str | None = None
    pod: str | None = None
    container: str | None = None
    remaining: int = 1


@dataclass
class Unschedulable:
    message: str
    namespace: str | None = None
    pod: str | None = None


DEFAULT_UNSCHEDULABLE = (
    "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes "
    "are available: 1 No preemption victims found for incoming pod."
)


@dataclass
class FaultState:
    requests: list[RequestFault] = field(default_factory=list)
    containers: list[ContainerFault] = field(default_factory=list)
    watches: list[WatchFault] = field(default_factory=list)
    execs: list[ExecFault] = field(default_factory=list)
    unschedulable: list[Unschedulable] = field(default_factory=list)

    def take_request_fault(self, info: RequestInfo) -> RequestFault | None:
        for fault in self.requests:
            if fault.matches(info):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.requests.remove(fault)
                return fault
        return None

    def container_fault(
        self, namespace: str, pod: str, container: str, image: str
    ) -> ContainerFault | None:
        for fault in self.containers:
            if fault.matches(namespace, pod, container, image):
                return fault
        return None

    def take_watch_fault(self, resource: str) -> WatchFault | None:
        for fault in self.watches:
            if _match(fault.resource, resource):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.watches.remove(fault)
                return fault
        return None

    def take_exec_fault(self, pod: str, container: str) -> ExecFault | None:
        for fault in self.execs:
            if _match(fault.pod, pod) and _match(fault.container, container):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.execs.remove(fault)
                return fault
        return None

    def unschedulable_message(self, namespace: str, pod: str) -> str | None:
        for rule in self.unschedulable:
            if _match(rule.namespace, namespace) and _match(rule.pod, pod):
                return rule.message
        return None

    def clear(self) -> None:
        self.requests.clear()
        self.containers.clear()
        self.watches.clear()
        self.execs.clear()
        self.unschedulable.clear()
