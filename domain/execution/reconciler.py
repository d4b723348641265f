"""The reconciler: makes an executor do what the read model says, level-triggered.

Desired state comes from the read model (jobs scheduling or running, steps running,
cancel requests); observed state from the executor's ``status``. Each ``tick`` closes the
gap for every active job independently, so one failing job never blocks the others, and
it is safe to run again at any time (after a crash, a restart, a lagging view): every
executor call and every command is idempotent.

With ``workers``, each job's reconciling runs on a small pool, one job at most once at a
time: a job that ends (its processes stopped, its log stored, its workspace removed)
never holds up another job's start or step. A job that a tick found busy is looked at
again, fresh from the view, as soon as its worker is free.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from domain.cause import Cause
from domain.execution.git_access import RepositoryAccessError
from domain.execution.ports import (
    ActiveJob,
    ExecutionView,
    Executor,
    Inventory,
    JobLaunch,
    JobOutput,
    Phase,
    RecordedStep,
    RunningStep,
    StepLaunch,
    StepMaterial,
    StepOutcome,
)
from domain.execution.relay import AnnouncedStep, StepEnd, StepRelay
from domain.execution.workers import Workers
from domain.ids import JobId, RunId
from domain.runs.application import RunsService
from domain.runs.errors import RunsError
from domain.runs.states import JobState, StepState
from domain.secrets.errors import SecretUnreadableError

log = logging.getLogger(__name__)

DEFAULT_MAX_DURATION = 3600
SWEEP_INTERVAL = 10.0
# A step still running this long after its opening line was written gets where its
# output begins recorded on its own (by a tick); a shorter one's end carries it: one
# event fewer per step on the path of short steps.
OUTPUT_START_RECORD_AFTER = 0.2


@dataclass
class _OutputStart:
    """Where a running step's output begins in its job's log, not recorded yet."""

    run_id: RunId
    job_id: JobId
    number: int
    offset: int
    written: float  # time.monotonic() when its opening line was written
    lock: threading.Lock = field(default_factory=threading.Lock)
    settled: bool = False  # recorded, or handed to the step's end


class Reconciler:
    def __init__(
        self,
        executor: Executor,
        runs: RunsService,
        view: ExecutionView,
        output: JobOutput,
        launch: Callable[[ActiveJob], JobLaunch],
        material: StepMaterial,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sweep_interval: float = SWEEP_INTERVAL,
        workers: int = 0,
        relay: StepRelay | None = None,
    ) -> None:
        self._executor, self._runs, self._view = executor, runs, view
        self._output, self._launch, self._material = output, launch, material
        self._clock = clock
        self._sweep_interval = sweep_interval
        self._material_swept: float | None = None
        self._executor_swept: float | None = None
        self._cause = Cause(actor=f"executor:{executor.name}")
        self._held: set[str] = set()
        self._steps: set[tuple[str, int]] = set()
        self._ending: dict[str, JobState] = {}  # jobs being stopped, and why
        self._lock = threading.Lock()
        self._step_threads = Workers("step")
        self._step_runs: set[threading.Event] = set()  # set once each step's run returned
        self._pool = ThreadPoolExecutor(workers, "reconcile") if workers > 0 else None
        self._busy: set[str] = set()  # jobs a worker reconciles now
        # Jobs this reconciler ended, until the read model stops listing them as active: a
        # tick on a view that has not folded the end yet must not take the released job
        # for one whose processes vanished (and write a failure into its finished log).
        self._finished: set[str] = set()
        self._missed: set[str] = set()  # busy jobs a tick wanted to look at
        self._starts: dict[tuple[str, int], _OutputStart] = {}  # not recorded yet
        self._adopted: set[str] = set()  # running jobs found started by another process
        self._opened: dict[str, Mapping[int, int]] = {}  # their steps' lines in the log
        self._relay = relay
        if relay is not None:
            relay.serve(self._run_announced)

    def tick(self) -> None:
        active = {job.id: job for job in self._view.active_jobs()}
        with self._lock:
            self._finished &= active.keys()
            ended_here = set(self._finished)
        for job in active.values():
            if job.id not in ended_here:
                self._handle(job)
        with self._lock:
            idle = set(self._held) - active.keys() - self._busy
        for job_id in idle:  # ended elsewhere (e.g. cancelled)
            ended = JobId(UUID(job_id))
            self._executor.release(ended)
            self._output.close(ended)
            self._material.destroy(ended)
            with self._lock:
                self._held.discard(job_id)
                self._forget_steps(job_id)
        self._sweep({JobId(UUID(job_id)) for job_id in active})
        self._record_starts(
            lambda start: time.monotonic() - start.written >= OUTPUT_START_RECORD_AFTER
        )

    def _handle(self, job: ActiveJob) -> None:
        if self._pool is None:
            self._reconcile_one(job)
            return
        with self._lock:
            if job.id in self._busy:
                self._missed.add(job.id)
                return
            self._busy.add(job.id)
        self._pool.submit(self._work_on, job)

    def _work_on(self, job: ActiveJob | None) -> None:
        """A worker: reconcile the job, and again while ticks missed it meanwhile."""
        job_id = job.id if job is not None else ""
        while job is not None:
            self._reconcile_one(job)
            with self._lock:
                if job_id not in self._missed:
                    self._busy.discard(job_id)
                    return
                self._missed.discard(job_id)
            job = self._view.job(job_id)
            if job is not None and JobState(job.state).is_terminal:
                job = None
        with self._lock:
            self._busy.discard(job_id)

    def _reconcile_one(self, job: ActiveJob) -> None:
        try:
            self._reconcile(job)
        except Exception:  # one job's trouble must not stop the others
            log.exception("reconciling job %s failed; will retry", job.id)

    def _sweep(self, active: set[JobId]) -> None:
        """On the first tick and then now and again: destroy the step material and
        release what the executor holds of jobs that ended while nobody watched (this
        process was down, or crashed between recording a job's end and cleaning up).
        An executor that cannot tell yet what it holds is asked again on the next tick."""
        now = time.monotonic()
        if self._due(self._material_swept, now):
            self._material_swept = now
            self._sweep_material(active)
        inventory = isinstance(self._executor, Inventory)
        if inventory and self._due(self._executor_swept, now) and self._sweep_executor(active):
            self._executor_swept = now

    def _due(self, swept: float | None, now: float) -> bool:
        return swept is None or now - swept >= self._sweep_interval

    def _sweep_material(self, active: set[JobId]) -> None:
        try:
            held = set(self._material.held()) - active
        except Exception:
            log.exception("listing the jobs with sealed step material failed; will retry")
            return
        for job_id in held:
            job = self._view.job(job_id.hex)
            if job is not None and JobState(job.state).is_terminal:
                log.info("destroying the step material of job %s: it has ended", job_id)
                self._material.destroy(job_id)

    def _sweep_executor(self, active: set[JobId]) -> bool:
        """Whether the executor could say what it holds (what is not active is released)."""
        assert isinstance(self._executor, Inventory)
        try:
            held = self._executor.jobs()
        except Exception:
            log.exception("listing what the executor holds failed; will retry")
            return True
        if held is None:
            return False
        for job_id in set(held) - active:
            log.info("releasing job %s: it is not active", job_id)
            self._executor.release(job_id)
        return True

    def _reconcile(self, job: ActiveJob) -> None:
        job_id = JobId(UUID(job.id))
        with self._lock:
            if job.id in self._finished:  # ended by us; the view is a moment behind
                return
        if job.cancel_requested:  # whatever the executor would say (it may be slow to)
            self._finish(job, JobState.CANCELLED, "cancelled")
            return
        status = self._executor.status(job_id)
        if status.phase == Phase.UNKNOWN:
            # Whether it still runs is not known, but its time is: a job past its limit
            # ends now; what it left behind is released once the executor can look.
            if self._timed_out(job):
                limit = _max_duration(job)
                self._finish(job, JobState.TIMEOUT, f"exceeded max_duration_seconds ({limit}s)")
        elif status.phase == Phase.ABSENT:
            if job.state == JobState.SCHEDULING:
                self._start(job)
            else:
                why = status.reason or "its executor restarted or lost it"
                self._finish(job, JobState.FAILURE, f"the job's processes are gone ({why})")
        elif status.phase == Phase.FAILED:
            self._finish(job, JobState.FAILURE, status.reason or "the job could not start")
        elif status.phase == Phase.PREPARING:
            self._adopt(job)
        elif status.phase in (Phase.RUNNING, Phase.EXITED):
            self._adopt(job)
            if job.state == JobState.SCHEDULING:
                self._runs.start_job(_run_id(job), job_id, self._cause)
            if status.phase == Phase.EXITED:
                self._finish_exited(job, status.exit_code, status.reason)
            elif self._timed_out(job):
                limit = _max_duration(job)
                self._finish(job, JobState.TIMEOUT, f"exceeded max_duration_seconds ({limit}s)")
            else:
                self._start_steps(job)

    def _adopt(self, job: ActiveJob) -> None:
        """A job started before this process (the executor found it): hand it its output."""
        with self._lock:
            held = job.id in self._held
            if not held:
                self._adopted.add(job.id)
        if not held:
            self._start(job)

    def _start(self, job: ActiveJob) -> None:
        try:
            launch = self._launch(job)
        except RepositoryAccessError as error:  # its credentials: the job cannot start
            self._finish(job, JobState.FAILURE, str(error))
            return
        self._output.mask_token(launch.job_id, launch.token)  # before any of its output
        self._executor.start(launch, self._output.for_job(launch.job_id))
        with self._lock:
            self._held.add(job.id)

    def _finish_exited(self, job: ActiveJob, exit_code: int | None, why: str) -> None:
        """The run decides how the job ended (its report, else the exit code), from the
        event log: a report the read model has not folded yet still counts."""
        ending = self._runs.ending_after_exit(_run_id(job), JobId(UUID(job.id)), exit_code, why)
        self._finish(job, ending.state, ending.reason)

    def _finish(self, job: ActiveJob, state: JobState, reason: str) -> None:
        """Stop what runs, store all output and destroy the step material, then record
        the end: by the time anyone sees a job's final state its log is complete and
        nothing sealed for its steps opens any more."""
        job_id = JobId(UUID(job.id))
        self._ending[job.id] = state
        self._record_starts(lambda start: start.job_id == job_id)  # before its steps end
        self._executor.stop(job_id, reason or state.value)
        if reason and state != JobState.SUCCESS:
            self._output.system_line(job_id, f"── job {state.value}: {reason}")
        self._output.close(job_id)
        self._material.destroy(job_id)  # only its steps needed it, and they are gone
        try:
            self._runs.finish_job(_run_id(job), job_id, state, reason, self._cause)
        except RunsError as error:  # ended meanwhile (e.g. cancelled)
            log.debug("job %s already ended: %s", job.id, error)
        self._material.destroy(job_id)  # a step may have been sealed meanwhile
        self._executor.release(job_id)
        with self._lock:
            self._held.discard(job.id)
            self._forget_steps(job.id)
            self._finished.add(job.id)
        self._ending.pop(job.id, None)

    def _forget_steps(self, job_id: str) -> None:
        """Under the lock: the job ended, its steps will not be started again."""
        self._steps = {key for key in self._steps if key[0] != job_id}
        self._starts = {key: s for key, s in self._starts.items() if key[0] != job_id}
        self._adopted.discard(job_id)
        self._opened.pop(job_id, None)

    def held_jobs(self) -> set[str]:
        """The jobs this reconciler keeps any state of (ended ones only briefly: until
        the read model stops listing them as active)."""
        with self._lock:
            steps = {job_id for job_id, _ in self._steps}
            starts = {job_id for job_id, _ in self._starts}
            return self._held | steps | starts | self._busy | self._finished | set(self._ending)

    def _timed_out(self, job: ActiveJob) -> bool:
        if not job.started_at:
            return False
        started = datetime.fromisoformat(job.started_at)
        return (self._clock() - started).total_seconds() > _max_duration(job)

    def _run_announced(self, job: ActiveJob, step: AnnouncedStep) -> None:
        """A step whose start was just recorded in this process (``StepRelay``): run it
        now rather than once the read model shows it, if this reconciler runs its job."""
        with self._lock:
            ours = job.id in self._held and job.id not in self._finished
        if not ours or job.id in self._ending:
            return  # the read model will show it; a tick decides
        try:
            self._start_steps(job, [step], {step.number: step})  # as just recorded
        except Exception:  # e.g. its material cannot be opened yet: the tick retries
            log.exception("starting step %s of job %s failed; will retry", step.number, job.id)

    def _start_steps(
        self,
        job: ActiveJob,
        announced: Sequence[RunningStep] = (),
        recorded: Mapping[int, RecordedStep] | None = None,
    ) -> None:
        steps = announced or self._view.running_steps(job.id)
        if not steps:
            return
        job_id = JobId(UUID(job.id))
        self._output.mask_secrets(job_id, job.pipeline, list(job.secrets_read or []))
        # Sealed material: as the step's start was just recorded, or from the run (read
        # once, for the first step to start), never from a read model.
        for step in steps:
            key = (job.id, step.number)
            with self._lock:
                if key in self._steps:
                    continue
                self._steps.add(key)
            try:
                if recorded is None:  # sealed material: from the run, never a read model
                    recorded = self._runs.get(_run_id(job)).job(job_id).steps
                command, env = self._material.open(recorded[step.number])
                log_start = recorded[step.number].log_start
                if log_start is None:  # unless an earlier process wrote its line already
                    log_start = self._opened_before(job, step.number)
            except SecretUnreadableError as error:
                why = f"its sealed command or environment cannot be opened ({error})"
                self._fail_step(job, step.number, why)
                continue
            except Exception:
                with self._lock:
                    self._steps.discard(key)  # try again on the next tick
                raise
            launch = StepLaunch(
                number=step.number,
                name=step.name,
                command=command,
                env=env,
                image=step.image,
                timeout_seconds=step.timeout_seconds or 0.0,
            )
            ran = self._step_threads.submit(self._run_step, job, launch, log_start)
            with self._lock:
                self._step_runs = {run for run in self._step_runs if not run.is_set()}
                self._step_runs.add(ran)

    def wait_for_steps(self, timeout: float) -> bool:
        """For a process that stops: once the executor has ended its steps, wait until
        each step's thread has recorded how it ended. False if some are still busy."""
        deadline = time.monotonic() + timeout
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            while self._busy and time.monotonic() < deadline:
                time.sleep(0.01)  # a job's end being recorded; only when stopping
        with self._lock:
            runs = list(self._step_runs)
        for ran in runs:
            ran.wait(max(deadline - time.monotonic(), 0.0))
        return all(ran.is_set() for ran in runs)

    def _run_step(self, job: ActiveJob, step: StepLaunch, log_start: int | None) -> None:
        job_id = JobId(UUID(job.id))
        try:
            if log_start is None:  # not begun in the log yet (else: reattached after a restart)
                self._open_step(job, step)
            outcome = self._executor.run_step(
                job_id, step, self._output.for_step(job_id, step.number)
            )
            ending = self._ending.get(job.id)
            if outcome.state == StepState.CANCELLED and ending == JobState.TIMEOUT:
                # Stopped because the job ran out of time: the step timed out with it.
                outcome = StepOutcome(StepState.TIMEOUT, None, outcome.reason)
            end = self._output.size(job_id)
            self._output.system_line(job_id, _ending(step, outcome))
            self._runs.finish_step(
                _run_id(job),
                job_id,
                step.number,
                state=outcome.state,
                exit_code=outcome.exit_code,
                log_offset=end,
                reason=outcome.reason,
                log_start=self._unrecorded_start(job.id, step.number),
            )
            ended = StepEnd(outcome.state, outcome.exit_code, outcome.reason)
            self._announce_end(job, step.number, ended)
        except RunsError as error:  # the job ended meanwhile and took the step with it
            log.debug("step %s of job %s: %s", step.number, job.id, error)
        except Exception:
            log.exception("step %s of job %s failed to run", step.number, job.id)
            self._fail_step(job, step.number)

    def _open_step(self, job: ActiveJob, step: StepLaunch) -> None:
        """Write the step's opening line (its name as recorded: as shown, masked) before
        its first byte. Where its output begins (just past that line) is recorded with
        its end, or on its own if it runs longer (``OUTPUT_START_RECORD_AFTER``). The
        process that runs the job's steps is the only writer of the job's log."""
        job_id = JobId(UUID(job.id))
        offset = self._output.system_line(job_id, f"── step {step.number}: {step.name}")
        start = _OutputStart(_run_id(job), job_id, step.number, offset, time.monotonic())
        with self._lock:
            self._starts[(job.id, step.number)] = start

    def _opened_before(self, job: ActiveJob, number: int) -> int | None:
        """For a job taken over from another process: where the step's output begins if
        that process wrote its opening line already (then recorded from here on)."""
        with self._lock:
            if job.id not in self._adopted:
                return None
            opened = self._opened.get(job.id)
        job_id = JobId(UUID(job.id))
        if opened is None:
            opened = self._output.opened_steps(job_id)
            with self._lock:
                self._opened[job.id] = opened
        offset = opened.get(number)
        if offset is not None:
            start = _OutputStart(_run_id(job), job_id, number, offset, time.monotonic())
            with self._lock:
                self._starts[(job.id, number)] = start
        return offset

    def _record_starts(self, due: Callable[[_OutputStart], bool]) -> None:
        """Record where the output of each running step ``due`` begins."""
        with self._lock:
            starts = [start for start in self._starts.values() if due(start)]
        for start in starts:
            with start.lock:
                if start.settled:
                    continue
                try:
                    self._runs.record_step_output_start(
                        start.run_id, start.job_id, start.number, start.offset
                    )
                except RunsError as error:  # it ended meanwhile (its end says it)
                    log.debug("step %s of job %s: %s", start.number, start.job_id, error)
                except Exception:
                    log.exception("recording where step %s began failed; will retry", start.number)
                    continue
                start.settled = True
            with self._lock:
                self._starts.pop((start.job_id.hex, start.number), None)

    def _unrecorded_start(self, job_id: str, number: int) -> int | None:
        """Where the step's output began, if not recorded yet (its end records it)."""
        with self._lock:
            start = self._starts.pop((job_id, number), None)
        if start is None:
            return None
        with start.lock:  # a tick recording it now: wait, then it is recorded
            if start.settled:
                return None
            start.settled = True
            return start.offset

    def _fail_step(
        self, job: ActiveJob, number: int, reason: str = "the executor could not run the step"
    ) -> None:
        try:
            job_id = JobId(UUID(job.id))
            self._runs.finish_step(
                _run_id(job),
                job_id,
                number,
                state=StepState.FAILURE,
                exit_code=None,
                log_offset=self._output.size(job_id),
                reason=reason,
                log_start=self._unrecorded_start(job.id, number),
            )
            self._announce_end(job, number, StepEnd(StepState.FAILURE, None, reason))
        except Exception:
            log.exception("could not record the failure of step %s of job %s", number, job.id)

    def _announce_end(self, job: ActiveJob, number: int, end: StepEnd) -> None:
        if self._relay is not None:
            self._relay.ended(job.id, number, end)


def _ending(step: StepLaunch, outcome: StepOutcome) -> str:
    if outcome.state == StepState.SUCCESS:
        return f"── step {step.number} succeeded"
    detail = outcome.reason or f"exit code {outcome.exit_code}"
    return f"── step {step.number} {outcome.state.value}: {detail}"


def _run_id(job: ActiveJob) -> RunId:
    return RunId(UUID(job.run_id))


def _max_duration(job: ActiveJob) -> int:
    value = (job.spec or {}).get("max_duration_seconds", DEFAULT_MAX_DURATION)
    return int(value) if isinstance(value, int | float) and value > 0 else DEFAULT_MAX_DURATION
