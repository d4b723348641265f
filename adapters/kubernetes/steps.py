"""One step, run once, followed across as many exec connections as it takes.

The first exec claims and starts the step and follows its output files; when the
connection drops or closes without a status, the same exec is made again with the byte
offsets received so far: the claim makes it a pure follower, so the step never runs
twice and no byte is delivered twice or skipped. A non-zero exit is confirmed by reading
the recorded status (which also says whether the step's timeout ended it).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from adapters.kubernetes.client import KubeApi
from adapters.kubernetes.errors import Backoff
from adapters.kubernetes.execs import STDOUT, ExecEnd, run_exec
from adapters.kubernetes.scripts import (
    InvalidStepEnvironmentError,
    env_payload,
    new_end_marker,
    parse_result,
    result_argv,
    step_argv,
)
from domain.execution.ports import OutputSink, StepLaunch, StepOutcome, Stream
from domain.runs.states import StepState

log = logging.getLogger(__name__)
SHELL = "/bin/sh"
REFUSED = frozenset({401, 403})  # retrying will not help


class StepHost(Protocol):
    """The job a step runs in, as the step sees it."""

    @property
    def namespace(self) -> str: ...
    @property
    def pod(self) -> str: ...
    @property
    def cancelled(self) -> threading.Event:
        """Set when the job is stopped: every exec of it ends."""

    def step_verdict(self) -> StepOutcome | None:
        """The outcome every step gets because of the job (stopped, failed), if any."""


@dataclass(frozen=True)
class StepPolicy:
    give_up_after: float = 300.0  # of exec failures without any progress
    backoff: Backoff = field(default_factory=lambda: Backoff(base=0.05, cap=2.0))
    poll: float = 0.2
    idle_timeout: float = 60.0  # an exec connection silent this long (pings unanswered) is lost


class StepExecution:
    def __init__(
        self,
        api: KubeApi,
        host: StepHost,
        step: StepLaunch,
        output: OutputSink,
        offsets: tuple[int, int],
        policy: StepPolicy,
    ) -> None:
        self._api, self._host, self._step, self._output = api, host, step, output
        self._offsets = list(offsets)
        self._policy = policy
        self.attempts = 0

    def run(self) -> StepOutcome:
        end = new_end_marker()
        try:
            payload = env_payload(self._step.env, end, self._step.command)
        except InvalidStepEnvironmentError as error:
            return StepOutcome(StepState.FAILURE, None, str(error))
        failing_since: float | None = None
        while True:
            if self._api.stopping.is_set():
                _park()
            if (verdict := self._host.step_verdict()) is not None:
                return verdict
            before = sum(self._offsets)
            ended = self._exec(payload, end)
            if (verdict := self._host.step_verdict()) is not None:
                return verdict
            outcome = self._outcome(ended)
            if outcome is not None:
                return outcome
            if ended.status in REFUSED:
                return StepOutcome(
                    StepState.FAILURE, None, f"could not run the step: {ended.problem}"
                )
            if sum(self._offsets) > before or failing_since is None:
                failing_since = time.monotonic()
            if time.monotonic() - failing_since > self._policy.give_up_after:
                reason = f"lost the step's exec connection and could not reattach: {ended.problem}"
                return StepOutcome(StepState.FAILURE, None, reason)
            log.info(
                "step %s of pod %s: %s; reattaching",
                self._step.number,
                self._host.pod,
                ended.problem,
            )
            delay = self._policy.backoff.delay(min(self.attempts, 8), None)
            self._host.cancelled.wait(delay)

    def _exec(self, payload: bytes, end: str) -> ExecEnd:
        self.attempts += 1
        step = self._step
        argv = step_argv(SHELL, step.number, step.timeout_seconds, self._tuple(), end)
        return run_exec(
            self._api,
            self._host.namespace,
            self._host.pod,
            "worker",
            argv,
            self._deliver,
            stdin=payload,
            cancelled=self._host.cancelled,
            poll=self._policy.poll,
            idle_timeout=self._policy.idle_timeout,
        )

    def _outcome(self, ended: ExecEnd) -> StepOutcome | None:
        """The step's outcome, or None when the follower must be reattached."""
        if ended.exit_code == 0:
            return StepOutcome(StepState.SUCCESS, 0)
        if ended.exit_code is None:
            return None
        code, timed_out = self._recorded()
        if timed_out:
            timeout = f"{self._step.timeout_seconds:g}s"
            return StepOutcome(StepState.TIMEOUT, None, f"step timed out after {timeout}")
        if code is None:  # the follower failed, not the step
            return None
        return StepOutcome(StepState.FAILURE, code)

    def _recorded(self) -> tuple[int | None, bool]:
        chunks: list[bytes] = []
        ended = run_exec(
            self._api,
            self._host.namespace,
            self._host.pod,
            "worker",
            result_argv(SHELL, self._step.number),
            lambda channel, data: chunks.append(data) if channel == STDOUT else None,
            cancelled=self._host.cancelled,
            poll=self._policy.poll,
            idle_timeout=self._policy.idle_timeout,
        )
        if ended.exit_code != 0:
            return None, False
        return parse_result(b"".join(chunks))

    def _deliver(self, channel: int, data: bytes) -> None:
        if self._host.cancelled.is_set():
            return  # the job was stopped: what arrives now is not counted or kept
        self._output.write(Stream.STDOUT if channel == STDOUT else Stream.STDERR, data)
        self._offsets[channel - 1] += len(data)

    def _tuple(self) -> tuple[int, int]:
        return self._offsets[0], self._offsets[1]


def _park() -> None:
    """The adapter is shutting down: the step's outcome is for the next adapter to learn,
    so this call never returns (its thread ends with the process)."""
    threading.Event().wait()
