"""Who authenticated: what every entry point hands to authorization (api/app)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Via = Literal["session", "jwt", "token"]
Scope = Literal["read", "write"]


@dataclass(frozen=True)
class Identity:
    """A user of ``users.yaml`` (or the first-start local admin). ``scope`` is ``write``
    for a browser session or an OIDC JWT; a personal API token carries its own."""

    name: str  # users.yaml metadata.name
    email: str
    via: Via
    scope: Scope


class Unauthenticated(Exception):
    """A credential was presented but is invalid, expired or revoked; the message says
    which (it is safe to show: it never repeats the credential). Maps to 401."""
