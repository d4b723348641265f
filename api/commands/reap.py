"""``danube reap [--dry-run]``: one pass of the reaper now, with what it removed (or, in
a dry run, would remove) and the bytes freed by kind. Exit status 1 when some part could
not be reaped (each problem is printed); what could be was."""

from __future__ import annotations

import argparse
import getpass

from api.bootstrap import build_scheduler
from api.commands.errors import EXIT_FAILED
from api.retention import build_reaper, retention_days
from api.settings import Settings
from domain.cause import Cause
from domain.retention.reaper import ReapReport

KINDS = {"logs": "log of job", "artifacts": "artifacts of job", "registry_images": "image"}


def reap(args: argparse.Namespace, settings: Settings) -> int:
    danube = build_scheduler(settings)  # the reaper's role: no master key
    try:
        days = retention_days(danube.config)
        cause = Cause(actor=f"cli:{getpass.getuser()}", reason="danube reap")
        report = build_reaper(danube, danube.artifacts).reap(days, cause, dry_run=args.dry_run)
    finally:
        danube.close()
    print(
        f"retention: logs {days.logs_days} days, artifacts {days.artifacts_days} days, "
        f"registry images {days.registry_images_days} days"
        + ("" if settings.registry_url else " (no registry configured)")
    )
    _print(report)
    return EXIT_FAILED if report.errors else 0


def _print(report: ReapReport) -> None:
    verb = "would remove" if report.dry_run else "removed"
    for removal in report.removals:
        print(f"{verb} {KINDS[removal.kind]} {removal.what} ({removal.detail}): "
              f"{_bytes(removal.size)}")  # fmt: skip
    for problem in report.errors:
        print(f"problem: {problem}")
    freed = report.freed()
    parts = ", ".join(f"{kind} {_bytes(size)}" for kind, size in freed.items())
    total = _bytes(sum(freed.values()))
    print(f"{'would free' if report.dry_run else 'freed'}: {parts}; total {total}")
    if report.dry_run:
        print("dry run: nothing was changed")
    elif freed["registry_images"]:
        print("run the registry's garbage collection to free the images' blobs "
              "(registry garbage-collect CONFIG)")  # fmt: skip


def _bytes(size: int) -> str:
    return f"{size} bytes"


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "reap", help="remove logs, artifacts and registry images older than their retention"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="change nothing; print what would be removed"
    )
    parser.set_defaults(handler=reap)
