"""The double in a process of its own, as an API server is: a bench measures the
system it drives without the double's work (spawning containers, serving watches,
logs and exec) competing with that system for one interpreter's lock.

    python -m tests.k8s_double.standalone --base-dir DIR --kubeconfig PATH \\
        [--token T] [--namespace NS ...]

starts an auto-kubelet double, writes the kubeconfig, samples its event loop's lag and
prints ``ready``; then answers commands read from stdin, one a line, with one JSON
line each:

* ``report``: ``{"pod_creates": {name: epoch seconds}, "loop_lag": [seconds, ...]}``
  (when each pod's create call was received, answered 201; the lags sampled since the
  last report);
* ``hold`` / ``release``: the kubelet leaves new pods Pending / runs every pod (its
  auto mode off / on), answering ``{}``;
* ``close`` (or the end of stdin): kills every pod's processes and exits.

``StandaloneDouble`` starts one and talks to it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from .double import KubernetesDouble

LAG_EVERY = 0.005


class LagSampler:
    """How long work handed to the double's event loop waits to run, every 5 ms."""

    def __init__(self, double: KubernetesDouble) -> None:
        self._loop = double._p.loop.loop
        self._lock = threading.Lock()
        self._lags: list[float] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="lag-sampler", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(LAG_EVERY):
            ran = threading.Event()
            asked = time.monotonic()
            self._loop.call_soon_threadsafe(ran.set)
            if ran.wait(10):
                with self._lock:
                    self._lags.append(time.monotonic() - asked)

    def take(self) -> list[float]:
        with self._lock:
            lags, self._lags = self._lags, []
        return lags

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def pod_creates(double: KubernetesDouble) -> dict[str, float]:
    """When the double received each pod's create call that it answered 201 (by name)."""
    return {
        r.body["metadata"]["name"]: r.at
        for r in double.requests_matching(verb="create", resource="pods")
        if r.status == 201
    }


def serve(args: argparse.Namespace, commands: IO[str], answers: IO[str]) -> None:
    double = KubernetesDouble(token=args.token, auto=True, base_dir=Path(args.base_dir))
    sampler: LagSampler | None = None
    try:
        for namespace in args.namespace:
            double.create_namespace(namespace)
        double.write_kubeconfig(args.kubeconfig)
        sampler = LagSampler(double)
        print("ready", file=answers, flush=True)
        for line in commands:
            command = line.strip()
            if command == "close":
                break
            if command == "report":
                report = {"pod_creates": pod_creates(double), "loop_lag": sampler.take()}
                print(json.dumps(report), file=answers, flush=True)
            elif command in ("hold", "release"):
                double.kubelet.auto = command == "release"
                print("{}", file=answers, flush=True)
    finally:
        if sampler is not None:
            sampler.stop()
        double.close()


class StandaloneDouble:
    """A double in a child process (see the module's docstring)."""

    def __init__(
        self,
        base_dir: Path,
        kubeconfig: Path,
        *,
        token: str | None = None,
        namespaces: tuple[str, ...] = (),
    ) -> None:
        self.kubeconfig = kubeconfig
        argv = [sys.executable, "-m", "tests.k8s_double.standalone"]
        argv += ["--base-dir", str(base_dir), "--kubeconfig", str(kubeconfig)]
        if token is not None:
            argv += ["--token", token]
        for namespace in namespaces:
            argv += ["--namespace", namespace]
        root = Path(__file__).resolve().parent.parent.parent
        self._proc = subprocess.Popen(
            argv, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        if line != "ready":
            self.close()
            raise RuntimeError(f"the standalone double did not start: {line!r}")

    def report(self) -> dict[str, Any]:
        return self._ask("report")

    def hold(self) -> None:
        """New pods stay Pending until ``release``."""
        self._ask("hold")

    def release(self) -> None:
        self._ask("release")

    def _ask(self, command: str) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self._proc.stdout.readline())
        return answer

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.write("close\n")
                self._proc.stdin.close()
                self._proc.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> StandaloneDouble:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-dir", required=True)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--token")
    parser.add_argument("--namespace", action="append", default=[])
    serve(parser.parse_args(), sys.stdin, sys.stdout)


if __name__ == "__main__":
    main()
