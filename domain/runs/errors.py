"""Named errors of the runs context. Raised before any event is triggered, so a
rejected command records nothing."""

from __future__ import annotations


class RunsError(Exception):
    """Base class of every rule a runs command can break."""


class RunNotFoundError(RunsError):
    pass


class RunAlreadyExistsError(RunsError):
    """A run with this id exists: the same trigger was already turned into a run."""


class JobNotFoundError(RunsError):
    pass


class IllegalTransitionError(RunsError):
    def __init__(self, job: str, current: str, target: str) -> None:
        super().__init__(f"job {job} cannot go from {current} to {target}")
        self.job, self.current, self.target = job, current, target


class JobAlreadyFinishedError(IllegalTransitionError):
    """A terminal job state never changes again."""


class RunAlreadyFinishedError(RunsError):
    pass


class StepNotFoundError(RunsError):
    pass


class StepConflictError(RunsError):
    """A step number was reused with different content, or a step finished twice
    with different outcomes."""


class InvalidRunRequestError(RunsError):
    pass


class RunNotFinishedError(RunsError):
    """The command needs a run that has ended (e.g. rerunning only its failed jobs)."""


class ReservedArtifactNameError(RunsError):
    """A job uploaded an artifact under a name only the control plane writes."""
