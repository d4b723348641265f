"""The reaper's daily pass, scheduled like a cron trigger: each scheduled minute runs
once, across restarts and replicas (a ``CronTrigger`` aggregate named
``danube:reaper`` records the minutes handled; a pass missed while down runs once)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import RecordConflictError

from domain.cause import Cause
from domain.config.model import Trigger, TriggerKind
from domain.eventlog import EventLog
from domain.schedules.aggregates import CronTrigger, cron_trigger_id
from domain.triggers.cron import due_fire
from domain.triggers.ports import CronSchedule

REAPER = "danube:reaper"


class ReaperSchedule:
    def __init__(
        self,
        log_: EventLog,
        expression: str,
        schedule_of: Callable[[Trigger], CronSchedule],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._log, self._clock = log_, clock
        self._trigger = Trigger(kind=TriggerKind.CRON, schedule=expression)
        self._schedule = schedule_of(self._trigger)
        self._id = cron_trigger_id(REAPER, self._trigger)

    def due(self) -> Cause | None:
        """Claim the scheduled minute that has come, if any: the cause to reap with, or
        None (nothing due, or another replica claimed it first). Nothing is recorded
        until the first pass is due (a first start records nothing for the reaper)."""
        now = self._clock()
        try:
            state: CronTrigger | None = self._log.load(CronTrigger, self._id)
        except AggregateNotFoundError:
            state = None
        minute = due_fire(self._schedule, state.last_minute if state else None, now)
        if minute is None:
            return None
        if state is None:
            first = CronTrigger.arm(REAPER, self._trigger, minute - timedelta(seconds=1))
            first.fired(minute, "")
            try:
                self._log.create(first)
            except RecordConflictError:  # another replica claimed the first pass
                return None
        else:
            claimed: list[bool] = []
            self._log.update(CronTrigger, self._id, lambda t: claimed.append(t.fired(minute, "")))
            if not claimed or not claimed[-1]:
                return None
        reason = f"scheduled {minute.isoformat()}"
        return Cause(actor="system:reaper", trigger="cron", reason=reason)
