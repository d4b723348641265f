"""A warm coordinator: `python -m danube.coordinator.warm`.

Started ahead of time by the local executor with the SDK (and gRPC) already imported, it
waits for one job on stdin: a single JSON line `{"env": {...}, "cwd": "..."}`. Then it
becomes that job's coordinator exactly as `python -m danube.coordinator` started in the
job's workspace with the job's environment would be, runs it, and exits; each warm
coordinator serves one job only. The zygote's children (``danube.coordinator.zygote``)
do the same from ``run``, forked instead of started. While it waits, gRPC's core is
started (a channel that never dials: starting the core is most of the cost of a job's
first channel); the job's own channel is made for the job, in this process. End of input before a
job (the pool was closed) exits 0 at once, silently.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading

import grpc

from danube._client import CHANNEL_OPTIONS
from danube.coordinator._main import EXIT_INFRASTRUCTURE, main

# Never used for a call, so never connected: port 9 is the discard service's.
_IDLE_CHANNEL_TARGET = "127.0.0.1:9"


def receive() -> tuple[dict[str, str], str] | None:
    """The job's environment and workspace, or None when the pool closed instead."""
    line = sys.stdin.buffer.readline()
    if not line.strip():
        return None
    job = json.loads(line)
    return {str(k): str(v) for k, v in job["env"].items()}, str(job["cwd"])


def become(env: dict[str, str], cwd: str) -> None:
    """Take the job's environment and directory, as a cold start in it would have them;
    stdin is /dev/null from now on, as it is for a cold coordinator."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.path[0] = cwd  # `python -m` puts the directory it started in first


def run() -> int:
    _core = grpc.insecure_channel(_IDLE_CHANNEL_TARGET, options=CHANNEL_OPTIONS)
    try:
        job = receive()
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        print(f"danube: the warm coordinator got no valid job: {exc}", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    if job is None:
        return 0
    try:
        become(*job)
    except OSError as exc:
        print(f"danube: cannot enter the job's workspace: {exc.strerror}", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    return main([])


def leave(code: int) -> None:
    """Exit as an interpreter would (the pipeline's threads end first, its exit handlers
    run, output is flushed) but without tearing every module down, which is slow."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    leave(run())
