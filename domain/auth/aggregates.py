"""A refusal of access, recorded so the audit trail shows who was turned away from
what, and why. Each refusal is an aggregate of its own (one event): refusals never
contend with each other or with the things they refused access to."""

from __future__ import annotations

from uuid import uuid4

from eventsourcing.domain import Aggregate

from domain.cause import Cause
from domain.eventlog import EventLog


class AccessDenial(Aggregate):
    TOPIC = "danube:AccessDenial"

    class Created(Aggregate.Created):
        """Never recorded (a refusal is created by ``Recorded``); named for the library."""

        TOPIC = "danube:AccessDenial.Created"

    class Recorded(Aggregate.Created):
        """``operation`` names what was asked (``mutation triggerRun``, ``GET
        /api/v1/jobs/{job_id}``...), ``code`` is UNAUTHENTICATED or FORBIDDEN and
        ``pipeline`` the pipeline it concerned ("" for system actions)."""

        TOPIC = "danube:AccessDenial.Recorded"
        operation: str
        code: str
        pipeline: str
        cause: dict[str, str]

    def __init__(self, operation: str, code: str, pipeline: str, cause: dict[str, str]) -> None:
        self.operation, self.code, self.pipeline, self.cause = operation, code, pipeline, cause


class DenialsService:
    def __init__(self, log: EventLog) -> None:
        self._log = log

    def record(self, operation: str, code: str, pipeline: str, cause: Cause) -> int:
        denial = AccessDenial._create(
            AccessDenial.Recorded,
            id=uuid4(),
            operation=operation,
            code=code,
            pipeline=pipeline,
            cause=cause.to_dict(),
        )
        return self._log.create(denial)
