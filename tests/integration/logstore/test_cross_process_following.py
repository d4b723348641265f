"""A job's log followed live by another process while this one appends: woken by NOTIFY
on PostgreSQL (the follower's poll is set far beyond the test's deadlines), by polling
on SQLite (which has no notifications)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from dataclasses import asdict

from adapters.sql.store import SqlStore, StoreConfig
from tests.support import wait_until

SLOW_POLL = 60.0  # PostgreSQL: only a NOTIFY can deliver within the deadlines below
SQLITE_POLL = 0.1  # SQLite: what the log store polls at by default
DEADLINE = 5.0


def start_follower(config: StoreConfig, job_id: str) -> tuple[subprocess.Popen[bytes], bytearray]:
    values = asdict(config) | {"data_dir": str(config.data_dir or ""), "create_tables": False}
    poll = SLOW_POLL if config.kind == "postgres" else SQLITE_POLL
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.logstore.follow_process",
            json.dumps(values),
            job_id,
            str(poll),
        ],
        stdout=subprocess.PIPE,
    )
    seen = bytearray()

    def collect() -> None:
        assert process.stdout is not None
        for chunk in iter(lambda: process.stdout.read1(65536), b""):  # type: ignore[union-attr]
            seen.extend(chunk)

    threading.Thread(target=collect, daemon=True).start()
    wait_until(lambda: seen.startswith(b"ready\n"), timeout=30, what="the follower to start")
    return process, seen


def test_another_process_follows_a_job_log_live_as_it_is_appended(store: SqlStore) -> None:
    job_id = str(uuid.uuid4())
    store.logs.append(job_id, 0, "system", b"before the follower\n")
    process, seen = start_follower(store.config, job_id)
    try:
        expected = b"ready\nbefore the follower\n"
        wait_until(lambda: bytes(seen) == expected, timeout=DEADLINE, what="what was stored")
        for i in range(5):
            line = f"line {i} \x1b[32mok\x1b[0m\n".encode()
            store.logs.append(job_id, 1, "stdout" if i % 2 else "stderr", line)
            expected += line
            wait_until(
                lambda e=expected: bytes(seen) == e,  # type: ignore[misc]
                timeout=DEADLINE,
                what=f"line {i} in the other process",
            )
        big = bytes(range(256)) * 8192  # 2 MiB of any bytes, more than one chunk
        store.logs.append(job_id, 2, "stdout", big)
        store.logs.append(job_id, 2, "stdout", b"END\n")
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    wait_until(lambda: len(seen) == len(expected) + len(big) + 4, what="all output")
    assert bytes(seen) == expected + big + b"END\n", "nothing lost, nothing repeated"
