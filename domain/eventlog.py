"""The one write-side event-sourced application: a single ordered log that every
aggregate of Danube (runs, config, secrets, system) appends to and every follower reads.

Persistence is chosen by the environment the composition root passes in (SQLite or
PostgreSQL, never the library's in-memory default by accident); this module knows
nothing about either.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError, Recording

from domain.eventsourcing_compat import record

A = TypeVar("A", bound=Aggregate)

MAX_ATTEMPTS = 50


class PersistenceNotConfiguredError(RuntimeError):
    pass


class EventLog(Application[UUID]):
    """Thin service layer over the library's Application: load, act, save, retry."""

    name = "Danube"

    def __init__(self, env: Mapping[str, str]) -> None:
        if not env.get("PERSISTENCE_MODULE"):
            raise PersistenceNotConfiguredError(
                "PERSISTENCE_MODULE is not set: refusing the in-memory default"
            )
        super().__init__(dict(env))

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's save, without its runtime Protocol checks on every object
        (they cost more than the rest of a save's Python work together)."""
        return record(self, objs, **kwargs)

    def position(self) -> int:
        """The highest notification id recorded so far (0 when empty)."""
        return int(self.recorder.max_notification_id() or 0)

    def load(self, cls: type[A], aggregate_id: UUID, version: int | None = None) -> A:
        aggregate: Aggregate = self.repository.get(aggregate_id, version=version)
        if not isinstance(aggregate, cls):
            raise AggregateNotFoundError(aggregate_id)
        return aggregate

    def create(self, aggregate: Aggregate) -> int:
        """Save a new aggregate; returns the log position of its last event.
        Raises ``RecordConflictError`` when an aggregate with that id exists."""
        return self._position(self.save(aggregate))

    def update(
        self,
        cls: type[A],
        aggregate_id: UUID,
        act: Callable[[A], Any],
        *,
        attempts: int = MAX_ATTEMPTS,
    ) -> int:
        """Load, act, save. When another writer saved the same aggregate in between,
        the loser retries ``act`` on fresh state, so nothing is lost or applied twice.
        ``act`` raising leaves nothing recorded. Returns the log position of the last
        event saved (or the current position when ``act`` recorded nothing)."""
        for attempt in range(attempts):
            aggregate = self.load(cls, aggregate_id)
            act(aggregate)
            pending = aggregate.collect_events()
            if not pending:
                return self.position()
            try:
                return self._position(self.save(*pending))
            except RecordConflictError:
                if attempt == attempts - 1:
                    raise
                # Back off a little, with jitter, so a hot aggregate's writers spread out
                # instead of colliding again in lockstep.
                time.sleep(random.uniform(0, 0.001 * (attempt + 1)))
        raise AssertionError("unreachable")

    @staticmethod
    def _position(recordings: list[Any]) -> int:
        return max((r.notification.id for r in recordings), default=0)
