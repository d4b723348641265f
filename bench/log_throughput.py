"""Log throughput figures (DESIGN.md §11) on the embedded default (SQLite, local executor):
a step printing ``seq 1000000`` (6.9 MB) through the whole log path (pipe → masker → log
store → live fan-out), with one live subscriber following the job's log, against
running ``seq`` directly into a pipe read by Python in the same run. Target: ≥ 50 MB/s
with the subscriber attached (issue 19: >= 50 MB/s). Prints one JSON object as its last line.

    python bench/log_throughput.py          # about 15 seconds
    python bench/log_throughput.py --full   # seq 10000000 (79 MB)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.bootstrap import Danube, build
from api.execution.embedded import start_execution
from api.processes import Supervisor
from api.settings import Settings
from domain.cause import Cause
from domain.ids import JobId, job_id_for, new_run_id
from domain.runs.application import RunRequest
from domain.runs.states import TERMINAL

FULL = "--full" in sys.argv
COUNT = 10_000_000 if FULL else 1_000_000
REPEATS = 5
MB = 1_000_000

PIPELINE = """
    import json, time
    from danube import pipeline, step

    @pipeline(name="bench")
    def logs() -> None:
        step.run("seq 1000", name="warm-up")
        runs = []
        for _ in range({repeats}):
            started = time.perf_counter()
            step.run("seq {count}", name="seq")
            runs.append([started, time.perf_counter()])
        with open({out!r}, "w") as out:
            json.dump(runs, out)
"""


def make_repo(path: Path, danubefile: str) -> str:
    path.mkdir(parents=True)
    (path / "danubefile.py").write_text(textwrap.dedent(danubefile))
    git = ["git", "-C", str(path), "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "bench"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return head.stdout.strip()


class Subscriber:
    """Follows the job's log in this process from offset 0, as a UI client would, and
    notes when each size was reached."""

    def __init__(self, danube: Danube, job_id: JobId) -> None:
        self.received = 0
        self.arrivals: list[tuple[float, int]] = []  # (perf_counter, bytes so far)
        self.stop = threading.Event()
        self._danube, self._job_id = danube, job_id
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()

    def _follow(self) -> None:
        for chunk in self._danube.logs.store.follow(self._job_id.hex, 0, self.stop):
            self.received += len(chunk.data)
            self.arrivals.append((time.perf_counter(), self.received))

    def end(self) -> None:
        self.stop.set()
        self._danube.logs.progress(self._job_id).announce()
        self.thread.join(30)

    def reached(self, size: int) -> float:
        return next(at for at, seen in self.arrivals if seen >= size)


def run_job(danube: Danube, repo: Path, commit: str) -> tuple[str, JobId, Subscriber]:
    run_id = new_run_id()
    job_id = job_id_for(run_id, "main")
    subscriber = Subscriber(danube, job_id)  # attached before any output exists
    danube.runs.request_run(
        RunRequest(
            run_id=run_id,
            pipeline="bench",
            repository=str(repo),
            ref="refs/heads/main",
            commit_sha=commit,
            trigger={"type": "manual"},
            spec={"max_duration_seconds": 600},
        ),
        Cause(actor="bench", trigger="manual"),
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        job = danube.views.job(job_id)
        if job is not None and job.state in TERMINAL:
            subscriber.end()
            return job.state, job_id, subscriber
        time.sleep(0.05)
    subscriber.end()
    return "did not finish", job_id, subscriber


def baseline(count: int) -> tuple[float, int]:
    """MB/s of ``seq`` into a pipe that Python reads, and the bytes it printed."""
    started = time.perf_counter()
    process = subprocess.Popen(["seq", str(count)], stdout=subprocess.PIPE)
    pipe = process.stdout
    assert pipe is not None
    size = sum(len(chunk) for chunk in iter(lambda: pipe.read1(65536), b""))
    process.wait()
    return size / MB / (time.perf_counter() - started), size


def figures(
    danube: Danube, job_id: JobId, subscriber: Subscriber, runs: list[Any]
) -> dict[str, list[Any]]:
    steps = [s for s in danube.views.steps(job_id) if s.name == "seq"]
    sizes = [danube.logs.store.step_size(job_id.hex, s.number) for s in steps]
    rates, seen, lags = [], [], []
    for (started, ended), step in zip(runs, steps, strict=True):
        size = (step.log_end or 0) - step.log_start
        last_byte = subscriber.reached(step.log_end or 0)  # perf_counter: one clock per host
        rates.append(size / MB / (ended - started))
        seen.append(size / MB / (max(ended, last_byte) - started))
        lags.append(last_byte - ended)
    return {"rates": rates, "seen": seen, "lags": lags, "sizes": sizes}


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="danube-bench-logs-"))
    out = tmp / "runs.json"
    commit = make_repo(tmp / "repo", PIPELINE.format(repeats=REPEATS, count=COUNT, out=str(out)))
    direct = [baseline(COUNT) for _ in range(REPEATS)]
    danube = build(Settings(data_dir=tmp / "data", log_level="error"))
    supervisor = Supervisor()
    execution = start_execution(danube, supervisor, "127.0.0.1:0")
    try:
        state, job_id, subscriber = run_job(danube, tmp / "repo", commit)
        runs = json.loads(out.read_text()) if out.exists() else []
        if state != "success" or not runs:
            print(json.dumps({"error": f"the benchmark job ended {state}"}))
            sys.exit(1)
        measured = figures(danube, job_id, subscriber, runs)
        log_size = danube.logs.store.size(job_id.hex)
    finally:
        supervisor.stop()
        execution.stop()
        danube.close()
    best_direct = max(rate for rate, _ in direct)
    rate = statistics.median(measured["rates"])
    result = {
        "baseline_seq_into_pipe_mb_per_s": round(best_direct, 1),
        "step_seq_mb_per_s_median": round(rate, 1),
        "step_seq_mb_per_s_runs": [round(r, 1) for r in measured["rates"]],
        "ratio_step_vs_direct": round(rate / best_direct, 3),
        "step_and_subscriber_mb_per_s_median": round(statistics.median(measured["seen"]), 1),
        # < 0: the subscriber had the step's last byte before step.run returned
        "subscriber_last_byte_after_step_returned_ms_max": round(max(measured["lags"]) * 1000, 1),
        "subscriber_received_whole_log": subscriber.received == log_size,
        "output_kept_as_printed": all(size == direct[0][1] for size in measured["sizes"]),
        "output_bytes": direct[0][1],
        "count": COUNT,
        "repeats": REPEATS,
        "store": "sqlite",
        "subscribers": 1,
        "targets": {"step_seq_mb_per_s_median": ">= 50"},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
