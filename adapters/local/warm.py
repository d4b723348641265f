"""Warm coordinators: a few coordinators started ahead of time with the SDK imported, each
handed one job (``python -m danube.coordinator.warm``, or forked by the zygote).

Starting Python and importing the SDK and gRPC is most of a small job's start-up, so the
pool keeps ``size`` of them idle and starts a new one whenever one is taken. They are
forked by the coordinators' zygote (``adapters.local.zygote``) or spawned, never forked
from the server (gRPC and ``fork`` do not mix), each in a session of its own, with the
server's environment minus its ``DANUBE_*`` settings; a job's environment, token and
workspace reach it over its stdin pipe only once it is handed the job. It then is that
job's coordinator process group like a cold one, and serves no other.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from adapters.local.environment import server_environment
from adapters.local.process_group import ProcessGroup
from domain.execution.ports import OutputSink, Stream

log = logging.getLogger(__name__)

_CLOSE_WAIT = 30.0

# Starts a coordinator that waits for its job on stdin, its output going to the sink.
Start = Callable[[OutputSink], ProcessGroup]


def spawning(command: Sequence[str], cwd: Path, grace: float) -> Start:
    """Coordinators started as ``command`` in ``cwd``."""
    env = {**server_environment(), "PYTHONUNBUFFERED": "1"}

    def start(sink: OutputSink) -> ProcessGroup:
        return ProcessGroup.spawn(
            command, cwd=cwd, env=env, sink=sink, grace=grace, merge_stderr=True, stdin_pipe=True
        )

    return start


class _Handoff:
    """The sink of a warm coordinator: what it writes before it has a job (nothing, unless
    it fails to start) is kept and passed on to the job's sink once it has one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sink: OutputSink | None = None
        self._early: list[tuple[Stream, bytes]] = []

    def write(self, stream: Stream, data: bytes) -> None:
        with self._lock:
            if self._sink is None:
                self._early.append((stream, data))
                return
            sink = self._sink
        sink.write(stream, data)

    def early_text(self) -> str:
        with self._lock:
            return b"".join(data for _, data in self._early).decode(errors="replace")

    def attach(self, sink: OutputSink) -> None:
        with self._lock:
            early, self._early = self._early, []
            for stream, data in early:
                sink.write(stream, data)
            self._sink = sink


class CoordinatorPool:
    """Thread-safe. ``take`` hands a job to an idle coordinator (or says there is none);
    ``close`` ends the idle ones. With ``on_demand`` (starting one is cheap: the zygote
    forks it), ``take`` starts one for the job when none is idle."""

    def __init__(self, start: Start, size: int, *, on_demand: bool = False) -> None:
        self._start, self._size, self._on_demand = start, size, on_demand
        self._lock = threading.Condition()
        self._idle: list[tuple[ProcessGroup, _Handoff]] = []
        self._spawning = 0
        self._closed = False
        self._refill()

    def take(self, env: Mapping[str, str], cwd: Path, output: OutputSink) -> ProcessGroup | None:
        """An idle coordinator now running the job given by ``env`` and ``cwd``, its output
        going to ``output``; None when none is idle (start one cold instead)."""
        job = (json.dumps({"env": dict(env), "cwd": str(cwd)}) + "\n").encode()
        try:
            while (idle := self._pop()) is not None:
                group, handoff = idle
                if group.wait(0):  # died while idle: say so, with what it said
                    log.warning(
                        "a warm coordinator exited while idle (code %s): %s",
                        group.exit_code,
                        handoff.early_text()[-2000:],
                    )
                    continue
                try:
                    group.send(job)
                except (OSError, ValueError):
                    group.terminate()
                    continue
                handoff.attach(output)
                return group
            return self._now(job, output) if self._on_demand else None
        finally:
            self._refill()

    def close(self) -> None:
        """End the idle coordinators, and those still being started, before returning."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for group, _ in idle:
            group.terminate()
        with self._lock:
            if not self._lock.wait_for(lambda: self._spawning == 0, _CLOSE_WAIT):
                log.error("warm coordinators still starting after %gs", _CLOSE_WAIT)

    def _now(self, job: bytes, output: OutputSink) -> ProcessGroup | None:
        with self._lock:
            if self._closed:
                return None
        try:
            group = self._start(output)
        except OSError as error:
            log.warning("could not start a coordinator for the job: %s", error.strerror or error)
            return None
        try:
            group.send(job)
        except (OSError, ValueError):
            group.terminate()
            return None
        return group

    def _pop(self) -> tuple[ProcessGroup, _Handoff] | None:
        with self._lock:
            return self._idle.pop(0) if self._idle else None

    def _refill(self) -> None:
        with self._lock:
            missing = self._size - len(self._idle) - self._spawning
            if self._closed or missing <= 0:
                return
            self._spawning += missing
        for _ in range(missing):
            threading.Thread(target=self._spawn, name="warm-coordinator", daemon=True).start()

    def _spawn(self) -> None:
        handoff = _Handoff()
        try:
            group = self._start(handoff)
        except OSError as error:
            log.warning("could not start a warm coordinator: %s", error.strerror or error)
            self._spawned(None)
            return
        with self._lock:
            if not self._closed:
                self._idle.append((group, handoff))
                self._spawned(group)
                return
        group.terminate()
        self._spawned(None)

    def _spawned(self, _group: ProcessGroup | None) -> None:
        with self._lock:
            self._spawning -= 1
            self._lock.notify_all()
