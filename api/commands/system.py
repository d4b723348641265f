"""``danube drain``, ``danube undrain`` and ``danube status``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from api.bootstrap import Danube, build
from api.settings import Settings
from domain.cause import Cause


def drain(args: argparse.Namespace, settings: Settings) -> int:
    danube = build(settings)
    try:
        danube.system.start_draining(Cause(actor="cli", reason="danube drain"))
    finally:
        danube.close()
    print("draining: no new jobs start; running jobs finish")
    return 0


def undrain(args: argparse.Namespace, settings: Settings) -> int:
    danube = build(settings)
    try:
        danube.system.stop_draining(Cause(actor="cli", reason="danube undrain"))
    finally:
        danube.close()
    print("not draining: queued jobs start again")
    return 0


def status(args: argparse.Namespace, settings: Settings) -> int:
    danube = build(settings)
    try:
        views = danube.views
        report = {
            "draining": danube.system.is_draining(),
            "event_store": {"kind": settings.event_store, "position": danube.store.log.position()},
            "read_models": {
                p.name: danube.store.views.position(p.name) for p in danube.projections
            },
            "jobs": {"active": len(views.active_jobs()), "queued": len(views.queued_jobs())},
            "config": _config(danube, settings),
        }
    finally:
        danube.close()
    print(json.dumps(report, indent=2))
    return 0


def _config(danube: Danube, settings: Settings) -> dict[str, Any]:
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
    commands.add_parser("drain", help="stop starting new jobs; running ones finish").set_defaults(
        handler=drain
    )
    commands.add_parser("undrain", help="start queued jobs again").set_defaults(handler=undrain)
    commands.add_parser("status", help="what Danube is doing, as JSON").set_defaults(handler=status)
