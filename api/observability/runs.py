"""The runs service, observed: durations and secret reads as metrics, and a job's life
as spans of one trace.

The trace of a run starts where it is requested (an HTTP request, a webhook, a cron
tick): its context is stored with the request, as ``traceparent`` in the run's
``trigger``, so whichever process records what happens next (the dispatcher schedules,
the executor or pod adapter starts the job and its steps and ends it, the JobService
records steps for the coordinator) continues the same trace, across processes and
restarts. Each transition is recorded as a span there and then (a step's and a job's
span with their real start and end), so no span has to stay open between processes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

from api.observability.metrics import danube_metrics
from api.observability.tracing import TRACEPARENT, Tracing, extract, inject, nanos
from domain.cause import Cause
from domain.eventlog import EventLog
from domain.ids import JobId, RunId
from domain.runs.aggregates import Run
from domain.runs.application import RunRequest, RunsService
from domain.runs.states import JobState, StepState


class ObservedRunsService(RunsService):
    def __init__(self, log: EventLog, tracing: Tracing) -> None:
        super().__init__(log)
        self.tracing = tracing

    def request_run(self, request: RunRequest, cause: Cause) -> int:
        tracer = self.tracing.tracer
        if tracer is None:
            return super().request_run(request, cause)
        with tracer.start_as_current_span(
            "run requested", kind=SpanKind.PRODUCER, attributes=_run_attributes(request, cause)
        ) as span:
            carried = inject(set_span_in_context(span))
            trigger = {**request.trigger, TRACEPARENT: carried.get(TRACEPARENT, "")}
            return super().request_run(replace(request, trigger=trigger), cause)

    def schedule_job(self, run_id: RunId, job_id: JobId, cause: Cause) -> int:
        position, run = self._acting(run_id, lambda run: run.schedule_job(job_id, cause))
        self._instant(run, job_id, "job scheduled", actor=cause.actor)
        return position

    def start_job(self, run_id: RunId, job_id: JobId, cause: Cause) -> int:
        position, run = self._acting(run_id, lambda run: run.start_job(job_id, cause))
        self._instant(run, job_id, "job started", actor=cause.actor)
        return position

    def finish_job(
        self, run_id: RunId, job_id: JobId, state: JobState, reason: str, cause: Cause
    ) -> int:
        position, run = self._acting(
            run_id, lambda run: run.finish_job(job_id, state, reason, cause)
        )
        if run is not None:
            job = run.job(job_id)
            if job.started_at is not None and job.finished_at is not None:
                duration = (job.finished_at - job.started_at).total_seconds()
                danube_metrics().job_duration.labels(run.pipeline).observe(duration)
            self._span(
                run,
                f"job {job.name}",
                run.requested_at,
                job.finished_at,
                {"danube.job.id": str(job_id), "danube.job.state": job.state.value,
                 "danube.job.reason": job.reason, "danube.actor": cause.actor},
                error=job.state is not JobState.SUCCESS,
            )  # fmt: skip
        return position

    def finish_step(
        self,
        run_id: RunId,
        job_id: JobId,
        number: int,
        *,
        state: StepState,
        exit_code: int | None,
        log_offset: int,
        reason: str = "",
        log_start: int | None = None,
    ) -> int:
        position, run = self._acting(
            run_id,
            lambda run: run.finish_step(
                job_id, number, state=state, exit_code=exit_code, log_offset=log_offset,
                reason=reason, log_start=log_start,
            ),
        )  # fmt: skip
        if run is not None:
            step = run.job(job_id).steps[number]
            if step.finished_at is not None:
                duration = (step.finished_at - step.started_at).total_seconds()
                danube_metrics().step_duration.labels(run.pipeline).observe(duration)
            self._span(
                run,
                f"step {number} {step.name}",
                step.started_at,
                step.finished_at,
                {"danube.job.id": str(job_id), "danube.step.number": number,
                 "danube.step.state": step.state.value,
                 "danube.step.exit_code": -1 if step.exit_code is None else step.exit_code},
                error=step.exit_code != 0,
            )  # fmt: skip
        return position

    def record_secret_read(self, run_id: RunId, job_id: JobId, key: str, scope: str) -> int:
        position = super().record_secret_read(run_id, job_id, key, scope)
        danube_metrics().secret_requests.inc()
        return position

    # ---------------------------------------------------------------------------------

    def _acting(self, run_id: RunId, act: Callable[[Run], bool]) -> tuple[int, Run | None]:
        """Run ``act`` as the base service would; the run, when it recorded something."""
        acted: list[Run] = []

        def acting(run: Run) -> bool:
            acted.clear()
            changed = act(run)
            if changed:
                acted.append(run)
            return changed

        position = self._update(run_id, acting)
        return position, (acted[0] if acted else None)

    def _instant(self, run: Run | None, job_id: JobId, name: str, **attributes: str) -> None:
        if run is None or self.tracing.tracer is None:
            return
        now = datetime.now(run.requested_at.tzinfo)
        self._span(run, name, now, now, {"danube.job.id": str(job_id), **attributes})

    def _span(
        self,
        run: Run,
        name: str,
        start: datetime,
        end: datetime | None,
        attributes: dict[str, Any],
        *,
        error: bool = False,
    ) -> None:
        tracer = self.tracing.tracer
        if tracer is None:
            return
        parent = extract({TRACEPARENT: run.trigger.get(TRACEPARENT, "")})
        attributes |= {"danube.pipeline": run.pipeline, "danube.run.id": str(run.id)}
        span = tracer.start_span(
            name, context=parent, kind=SpanKind.INTERNAL, attributes=attributes,
            start_time=nanos(start),
        )  # fmt: skip
        if error:
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=nanos(end))


def _run_attributes(request: RunRequest, cause: Cause) -> dict[str, str]:
    return {
        "danube.pipeline": request.pipeline,
        "danube.run.id": str(request.run_id),
        "danube.trigger": request.trigger.get("type", ""),
        "danube.commit": request.commit_sha,
        "danube.actor": cause.actor,
    }
