"""Event store figures (DESIGN.md §11): append latency, concurrent writers, projection
catch-up, live lag (a follower in this process, and one in another process woken by
LISTEN/NOTIFY as in production) and full replay, against a raw psycopg INSERT+COMMIT
baseline (a regular, WAL-logged table) measured in the same run on the same PostgreSQL.
Prints one JSON object as its last line, with ``targets_met``.

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
from dataclasses import replace
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
    """Raw psycopg, one writer: one autocommit INSERT of one event-sized row per commit
    (one round trip, one WAL flush), into a regular table shaped like the events table in
    a schema of its own: what the event store's writes are measured against."""
    schema = f"bench_raw_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            conn.execute(
                f'CREATE TABLE "{schema}".raw_events (notification_id bigserial, '
                "originator_id uuid NOT NULL, originator_version integer NOT NULL, "
                "topic text NOT NULL, state bytea NOT NULL, "
                "PRIMARY KEY (originator_id, originator_version))"
            )
            insert = (
                f'INSERT INTO "{schema}".raw_events '
                "(originator_id, originator_version, topic, state) VALUES (%s, 1, %s, %s)"
            )
            count, deadline = 0, time.perf_counter() + seconds
            started = time.perf_counter()
            while time.perf_counter() < deadline:
                conn.execute(insert, (uuid.uuid4(), "danube:Run.Requested", b"x" * 300))
                count += 1
            return count / (time.perf_counter() - started)
        finally:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def server_durability() -> dict[str, str]:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        return {
            name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in ("fsync", "synchronous_commit", "wal_sync_method")
        }


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
    """Save to read model, a follower in this process (woken on commit)."""
    projection = RunsProjection()
    stop = threading.Event()
    follower = threading.Thread(target=store.projector(projection).follow, args=(stop,))
    follower.start()
    progress = store.views.progress(projection.name)
    # Measure following, not the catch-up of what the writer benchmarks left behind.
    progress.wait_for_position(store.log.position(), timeout=120)
    try:
        return _lags(store, progress, seconds)
    finally:
        stop.set()
        follower.join()


def _lags(store: SqlStore, progress: Any, seconds: float) -> dict[str, float]:
    lags: list[float] = []
    missed = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        recordings = store.log.save(new_run(1))
        saved = time.perf_counter()
        if not progress.wait_for_position(recordings[-1].notification.id, timeout=5):
            missed += 1
        lags.append(time.perf_counter() - saved)
        time.sleep(0.005)
    return {
        "p50_ms": ms(statistics.median(lags)),
        "p99_ms": ms(percentile(lags, 0.99)),
        "samples": len(lags),
        "not_seen_within_5s": missed,
    }


def _follower_process(config: StoreConfig, ready: Any, stop: Any) -> None:
    """A projector process as ``danube projector`` runs it: woken by LISTEN/NOTIFY."""
    store = SqlStore(config)
    store.start_listening()
    stopping = threading.Event()
    follower = threading.Thread(
        target=store.projector(RunsProjection()).follow, args=(stopping,), daemon=True
    )
    follower.start()
    ready.set()
    stop.wait()
    stopping.set()
    store.commits.announce()
    follower.join(10)
    store.close()


def cross_process_live_lag(store: SqlStore, seconds: float) -> dict[str, float]:
    """Save here, fold in another process (woken by NOTIFY on the events table), seen
    here through the view's NOTIFY: what read-your-writes across processes costs."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    ready, stop = context.Event(), context.Event()
    config = replace(store.config, create_tables=False)
    worker = context.Process(target=_follower_process, args=(config, ready, stop))
    worker.start()
    try:
        store.start_listening()
        assert store.listener is not None
        store.listener.connected.wait(30)
        ready.wait(60)
        progress = store.views.progress(RunsProjection.name)
        position = store.log.position()
        while not progress.wait_for_position(position, timeout=1):
            if store.views.position(RunsProjection.name) >= position:
                break
        return _lags(store, progress, seconds)
    finally:
        stop.set()
        worker.join(30)


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
    raw_before = baseline_raw_commits(3.0)
    results["baseline"] = (
        "raw psycopg, 1 writer, one autocommit INSERT of a 300-byte event row per commit, "
        "regular (WAL-logged) table; measured before and right after the writers, the "
        "higher of the two is the baseline (the machine is shared and noisy)"
    )
    results["pg_durability"] = server_durability()

    store, schema = open_store("postgres")
    try:
        results["pg_append_1_event"] = append_latency(store, 1, 500)
        results["pg_append_8_events"] = append_latency(store, 8, 500)
        one = writers(store, 1, 5.0)
        eight = writers(store, 8, 5.0)
        raw_after = baseline_raw_commits(3.0)
        raw = max(raw_before, raw_after)
        results["baseline_raw_pg_insert_commit_per_s"] = round(raw)
        results["baseline_raw_samples_per_s"] = [round(raw_before), round(raw_after)]
        results["pg_saves_per_s_1_writer"] = round(one)
        results["pg_saves_per_s_8_writers"] = round(eight)
        results["ratio_8_writers_vs_raw_single_writer"] = round(eight / raw, 2)
        spread = writer_processes(store.config, 2, 4, 5.0)
        results["pg_saves_per_s_8_writers_in_2_processes"] = round(spread)
        results["ratio_8_writers_in_2_processes_vs_raw_single_writer"] = round(spread / raw, 2)
        results["pg_live_lag"] = live_lag(store, 10.0)
        results["pg_live_lag_cross_process"] = cross_process_live_lag(store, 10.0)
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
        "pg_live_lag_cross_process_p99_ms": "<= 25",
        "ratio_8_writers_vs_raw_single_writer": ">= 1.0",
    }
    results["targets_met"] = {
        "pg_catch_up_events_per_s": results["postgres_catch_up_events_per_s"] >= 10_000,
        "pg_live_lag_p99_ms": results["pg_live_lag"]["p99_ms"] <= 25,
        "pg_live_lag_cross_process_p99_ms": results["pg_live_lag_cross_process"]["p99_ms"] <= 25,
        "ratio_8_writers_vs_raw_single_writer": results["ratio_8_writers_vs_raw_single_writer"]
        >= 1.0,
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
