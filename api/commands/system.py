"""``danube drain [--wait] [--timeout SECONDS] [--force]``, ``danube undrain`` and
``danube status``.

Exit status of ``drain``: 0 when draining and (with ``--wait``) no job runs any more; 1
when jobs still run at the timeout (without ``--force``) or after their cancellation."""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Sequence
from typing import Any

from api.bootstrap import Core, build_core
from api.commands.errors import EXIT_FAILED, EXIT_USAGE, CommandError
from api.settings import Settings
from domain.cause import Cause
from domain.execution.ports import ActiveJob
from domain.system.draining import DrainDeadline
from projections.runs_view import JobView

FORCE_GRACE = 60.0  # after --force: how long to wait for the cancelled jobs to end


def drain(args: argparse.Namespace, settings: Settings) -> int:
    if args.timeout is not None and args.timeout < 0:
        raise CommandError(f"--timeout must be 0 or more seconds, got {args.timeout:g}", EXIT_USAGE)
    danube = build_core(settings)  # opens no secret: no master key
    try:
        danube.system.start_draining(Cause(actor=_actor(), reason="danube drain"))
        print("draining: no new jobs start; running jobs finish", flush=True)
        if not (args.wait or args.force or args.timeout is not None):
            return 0
        return _wait_and_force(danube, args)
    finally:
        danube.close()


def _wait_and_force(danube: Core, args: argparse.Namespace) -> int:
    """``--wait`` until no job runs (or ``--timeout``); ``--force`` then cancels the rest."""
    deadline = DrainDeadline(danube.system, danube.runs, danube.views)
    timeout = args.timeout if args.timeout is not None else (0.0 if args.force else None)
    remaining = deadline.wait(timeout, _report)
    if not remaining:
        return 0
    if not args.force:
        print(f"timeout: {_jobs(remaining)} still running after {timeout:g}s", flush=True)
        return EXIT_FAILED
    why = f"still running {timeout:g}s after danube drain --force"
    cancelled = deadline.force(remaining, why)
    print(f"cancelling {_jobs(cancelled)} (cause: the drain)", flush=True)
    if deadline.wait(FORCE_GRACE, _report):
        print(f"still running {FORCE_GRACE:g}s after their cancellation", flush=True)
        return EXIT_FAILED
    return 0


def _report(active: Sequence[ActiveJob]) -> None:
    if not active:
        print("no job is running: Danube can be stopped", flush=True)
        return
    print(f"waiting for {_jobs(active)}:", flush=True)
    for job in active:
        print(f"  {job.id} {job.pipeline} {job.state} since {job.started_at or '-'}", flush=True)


def _jobs(jobs: Sequence[ActiveJob]) -> str:
    return f"{len(jobs)} job{'' if len(jobs) == 1 else 's'}"


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def undrain(args: argparse.Namespace, settings: Settings) -> int:
    danube = build_core(settings)  # opens no secret: no master key
    try:
        danube.system.stop_draining(Cause(actor=_actor(), reason="danube undrain"))
    finally:
        danube.close()
    print("not draining: queued jobs start again")
    return 0


def status(args: argparse.Namespace, settings: Settings) -> int:
    danube = build_core(settings)  # opens no secret: no master key
    try:
        views = danube.views
        report = {
            "draining": danube.system.is_draining(),
            "drain": _drain(danube),
            "event_store": {"kind": settings.event_store, "position": danube.store.log.position()},
            "read_models": {
                p.name: danube.store.views.position(p.name) for p in danube.projections
            },
            "jobs": {"active": len(views.active_jobs()), "queued": len(views.queued_jobs())},
            "running_jobs": [_job(job) for job in views.active_jobs()],
            "queued_jobs": [_job(job) for job in views.queued_jobs()],
            "config": _config(danube, settings),
        }
    finally:
        danube.close()
    print(json.dumps(report, indent=2))
    return 0


def _drain(danube: Core) -> dict[str, str] | None:
    system = danube.system.get()
    if not system.draining:
        return None
    since = system.drain_since.isoformat() if system.drain_since else ""
    return {"since": since, "by": system.drain_cause.get("actor", "")}


def _job(job: JobView) -> dict[str, Any]:
    return {
        "id": job.id,
        "run_id": job.run_id,
        "pipeline": job.pipeline,
        "state": job.state,
        "requested_at": job.requested_at,
        "started_at": job.started_at,
    }


def _config(danube: Core, settings: Settings) -> dict[str, Any]:
    state = danube.config_view.state() or {}
    return {
        "repository": settings.config_repo_url or None,
        "commit": state.get("commit_sha"),
        "synced_at": state.get("accepted_at"),
        "last_rejection": None if not state.get("rejected_commit") else {
            "commit": state["rejected_commit"], "at": state["rejected_at"],
            "errors": state["errors"]},
        "fetch_problem": state.get("fetch_problem") or None,
        "fetch_problem_at": (state.get("fetch_problem") and state.get("fetch_problem_at")) or None,
    }  # fmt: skip


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    drain_ = commands.add_parser("drain", help="stop starting new jobs; running ones finish")
    drain_.add_argument(
        "--wait", action="store_true", help="report running jobs until none is left"
    )
    drain_.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="wait at most SECONDS (implies --wait)"
    )
    drain_.add_argument(
        "--force", action="store_true", help="cancel the jobs still running after the timeout"
    )
    drain_.set_defaults(handler=drain)
    commands.add_parser("undrain", help="start queued jobs again").set_defaults(handler=undrain)
    commands.add_parser("status", help="what Danube is doing, as JSON").set_defaults(handler=status)
