"""``danube run``: run the danubefile of a local git repository end to end on the embedded
default and print the live log. See ``HELP`` for what it promises."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from api.bootstrap import Danube, build
from api.commands.danubefile import declared_pipelines
from api.commands.errors import EXIT_FAILED, CommandError
from api.commands.follow import JobFollower
from api.commands.interrupts import Interrupts
from api.commands.local_repo import Checkout, committed
from api.settings import Settings
from domain.cause import Cause
from domain.ids import RunId, job_id_for, new_run_id
from domain.runs.application import RunRequest
from domain.runs.errors import RunsError
from domain.triggers.manual import DrainingError

CAUSE = Cause(actor="cli:danube-run", trigger="manual")
CANCEL_DEADLINE_SECONDS = 60.0  # the job's processes get SIGTERM, then SIGKILL after 5 s
HELP = """\
Runs the committed danubefile at REF (uncommitted changes are not part of it) with the
local executor, prints the job's log live with a header per step, and ends with the
outcome on stderr.

The pipeline's name (what `danube secret set --pipeline NAME` scopes secrets to) is
--pipeline if given, else the name in the danubefile's @pipeline(name=...) when it
declares exactly one, else the repository directory's name.

The gRPC JobService the job's coordinator calls listens on 127.0.0.1 on a free port for
this run only; DANUBE_GRPC_ADDRESS (for `danube up` and `danube server`) is not used.

Ctrl-C or SIGTERM cancels the job, waits until its processes have ended and its
workspace is removed, and exits 130 (SIGINT) or 143 (SIGTERM). A second signal stops
waiting for the job's final state; its processes are still ended.

Exit status: 0 success; 1 the job failed, timed out or was cancelled, or Danube refused
the run (draining, an unsafe master key); 2 the request makes no sense here (not a git
repository, unknown ref, no danubefile at the ref, bad settings); 3 the event store
cannot be used (e.g. its database is unreachable); 130 / 143 interrupted."""


def run(args: argparse.Namespace, settings: Settings) -> int:
    from api.execution.embedded import start_execution
    from api.processes import Supervisor

    path = Path(args.path).resolve()
    checkout = committed(path, args.ref, args.script)
    pipeline, entrypoint = _pipeline(args, checkout, path)
    with Interrupts() as interrupts:
        danube = build(settings)
        supervisor = Supervisor()
        execution = None
        try:
            execution = start_execution(danube, supervisor, "127.0.0.1:0")
            return _run(danube, path, checkout, (pipeline, entrypoint), args, interrupts)
        finally:  # in the order of api.processes: nothing is asked of a stopped part
            danube.stop()
            supervisor.stop_workers()
            if execution is not None:
                execution.stop()  # ends whatever still runs and removes its workspace
            supervisor.stop_followers()
            danube.close()


def _pipeline(args: argparse.Namespace, checkout: Checkout, path: Path) -> tuple[str, str]:
    """The run's pipeline name and the ``@pipeline`` the coordinator is told to run
    ("": the only one): --pipeline, else the only ``@pipeline`` the danubefile declares,
    else the directory's name. Refused at once when the danubefile shows it is wrong."""
    declared = declared_pipelines(checkout.script)
    names = ", ".join(repr(name) for name in declared or [])
    if args.pipeline:
        if declared and args.pipeline not in declared:
            raise CommandError(f"{args.script} declares no pipeline {args.pipeline!r}: {names}")
        return str(args.pipeline), str(args.pipeline)
    if declared is not None and len(declared) > 1:
        raise CommandError(f"{args.script} declares several pipelines ({names}); use --pipeline")
    if declared:
        return declared[0], declared[0]
    return path.name, ""


def _run(
    danube: Danube,
    path: Path,
    checkout: Checkout,
    names: tuple[str, str],
    args: argparse.Namespace,
    interrupts: Interrupts,
) -> int:
    if interrupts.count:  # before anything was asked for: nothing to cancel
        return interrupts.exit_code
    run_id = _request(danube, path, checkout, names, args)
    pipeline = names[0]
    job_id = job_id_for(run_id, "main")
    print(
        f"danube: run {run_id} of {pipeline} at {checkout.commit[:12]} ({checkout.ref}); "
        "uncommitted changes are not part of it",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    follower = JobFollower(danube.logs, danube.views, danube.store.views.progress("runs"), job_id)
    state = follower.follow(stop=lambda: interrupts.count > 0)
    if state is None:
        return _cancel(danube, run_id, follower, interrupts)
    job = danube.views.job(job_id)
    reason = f": {job.reason}" if job is not None and job.reason else ""
    print(f"danube: {state} in {time.monotonic() - started:.1f}s{reason}", file=sys.stderr)
    return 0 if state == "success" else EXIT_FAILED


def _request(
    danube: Danube,
    path: Path,
    checkout: Checkout,
    names: tuple[str, str],
    args: argparse.Namespace,
) -> RunId:
    pipeline, entrypoint = names
    request = RunRequest(
        run_id=new_run_id(),
        pipeline=pipeline,
        repository=str(path),
        ref=checkout.ref,
        commit_sha=checkout.commit,
        trigger={"type": "manual", "ref": checkout.ref},
        spec={
            "script": args.script,
            "entrypoint": entrypoint,
            "max_duration_seconds": args.timeout,
        },
    )
    try:
        return danube.triggers.request(request, CAUSE)
    except DrainingError as error:
        raise CommandError(f"{error} (danube undrain lets runs start again)", EXIT_FAILED) from None


def _cancel(danube: Danube, run_id: RunId, follower: JobFollower, interrupts: Interrupts) -> int:
    """Cancel the run and keep copying its log until the job has ended."""
    name = interrupts.first.name if interrupts.first is not None else "a signal"
    print(f"danube: {name}: cancelling; waiting for the job's processes to end", file=sys.stderr)
    with contextlib.suppress(RunsError):  # it ended meanwhile: nothing left to cancel
        danube.runs.cancel_run(run_id, Cause(actor="cli:danube-run", reason=f"{name} received"))
    deadline = time.monotonic() + CANCEL_DEADLINE_SECONDS
    state = follower.follow(stop=lambda: interrupts.count > 1 or time.monotonic() > deadline)
    print(f"danube: interrupted; the job is {state or 'being ended'}", file=sys.stderr)
    return interrupts.exit_code


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub = commands.add_parser(
        "run",
        help="run the danubefile of a local git repository and print its log",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub.add_argument("path", nargs="?", default=".", help="the repository (default: .)")
    sub.add_argument("--ref", default="HEAD", help="branch, tag or commit (default: HEAD)")
    sub.add_argument(
        "--pipeline",
        default="",
        help="which @pipeline to run and the run's pipeline name (default: the only "
        "@pipeline's name, else the directory's name)",
    )
    sub.add_argument("--script", default="danubefile.py", help="the pipeline script")
    sub.add_argument("--timeout", type=int, default=3600, help="max_duration_seconds")
    sub.set_defaults(handler=run)
