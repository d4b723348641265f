"""``danube scheduler``: cron triggers and config sync as a process of their own
(production, where API servers run with ``--no-scheduler``). Several replicas may run:
one holds the scheduler's lease and acts, the others stand by."""

from __future__ import annotations

import argparse

from api.bootstrap import build_scheduler
from api.settings import Settings


def scheduler(args: argparse.Namespace, settings: Settings) -> int:
    from api.processes import StopSignals, Supervisor, hold_lease, run_until_signalled
    from api.triggers.loops import config_sync_loop, start_scheduler

    danube = build_scheduler(settings)  # no master key: cron, config sync, the reaper
    signals = StopSignals()
    danube.store.start_listening()
    lease = hold_lease(danube, "scheduler", signals)  # standing by while another acts
    if lease is None:
        danube.close()
        return 0
    supervisor = Supervisor()
    loop = config_sync_loop(danube)
    start_scheduler(danube, danube.artifacts, danube.commits, supervisor, loop)
    try:
        run_until_signalled(danube, supervisor, None, signals)
    finally:
        lease.release()
    return 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    commands.add_parser(
        "scheduler", help="run cron triggers and config sync (production, with replicas)"
    ).set_defaults(handler=scheduler)
