"""Running ``danube`` as a subprocess against the test's stores (SQLite or PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg

from adapters.sql.store import StoreConfig
from api.bootstrap import Danube, build
from tests.integration.execution.conftest import settings_for
from tests.support import PG_URL, danube_env


@dataclass
class Cli:
    """The stores of one test, and ``danube`` commands run on them."""

    config: StoreConfig
    data_dir: Path
    env: dict[str, str]

    def __call__(
        self, *args: str, stdin: str = "", timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "api.cli", *args],
            env=self.env | env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str, **env: str) -> Running:
        """``danube ARGS`` in a session of its own, as a terminal's foreground job."""
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", *args],
            env=self.env | env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        return Running(process)

    @contextmanager
    def danube(self) -> Iterator[Danube]:
        """This process's own view of the same stores."""
        opened = build(settings_for(self.config, self.data_dir))
        try:
            yield opened
        finally:
            opened.close()

    def stored_events(self) -> bytes:
        """Every stored event's bytes (to look for what must never be in them)."""
        if self.config.kind == "sqlite":
            return (self.data_dir / "events.sqlite3").read_bytes()
        with psycopg.connect(PG_URL) as conn:
            rows = conn.execute(
                f'SELECT state FROM "{self.config.schema}".danube_events'
            ).fetchall()
        return b"".join(bytes(row[0]) for row in rows)


def cli_for(config: StoreConfig, tmp: Path) -> Cli:
    data_dir = tmp / "data"
    return Cli(config, data_dir, danube_env(config, DANUBE_DATA_DIR=str(data_dir)))


@dataclass
class Running:
    """A ``danube`` process whose output is collected as it comes."""

    process: subprocess.Popen[bytes]
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    readers: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        for pipe, into in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr)):
            reader = threading.Thread(target=_collect, args=(pipe, into), daemon=True)
            reader.start()
            self.readers.append(reader)

    def out(self) -> str:
        return bytes(self.stdout).decode(errors="replace")

    def err(self) -> str:
        return bytes(self.stderr).decode(errors="replace")

    def signal_foreground(self, signum: int) -> None:
        """What a terminal does on Ctrl-C: signal the whole foreground process group."""
        os.killpg(self.process.pid, signum)

    def wait(self, timeout: float = 60) -> int:
        """The exit code, once all output is collected."""
        code = self.process.wait(timeout)
        for reader in self.readers:
            reader.join(10)
        return code

    def stop(self) -> None:
        """SIGTERM first, so the job's processes (in sessions of their own) end too."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _collect(pipe: IO[bytes] | Any, into: bytearray) -> None:
    for chunk in iter(lambda: pipe.read1(65536), b""):
        into.extend(chunk)
