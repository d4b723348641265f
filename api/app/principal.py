"""Who is asking. Authentication (``api.auth``) says who someone is (an ``Identity``);
here that becomes a ``Principal``: the identity plus what the config in force lets them
do (their teams, global admin or not, their level on each pipeline). It is resolved
again for every request, so a config change acts on the next one. A command line on the
server's machine is the local operator; every command's cause comes from here."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol

from domain.auth.policy import (
    NOBODY,
    Action,
    Decision,
    Level,
    Subject,
    TeamLike,
    decide,
    level_of,
    readable,
    subject_of,
)
from domain.cause import Cause
from domain.config.model import Config, Permission


class IdentityLike(Protocol):
    """``api.auth.Identity``: who authentication says the caller is."""

    @property
    def name(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def scope(self) -> Literal["read", "write"]: ...


@dataclass(frozen=True)
class Governed:
    """A configured pipeline's permissions, as the policy reads them."""

    name: str
    permissions: tuple[tuple[str, Permission], ...]


@dataclass(frozen=True)
class Principal:
    actor: str  # as it appears in causes and the audit trail: "user:alice", "operator", ...
    subject: Subject = NOBODY
    name: str = ""
    email: str = ""
    pipelines: Mapping[str, Governed] = field(default_factory=lambda: MappingProxyType({}))
    """The configured pipelines that grant one of the subject's teams something."""
    problem: str = ""
    """Why a credential that was presented was refused (expired, revoked...)."""

    @property
    def authenticated(self) -> bool:
        return self.subject.authenticated

    @property
    def global_admin(self) -> bool:
        return self.subject.authenticated and self.subject.global_admin

    @property
    def teams(self) -> list[str]:
        return sorted(self.subject.teams)

    def decide(self, action: Action, pipeline: str | None = None) -> Decision:
        """The policy's answer for ``action`` (on ``pipeline``)."""
        decision = decide(self.subject, action, self._governed(pipeline))
        if self.problem and decision.code == "UNAUTHENTICATED":
            return Decision(False, "UNAUTHENTICATED", self.problem)
        return decision

    def level(self, pipeline: str) -> Level:
        return level_of(self.subject, self._governed(pipeline))

    def readable(self) -> frozenset[str] | None:
        """The pipelines this principal may read (None: every one, seen or configured)."""
        return readable(self.subject, self.pipelines.values())

    def cause(self, *, trigger: str = "", reason: str = "") -> Cause:
        return Cause(actor=self.actor, trigger=trigger, reason=reason)

    def _governed(self, pipeline: str | None) -> Governed | None:
        if pipeline is None:
            return None
        # A pipeline that grants none of the subject's teams anything: its permissions
        # do not matter to this subject, only that nothing is granted.
        return self.pipelines.get(pipeline) or Governed(pipeline, ())


ANONYMOUS = Principal(actor="anonymous")


def refused(problem: str) -> Principal:
    """Someone whose credential was refused: anonymous, with the reason to tell them."""
    return Principal(actor="anonymous", problem=problem)


OPERATOR = Principal(actor="operator", subject=Subject(authenticated=True, global_admin=True))


class Principals:
    """Resolves identities against the config in force (``ConfigService.current``: the
    write side's, so a config acts from the moment it is accepted, in every process).
    With no config in force, ``local_teams`` are the teams (the first-start local
    admin's global_admin team)."""

    CACHED = 1024  # principals kept for the config in force (by identity)

    def __init__(
        self,
        config: Callable[[], Config | None],
        local_teams: Callable[[], Iterable[TeamLike]] = tuple,
    ) -> None:
        self._config, self._local_teams = config, local_teams
        self._last: tuple[float, Config | None] | None = None  # (when looked up, config)
        self._cache: dict[Any, Principal] = {}
        self._cached_for: Any = None
        self._lock = threading.Lock()

    def cached(self, identity: IdentityLike | None, stale_ok: float) -> Principal | None:
        """``resolve(identity, stale_ok=...)`` when that needs no I/O (the config was
        looked up less than ``stale_ok`` seconds ago), else None: safe in an event loop."""
        last = self._last
        if identity is None or last is None or time.monotonic() - last[0] >= stale_ok:
            return None if identity is not None else ANONYMOUS
        return self.resolve(identity, stale_ok=stale_ok)

    def resolve(self, identity: IdentityLike | None, *, stale_ok: float = 0.0) -> Principal:
        """The principal ``identity`` is under the config in force now (``stale_ok``:
        or as of at most that many seconds ago, for the many live subscribers that look
        again and again: one look-up of the config a second serves them all). The same
        identity under the same config is the same ``Principal`` object."""
        if identity is None:
            return ANONYMOUS
        config = self._config_within(stale_ok)
        version = (id(config), config.commit if config is not None else None)
        key = (identity.name, identity.email, identity.scope)
        with self._lock:
            if self._cached_for != version:
                self._cache, self._cached_for = {}, version
            found = self._cache.get(key)
        if found is not None:
            return found
        principal = self._resolve(identity, config)
        with self._lock:
            if self._cached_for == version and len(self._cache) < self.CACHED:
                self._cache[key] = principal
        return principal

    def _config_within(self, seconds: float) -> Config | None:
        now = time.monotonic()
        last = self._last
        if seconds and last is not None and now - last[0] < seconds:
            return last[1]
        config = self._config()
        self._last = (now, config)
        return config

    def _resolve(self, identity: IdentityLike, config: Config | None) -> Principal:
        teams = config.teams if config is not None else tuple(self._local_teams())
        subject = subject_of(identity.email, teams, identity.scope)
        pipelines = config.pipelines if config is not None else ()
        governed = {
            p.name: Governed(p.name, p.permissions)
            for p in pipelines
            if any(team in subject.teams for team, _ in p.permissions)
        }
        return Principal(
            actor=f"user:{identity.name}",
            subject=subject,
            name=identity.name,
            email=identity.email,
            pipelines=MappingProxyType(governed),
        )
