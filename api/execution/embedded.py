"""Starting and stopping execution inside one process (``danube up`` and ``danube run``):
the gRPC server coordinators talk to, the executor, and the loops that drive it."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from api.bootstrap import Danube
from api.execution.lifetimes import grpc_server, job_state_releaser
from api.execution.loops import (
    ReconcilerLoop,
    build_executor,
    dispatcher,
    output_flusher,
    reconciler,
)
from api.execution.provenance import provenance_follower
from api.grpc.server import GrpcServer
from api.processes import Supervisor, start_projectors
from domain.execution.ports import Executor

log = logging.getLogger(__name__)


@dataclass
class Execution:
    grpc: GrpcServer
    executor: Executor
    reconciler: ReconcilerLoop

    def stop(self) -> None:
        """After the reconciler's loop stopped: refuse new gRPC calls at once, end the
        jobs' processes, let their steps record how they ended, then let the calls in
        flight (whose coordinators are gone) end."""
        self.grpc.health.enter_graceful_shutdown()
        stopped = self.grpc.server.stop(grace=1.0)
        close = getattr(self.executor, "close", None)
        if close is not None:
            close()  # ends the local executor's processes
        self.reconciler.wait_for_steps(5.0)
        stopped.wait(2.0)


def reachable(address: str) -> str:
    """The address coordinators on this machine dial for a listen address."""
    host, _, port = address.rpartition(":")
    return f"127.0.0.1:{port}" if host in {"0.0.0.0", "", "::", "[::]"} else address


def start_execution(danube: Danube, supervisor: Supervisor, grpc_address: str) -> Execution:
    """Projectors, dispatcher, reconciler and output flushing as supervised workers."""
    server = grpc_server(danube, grpc_address)
    executor = build_executor(danube)
    start_projectors(danube, supervisor)
    supervisor.add("dispatcher", dispatcher(danube))
    master = danube.settings.k8s_master_address if executor.name == "kubernetes" else ""
    reconciling = reconciler(danube, executor, master or reachable(server.address))
    supervisor.add("reconciler", reconciling)
    supervisor.add("output-flusher", output_flusher(danube.logs))
    supervisor.add("provenance", provenance_follower(danube))
    supervisor.add("job-state", job_state_releaser(danube))  # what ended past the reconciler
    log.info("executing jobs", extra={"executor": executor.name, "grpc": server.address})
    if executor.name == "local":
        log.warning("the local executor isolates nothing: steps run as this user on this machine")
    return Execution(grpc=server, executor=executor, reconciler=reconciling)
