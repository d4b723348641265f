"""One cron trigger of one pipeline and the minutes it has handled.

Invariants: a minute is handled (fired or skipped) at most once and minutes only move
forward; the aggregate is armed when the trigger is first seen, so ticks missed while
the server was down are known to be missed (and fire once) after a restart."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.config.model import Trigger

_TRIGGERS = UUID("c4a1e9d2-6f3b-4b8e-9d27-0e5a7c31f4b6")


def cron_trigger_id(pipeline: str, trigger: Trigger) -> UUID:
    key = f"{pipeline}\x00{trigger.schedule}\x00{trigger.timezone}\x00{trigger.branch or ''}"
    return uuid5(_TRIGGERS, key)


class CronTrigger(Aggregate):
    TOPIC = "danube:CronTrigger"

    class Armed(Aggregate.Created):
        TOPIC = "danube:CronTrigger.Armed"
        pipeline: str
        schedule: str
        armed_at: datetime

    class Created(Aggregate.Created):
        TOPIC = "danube:CronTrigger.Created"

    def __init__(self, pipeline: str, schedule: str, armed_at: datetime, **_: Any) -> None:
        self.pipeline, self.schedule = pipeline, schedule
        self.last_minute = armed_at

    @classmethod
    def arm(cls, pipeline: str, trigger: Trigger, at: datetime) -> CronTrigger:
        return cls._create(
            cls.Armed,
            id=cron_trigger_id(pipeline, trigger),
            pipeline=pipeline,
            schedule=trigger.schedule or "",
            armed_at=at,
        )

    def fired(self, minute: datetime, run_id: str) -> bool:
        if minute <= self.last_minute:
            return False
        self.trigger_event(self.Fired, minute=minute, run_id=run_id)
        return True

    def skipped(self, minute: datetime, reason: str) -> bool:
        if minute <= self.last_minute:
            return False
        self.trigger_event(self.Skipped, minute=minute, reason=reason)
        return True

    class Fired(Aggregate.Event):
        TOPIC = "danube:CronTrigger.Fired"
        minute: datetime
        run_id: str

        def apply(self, trigger: CronTrigger) -> None:
            trigger.last_minute = self.minute

    class Skipped(Aggregate.Event):
        TOPIC = "danube:CronTrigger.Skipped"
        minute: datetime
        reason: str

        def apply(self, trigger: CronTrigger) -> None:
            trigger.last_minute = self.minute
