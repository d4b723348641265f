"""``danube secret set|rm|rotate-key``, ``danube keys generate [--signing]``, ``danube keys
public``."""

from __future__ import annotations

import argparse
import sys

from adapters.crypto.errors import CryptoError
from adapters.crypto.keyfile import generate_master_key
from api.bootstrap import MASTER_KEY_FILE, build
from api.commands import provenance
from api.settings import Settings
from domain.cause import Cause
from domain.secrets.aggregates import GLOBAL
from domain.secrets.errors import SecretsError

EXIT_FAILED = 1


def _cause() -> Cause:
    import getpass

    return Cause(actor=f"cli:{getpass.getuser()}")


def set_secret(args: argparse.Namespace, settings: Settings) -> int:
    value = sys.stdin.read()
    value = value[:-1] if value.endswith("\n") else value
    if not value:
        print("danube secret set: the value is read from stdin, and it was empty", file=sys.stderr)
        return EXIT_FAILED
    try:
        danube = build(settings)
    except CryptoError as error:
        print(f"danube secret set: {error}", file=sys.stderr)
        return EXIT_FAILED
    try:
        danube.secrets.set(args.pipeline or GLOBAL, args.key, value, _cause())
    except SecretsError as error:
        print(f"danube secret set: {error}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        danube.close()
    print(f"secret {args.key} set for {_scope(args.pipeline)}")
    return 0


def remove_secret(args: argparse.Namespace, settings: Settings) -> int:
    danube = build(settings)
    try:
        danube.secrets.remove(args.pipeline or GLOBAL, args.key, _cause())
    except SecretsError as error:
        print(f"danube secret rm: {error}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        danube.close()
    print(
        f"secret {args.key} removed from {_scope(args.pipeline)}; its old values can no "
        "longer be decrypted"
    )
    return 0


def rotate_key(args: argparse.Namespace, settings: Settings) -> int:
    """Re-wrap every data key under a new master key, which replaces the key file."""
    try:
        danube = build(settings)
    except CryptoError as error:
        print(f"danube secret rotate-key: {error}", file=sys.stderr)
        return EXIT_FAILED
    try:
        done = danube.vault.rotate()
        danube.system.record_key_rotation(done.new_key_id, done.rewrapped, _cause())
    except CryptoError as error:
        print(f"danube secret rotate-key: {error}; rerun to finish", file=sys.stderr)
        return EXIT_FAILED
    finally:
        danube.close()
    print(
        f"master key {done.old_key_id} replaced by {done.new_key_id}; "
        f"{done.rewrapped} data keys re-wrapped"
    )
    return 0


def generate_key(args: argparse.Namespace, settings: Settings) -> int:
    if args.signing:
        return provenance.generate_signing(args, settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir.resolve() / MASTER_KEY_FILE
    try:
        key = generate_master_key(path, force=args.force)
    except CryptoError as error:
        print(f"danube keys generate: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"master key {key.key_id} written to {path} (mode 0600)")
    if args.force:
        print(
            "warning: secrets sealed with the previous key can no longer be read", file=sys.stderr
        )
    return 0


def _scope(pipeline: str) -> str:
    return f"pipeline {pipeline}" if pipeline else "all pipelines (global)"


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    secret = commands.add_parser("secret", help="manage encrypted secrets")
    actions = secret.add_subparsers(dest="action", metavar="ACTION", required=True)
    set_ = actions.add_parser("set", help="set KEY to the value read from stdin")
    set_.add_argument("key")
    set_.add_argument("--pipeline", default="", help="scope it to one pipeline")
    set_.set_defaults(handler=set_secret)
    rm = actions.add_parser("rm", help="remove KEY and destroy its data keys")
    rm.add_argument("key")
    rm.add_argument("--pipeline", default="", help="the pipeline it is scoped to")
    rm.set_defaults(handler=remove_secret)
    actions.add_parser(
        "rotate-key", help="re-wrap every secret's data key under a new master key"
    ).set_defaults(handler=rotate_key)
    keys = commands.add_parser("keys", help="manage the master key")
    key_actions = keys.add_subparsers(dest="action", metavar="ACTION", required=True)
    generate = key_actions.add_parser("generate", help="create the master key file (0600)")
    generate.add_argument("--force", action="store_true", help="replace an existing key")
    generate.add_argument(
        "--signing", action="store_true", help="the provenance signing key (Ed25519) instead"
    )
    generate.set_defaults(handler=generate_key)
    key_actions.add_parser(
        "public", help="print the provenance signing key's public half (PEM)"
    ).set_defaults(handler=provenance.public)
