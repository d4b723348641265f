"""Processes that run on their own serve their own /metrics; the dispatcher's heartbeat
shows in the server's readiness while it runs and is gone when it stops cleanly; the
worker processes of one role are summed through PROMETHEUS_MULTIPROC_DIR."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from adapters.sql.store import SqlStore, StoreConfig
from tests.support import danube_env, free_port, http_get, wait_until


def start(command: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def families(url: str) -> set[str]:
    status, body = http_get(url, timeout=10)
    assert status == 200, body
    return {family.name for family in text_string_to_metric_families(body.decode())}


def test_projector_and_dispatcher_serve_metrics_and_the_dispatcher_beats(
    store_config: StoreConfig, store: SqlStore
) -> None:
    http, projector_metrics, dispatcher_metrics = free_port(), free_port(), free_port()
    env = danube_env(
        store_config,
        DANUBE_BIND_ADDRESS=f"127.0.0.1:{http}",
        DANUBE_PROJECTOR_METRICS_ADDRESS=f"127.0.0.1:{projector_metrics}",
        DANUBE_DISPATCHER_METRICS_ADDRESS=f"127.0.0.1:{dispatcher_metrics}",
    )
    server, projector = start("server", env), start("projector", env)
    dispatcher = start("dispatcher", env)
    processes = {"server": server, "projector": projector, "dispatcher": dispatcher}
    try:
        for port in (projector_metrics, dispatcher_metrics):
            url = f"http://127.0.0.1:{port}/metrics"
            wait_until(lambda url=url: http_get(url)[0] == 200, timeout=60, what=url)
            names = families(url)
            assert {"danube_db_query_duration_seconds", "danube_k8s_api_calls"} <= names
            assert "danube_jobs" not in names  # read-model totals: the API server's alone
        ready = f"http://127.0.0.1:{http}/health/ready"

        def dispatcher_check() -> dict[str, object]:
            status, body = http_get(ready, timeout=10)
            return json.loads(body)["checks"]["dispatcher"] if status else {}

        check = wait_until(
            lambda: (found := dispatcher_check()).get("ok") and "beat" in str(found) and found,
            timeout=60,
            what="the dispatcher's heartbeat in the server's readiness",
        )
        assert str(check["detail"]).endswith("s ago")
        dispatcher.send_signal(signal.SIGTERM)
        assert dispatcher.wait(30) == 0
        assert dispatcher_check() == {"ok": True, "detail": "not run as a process of its own"}
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = {name: process.wait(30) for name, process in processes.items()}
    output = b"".join(p.stdout.read() for p in processes.values())  # type: ignore[union-attr]
    assert codes == {"server": 0, "projector": 0, "dispatcher": 0}, output.decode()[-3000:]


WORKER = textwrap.dedent("""
    from adapters.sql.metrics import store_metrics
    store_metrics().log_bytes.inc(5)
""")
SCRAPE = textwrap.dedent("""
    from prometheus_client import generate_latest
    from api.observability.metrics import process_registry
    print(generate_latest(process_registry()).decode())
""")


def test_the_worker_processes_of_one_role_are_summed(tmp_path: Path) -> None:
    env = danube_env(StoreConfig(kind="sqlite", data_dir=tmp_path))
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    (tmp_path / "metrics").mkdir()
    for _ in range(2):
        subprocess.run([sys.executable, "-c", WORKER], env=env, check=True, timeout=60)
    scraped = subprocess.run(
        [sys.executable, "-c", SCRAPE], env=env, check=True, timeout=60, capture_output=True
    ).stdout.decode()
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
    }
    assert samples["danube_log_bytes_written_total"] == 10
