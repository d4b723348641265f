"""DESIGN.md §8, the first minute: a server started with no config repository creates
the local admin, prints the password once (and writes it 0600 in the data directory),
and that password logs in through the built-in issuer."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from adapters.sql.store import StoreConfig
from api.auth.local_admin import password_path
from tests.integration.auth.conftest import log_in
from tests.support import danube_env, free_port, http_get, wait_until


def run_server(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    env = danube_env(
        StoreConfig(kind="sqlite", data_dir=tmp_path),
        DANUBE_BIND_ADDRESS=f"127.0.0.1:{port}",
        DANUBE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        DANUBE_GRPC_ADDRESS="127.0.0.1:0",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "server"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_until(
        lambda: http_get(f"http://127.0.0.1:{port}/health")[0] == 200 or process.poll(),
        timeout=60,
        what="the server",
    )
    return process


def stopped(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    process.wait(30)
    return process.stdout.read() if process.stdout else ""


def test_the_first_start_prints_the_admin_password_once_and_it_logs_in(tmp_path: Path) -> None:
    port = free_port()
    first = run_server(tmp_path, port)
    output = stopped(first)
    path = password_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    password = path.read_text().strip()
    assert f"password: {password}" in output and "user:     admin" in output
    assert str(path) in output and "To change it" in output

    second = run_server(tmp_path, port)
    try:
        with httpx.Client(timeout=30) as client:
            done = log_in(f"http://127.0.0.1:{port}", client, password, next_path="/runs")
            assert (done.status_code, done.headers.get("location")) == (303, "/runs")
            me = client.get(f"http://127.0.0.1:{port}/auth/me").json()
            assert (me["name"], me["via"]) == ("admin", "session")
    finally:
        output = stopped(second)
    assert password not in output  # shown once, never again
