"""The production gRPC server (``api.grpc.server.GrpcServer``) over 127.0.0.1: the
standard health service and reflection beside the JobService."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from adapters.sql.store import StoreConfig
from api.bootstrap import build
from api.execution.lifetimes import grpc_server as serve_job_calls
from api.grpc.server import GrpcServer
from tests.integration.execution.conftest import settings_for
from tests.support import wait_until

JOB_SERVICE = "danube.v1.JobService"
Health = health_pb2.HealthCheckResponse


@pytest.fixture
def server(tmp_path: Path) -> Iterator[GrpcServer]:
    danube = build(settings_for(StoreConfig(kind="sqlite", data_dir=tmp_path), tmp_path))
    started = serve_job_calls(danube, "127.0.0.1:0")
    yield started
    started.stop(grace=0.5)
    danube.close()


@pytest.fixture
def channel(server: GrpcServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as opened:
        yield opened


def test_the_server_listens_on_the_port_it_was_given_by_the_system(server: GrpcServer) -> None:
    assert server.port > 0 and server.address == f"127.0.0.1:{server.port}"


def test_health_checks_answer_serving_for_the_server_and_the_job_service(
    channel: grpc.Channel,
) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", JOB_SERVICE):
        response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert response.status == Health.SERVING, service
    with pytest.raises(grpc.RpcError) as unknown:
        health.Check(health_pb2.HealthCheckRequest(service="danube.v1.Nothing"), timeout=5)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_the_job_service_and_describes_its_methods(channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    (response,) = list(stub.ServerReflectionInfo(iter([request]), timeout=5))
    names = {service.name for service in response.list_services_response.service}
    assert {JOB_SERVICE, "grpc.health.v1.Health"} <= names
    pool = DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
    service = pool.FindServiceByName(JOB_SERVICE)
    assert {m.name for m in service.methods} == {
        "RunStep",
        "GetSecret",
        "UploadArtifact",
        "ReportStatus",
    }


def test_a_stopping_server_tells_health_watchers_it_is_not_serving(
    server: GrpcServer, channel: grpc.Channel
) -> None:
    watch = health_pb2_grpc.HealthStub(channel).Watch(
        health_pb2.HealthCheckRequest(service=JOB_SERVICE), timeout=10
    )
    seen: list[int] = [next(watch).status]
    server.health.enter_graceful_shutdown()  # what ``stop`` does first
    seen.append(next(watch).status)
    assert seen == [Health.SERVING, Health.NOT_SERVING]
    watch.cancel()
    wait_until(lambda: watch.done(), what="the watch to end")
