"""The System aggregate: one per installation; today it knows whether Danube drains.

While draining, no new run is accepted and no queued job is started; running jobs finish.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

SYSTEM_ID = UUID("0d4a5b1e-7c55-4f0e-9a41-3b8f6f2c7d90")


class System(Aggregate):
    TOPIC = "danube:System"

    class Created(Aggregate.Created):
        TOPIC = "danube:System.Created"

    def __init__(self, **_: Any) -> None:
        self.draining = False
        self.drain_cause: dict[str, str] = {}
        self.drain_since: datetime | None = None

    def start_draining(self, cause: dict[str, str]) -> bool:
        if self.draining:
            return False
        self.trigger_event(self.DrainStarted, cause=cause)
        return True

    def stop_draining(self, cause: dict[str, str]) -> bool:
        if not self.draining:
            return False
        self.trigger_event(self.DrainStopped, cause=cause)
        return True

    def record_key_rotation(
        self, master_key_id: str, rewrapped: int, cause: dict[str, str]
    ) -> None:
        """The secrets' master key was replaced; ``rewrapped`` data keys now use it."""
        self.trigger_event(
            self.SecretsKeyRotated, master_key_id=master_key_id, rewrapped=rewrapped, cause=cause
        )

    class SecretsKeyRotated(Aggregate.Event):
        TOPIC = "danube:System.SecretsKeyRotated"
        master_key_id: str
        rewrapped: int
        cause: dict[str, str]

        def apply(self, system: System) -> None:
            pass

    class DrainStarted(Aggregate.Event):
        TOPIC = "danube:System.DrainStarted"
        cause: dict[str, str]

        def apply(self, system: System) -> None:
            system.draining, system.drain_cause = True, dict(self.cause)
            system.drain_since = self.timestamp

    class DrainStopped(Aggregate.Event):
        TOPIC = "danube:System.DrainStopped"
        cause: dict[str, str]

        def apply(self, system: System) -> None:
            system.draining, system.drain_cause, system.drain_since = False, {}, None
