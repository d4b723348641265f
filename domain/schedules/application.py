"""The cron scheduler: evaluated about once a minute, it fires every cron trigger whose
scheduled minute has come, at most once per (pipeline, trigger, minute)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import RecordConflictError

from domain.cause import Cause
from domain.config.application import ConfigService
from domain.config.model import Pipeline, Trigger, TriggerKind
from domain.eventlog import EventLog
from domain.ids import scheduled_run_id_for
from domain.runs.application import RunsService
from domain.runs.errors import RunAlreadyExistsError
from domain.schedules.aggregates import CronTrigger, cron_trigger_id
from domain.system.application import SystemService
from domain.triggers.cron import due_fire, floor_minute
from domain.triggers.ports import CronSchedule
from domain.triggers.requests import run_request

log = logging.getLogger(__name__)

CRON = Cause(actor="cron", trigger="cron")


class CommitResolver(Protocol):
    """Contract: ``resolve(repository, ref)`` returns (commit SHA, full ref name) of a
    branch, tag or commit in a remote repository, or raises an exception whose message
    says why not."""

    def resolve(self, repository: str, ref: str) -> tuple[str, str]: ...


class CronScheduler:
    def __init__(
        self,
        log_: EventLog,
        runs: RunsService,
        config: ConfigService,
        system: SystemService,
        schedule_of: Callable[[Trigger], CronSchedule],
        commits: CommitResolver,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._log, self._runs, self._config, self._system = log_, runs, config, system
        self._schedule_of, self._commits, self._clock = schedule_of, commits, clock

    def tick(self) -> list[str]:
        """Fire what is due; returns the run ids requested (hex)."""
        config = self._config.current()
        if config is None:
            return []
        now, started = self._clock(), []
        for pipeline in config.pipelines:
            for trigger in pipeline.triggers:
                if trigger.kind != TriggerKind.CRON or not trigger.schedule:
                    continue
                try:
                    run = self._evaluate(pipeline, trigger, now)
                except Exception:  # one broken trigger must not stop the others
                    log.exception("cron trigger of %s failed", pipeline.name)
                    continue
                if run:
                    started.append(run)
        return started

    def _evaluate(self, pipeline: Pipeline, trigger: Trigger, now: datetime) -> str:
        aggregate_id = cron_trigger_id(pipeline.name, trigger)
        try:
            state = self._log.load(CronTrigger, aggregate_id)
        except AggregateNotFoundError:
            # Armed just before the current minute: its tick (if scheduled) still fires,
            # nothing earlier does (a new pipeline never fires a backlog).
            armed_at = floor_minute(now) - timedelta(seconds=1)
            with contextlib.suppress(RecordConflictError):  # armed by another replica
                self._log.create(CronTrigger.arm(pipeline.name, trigger, armed_at))
            state = self._log.load(CronTrigger, aggregate_id)
        minute = due_fire(self._schedule_of(trigger), state.last_minute, now)
        if minute is None:
            return ""
        if self._system.is_draining():
            self._record(aggregate_id, lambda t: t.skipped(minute, "draining"))
            return ""
        branch = trigger.branch or "HEAD"
        try:
            commit, ref = self._commits.resolve(pipeline.repository, branch)
        except Exception as error:
            reason = f"cannot resolve {branch}: {error}"
            self._record(aggregate_id, lambda t: t.skipped(minute, reason))
            return ""
        request = run_request(
            pipeline,
            kind="cron",
            ref=ref,
            commit=commit,
            trigger={"scheduled_for": minute.isoformat(), "schedule": trigger.schedule or ""},
            run_id=scheduled_run_id_for(pipeline.name, aggregate_id.hex, minute.isoformat()),
        )
        # The run first, then the record that the minute is done. The run id is derived
        # from (pipeline, trigger, minute) and not from the commit, so a second replica or
        # a retry after a crash collides with it even when the branch moved in between.
        with contextlib.suppress(RunAlreadyExistsError):
            self._runs.request_run(request, CRON)
        self._record(aggregate_id, lambda t: t.fired(minute, request.run_id.hex))
        return request.run_id.hex

    def _record(self, aggregate_id: object, act: Callable[[CronTrigger], object]) -> None:
        self._log.update(CronTrigger, aggregate_id, act)  # type: ignore[arg-type]
