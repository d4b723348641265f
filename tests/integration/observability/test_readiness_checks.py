"""/health/ready, extended: every configured dependency is a check with its own time
limit; the JSON says each verdict and why; 503 when any fails; a dependency that hangs
does not hang the probe; losing PostgreSQL makes the server not ready, and ready again
when it is back."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from adapters.sql.store import StoreConfig
from api.bootstrap import Danube, build
from api.observability.hooks import SyncHealth
from api.settings import Settings
from tests.integration.observability.conftest import serve, settings_for
from tests.support import free_port, http_get, stop_accepting, wait_until

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DOCKER_REGISTRY = "/usr/bin/docker-registry"


def readiness(url: str, timeout: float = 30) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    status, body = http_get(f"{url}/health/ready", timeout=timeout)
    return status, json.loads(body)["checks"], time.monotonic() - started


@pytest.fixture
def silent() -> Iterator[str]:
    """A dependency that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop_accepting(listener, thread)
    for connection in held:
        connection.close()


def built(store_config: StoreConfig, tmp_path: Path, **values: Any) -> Danube:
    return build(settings_for(store_config, tmp_path, **values))


def test_a_hung_dependency_fails_its_check_in_time_and_does_not_hang_the_probe(
    store_config: StoreConfig, tmp_path: Path, silent: str
) -> None:
    danube = built(
        store_config, tmp_path, oidc_issuer=silent, registry_url=silent, readiness_check_timeout=1
    )
    url, supervisor = serve(danube)
    try:
        status, checks, took = readiness(url)
    finally:
        supervisor.stop()
        danube.close()
    assert status == 503
    assert took < 5, f"the probe took {took:.1f}s"
    assert checks["oidc"]["ok"] is False and checks["registry"]["ok"] is False
    assert "1s" in checks["oidc"]["error"] or "timed out" in checks["oidc"]["error"]
    assert checks["event_store"]["ok"] is True
    assert checks["dispatcher"] == {"ok": True, "detail": "not run as a process of its own"}


