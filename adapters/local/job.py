"""One job on the local executor: its workspace, checkout, coordinator and steps.

Phases: PREPARING from ``begin`` until the coordinator is started (RUNNING) or
preparation fails (FAILED); EXITED once the coordinator's process group has ended.
``stop`` is first-reason-wins and blocks until every process of the job is gone.
"""

from __future__ import annotations

import logging
import os
import pwd
import shlex
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from adapters.local.checkout import CheckoutError, GitCheckout, MirrorSource
from adapters.local.environment import coordinator_environment, step_environment
from adapters.local.process_group import ProcessGroup
from adapters.local.steps import StepRun
from adapters.local.warm import CoordinatorPool
from adapters.local.workspace import remove_tree
from domain.execution.ports import (
    JobLaunch,
    JobStatus,
    OutputSink,
    Phase,
    StepLaunch,
    StepOutcome,
    Stream,
)
from domain.runs.states import StepState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalSettings:
    coordinator_command: tuple[str, ...]
    kill_grace_seconds: float
    git_timeout_seconds: float
    warm: CoordinatorPool | None = None  # idle coordinators to hand a job to first
    mirrors: MirrorSource | None = None  # local mirrors to clone workspaces from


class JobStoppedError(Exception):
    """The job was stopped; nothing new may be started for it."""


class CoordinatorStartError(Exception):
    """The coordinator command could not be started."""


