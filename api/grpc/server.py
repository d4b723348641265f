"""The gRPC server: JobService, the standard health service and reflection."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from api.commands.errors import EXIT_FAILED, CommandError
from api.grpc.job_service import JobServicer
from api.grpc.ports import JobCalls
from api.observability.spans import GrpcSpans
from api.observability.tracing import Tracing
from danube._proto.v1 import job_service_pb2 as pb
from danube._proto.v1 import job_service_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["JobService"].full_name
OPTIONS = [
    # Coordinators ping during long silent steps; accept it instead of sending GOAWAY.
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_ping_strikes", 0),
    ("grpc.max_receive_message_length", 8 * 1024 * 1024),
    # gRPC sets SO_REUSEPORT by default: a second server on a taken port would "work"
    # and share its calls with the first. A taken port must be an error instead.
    ("grpc.so_reuseport", 0),
]


class GrpcServer:
    def __init__(
        self, jobs: JobCalls, address: str, *, tracing: Tracing | None = None, workers: int = 64
    ) -> None:
        interceptors: list[grpc.ServerInterceptor] = (
            [GrpcSpans(tracing, jobs.runs, jobs.views)]
            if tracing is not None and tracing.tracer is not None
            else []
        )
        self.server = grpc.server(
            ThreadPoolExecutor(max_workers=workers), options=OPTIONS, interceptors=interceptors
        )
        pb_grpc.add_JobServiceServicer_to_server(JobServicer(jobs), self.server)
        self.health = health.HealthServicer()
        self.health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
        self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            [SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME], self.server
        )
        host, _, port = address.rpartition(":")
        try:
            self.port = self.server.add_insecure_port(f"{host}:{port}")
        except RuntimeError:  # what grpcio raises when it cannot bind
            self.port = 0
        if self.port == 0:
            raise CommandError(
                f"cannot listen for gRPC on {address}: address in use or not available",
                EXIT_FAILED,
            )
        self.address = f"{host}:{self.port}"
        self.server.start()

    def stop(self, grace: float = 5.0) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait(grace + 1)