class Issuer(BaseHTTPRequestHandler):
    issuer = ""
    keys: list[dict[str, str]] = [{"kty": "RSA", "kid": "k1", "n": "sXch", "e": "AQAB"}]

    def do_GET(self) -> None:
        body = json.dumps({"issuer": self.issuer, "jwks_uri": f"{self.issuer}/keys"}).encode()
        if self.path == "/keys":
            body = json.dumps({"keys": self.keys}).encode()
        found = self.path in ("/.well-known/openid-configuration", "/keys")
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body if found else b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def issuer() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Issuer)
    Issuer.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Issuer.issuer
    server.shutdown()
    server.server_close()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """The CNCF distribution registry (Debian's docker-registry), deletion enabled."""
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'images'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
        "log:\n  level: error\n"
    )
    process = subprocess.Popen(
        [DOCKER_REGISTRY, "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_get(f"{url}/v2/")[0] == 200, timeout=30, what="the registry")
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_configured_dependencies_that_answer_are_ready_and_say_why(
    store_config: StoreConfig, tmp_path: Path, issuer: str, registry: str
) -> None:
    danube = built(store_config, tmp_path, oidc_issuer=issuer, registry_url=registry)
    url, supervisor = serve(danube)
    try:
        status, checks, _ = readiness(url)
    finally:
        supervisor.stop()
        danube.close()
    assert status == 200, checks
    assert checks["oidc"] == {
        "ok": True,
        "detail": f"issuer discovery answers at {issuer}/.well-known/openid-configuration; "
        "its JWKS holds 1 key(s)",
    }
    assert checks["registry"] == {"ok": True, "detail": f"{registry}/v2/ answers 200"}
    assert "kubernetes" not in checks and "config_sync" not in checks  # not configured


def test_the_kubernetes_check_needs_the_jobs_namespace(
    store_config: StoreConfig, tmp_path: Path, k8s_double: Any, k8s_kubeconfig: Path
) -> None:
    danube = built(
        store_config,
        tmp_path,
        executor="kubernetes",
        kubeconfig=str(k8s_kubeconfig),
        k8s_namespace_jobs="ci-jobs",
    )
    url, supervisor = serve(danube)
    try:
        status, checks, _ = readiness(url)
        assert status == 503
        assert checks["kubernetes"] == {"ok": False, "error": "namespace 'ci-jobs' does not exist"}
        k8s_double.create_namespace("ci-jobs")
        status, checks, _ = readiness(url)
        assert status == 200, checks
        assert checks["kubernetes"]["detail"] == "API server answers; namespace 'ci-jobs' exists"
    finally:
        supervisor.stop()
        danube.close()


def test_a_heartbeat_too_old_makes_the_server_not_ready(danube: Danube) -> None:
    url, supervisor = serve(danube)
    try:
        danube.store.heartbeats.beat("pod_adapter")
        status, checks, _ = readiness(url)
        assert status == 200 and checks["pod_adapter"]["ok"] is True
        danube.store.heartbeats.beat("pod_adapter", datetime.now(UTC) - timedelta(minutes=2))
        status, checks, _ = readiness(url)
        assert status == 503
        assert checks["pod_adapter"]["ok"] is False
        assert "last heartbeat of" in checks["pod_adapter"]["error"]
        assert "(limit 15s)" in checks["pod_adapter"]["error"]
    finally:
        supervisor.stop()


def test_config_sync_is_fresh_for_three_intervals_after_the_last_success() -> None:
    now = [1000.0]
    health = SyncHealth(60, clock=lambda: now[0])
    assert health.verdict()[0] is True  # just started
    now[0] += 181
    ok, why = health.verdict()
    assert ok is False and why == "no successful sync in 181s since start (limit 180s)"
    health.observe("unchanged")
    assert health.verdict() == (True, "last success 0s ago (limit 180s)")
    now[0] += 100
    health.observe("fetch-failed")
    assert health.verdict()[0] is True
    now[0] += 100
    assert health.verdict() == (
        False,
        "last successful sync 200s ago, older than 180s (last outcome: fetch-failed)",
    )


@pytest.fixture
def own_database() -> Iterator[str]:
    """A database of its own, so that this test can cut Danube off from PostgreSQL
    without touching any other test's connections."""
    name = f"danube_ready_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cut_off(database: str, allowed: bool) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )


@pytest.mark.postgres
def test_readiness_fails_while_postgresql_is_gone_and_recovers_when_it_is_back(
    own_database: str, tmp_path: Path
) -> None:
    danube = build(
        Settings(
            data_dir=tmp_path,
            log_level="warning",
            event_store="postgres",
            database_url=SecretStr(f"postgresql://postgres@127.0.0.1:5432/{own_database}"),
            database_pool_size=2,
            readiness_check_timeout=2,
        )
    )
    url, supervisor = serve(danube)
    try:
        assert readiness(url)[0] == 200
        cut_off(own_database, allowed=False)
        _, checks, took = wait_until(
            lambda: (found := readiness(url))[0] == 503 and found,
            timeout=30,
            what="readiness to fail without PostgreSQL",
        )
        assert checks["event_store"]["ok"] is False
        assert took < 6
        cut_off(own_database, allowed=True)
        wait_until(
            lambda: readiness(url)[0] == 200,
            timeout=60,
            what="readiness to recover with PostgreSQL back",
        )
    finally:
        supervisor.stop()
        danube.close()


def test_an_issuer_without_signing_keys_is_not_ready(
    store_config: StoreConfig, tmp_path: Path, issuer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Issuer, "keys", [])
    danube = built(store_config, tmp_path, oidc_issuer=issuer)
    url, supervisor = serve(danube)
    try:
        status, checks, _ = readiness(url)
    finally:
        supervisor.stop()
        danube.close()
    assert status == 503
    assert checks["oidc"] == {
        "ok": False,
        "error": f"the issuer's JWKS {issuer}/keys holds no keys",
    }


def test_the_built_in_issuer_is_ready_when_its_signing_key_loads(
    store_config: StoreConfig, tmp_path: Path
) -> None:
    danube = built(store_config, tmp_path)  # no DANUBE_OIDC_ISSUER: the built-in issuer
    url, supervisor = serve(danube)
    try:
        status, checks, _ = readiness(url)
        assert checks["oidc"]["ok"] is True, checks
        public = danube.settings.public_url
        assert checks["oidc"]["detail"].startswith(f"built-in issuer at {public}/auth/issuer, key ")
        (danube.settings.data_dir.resolve() / "oidc-issuer-key.pem").chmod(0o644)
        status, checks, _ = readiness(url)
    finally:
        supervisor.stop()
        danube.close()
    assert status == 503
    assert "is readable by others: chmod 600 it" in checks["oidc"]["error"]
