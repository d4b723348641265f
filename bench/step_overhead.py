"""Step overhead figures (DESIGN.md §11) on the embedded default (SQLite, local executor):
median and p90 of ``step.run("true")`` timed in the pipeline, through the whole path
(SDK → gRPC → Step started event → reconciler → executor → Step finished event →
reply), against ``sh -c true`` spawned directly from Python in the same run. Target:
median overhead ≤ 5 ms (issue 19). The headline figures come from jobs of ``STEPS_PER_JOB`` steps;
one long job shows how the cost of a step grows with the steps before it in its job.
Prints one JSON object as its last line.

    python bench/step_overhead.py          # about 30 seconds
    python bench/step_overhead.py --full   # more jobs, and a job of 2000 steps
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.bootstrap import Danube, build
from api.execution.embedded import start_execution
from api.processes import Supervisor
from api.settings import Settings
from domain.cause import Cause
from domain.ids import job_id_for, new_run_id
from domain.runs.application import RunRequest
from domain.runs.states import TERMINAL

FULL = "--full" in sys.argv
JOBS = 20 if FULL else 6
STEPS_PER_JOB = 50
LONG_JOB_STEPS = 2000 if FULL else 500
WARMUP = 5

PIPELINE = """
    import json, time
    from danube import pipeline, step

    @pipeline(name="bench")
    def steps() -> None:
        for _ in range({warmup}):
            step.run("true")
        times = []
        for _ in range({steps}):
            started = time.perf_counter()
            step.run("true")
            times.append(time.perf_counter() - started)
        with open({out!r}, "w") as out:
            json.dump(times, out)
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def make_repo(path: Path, danubefile: str) -> str:
    path.mkdir(parents=True)
    (path / "danubefile.py").write_text(textwrap.dedent(danubefile))
    git = ["git", "-C", str(path), "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "bench"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return head.stdout.strip()


def run_job(danube: Danube, repo: Path, commit: str, timeout: float) -> str:
    run_id = new_run_id()
    danube.runs.request_run(
        RunRequest(
            run_id=run_id,
            pipeline="bench",
            repository=str(repo),
            ref="refs/heads/main",
            commit_sha=commit,
            trigger={"type": "manual"},
            spec={"max_duration_seconds": int(timeout)},
        ),
        Cause(actor="bench", trigger="manual"),
    )
    job_id = job_id_for(run_id, "main")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = danube.views.job(job_id)
        if job is not None and job.state in TERMINAL:
            return job.state
        time.sleep(0.05)
    return "did not finish"


def baseline(count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        subprocess.run(["/bin/sh", "-c", "true"], check=True)
        times.append(time.perf_counter() - started)
    return times


def figures(name: str, times: list[float]) -> dict[str, Any]:
    return {
        f"{name}_median_ms": ms(statistics.median(times)),
        f"{name}_p90_ms": ms(percentile(times, 0.9)),
    }


def run_jobs(steps: int, jobs: int) -> list[list[float]]:
    """Each job's step times, measured in its pipeline, on one embedded Danube."""
    tmp = Path(tempfile.mkdtemp(prefix="danube-bench-steps-"))
    out = tmp / "times.json"
    commit = make_repo(tmp / "repo", PIPELINE.format(warmup=WARMUP, steps=steps, out=str(out)))
    danube = build(Settings(data_dir=tmp / "data", log_level="error"))
    supervisor = Supervisor()
    execution = start_execution(danube, supervisor, "127.0.0.1:0")
    times = []
    try:
        for _ in range(jobs):
            state = run_job(danube, tmp / "repo", commit, timeout=900)
            if state != "success":
                print(json.dumps({"error": f"the benchmark job ended {state}"}))
                sys.exit(1)
            times.append(json.loads(out.read_text()))
    finally:
        danube.stop()
        supervisor.stop_workers()
        execution.stop()
        supervisor.stop_followers()
        danube.close()
    return times


def main() -> None:
    direct = baseline(JOBS * STEPS_PER_JOB)
    steps = [t for job in run_jobs(STEPS_PER_JOB, JOBS) for t in job]
    (long_job,) = run_jobs(LONG_JOB_STEPS, 1)
    tenth = len(long_job) // 10
    overhead = statistics.median(steps) - statistics.median(direct)
    result = {
        **figures("baseline_sh_c_true", direct),
        **figures("step_run_true", steps),
        "median_overhead_ms": ms(overhead),
        "p90_overhead_ms": ms(percentile(steps, 0.9) - percentile(direct, 0.9)),
        "ratio_step_vs_sh_median": round(statistics.median(steps) / statistics.median(direct), 2),
        "jobs": JOBS,
        "steps_per_job": STEPS_PER_JOB,
        f"long_job_first_{tenth}_steps_median_ms": ms(statistics.median(long_job[:tenth])),
        f"long_job_last_{tenth}_steps_median_ms": ms(statistics.median(long_job[-tenth:])),
        "long_job_steps": LONG_JOB_STEPS + WARMUP,
        "store": "sqlite",
        "executor": "local",
        "targets": {"median_overhead_ms": "<= 5"},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
