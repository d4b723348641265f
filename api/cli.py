"""The ``danube`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from api.commands import config, run, secrets, serve, store, system, workers
from api.logs import configure_logging
from api.settings import Settings, SettingsError, load_settings

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
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
    for module in (serve, workers, run, config, store, secrets, system):
        module.register(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
