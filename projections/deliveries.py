"""Read model of the webhook inbox: every stored delivery and what became of it."""

from __future__ import annotations

from typing import Any

from domain.webhooks.aggregates import Delivery
from projections.model import Column, ColumnType, Rows, Table

JSON, INT = ColumnType.JSON, ColumnType.INTEGER

DELIVERIES = Table(
    "deliveries",
    (
        Column("provider"),
        Column("delivery_id"),
        Column("event"),
        Column("received_at"),
        Column("verified_by", JSON),
        Column("processed", INT),
        Column("outcome"),
        Column("runs", JSON),
        Column("reason"),
        Column("processed_at"),
        Column("replays", INT),
    ),
    indexes=(("processed", "received_at"), ("received_at",)),
)


class DeliveriesProjection:
    name = "deliveries"
    tables = (DELIVERIES,)
    topics = frozenset(
        cls.TOPIC for cls in (Delivery.Received, Delivery.Processed, Delivery.Replayed)
    )

    def apply(self, event: Any, rows: Rows) -> None:
        row_id = event.originator_id.hex
        at = event.timestamp.isoformat()
        topic = type(event).TOPIC
        if topic == Delivery.Received.TOPIC:
            row = DELIVERIES.blank(row_id)
            row.update(
                provider=event.provider,
                delivery_id=event.delivery_id,
                event=event.event,
                received_at=at,
                verified_by=list(event.verified_by),
                processed=0,
                outcome="",
                runs=[],
                reason="",
                replays=0,
            )
            rows.put("deliveries", row)
            return
        found = rows.get("deliveries", row_id)
        if found is None:
            return
        row = found
        if topic == Delivery.Processed.TOPIC:
            row.update(
                processed=1,
                outcome=event.outcome,
                runs=list(event.runs),
                reason=event.reason,
                processed_at=at,
            )
        else:
            row.update(processed=0, replays=(row["replays"] or 0) + 1)
        rows.put("deliveries", row)
