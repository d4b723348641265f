"""The ``danube`` command line.

Expected reasons a command cannot start (bad settings, an unusable data directory, an
unsafe master key, an unreachable event store, what a command itself refuses with
``CommandError``) are reported here, for every command, as one line without a
traceback and a non-zero exit.

Exit status: 0 done; 1 the command failed or was refused (a failed job, ``replay
--check`` found differences, a component of a long-running process died, an unsafe
master key, ...); 2 bad settings or usage; 3 the event store cannot be used (the
database is unreachable or refuses us); 130 / 143 interrupted (SIGINT / SIGTERM)."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable, Sequence

import psycopg
from eventsourcing.persistence import OperationalError as EventStoreOperationalError

from adapters.crypto.errors import CryptoError
from api.commands import (
    config,
    login,
    provenance,
    reap,
    run,
    scheduler,
    secrets,
    serve,
    store,
    system,
    tokens,
    workers,
)
from api.commands.client import register as register_client_commands
from api.commands.deploy import register as register_deploy_commands
from api.commands.errors import EXIT_FAILED, EXIT_USAGE, CommandError
from api.logs import configure_logging
from api.settings import Settings, SettingsError, load_settings, warn_about_unknown_variables

EXIT_INTERRUPTED = 130
EXIT_STORE_UNAVAILABLE = 3
STORE_ERRORS = (psycopg.OperationalError, sqlite3.OperationalError, EventStoreOperationalError)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    try:
        settings = load_settings(args.config)
        configure_logging(settings.log_level, settings.log_format)
        warn_about_unknown_variables()
        _prepare_data_dir(settings)
        return handler(args, settings)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except SettingsError as error:
        return _refuse(args, str(error), EXIT_USAGE)  # one line per bad setting
    except CommandError as error:
        return _refuse(args, _one_line(error), error.exit_code)
    except CryptoError as error:
        return _refuse(args, _one_line(error), EXIT_FAILED)
    except STORE_ERRORS as error:
        message = f"cannot use the event store: {_one_line(error)}"
        return _refuse(args, message, EXIT_STORE_UNAVAILABLE)


def _prepare_data_dir(settings: Settings) -> None:
    """Every command keeps something there (the master key, SQLite files, workspaces)."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CommandError(
            f"cannot create the data directory {settings.data_dir} (DANUBE_DATA_DIR): "
            f"{error.strerror or error}",
            EXIT_FAILED,
        ) from None


def _refuse(args: argparse.Namespace, message: str, exit_code: int) -> int:
    command = " ".join(filter(None, (args.command, getattr(args, "action", None))))
    print(f"danube {command}: {message}", file=sys.stderr)
    return exit_code


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " ".join(lines) or type(error).__name__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="danube", description="Self-hosted CI/CD.")
    parser.add_argument("--config", help="path to danube.toml (or set DANUBE_CONFIG)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (serve, workers, run, config, store, secrets, tokens, system, scheduler):
        module.register(commands)
    register_deploy_commands(commands)
    register_client_commands(commands)
    login.register(commands)
    for module in (provenance, reap):  # issue 17
        module.register(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