class LocalJob:
    def __init__(
        self,
        job: JobLaunch,
        workspace: Path,
        settings: LocalSettings,
        output: OutputSink,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        # Told (it must not block) when preparing ended (the coordinator runs, or the job
        # failed to start) and when the coordinator has ended.
        self._on_change = on_change
        self._job = job
        self._workspace = workspace
        self._settings = settings
        self._output = output
        self._lock = threading.Lock()
        self._phase = Phase.PREPARING
        self._reason = ""
        self._stop_reason: str | None = None
        self._git: ProcessGroup | None = None
        self._coordinator: ProcessGroup | None = None
        self._steps: dict[int, StepRun] = {}
        self._prepared = threading.Event()
        self._stopping = threading.Event()

    def begin(self) -> None:
        name = f"prepare-{self._job.job_id}"
        threading.Thread(target=self._prepare, name=name, daemon=True).start()

    def status(self) -> JobStatus:
        with self._lock:
            coordinator = self._coordinator
            if coordinator is None or not coordinator.wait(0):
                return JobStatus(self._phase, reason=self._reason)
            reason = f"stopped: {self._stop_reason}" if coordinator.killed else ""
            return JobStatus(Phase.EXITED, coordinator.exit_code, reason)

    def run_step(self, step: StepLaunch, output: OutputSink) -> StepOutcome:
        self._prepared.wait()
        run, owned = self._claim_step(step, output)
        if owned:
            run.supervise()
        return run.outcome()

    def stop(self, reason: str) -> None:
        with self._lock:
            if self._stop_reason is None:
                self._stop_reason = reason
            self._stopping.set()
            groups = [g for g in (self._git, self._coordinator) if g is not None]
            groups += [g for run in self._steps.values() if (g := run.cancel(reason))]
        for group in groups:  # all of them get SIGTERM and share one grace period
            group.request_termination()
        for group in groups:
            group.terminate()
        self._prepared.wait()

    def _claim_step(self, step: StepLaunch, output: OutputSink) -> tuple[StepRun, bool]:
        """The step's run, and whether this call started it (and must supervise it)."""
        with self._lock:
            if (existing := self._steps.get(step.number)) is not None:
                return existing, False
            run = self._steps[step.number] = StepRun(step)
            if self._stop_reason is not None:
                run.finish(StepOutcome(StepState.CANCELLED, None, self._stop_reason))
            elif self._phase is Phase.FAILED:
                run.finish(StepOutcome(StepState.FAILURE, None, f"job failed: {self._reason}"))
            else:
                self._spawn_step(run, step, output)
            return run, True

    def _spawn_step(self, run: StepRun, step: StepLaunch, output: OutputSink) -> None:
        try:
            group = ProcessGroup.spawn(
                ["/bin/sh", "-c", step.command],
                cwd=self._workspace,
                env=step_environment(step.env),
                sink=output,
                grace=self._settings.kill_grace_seconds,
            )
        except OSError as error:
            reason = f"could not start the step: {error.strerror or error}"
            run.finish(StepOutcome(StepState.FAILURE, None, reason))
        else:
            run.attach(group)

    def _prepare(self) -> None:
        try:
            began = time.monotonic()
            self._say(_no_isolation_warning())
            remove_tree(self._workspace)  # left over from an earlier server process
            self._workspace.parent.mkdir(parents=True, exist_ok=True)
            self._checkout().run()
            checked_out = time.monotonic()
            self._start_coordinator()
            _log_prepared(self._job, began, checked_out)
        except (CheckoutError, CoordinatorStartError, JobStoppedError, OSError) as error:
            self._fail(error)
        except Exception as error:
            log.exception("preparing job %s failed", self._job.job_id)
            self._fail(error)
        finally:
            self._prepared.set()
            if self._on_change is not None:
                self._on_change()

    def _checkout(self) -> GitCheckout:
        job = self._job
        return GitCheckout(
            repository=job.repository,
            commit_sha=job.commit_sha,
            ref=job.ref,
            workspace=self._workspace,
            timeout=self._settings.git_timeout_seconds,
            launch=self._launch_git,
            say=self._say,
            access=job.git_access,
            mirror=_Stoppable(mirrors, self._stopping)
            if (mirrors := self._settings.mirrors)
            else None,
        )

    def _launch_git(
        self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], sink: OutputSink
    ) -> ProcessGroup:
        with self._lock:
            if self._stop_reason is not None:
                raise JobStoppedError()
            grace = self._settings.kill_grace_seconds
            self._git = ProcessGroup.spawn(argv, cwd=cwd, env=env, sink=sink, grace=grace)
            return self._git

    def _start_coordinator(self) -> None:
        command = self._settings.coordinator_command
        self._say(f"$ {shlex.join(command)}")
        env = coordinator_environment(self._job, self._workspace)
        with self._lock:
            if self._stop_reason is not None:
                raise JobStoppedError()
            warm = self._settings.warm
            try:
                self._coordinator = (
                    warm.take(env, self._workspace, self._output) if warm is not None else None
                ) or ProcessGroup.spawn(
                    command,
                    cwd=self._workspace,
                    env=env,
                    sink=self._output,
                    grace=self._settings.kill_grace_seconds,
                    merge_stderr=True,  # the pipeline's prints stay before its traceback
                )
            except OSError as error:
                raise CoordinatorStartError(
                    f"could not start the coordinator ({shlex.join(command)}): "
                    f"{error.strerror or type(error).__name__}"
                ) from None
            self._phase = Phase.RUNNING
            if self._on_change is not None:
                self._coordinator.when_done(self._on_change)

    def _fail(self, error: Exception) -> None:
        with self._lock:
            if self._stop_reason is not None:
                reason = f"stopped while preparing: {self._stop_reason}"
            elif isinstance(error, OSError):
                reason = f"could not prepare the workspace: {error.strerror or error}"
            elif isinstance(error, CheckoutError | CoordinatorStartError):
                reason = str(error)
            else:
                reason = f"internal error: {type(error).__name__}"
            self._phase, self._reason = Phase.FAILED, reason
        self._say(reason)

    def _say(self, line: str) -> None:
        try:
            self._output.write(Stream.SYSTEM, f"{line}\n".encode())
        except Exception:
            log.exception("output sink failed for job %s", self._job.job_id)


@dataclass(frozen=True)
class _Stoppable:
    """The executor's mirrors as one job asks them: a fetch into a mirror is shared with
    other jobs and not this job's to kill, so a stop of the job does not wait for it."""

    mirrors: MirrorSource
    stopping: threading.Event

    def holding(self, repository: str, commit_sha: str, ref: str) -> Path | None:
        found: list[Path | None] = []
        done = threading.Event()

        def ask() -> None:
            try:
                found.append(self.mirrors.holding(repository, commit_sha, ref))
            finally:
                done.set()

        threading.Thread(target=ask, name="mirror", daemon=True).start()
        while not done.wait(0.05):
            if self.stopping.is_set():
                raise JobStoppedError()
        return found[0] if found else None


def _log_prepared(job: JobLaunch, began: float, checked_out: float) -> None:
    """Where a job's start-up time went (``bench/run_cost.py`` reads it)."""
    log.info(
        "job prepared",
        extra={
            "job_id": job.job_id.hex,
            "checkout_ms": round((checked_out - began) * 1000, 1),
            "coordinator_start_ms": round((time.monotonic() - checked_out) * 1000, 1),
        },
    )


def _no_isolation_warning() -> str:
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        user = f"uid {os.getuid()}"
    return (
        f"warning: the local executor isolates nothing: steps run as {user} "
        "on this machine, with the server's permissions"
    )
