"""``danube dispatcher``: the dispatcher as a process of its own (production)."""

from __future__ import annotations

import argparse

from api.bootstrap import build_core
from api.settings import Settings


def dispatcher(args: argparse.Namespace, settings: Settings) -> int:
    from api.execution.loops import dispatcher as dispatch_loop
    from api.observability.process import observe_process
    from api.processes import StopSignals, Supervisor, hold_lease, run_until_signalled

    danube = build_core(settings)  # no master key: dispatching never opens a secret
    signals = StopSignals()
    danube.store.start_listening()  # read-model progress from the projector process
    lease = hold_lease(danube, "dispatcher", signals)  # standing by while another acts
    if lease is None:
        danube.close()
        return 0
    supervisor = Supervisor()
    supervisor.on_stop(danube.store.views.announce_all)
    observe_process(danube, supervisor, "dispatcher", settings.dispatcher_metrics_address)
    supervisor.add("dispatcher", dispatch_loop(danube))
    try:
        run_until_signalled(danube, supervisor, None, signals)
    finally:
        lease.release()  # after the last write: a standby takes over at once
    return 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    commands.add_parser(
        "dispatcher", help="schedule queued jobs within the concurrency limits (production)"
    ).set_defaults(handler=dispatcher)
