"""Administration as the Admin page reads it: the config in force and its last
rejection, and the webhook inbox (stored deliveries, what became of each, replaying
one), as typed results. The checks and rules are those of ``Queries.config_state``,
``Queries.deliveries`` and ``Commands.replay_delivery`` (REST answers the same from
them); this adds the repository it syncs from and the shapes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.app.commands import Commands
from api.app.errors import InvalidInputError
from api.app.principal import Principal
from api.app.queries import Queries

MAX_DELIVERIES = 500


@dataclass(frozen=True)
class ConfigError:
    file: str
    line: int | None
    field: str
    message: str


@dataclass(frozen=True)
class ConfigStatus:
    repository: str
    branch: str
    commit: str | None
    synced_at: str | None
    rejected_commit: str | None
    rejected_at: str | None
    errors: tuple[ConfigError, ...]
    fetch_problem: str | None
    fetch_problem_at: str | None


@dataclass(frozen=True)
class DeliveryResult:
    id: str
    provider: str
    delivery_id: str
    event: str
    received_at: str
    processed: bool
    outcome: str
    runs: tuple[str, ...]
    reason: str
    processed_at: str | None
    replays: int

    @classmethod
    def of(cls, row: dict[str, Any]) -> DeliveryResult:
        return cls(
            id=row["id"],
            provider=row["provider"],
            delivery_id=row["delivery_id"],
            event=row["event"],
            received_at=row["received_at"],
            processed=bool(row["processed"]),
            outcome=row["outcome"] or "",
            runs=tuple(row["runs"] or ()),
            reason=row["reason"] or "",
            processed_at=row.get("processed_at") or None,
            replays=row["replays"] or 0,
        )


@dataclass(frozen=True)
class Replayed:
    outcome: str
    runs: tuple[str, ...]
    reason: str


class Admin:
    def __init__(self, queries: Queries, commands: Commands, repository: str, branch: str) -> None:
        self._queries, self._commands = queries, commands
        self._repository, self._branch = repository, branch

    def config(self, principal: Principal) -> ConfigStatus:
        """The commit in force and when it was synced, the last rejection and its errors,
        a current fetch problem."""
        state = self._queries.config_state(principal)
        rejected = state.get("rejected_commit") or None
        errors = tuple(
            ConfigError(e["file"], e.get("line"), e["field"], e["message"])
            for e in (state.get("errors") or [] if rejected else [])
        )
        problem = state.get("fetch_problem") or None
        return ConfigStatus(
            repository=self._repository,
            branch=self._branch,
            commit=state.get("commit_sha") or None,
            synced_at=state.get("accepted_at") or None,
            rejected_commit=rejected,
            rejected_at=state.get("rejected_at") if rejected else None,
            errors=errors,
            fetch_problem=problem,
            fetch_problem_at=state.get("fetch_problem_at") if problem else None,
        )

    def deliveries(
        self, principal: Principal, limit: int = 50, provider: str = ""
    ) -> list[DeliveryResult]:
        """Stored webhook deliveries, newest first."""
        if not 1 <= limit <= MAX_DELIVERIES:
            raise InvalidInputError(f"first must be between 1 and {MAX_DELIVERIES}, got {limit}")
        rows = self._queries.deliveries(principal, provider, limit)
        return [DeliveryResult.of(row) for row in rows]

    def replay_delivery(self, principal: Principal, delivery_id: str) -> Replayed:
        """Process a stored delivery again with the config in force now (it never starts
        a second run of a trigger that already ran). Refused while draining."""
        outcome = self._commands.replay_delivery(principal, delivery_id)
        return Replayed(outcome.outcome, tuple(outcome.runs), outcome.reason)
