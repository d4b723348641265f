"""Who is asking. Authentication (``api.auth``) says who someone is (an ``Identity``);
here that becomes a ``Principal``: the identity plus what the config in force lets them
do (their teams, global admin or not, their level on each pipeline). It is resolved
again for every request, so a config change acts on the next one. A command line on the
server's machine is the local operator; every command's cause comes from here."""

from __future__ import annotations

import threading
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
from domain.config.model import Permission, Team


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


class ConfigAccess(Protocol):
    """What resolving a principal reads of the config in force (``ConfigView``)."""

    def state(self) -> dict[str, Any] | None: ...
    def teams(self) -> list[dict[str, Any]]: ...
    def permissions(self, pipeline: str | None = None) -> list[dict[str, Any]]: ...


class Principals:
    """Resolves identities against the config in force, read afresh each time.
    ``extra_teams`` adds teams the config repository does not hold (the first-start
    local admin's, while no config repository is set)."""

    CACHED = 1024  # principals kept for the config in force (by identity)

    def __init__(
        self, config: ConfigAccess, extra_teams: Callable[[], Iterable[TeamLike]] = tuple
    ) -> None:
        self._config, self._extra_teams = config, extra_teams
        self._cache: dict[Any, Principal] = {}
        self._cached_for: Any = None
        self._lock = threading.Lock()

    def teams(self) -> list[TeamLike]:
        teams: list[TeamLike] = [
            Team(row["id"], tuple(row.get("members") or ()), bool(row.get("global_admin")))
            for row in self._config.teams()
        ]
        return teams + list(self._extra_teams())

    def resolve(self, identity: IdentityLike | None) -> Principal:
        """The principal ``identity`` is under the config in force now: one read of the
        config's state, and of its teams and permissions only when it changed."""
        if identity is None:
            return ANONYMOUS
        state = self._config.state() or {}
        version = (state.get("commit_sha"), state.get("accepted_at"))
        key = (identity.name, identity.email, identity.scope)
        with self._lock:
            if self._cached_for != version:
                self._cache, self._cached_for = {}, version
            found = self._cache.get(key)
        if found is not None:
            return found
        principal = self._resolve(identity)
        with self._lock:
            if self._cached_for == version and len(self._cache) < self.CACHED:
                self._cache[key] = principal
        return principal

    def _resolve(self, identity: IdentityLike) -> Principal:
        subject = subject_of(identity.email, self.teams(), identity.scope)
        grants: dict[str, list[tuple[str, Permission]]] = {}
        for row in self._config.permissions():
            if row.get("team") in subject.teams:
                grants.setdefault(row["pipeline"], []).append(
                    (row["team"], Permission(row["level"]))
                )
        return Principal(
            actor=f"user:{identity.name}",
            subject=subject,
            name=identity.name,
            email=identity.email,
            pipelines=MappingProxyType(
                {name: Governed(name, tuple(given)) for name, given in grants.items()}
            ),
        )
