"""``danube run``: run the danubefile of a local git repository end to end on the embedded
default, print the live log, exit 0 on success and 1 otherwise."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

from adapters.git import GitError, resolve_ref
from api.bootstrap import Danube, build
from api.settings import Settings
from domain.cause import Cause
from domain.ids import job_id_for, new_run_id
from domain.runs.application import RunRequest

TERMINAL = {"success", "failure", "timeout", "cancelled"}
EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def run(args: argparse.Namespace, settings: Settings) -> int:
    from api.execution.embedded import start_execution
    from api.processes import Supervisor

    path = Path(args.path).resolve()
    try:
        commit, ref = resolve(path, args.ref)
    except (GitError, OSError) as error:
        print(
            f"danube run: {path} is not a git repository with {args.ref!r}: {error}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    danube = build(settings)
    supervisor = Supervisor()
    execution = start_execution(danube, supervisor, "127.0.0.1:0")
    try:
        return _run(danube, path, commit, ref, args)
    finally:
        supervisor.stop()
        execution.stop()
        danube.close()


def resolve(path: Path, ref: str) -> tuple[str, str]:
    """The commit ``ref`` names in the repository at ``path``, and the full ref name."""
    commit = resolve_ref(str(path), ref)
    full = ref
    if ref == "HEAD":
        head = subprocess.run(
            ["git", "-C", str(path), "symbolic-ref", "-q", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        full = head.stdout.strip() or "HEAD"
    elif not ref.startswith("refs/") and len(ref) != 40:
        full = f"refs/heads/{ref}"
    return commit, full


def _run(danube: Danube, path: Path, commit: str, ref: str, args: argparse.Namespace) -> int:
    run_id = new_run_id()
    pipeline = args.pipeline or path.name
    spec = {
        "script": args.script,
        "entrypoint": args.pipeline or "",
        "max_duration_seconds": args.timeout,
    }
    danube.runs.request_run(
        RunRequest(
            run_id=run_id,
            pipeline=pipeline,
            repository=str(path),
            ref=ref,
            commit_sha=commit,
            trigger={"type": "manual", "ref": ref},
            spec=spec,
        ),
        Cause(actor="cli:danube-run", trigger="manual"),
    )
    job_id = job_id_for(run_id, "main")
    print(
        f"danube: run {run_id} of {pipeline} at {commit[:12]} ({ref}); uncommitted "
        "changes are not part of it",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    try:
        state = follow(danube, job_id)
    except KeyboardInterrupt:
        danube.runs.cancel_run(run_id, Cause(actor="cli:danube-run", reason="interrupted"))
        follow(danube, job_id)
        return EXIT_INTERRUPTED
    job = danube.views.job(job_id)
    reason = f": {job.reason}" if job is not None and job.reason else ""
    print(f"danube: {state} in {time.monotonic() - started:.1f}s{reason}", file=sys.stderr)
    return 0 if state == "success" else EXIT_FAILED


def follow(danube: Danube, job_id: UUID) -> str:
    """Copy the job log to stdout as it grows; return the job's final state."""
    out, offset = sys.stdout.buffer, 0
    progress = danube.logs.progress(job_id)  # type: ignore[arg-type]
    views = danube.store.views.progress("runs")
    while True:
        generation, views_generation = progress.generation(), views.generation()
        job = danube.views.job(job_id)
        data = danube.logs.read_bytes(job_id.hex, offset, 1024 * 1024)
        if data:
            out.write(data)
            out.flush()
            offset += len(data)
            continue
        if job is not None and job.state in TERMINAL:
            return job.state
        if progress.wait(generation, 0.1) == generation:
            views.wait(views_generation, 0.1)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub = commands.add_parser(
        "run", help="run the danubefile of a local git repository and print its log"
    )
    sub.add_argument("path", nargs="?", default=".", help="the repository (default: .)")
    sub.add_argument("--ref", default="HEAD", help="branch, tag or commit (default: HEAD)")
    sub.add_argument("--pipeline", default="", help="which @pipeline to run, if several")
    sub.add_argument("--script", default="danubefile.py", help="the pipeline script")
    sub.add_argument("--timeout", type=int, default=3600, help="max_duration_seconds")
    sub.set_defaults(handler=run)
