"""``danube token create|list|revoke``: personal API tokens, minted on the server's
machine without a browser (the same access as ``danube secret set``: the data directory
and, with PostgreSQL, the database)."""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from datetime import UTC, datetime, timedelta

from api.auth.users import Directory
from api.bootstrap import Core, build_core
from api.commands.errors import EXIT_FAILED, CommandError
from api.settings import Settings
from domain.cause import Cause
from domain.tokens.errors import TokenError
from projections.tokens import TokensProjection

_LIFETIME = re.compile(r"^(\d+)([dhm])$")
DEFAULT_EXPIRY = "90d"


def parse_lifetime(text: str) -> timedelta | None:
    """``30d``, ``12h``, ``90m``; ``never`` for a token that does not expire."""
    if text.strip().lower() == "never":
        return None
    match = _LIFETIME.match(text.strip().lower())
    if not match or int(match.group(1)) <= 0:
        raise CommandError(
            f"--expires: expected a lifetime like 30d, 12h or 90m, or never; got {text!r}"
        )
    unit = {"d": "days", "h": "hours", "m": "minutes"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def _cause() -> Cause:
    return Cause(actor=f"cli:{getpass.getuser()}")


def create(args: argparse.Namespace, settings: Settings) -> int:
    lifetime = parse_lifetime(args.expires)
    danube = build_core(settings)  # API tokens hold no key material: no master key
    try:
        user = Directory(danube.config, settings.data_dir).find(args.user)
        if user is None:
            raise CommandError(_unknown_user(danube, args.user), EXIT_FAILED)
        try:
            new = danube.api_tokens.create(user.name, args.name, args.scope, lifetime, _cause())
        except TokenError as error:
            raise CommandError(str(error)) from None
    finally:
        danube.close()
    expires = new.expires_at.isoformat(timespec="seconds") if new.expires_at else "never"
    print(new.token)
    print(
        f"API token {new.token_id} for {user.name} ({args.scope}, expires {expires}); "
        "it is shown only now",
        file=sys.stderr,
    )
    return 0


def _unknown_user(danube: Core, login: str) -> str:
    directory = Directory(danube.config, danube.settings.data_dir)
    if directory.local():
        return (
            f"no user {login!r}: no config repository is in force, so the only user is "
            "the first-start admin 'admin'"
        )
    names = ", ".join(sorted(u.name for u in directory.users())) or "none"
    return f"no user {login!r} in users.yaml of the config in force (users: {names})"


def listing(args: argparse.Namespace, settings: Settings) -> int:
    danube = build_core(settings)  # API tokens hold no key material: no master key
    try:
        _catch_up(danube)
        rows = danube.tokens_view.of_user(args.user) if args.user else danube.tokens_view.all()
    finally:
        danube.close()
    now = datetime.now(UTC)
    print(f"{'ID':<16}  {'USER':<16}  {'SCOPE':<5}  {'STATUS':<8}  {'EXPIRES':<25}  NAME")
    for row in rows:
        print(
            f"{row['id']:<16}  {row['user_name']:<16}  {row['scope']:<5}  "
            f"{_status(row, now):<8}  {row['expires_at'] or 'never':<25}  {row['name']}"
        )
    return 0


def _status(row: dict[str, str], now: datetime) -> str:
    if row["revoked_at"]:
        return "revoked"
    if row["expires_at"] and datetime.fromisoformat(row["expires_at"]) <= now:
        return "expired"
    return "active"


def _catch_up(danube: Core) -> None:
    """Fold what the log holds into the tokens read model (the server's projector may
    not run, or not have folded a token created a moment ago)."""
    projection = next(p for p in danube.projections if isinstance(p, TokensProjection))
    projector = danube.store.projector(projection)
    projector.start()
    projector.catch_up()


def revoke(args: argparse.Namespace, settings: Settings) -> int:
    danube = build_core(settings)  # API tokens hold no key material: no master key
    try:
        danube.api_tokens.revoke(args.id, _cause())
    except TokenError as error:
        raise CommandError(str(error), EXIT_FAILED) from None
    finally:
        danube.close()
    print(f"API token {args.id} revoked")
    return 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    token = commands.add_parser("token", help="personal API tokens (on the server's machine)")
    actions = token.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = actions.add_parser("create", help="create a token for USER; prints it alone on stdout")
    new.add_argument("user", help="users.yaml name or e-mail (admin: the first-start admin)")
    new.add_argument("--name", default="", help="what it is for (default: its id)")
    new.add_argument("--expires", default=DEFAULT_EXPIRY, help="30d, 12h, 90m or never (90d)")
    new.add_argument("--scope", choices=("read", "write"), default="write")
    new.set_defaults(handler=create)
    show = actions.add_parser("list", help="list tokens (never their values)")
    show.add_argument("user", nargs="?", default="", help="only this user's")
    show.set_defaults(handler=listing)
    rm = actions.add_parser("revoke", help="revoke a token by its id")
    rm.add_argument("id")
    rm.set_defaults(handler=revoke)
