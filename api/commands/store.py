"""``danube migrate`` and ``danube replay``."""

from __future__ import annotations

import argparse

from api.bootstrap import build_core
from api.settings import Settings


def migrate(args: argparse.Namespace, settings: Settings) -> int:
    danube = build_core(settings.model_copy(update={"auto_migrate": True}))  # no master key
    danube.close()
    print("event store and read-model tables are in place")
    return 0


def replay(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.sql.replay import replay_all

    danube = build_core(settings)  # folding events again never opens a secret
    try:
        results = replay_all(
            danube.store.feed, danube.store.views, danube.projections, check=args.check
        )
    finally:
        danube.close()
    failed = False
    for result in results:
        verdict = "rebuilt"
        if args.check:
            verdict = "matches" if result.matches else "DIFFERS"
        print(
            f"{result.projection}: {verdict} at position {result.position} "
            f"({result.events} events in {result.seconds:.2f}s)"
        )
        for difference in result.differences:
            print(f"  {difference}")
        failed |= not result.matches
    return 1 if failed else 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    commands.add_parser(
        "migrate", help="create the event store and read-model tables"
    ).set_defaults(handler=migrate)
    sub = commands.add_parser("replay", help="rebuild every read model from event 1")
    sub.add_argument(
        "--check",
        action="store_true",
        help="compare the rebuilt read models with the live ones; exit 1 on any difference",
    )
    sub.set_defaults(handler=replay)
