"""A shortcut for steps within one process, past the read model and back.

A step's way is: the JobService records that it started, the reconciler finds it among
the running steps of the read model and runs it, records how it ended, and the
JobService finds that in the read model and answers the coordinator: two projection
round trips per step. When the JobService and the reconciler live in one process
(``danube up``), the JobService also tells the relay what it recorded, so the reconciler
runs the step at once, and the reconciler tells the relay how the step ended, so the
JobService answers at once. What is recorded is the same either way, and the read model
stays the way everything else (the UI, a restarted process, a JobService in another
process) learns of steps: with nobody serving the relay, it does nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from domain.execution.ports import ActiveJob, RecordedStep, RunningStep

_KEPT_ENDS = 4096  # step ends nobody has asked for yet (the call may be just behind)


class AnnouncedStep(RunningStep, RecordedStep, Protocol):
    """A step as its start was just recorded, sealed material included: the runner opens
    that material without reading the run back from the event log."""


Runner = Callable[[ActiveJob, AnnouncedStep], None]
Key = tuple[str, int]


@dataclass(frozen=True)
class StepEnd:
    """How a step ended, as recorded (and as the read model will show it)."""

    state: str
    exit_code: int | None
    reason: str


class StepRelay:
    """Thread-safe. ``serve`` is called by the runner of steps (one reconciler at most),
    ``started`` and ``ended`` by whoever recorded those facts; ``end_of`` is asked by the
    caller that waits for a step."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runner: Runner | None = None
        self._ends: OrderedDict[Key, StepEnd] = OrderedDict()
        self._waiters: dict[Key, list[Callable[[], None]]] = {}

    def serve(self, runner: Runner) -> None:
        with self._lock:
            self._runner = runner

    def started(self, job: ActiveJob, step: AnnouncedStep) -> None:
        """The step's start was recorded: run it now (if someone here runs steps)."""
        with self._lock:
            runner = self._runner
        if runner is not None:
            runner(job, step)

    def ended(self, job_id: str, number: int, end: StepEnd) -> None:
        """The step's end was recorded."""
        key = (job_id, number)
        with self._lock:
            self._ends[key] = end
            while len(self._ends) > _KEPT_ENDS:
                self._ends.popitem(last=False)
            waiters = self._waiters.pop(key, [])
        for wake in waiters:
            wake()

    def watch(self, job_id: str, number: int, wake: Callable[[], None]) -> None:
        """Call ``wake`` (it must not block) when the step's end is known here."""
        key = (job_id, number)
        with self._lock:
            if key not in self._ends:
                self._waiters.setdefault(key, []).append(wake)
                return
        wake()

    def unwatch(self, job_id: str, number: int, wake: Callable[[], None]) -> None:
        with self._lock:
            waiters = self._waiters.get((job_id, number), [])
            if wake in waiters:
                waiters.remove(wake)
            if not waiters:
                self._waiters.pop((job_id, number), None)

    def end_of(self, job_id: str, number: int) -> StepEnd | None:
        """The step's end if it is known here (it is forgotten once asked for)."""
        with self._lock:
            return self._ends.pop((job_id, number), None)
