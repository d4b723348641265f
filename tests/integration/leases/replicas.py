"""Several replicas of one ``danube`` role as real processes, and who holds its lease."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

from tests.support import PG_URL, wait_until


class Replicas:
    def __init__(self, command: str, env: dict[str, str], schema: str, logs: Path) -> None:
        self.command, self.env, self.schema, self.logs = command, env, schema, logs
        self.role = {"pod-adapter": "pod-adapter"}.get(command, command)
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs_of: dict[int, Path] = {}

    def start(self, count: int = 2) -> None:
        for _ in range(count):
            path = self.logs / f"{self.command}-{len(self.processes)}.log"
            with path.open("ab") as log:  # the child keeps its own descriptor
                process = subprocess.Popen(
                    [sys.executable, "-m", "api.cli", self.command],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            self.processes.append(process)
            self.logs_of[process.pid] = path

    def holder(self) -> tuple[int, int] | None:
        """(pid, epoch) of the process holding the role's lease, as the database says."""
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            try:
                row = conn.execute(
                    sql.SQL("SELECT holder, epoch FROM {} WHERE role = %s").format(
                        sql.Identifier(self.schema, "danube_leases")
                    ),
                    (self.role,),
                ).fetchone()
            except psycopg.errors.UndefinedTable:
                return None
        if row is None:
            return None
        return int(row[0].rpartition(":")[2]), int(row[1])

    def active(self, timeout: float = 60) -> subprocess.Popen[bytes]:
        def find() -> subprocess.Popen[bytes] | None:
            held = self.holder()
            return next((p for p in self.processes if held and p.pid == held[0]), None)

        return wait_until(
            find, timeout=timeout, interval=0.1, what=f"a {self.role} to hold the lease"
        )

    def standing_by(self) -> list[subprocess.Popen[bytes]]:
        """Live replicas that said they stand by and do not hold the lease."""
        held = self.holder()
        return [
            p
            for p in self.processes
            if p.poll() is None
            and (not held or p.pid != held[0])
            and b"standing by" in self.logs_of[p.pid].read_bytes()
        ]

    def take_over_after(self, old: subprocess.Popen[bytes], timeout: float = 15) -> float:
        """Seconds until another live replica holds the lease (a new epoch)."""
        started = time.monotonic()

        def taken() -> bool:
            held = self.holder()
            return bool(held and held[0] != old.pid and held[0] in self.live_pids())

        wait_until(
            taken, timeout=timeout, interval=0.02, what=f"a standby {self.role} to take over"
        )
        return time.monotonic() - started

    def live_pids(self) -> set[int]:
        return {p.pid for p in self.processes if p.poll() is None}

    def log(self) -> str:
        return "\n".join(
            path.read_text() for path in sorted(self.logs.glob(f"{self.command}-*.log"))
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
