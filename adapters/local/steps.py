"""One step's single execution: later calls for the same step number wait for it and get
the same outcome; a timeout or a stop ends its whole process group."""

from __future__ import annotations

import threading

from adapters.local.process_group import ProcessGroup
from domain.execution.ports import StepLaunch, StepOutcome
from domain.runs.states import StepState


class StepRun:
    def __init__(self, step: StepLaunch) -> None:
        self._timeout = step.timeout_seconds
        self._lock = threading.Lock()
        self._group: ProcessGroup | None = None
        self._ending: StepOutcome | None = None  # why it is being ended early, first wins
        self._outcome: StepOutcome | None = None
        self._done = threading.Event()

    def attach(self, group: ProcessGroup) -> None:
        with self._lock:
            self._group = group

    def finish(self, outcome: StepOutcome) -> None:
        with self._lock:
            if self._outcome is None:
                self._outcome = outcome
        self._done.set()

    def cancel(self, reason: str) -> ProcessGroup | None:
        """Mark the step cancelled (unless it is already ending) and return the group
        the caller must terminate, if it still runs."""
        self._end_early(StepOutcome(StepState.CANCELLED, None, reason))
        with self._lock:
            return self._group if self._outcome is None else None

    def supervise(self) -> None:
        """Wait for the command, enforcing the timeout, and record its outcome."""
        with self._lock:
            group = self._group
        if group is None:
            return
        if not group.wait(self._timeout if self._timeout > 0 else None):
            self._end_early(
                StepOutcome(StepState.TIMEOUT, None, f"step timed out after {self._timeout:g}s")
            )
            group.terminate()
        group.wait()
        self.finish(self._settle(group))

    def outcome(self) -> StepOutcome:
        self._done.wait()
        with self._lock:
            assert self._outcome is not None
            return self._outcome

    def _end_early(self, ending: StepOutcome) -> None:
        with self._lock:
            if self._ending is None:
                self._ending = ending

    def _settle(self, group: ProcessGroup) -> StepOutcome:
        code = group.exit_code
        if group.killed:  # ended by us before it exited on its own
            with self._lock:
                return self._ending or StepOutcome(StepState.CANCELLED, None, "stopped")
        state = StepState.SUCCESS if code == 0 else StepState.FAILURE
        return StepOutcome(state, code)
