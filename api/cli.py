"""The ``danube`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from api.bootstrap import Danube, build
from api.logs import configure_logging
from api.settings import Settings, SettingsError, load_settings

log = logging.getLogger("danube")

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        settings = load_settings(args.config)
    except SettingsError as error:
        print(f"danube: {error}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings.log_level, settings.log_format)
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    try:
        return handler(args, settings)
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="danube", description="Self-hosted CI/CD.")
    parser.add_argument("--config", help="path to danube.toml (or set DANUBE_CONFIG)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, text: str, handler: Callable[..., int]) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(handler=handler)
        return sub

    command("up", "run everything in one process: the embedded default", _up)
    command("server", "run the API server (production: one of several processes)", _server)
    command("projector", "run the projection followers (production)", _projector)
    command("migrate", "create the event store and read-model tables", _migrate)
    replay = command("replay", "rebuild every read model from event 1", _replay)
    replay.add_argument(
        "--check",
        action="store_true",
        help="compare the rebuilt read models with the live ones; exit 1 on any difference",
    )
    return parser


def _open(settings: Settings) -> Danube:
    return build(settings)


def _up(args: argparse.Namespace, settings: Settings) -> int:
    from api.http.app import create_app
    from api.processes import HttpServer, Supervisor, run_until_signalled, start_projectors

    danube = _open(settings)
    supervisor = Supervisor()
    start_projectors(danube, supervisor)
    supervisor.add("http", HttpServer(create_app(danube), settings.http_host, settings.http_port))
    log.info(
        "danube is up",
        extra={
            "url": settings.public_url,
            "data_dir": str(settings.data_dir.resolve()),
            "event_store": settings.event_store,
            "executor": settings.executor,
        },
    )
    run_until_signalled(danube, supervisor)
    return 0


def _server(args: argparse.Namespace, settings: Settings) -> int:
    from api.http.app import create_app
    from api.processes import HttpServer, Supervisor, run_until_signalled

    danube = _open(settings)
    danube.store.start_listening()
    supervisor = Supervisor()
    supervisor.add("http", HttpServer(create_app(danube), settings.http_host, settings.http_port))
    run_until_signalled(danube, supervisor)
    return 0


def _projector(args: argparse.Namespace, settings: Settings) -> int:
    from api.processes import Supervisor, run_until_signalled, start_projectors

    danube = _open(settings)
    danube.store.start_listening()
    supervisor = Supervisor()
    start_projectors(danube, supervisor)
    run_until_signalled(danube, supervisor)
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    danube = build(settings.model_copy(update={"auto_migrate": True}))
    danube.close()
    print("event store and read-model tables are in place")
    return 0


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.sql.replay import replay_all

    danube = _open(settings)
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


if __name__ == "__main__":
    sys.exit(main())
