"""Event store figures (DESIGN.md §11): append latency, concurrent writers, projection
catch-up, live lag and full replay, against a raw psycopg INSERT+COMMIT baseline measured
in the same run on the same PostgreSQL. Prints one JSON object as its last line.

    python bench/event_store.py          # about two minutes
    python bench/event_store.py --full   # larger sizes
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from adapters.sql.replay import replay
from adapters.sql.store import SqlStore, StoreConfig
from domain.cause import Cause
from domain.ids import job_id_for, new_run_id
from domain.runs.aggregates import Run
from domain.runs.states import JobState, StepState
from projections.runs import RunsProjection

PG_URL = os.environ.get("DANUBE_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
FULL = "--full" in sys.argv
CAUSE = Cause(actor="bench")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def new_run(events: int = 1) -> Run:
    """A run whose pending events number ``events`` (1, or 10 for a typical run)."""
    run_id = new_run_id()
    job = job_id_for(run_id, "main")
    run = Run.request(
        run_id,
        pipeline=f"p{run_id.int % 8}",
        repository="r",
        ref="refs/heads/main",
        commit_sha="a" * 40,
        trigger={"type": "push"},
        spec={},
        jobs=[(job, "main")],
        cause=CAUSE,
    )
    if events > 1:
        run.schedule_job(job, CAUSE)
        run.start_job(job, CAUSE)
        number = 0
        while len(run._pending_events) < events - 1:
            number += 1
            run.start_step(job, number, name=f"s{number}", command="make", log_offset=number)
            if len(run._pending_events) < events - 1:
                run.finish_step(
                    job, number, state=StepState.SUCCESS, exit_code=0, log_offset=number + 1
                )
        run.finish_job(job, JobState.SUCCESS, "", CAUSE)
    return run


def baseline_raw_commits(seconds: float) -> float:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE bench_raw (id bigserial primary key, state bytea)")
        count, deadline = 0, time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < deadline:
            with conn.transaction():
                conn.execute("INSERT INTO bench_raw (state) VALUES (%s)", (b"x" * 300,))
            count += 1
        return count / (time.perf_counter() - started)


def append_latency(store: SqlStore, events: int, count: int) -> dict[str, float]:
    samples = []
    for _ in range(count):
        run = new_run(events)
        started = time.perf_counter()
        store.log.save(run)
        samples.append(time.perf_counter() - started)
    return {"p50_ms": ms(statistics.median(samples)), "p99_ms": ms(percentile(samples, 0.99))}


def writers(store: SqlStore, threads: int, seconds: float) -> float:
    """Saves per second by ``threads`` concurrent writers appending prepared one-event
    runs (the aggregate is built before the clock starts: this measures the store)."""
    per_thread = int(seconds * 8000 / threads) + 100
    prepared = [[new_run(1) for _ in range(per_thread)] for _ in range(threads)]
    counts = [0] * threads
    stop = threading.Event()

    def write(i: int) -> None:
        for run in prepared[i]:
            if stop.is_set():
                return
            store.log.save(run)
            counts[i] += 1

    pool = [threading.Thread(target=write, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def _writer_process(config: StoreConfig, threads: int, seconds: float, queue: Any) -> None:
    store = SqlStore(config)
    queue.put(writers(store, threads, seconds))
    store.close()


def writer_processes(config: StoreConfig, processes: int, threads: int, seconds: float) -> float:
    """``processes`` times ``threads`` writers: group commit batches within each process; the
    table lock orders the processes' batches."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [
        context.Process(target=_writer_process, args=(config, threads, seconds, queue))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    rates = [queue.get(timeout=seconds + 60) for _ in workers]
    for worker in workers:
        worker.join()
    return sum(rates)


def bulk_load(store: SqlStore, events: int) -> None:
    """Realistic runs (10 events each) written 50 runs per save."""
    written = 0
    while written < events:
        batch = [new_run(10) for _ in range(50)]
        store.log.save(*batch)
        written += 500


def catch_up(store: SqlStore) -> tuple[float, int]:
    projector = store.projector(RunsProjection(), batch_size=1000)
    projector.start()
    started = time.perf_counter()
    count = projector.catch_up()
    return count / (time.perf_counter() - started), count


def live_lag(store: SqlStore, seconds: float) -> dict[str, float]:
    projection = RunsProjection()
    stop = threading.Event()
    follower = threading.Thread(target=store.projector(projection).follow, args=(stop,))
    follower.start()
    progress = store.views.progress(projection.name)
    # Measure following, not the catch-up of what the writer benchmarks left behind.
    progress.wait_for_position(store.log.position(), timeout=120)
    lags: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        recordings = store.log.save(new_run(1))
        saved = time.perf_counter()
        progress.wait_for_position(recordings[-1].notification.id, timeout=5)
        lags.append(time.perf_counter() - saved)
        time.sleep(0.005)
    stop.set()
    follower.join()
    return {
        "p50_ms": ms(statistics.median(lags)),
        "p99_ms": ms(percentile(lags, 0.99)),
        "samples": len(lags),
    }


def open_store(kind: str) -> tuple[SqlStore, Any]:
    if kind == "sqlite":
        directory = tempfile.mkdtemp(prefix="danube-bench-")
        return SqlStore(StoreConfig(kind="sqlite", data_dir=Path(directory))), None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    return SqlStore(
        StoreConfig(kind="postgres", database_url=PG_URL, schema=schema, pool_size=10)
    ), schema


def drop(schema: str | None) -> None:
    if schema:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    results: dict[str, Any] = {}
    raw = baseline_raw_commits(3.0)
    results["baseline_raw_pg_insert_commit_per_s"] = round(raw)

    store, schema = open_store("postgres")
    try:
        results["pg_append_1_event"] = append_latency(store, 1, 500)
        results["pg_append_8_events"] = append_latency(store, 8, 500)
        one = writers(store, 1, 5.0)
        eight = writers(store, 8, 5.0)
        results["pg_saves_per_s_1_writer"] = round(one)
        results["pg_saves_per_s_8_writers"] = round(eight)
        results["ratio_8_writers_vs_raw_single_writer"] = round(eight / raw, 2)
        spread = writer_processes(store.config, 2, 4, 5.0)
        results["pg_saves_per_s_8_writers_in_2_processes"] = round(spread)
        results["ratio_8_writers_in_2_processes_vs_raw_single_writer"] = round(spread / raw, 2)
        results["pg_live_lag"] = live_lag(store, 10.0)
    finally:
        store.close()
        drop(schema)

    size = 100_000
    for kind in ("postgres", "sqlite"):
        store, schema = open_store(kind)
        try:
            bulk_load(store, size)
            rate, count = catch_up(store)
            results[f"{kind}_catch_up_events_per_s"] = round(rate)
            started = time.perf_counter()
            result = replay(store.feed, store.views, RunsProjection(), check=True)
            results[f"{kind}_replay_{count}_events_s"] = round(time.perf_counter() - started, 2)
            results[f"{kind}_replay_matches"] = result.matches
        finally:
            store.close()
            drop(schema)
    results["targets"] = {
        "pg_catch_up_events_per_s": ">= 10000",
        "pg_live_lag_p99_ms": "<= 25",
        "ratio_8_writers_vs_raw_single_writer": ">= 1.0",
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
