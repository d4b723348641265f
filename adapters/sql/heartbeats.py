"""Heartbeats of the processes that run on their own (``danube dispatcher``,
``danube pod-adapter``): each writes the time of its last beat into a small table of the
read-model database, so that the API server's readiness can tell a live one from a dead
one. A process that stops cleanly removes its row (it is not missing, it was stopped)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from adapters.sql.dialect import Dialect


@dataclass(frozen=True)
class Heartbeat:
    role: str
    process: str  # host:pid of the beating process
    beat_at: datetime


class SqlHeartbeats:
    TABLE = "danube_heartbeats"

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.process = f"{socket.gethostname()}:{os.getpid()}"

    def ensure(self) -> None:
        with self.dialect.write() as cur:  # under the store's migration lock
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self.dialect.qualify(self.TABLE)} "
                "(role TEXT PRIMARY KEY, process TEXT NOT NULL, beat_at TEXT NOT NULL)"
            )

    def beat(self, role: str, now: datetime | None = None) -> None:
        at = (now or datetime.now(UTC)).isoformat()
        p = self.dialect.placeholder
        with self.dialect.write() as cur:
            cur.execute(
                f"INSERT INTO {self.dialect.qualify(self.TABLE)} (role, process, beat_at) "
                f"VALUES ({p}, {p}, {p}) ON CONFLICT (role) DO UPDATE "
                "SET process = excluded.process, beat_at = excluded.beat_at",
                (role, self.process, at),
            )

    def forget(self, role: str) -> None:
        """This process stops on purpose: its role is no longer expected to beat."""
        p = self.dialect.placeholder
        with self.dialect.write() as cur:
            cur.execute(
                f"DELETE FROM {self.dialect.qualify(self.TABLE)} "
                f"WHERE role = {p} AND process = {p}",
                (role, self.process),
            )

    def last(self, role: str) -> Heartbeat | None:
        p = self.dialect.placeholder
        with self.dialect.read() as cur:
            cur.execute(
                f"SELECT role, process, beat_at FROM {self.dialect.qualify(self.TABLE)} "
                f"WHERE role = {p}",
                (role,),
            )
            row = cur.fetchone()
        return None if row is None else Heartbeat(row[0], row[1], datetime.fromisoformat(row[2]))
