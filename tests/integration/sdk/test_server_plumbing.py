"""What a JobService server registers beside the service (health, reflection), and the
SDK over TLS with DANUBE_MASTER_CA_FILE."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from danube import _runtime, step
from danube._proto.v1 import job_service_pb2 as pb

from .conftest import Master, job_env
from .fake_master import SERVICE_NAME, FakeMaster, serving


def test_the_server_answers_health_checks_for_the_job_service(master: Master) -> None:
    with grpc.insecure_channel(master.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        response = health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=5)

    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_serves_the_generated_descriptors(master: Master) -> None:
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE_NAME)
    with grpc.insecure_channel(master.address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        [response] = list(stub.ServerReflectionInfo(iter([request]), timeout=5))

    [raw] = response.file_descriptor_response.file_descriptor_proto
    file = descriptor_pb2.FileDescriptorProto.FromString(raw)
    assert SERVICE_NAME == "danube.v1.JobService"
    assert file.name == "danube/v1/job_service.proto" == pb.DESCRIPTOR.name
    assert [m.name for m in file.service[0].method] == [
        "RunStep",
        "GetSecret",
        "UploadArtifact",
        "ReportStatus",
    ]


def _self_signed_certificate() -> tuple[bytes, bytes]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "danube-master")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def tls_master(workspace: Path, tmp_path: Path) -> Iterator[tuple[Master, Path]]:
    key, certificate = _self_signed_certificate()
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(certificate)
    fake = FakeMaster(workspace=workspace)
    with serving(fake, tls=(key, certificate)) as address:
        yield Master(fake, address), ca_file


def test_the_sdk_speaks_tls_when_given_a_ca_file(
    tls_master: tuple[Master, Path], workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    master, ca_file = tls_master
    for key, value in job_env(master, workspace).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DANUBE_MASTER_CA_FILE", str(ca_file))
    _runtime.reset()
    try:
        assert step.run("echo over tls", capture=True) == "over tls\n"
    finally:
        _runtime.reset()
    assert master.fake.executions[1] == 1
