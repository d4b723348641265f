"""Webhook ingestion figures (DESIGN.md §11) on the embedded default (SQLite):
sustained verified deliveries per second with 20 % redeliveries, and p50/p99 from the
request to the run being requested (the reply comes after the run is recorded), against
a baseline of plain ``GET /health`` requests over the same connections in the same run.
Prints one JSON object as its last line.

    python bench/webhook_ingest.py          # about a minute
    python bench/webhook_ingest.py --full   # longer
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr

from api.bootstrap import build
from api.processes import HttpServer, Supervisor, start_projectors
from api.server import create_app
from api.settings import Settings
from domain.config.model import Config, Pipeline, Trigger, TriggerKind

FULL = "--full" in sys.argv
SECONDS = 30.0 if FULL else 12.0
THREADS = 8
SECRET = "bench-secret"
REDELIVERY_SHARE = 0.2
REPO = "https://github.com/acme/service.git"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def push(delivery: str, commit: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "0" * 40,
            "after": commit,
            "deleted": False,
            "repository": {
                "full_name": "acme/service",
                "clone_url": REPO,
                "ssh_url": "git@github.com:acme/service.git",
                "html_url": "https://github.com/acme/service",
            },
            "sender": {"login": "bench"},
            "pusher": {"name": "bench"},
            "head_commit": {"id": commit},
        }
    ).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature,
    }


def drive(
    port: int, seconds: float, request: Any
) -> tuple[float, list[tuple[int, float]], dict[int, int]]:
    """``THREADS`` keep-alive clients for ``seconds``; returns the rate, (status,
    latency) of each request, and the count per status."""
    latencies: list[tuple[int, float]] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        rng = random.Random(index)
        mine: list[tuple[int, float]] = []
        seen: dict[int, int] = {}
        while time.perf_counter() < stop:
            method, path, body, headers = request(rng)
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append((response.status, time.perf_counter() - started))
            seen[response.status] = seen.get(response.status, 0) + 1
        with lock:
            latencies.extend(mine)
            for status, count in seen.items():
                statuses[status] = statuses.get(status, 0) + count

    threads = [threading.Thread(target=client, args=(i,)) for i in range(THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - started), latencies, statuses


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="danube-bench-webhooks-"))
    settings = Settings(
        data_dir=data_dir, log_level="error", github_webhook_secret=SecretStr(SECRET)
    )
    danube = build(settings)
    danube.config.accept(
        Config(
            commit="c" * 40,
            pipelines=(
                Pipeline(
                    name="service", repository=REPO, triggers=(Trigger(kind=TriggerKind.PUSH),)
                ),
            ),
        )
    )
    supervisor = Supervisor()
    start_projectors(danube, supervisor)
    port = free_port()
    supervisor.add("http", HttpServer(create_app(danube), "127.0.0.1", port))
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/health")
            break
        except OSError:
            time.sleep(0.05)

    baseline_rate, baseline_latency, _ = drive(port, 4.0, lambda rng: ("GET", "/health", None, {}))
    sent: list[tuple[bytes, dict[str, str]]] = []
    sent_lock = threading.Lock()
    redelivered = [0]

    def delivery(rng: random.Random) -> tuple[str, str, bytes, dict[str, str]]:
        with sent_lock:
            if sent and rng.random() < REDELIVERY_SHARE:
                body, headers = rng.choice(sent)  # a redelivery
                redelivered[0] += 1
            else:
                body, headers = push(str(uuid.uuid4()), uuid.uuid4().hex + uuid.uuid4().hex[:8])
                sent.append((body, headers))
        return "POST", "/webhooks/github", body, headers

    rate, latencies, statuses = drive(port, SECONDS, delivery)
    runs = sum(p.run_count for p in danube.views.pipelines())
    supervisor.stop()
    danube.close()
    fresh = [latency for status, latency in latencies if status == 202]  # a run was requested
    health = [latency for _, latency in baseline_latency]
    result = {
        "baseline_health_requests_per_s": round(baseline_rate),
        "baseline_health_p99_ms": round(statistics.quantiles(health, n=100)[98] * 1000, 2),
        "deliveries_per_s": round(rate),
        "ratio_deliveries_vs_health_requests": round(rate / baseline_rate, 3),
        "p50_request_to_run_requested_ms": round(statistics.median(fresh) * 1000, 2),
        "p99_request_to_run_requested_ms": round(statistics.quantiles(fresh, n=100)[98] * 1000, 2),
        "statuses": statuses,
        "runs_requested": runs,
        "redelivery_share": round(redelivered[0] / max(len(latencies), 1), 3),
        "redelivery_share_target": REDELIVERY_SHARE,
        "clients": THREADS,
        "targets": {"deliveries_per_s": ">= 200", "p99_ms": "<= 100"},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
