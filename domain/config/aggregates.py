"""The config repository as the log knows it: which commit's config is in force, the
last commit that was rejected and why, and whether fetching it currently fails.

Invariants: a commit already accepted, or already rejected, records nothing again; a
rejection leaves the accepted config in force; a fetch problem is recorded once per
distinct message (and once when it clears)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

CONFIG_ID = UUID("5b0e8a2c-1d7f-4c3a-9e61-7a4f2d8c0b13")


class ConfigRepository(Aggregate):
    TOPIC = "danube:ConfigRepository"

    class Created(Aggregate.Created):
        TOPIC = "danube:ConfigRepository.Created"

    def __init__(self, **_: Any) -> None:
        self.accepted_commit = ""
        self.config: dict[str, Any] | None = None
        self.rejected_commit = ""
        self.errors: list[dict[str, Any]] = []
        self.fetch_problem = ""

    def accept(self, commit: str, config: dict[str, Any], cause: dict[str, str]) -> bool:
        if commit == self.accepted_commit:
            return False
        self.trigger_event(self.Accepted, commit=commit, config=config, cause=cause)
        return True

    def reject(self, commit: str, errors: list[dict[str, Any]], cause: dict[str, str]) -> bool:
        if commit in (self.accepted_commit, self.rejected_commit):
            return False
        self.trigger_event(self.Rejected, commit=commit, errors=errors, cause=cause)
        return True

    def fetch_failed(self, problem: str) -> bool:
        if problem == self.fetch_problem:
            return False
        self.trigger_event(self.FetchFailed, problem=problem)
        return True

    def fetch_recovered(self) -> bool:
        if not self.fetch_problem:
            return False
        self.trigger_event(self.FetchRecovered)
        return True

    class Accepted(Aggregate.Event):
        TOPIC = "danube:ConfigRepository.Accepted"
        commit: str
        config: dict[str, Any]
        cause: dict[str, str]

        def apply(self, repo: ConfigRepository) -> None:
            repo.accepted_commit, repo.config = self.commit, self.config

    class Rejected(Aggregate.Event):
        TOPIC = "danube:ConfigRepository.Rejected"
        commit: str
        errors: list[dict[str, Any]]
        cause: dict[str, str]

        def apply(self, repo: ConfigRepository) -> None:
            repo.rejected_commit, repo.errors = self.commit, list(self.errors)

    class FetchFailed(Aggregate.Event):
        TOPIC = "danube:ConfigRepository.FetchFailed"
        problem: str

        def apply(self, repo: ConfigRepository) -> None:
            repo.fetch_problem = self.problem

    class FetchRecovered(Aggregate.Event):
        TOPIC = "danube:ConfigRepository.FetchRecovered"

        def apply(self, repo: ConfigRepository) -> None:
            repo.fetch_problem = ""
