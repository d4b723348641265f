"""``danube config sync``, ``danube config validate`` and ``danube trigger``."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from api.bootstrap import build, build_scheduler
from api.config.source import load_directory
from api.settings import Settings
from domain.cause import Cause
from domain.config.model import ConfigInvalidError
from domain.ids import job_id_for
from domain.triggers.manual import TriggerRefusedError


def sync(args: argparse.Namespace, settings: Settings) -> int:
    from api.triggers.loops import sync_loop

    if not settings.config_repo_url:
        print(
            "danube config sync: no config repository (set DANUBE_CONFIG_REPO_URL)", file=sys.stderr
        )
        return 2
    danube = build_scheduler(settings)  # syncing opens no secret
    try:
        result = sync_loop(danube).sync(allow_force_push=args.allow_force_push)
    finally:
        danube.close()
    print(f"{result.outcome} {result.commit[:12]}".rstrip())
    if result.message:
        print(result.message, file=sys.stderr)
    return 0 if result.outcome in {"accepted", "unchanged"} else 1


def validate(args: argparse.Namespace, settings: Settings) -> int:
    """Check a local checkout of a config repository with the code the sync runs."""
    directory = Path(args.path)
    if not directory.is_dir():
        print(f"danube config validate: {directory} is not a directory", file=sys.stderr)
        return 2
    try:
        config = load_directory(directory, "working-tree")
    except ConfigInvalidError as error:
        for problem in error.errors:
            print(problem)
        count = len(error.errors)
        print(f"{count} error{'' if count == 1 else 's'} in {directory}", file=sys.stderr)
        return 1
    print(
        f"{directory}: valid ({len(config.pipelines)} pipelines, {len(config.users)} users, "
        f"{len(config.teams)} teams)"
    )
    return 0


def trigger(args: argparse.Namespace, settings: Settings) -> int:
    danube = build(settings)
    try:
        run = danube.triggers.trigger(
            args.pipeline, args.ref, Cause(actor=f"cli:{getpass.getuser()}", trigger="manual")
        )
    except TriggerRefusedError as error:
        print(f"danube trigger: {error}", file=sys.stderr)
        return 1
    finally:
        danube.close()
    print(f"run {run.run_id} requested at {run.commit[:12]} (job {job_id_for(run.run_id, 'main')})")
    return 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    config = commands.add_parser("config", help="configuration as code")
    actions = config.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub = actions.add_parser("sync", help="fetch and apply the config repository now")
    sub.add_argument(
        "--allow-force-push",
        action="store_true",
        help="accept a branch head that does not descend from the config in force",
    )
    sub.set_defaults(handler=sync)
    check = actions.add_parser(
        "validate",
        help="validate a local checkout of a config repository (exit 1 listing every error)",
    )
    check.add_argument("path", help="the checkout's root directory")
    check.set_defaults(handler=validate)
    run = commands.add_parser("trigger", help="start a run of a configured pipeline")
    run.add_argument("pipeline")
    run.add_argument("--ref", default="HEAD", help="branch, tag or commit (default: HEAD)")
    run.set_defaults(handler=trigger)
