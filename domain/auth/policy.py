"""The access policy: one pure function over (subject, action, pipeline).

Fed by the config model: teams (members by e-mail, ``global_admin``) and each
pipeline's ``permissions`` (the owning ``metadata.team`` already included as admin).
Levels: ``read`` < ``write`` < ``admin``, each including the ones below. Teams with
``global_admin`` may do everything to every pipeline, plus the system actions. A
personal token of scope ``read`` caps whatever its owner may do at ``read``.

Invariants: an unauthenticated subject is refused everything (``UNAUTHENTICATED``); a
pipeline not in the config (seen only in old runs) is a global admin's alone; the
answer depends on nothing but the arguments."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Literal, Protocol

from domain.config.model import Permission


class Level(IntEnum):
    """What a subject may do with one pipeline; each includes the ones below."""

    NONE = 0
    READ = 1
    WRITE = 2
    ADMIN = 3

    @classmethod
    def of(cls, permission: Permission | str) -> Level:
        return {"read": cls.READ, "write": cls.WRITE, "admin": cls.ADMIN}[str(permission)]

    @property
    def permission(self) -> Permission | None:
        return None if self is Level.NONE else Permission(self.name.lower())


class Action(StrEnum):
    """Everything the API lets someone do, by the level it needs."""

    # read: the pipeline, its runs, jobs, steps, logs, artifacts, streams, secret ledger
    READ = "read"
    # write
    TRIGGER = "trigger"
    CANCEL = "cancel"
    RERUN = "rerun"
    # admin of the pipeline
    MANAGE_SECRETS = "manage_secrets"
    # system actions: global admins only
    MANAGE_GLOBAL_SECRETS = "manage_global_secrets"
    DRAIN = "drain"
    REPLAY_DELIVERY = "replay_delivery"
    SYNC_CONFIG = "sync_config"
    ROTATE_SECRETS_KEY = "rotate_secrets_key"
    READ_SYSTEM = "read_system"  # the config's state, deliveries, the whole audit trail
    # anyone signed in
    READ_STATUS = "read_status"


NEEDS: dict[Action, Level] = {
    Action.READ: Level.READ,
    Action.TRIGGER: Level.WRITE,
    Action.CANCEL: Level.WRITE,
    Action.RERUN: Level.WRITE,
    Action.MANAGE_SECRETS: Level.ADMIN,
}
SYSTEM_ACTIONS = frozenset(
    {
        Action.MANAGE_GLOBAL_SECRETS,
        Action.DRAIN,
        Action.REPLAY_DELIVERY,
        Action.SYNC_CONFIG,
        Action.ROTATE_SECRETS_KEY,
        Action.READ_SYSTEM,
    }
)


class TeamLike(Protocol):
    """``domain.config.model.Team`` or anything shaped like it."""

    @property
    def name(self) -> str: ...
    @property
    def members(self) -> tuple[str, ...]: ...
    @property
    def global_admin(self) -> bool: ...


class Governed(Protocol):
    """A pipeline as the policy sees it (``domain.config.model.Pipeline`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def permissions(self) -> tuple[tuple[str, Permission], ...]: ...


@dataclass(frozen=True)
class Subject:
    """Who asks, as the policy needs it: the teams the config puts them in."""

    authenticated: bool
    teams: frozenset[str] = frozenset()
    global_admin: bool = False
    scope: Literal["read", "write"] = "write"


NOBODY = Subject(authenticated=False)


def subject_of(email: str, teams: Iterable[TeamLike], scope: Literal["read", "write"]) -> Subject:
    """The subject an authenticated e-mail address is under a config's teams
    (addresses compare case-insensitively)."""
    wanted = email.strip().lower()
    mine = [team for team in teams if wanted in {m.strip().lower() for m in team.members}]
    return Subject(
        authenticated=True,
        teams=frozenset(team.name for team in mine),
        global_admin=any(team.global_admin for team in mine),
        scope=scope,
    )


def level_of(subject: Subject, pipeline: Governed | None) -> Level:
    """The subject's level on ``pipeline`` (None: a pipeline the config does not have)."""
    if not subject.authenticated:
        return Level.NONE
    if subject.global_admin:
        found = Level.ADMIN
    elif pipeline is None:
        found = Level.NONE
    else:
        granted = [Level.of(level) for team, level in pipeline.permissions if team in subject.teams]
        found = max(granted, default=Level.NONE)
    return min(found, Level.READ) if subject.scope == "read" else found


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: Literal["OK", "UNAUTHENTICATED", "FORBIDDEN"]
    reason: str


def decide(subject: Subject, action: Action, pipeline: Governed | None = None) -> Decision:
    """May ``subject`` do ``action`` (to ``pipeline``, for pipeline actions; None: a
    pipeline the config does not have)?"""
    if not subject.authenticated:
        return Decision(False, "UNAUTHENTICATED", "authentication required")
    if action is Action.READ_STATUS:
        return Decision(True, "OK", "")
    if action in SYSTEM_ACTIONS:
        if not subject.global_admin:
            return Decision(False, "FORBIDDEN", f"{action.value} needs a global admin team")
        if subject.scope == "read" and action is not Action.READ_SYSTEM:
            return Decision(False, "FORBIDDEN", f"{action.value} needs a token of scope write")
        return Decision(True, "OK", "")
    needed = NEEDS[action]
    have = level_of(subject, pipeline)
    if have >= needed:
        return Decision(True, "OK", "")
    name = pipeline.name if pipeline is not None else "?"
    unscoped = Subject(True, subject.teams, subject.global_admin, "write")
    if subject.scope == "read" and level_of(unscoped, pipeline) >= needed:
        return Decision(False, "FORBIDDEN", f"{action.value} needs a token of scope write")
    wanted = needed.name.lower()
    return Decision(False, "FORBIDDEN", f"{action.value} on pipeline {name!r} needs {wanted}")


def readable(subject: Subject, pipelines: Iterable[Governed]) -> frozenset[str] | None:
    """Names of the pipelines the subject may read among ``pipelines``; None means all
    (a global admin: pipelines seen only in runs included)."""
    if subject.authenticated and subject.global_admin:
        return None
    return frozenset(p.name for p in pipelines if level_of(subject, p) >= Level.READ)
