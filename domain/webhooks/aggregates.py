"""A webhook delivery: stored (verified, parsed once) before the forge gets its 2xx, then
processed into runs. The delivery id makes it idempotent: a redelivery is the same
aggregate and records nothing."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

_DELIVERIES = UUID("8e3f1c77-2b9a-4d05-a6f4-51c0d9e7b28a")


def delivery_id_for(provider: str, delivery_id: str) -> UUID:
    return uuid5(_DELIVERIES, f"{provider}\x00{delivery_id}")


class Delivery(Aggregate):
    TOPIC = "danube:Delivery"

    class Received(Aggregate.Created):
        TOPIC = "danube:Delivery.Received"
        provider: str
        delivery_id: str
        event: str
        headers: dict[str, str]
        body: str
        verified_by: list[str]

    class Created(Aggregate.Created):
        TOPIC = "danube:Delivery.Created"

    def __init__(
        self,
        provider: str,
        delivery_id: str,
        event: str,
        headers: dict[str, str],
        body: str,
        verified_by: list[str],
        **_: Any,
    ) -> None:
        self.provider, self.delivery_id, self.event = provider, delivery_id, event
        self.headers, self.body = dict(headers), body
        self.verified_by = list(verified_by)
        self.processed = False
        self.outcome = ""
        self.runs: list[str] = []

    @classmethod
    def receive(
        cls,
        provider: str,
        delivery_id: str,
        event: str,
        headers: dict[str, str],
        body: str,
        verified_by: list[str],
    ) -> Delivery:
        return cls._create(
            cls.Received,
            id=delivery_id_for(provider, delivery_id),
            provider=provider,
            delivery_id=delivery_id,
            event=event,
            headers=headers,
            body=body,
            verified_by=verified_by,
        )

    def record_processed(self, outcome: str, runs: list[str], reason: str) -> bool:
        if self.processed and (self.outcome, self.runs) == (outcome, runs):
            return False
        self.trigger_event(self.Processed, outcome=outcome, runs=runs, reason=reason)
        return True

    def replay(self, cause: dict[str, str]) -> None:
        self.trigger_event(self.Replayed, cause=cause)

    class Processed(Aggregate.Event):
        TOPIC = "danube:Delivery.Processed"
        outcome: str  # started | ignored | failed
        runs: list[str]
        reason: str

        def apply(self, delivery: Delivery) -> None:
            delivery.processed, delivery.outcome = True, self.outcome
            delivery.runs = list(self.runs)

    class Replayed(Aggregate.Event):
        TOPIC = "danube:Delivery.Replayed"
        cause: dict[str, str]

        def apply(self, delivery: Delivery) -> None:
            delivery.processed = False
