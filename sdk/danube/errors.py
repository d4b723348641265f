"""Errors raised by the Danube SDK.

Everything the SDK raises on purpose derives from `DanubeError`:

```
DanubeError
├── StepFailedError          a step ended unsuccessfully and check=True
├── PipelineDefinitionError  the danubefile cannot be loaded or names no usable pipeline
├── ConfigurationError       the coordinator's environment is incomplete (no master address, ...)
├── ArtifactError            a local problem with an artifact (missing path, outside the workspace)
├── MasterUnavailableError   the master could not be reached within the retry budget
└── MasterError              the master refused a call (carries the gRPC status name)
    ├── AuthenticationError  UNAUTHENTICATED: bad or expired job token
    ├── JobNotRunningError   FAILED_PRECONDITION: the job is no longer running
    ├── AccessDeniedError    PERMISSION_DENIED
    ├── InvalidRequestError  INVALID_ARGUMENT
    └── SecretNotFoundError  NOT_FOUND for secrets.get()
```

No message ever contains the job token.
"""

from __future__ import annotations

from danube.results import StepOutcome


class DanubeError(Exception):
    """Base class of the errors the SDK raises."""


class StepFailedError(DanubeError):
    """A step exited non-zero, timed out or was cancelled, and `check=True`.

    Attributes:
        step_name: the step's name (given, or the first 40 characters of the command).
        exit_code: the command's exit code (-1 when the master observed none).
        outcome: `StepOutcome.FAILURE`, `TIMEOUT` or `CANCELLED`.
        reason: the master's explanation, e.g. "timed out after 600s" (may be empty).
        number: the step's 1-based sequence number within the job.
    """

    def __init__(
        self,
        step_name: str,
        exit_code: int,
        outcome: StepOutcome,
        reason: str = "",
        number: int = 0,
    ) -> None:
        self.step_name = step_name
        self.exit_code = exit_code
        self.outcome = outcome
        self.reason = reason
        self.number = number
        super().__init__(self._describe())

    def _describe(self) -> str:
        if self.outcome is StepOutcome.TIMEOUT:
            text = f"step {self.step_name!r} timed out"
        elif self.outcome is StepOutcome.CANCELLED:
            text = f"step {self.step_name!r} was cancelled"
        else:
            return f"step {self.step_name!r} failed with exit code {self.exit_code}" + (
                f" ({self.reason})" if self.reason else ""
            )
        return f"{text} ({self.reason})" if self.reason else text

    def __reduce__(self) -> tuple[object, ...]:
        return (
            type(self),
            (self.step_name, self.exit_code, self.outcome, self.reason, self.number),
        )


class PipelineDefinitionError(DanubeError):
    """The danubefile is missing, cannot be imported, or does not name a usable pipeline."""


class ConfigurationError(DanubeError):
    """The SDK's environment is incomplete, e.g. `DANUBE_MASTER_ADDRESS` is not set."""


class ArtifactError(DanubeError):
    """An artifact cannot be uploaded: missing path, outside the workspace, checksum mismatch."""


class MasterUnavailableError(DanubeError):
    """The master could not be reached (or kept failing transiently) for the retry budget."""


class MasterError(DanubeError):
    """The master refused a call. `code` is the gRPC status name, `details` its explanation."""

    def __init__(self, message: str, code: str = "", details: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.details = details

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.args[0] if self.args else "", self.code, self.details))


class AuthenticationError(MasterError):
    """UNAUTHENTICATED: the job token is missing, wrong or expired."""


class JobNotRunningError(MasterError):
    """FAILED_PRECONDITION: the job is no longer running (finished, cancelled, timed out)."""


class AccessDeniedError(MasterError):
    """PERMISSION_DENIED: the job may not do this, e.g. read this secret."""


class InvalidRequestError(MasterError):
    """INVALID_ARGUMENT: the master rejected the request, e.g. a bad artifact name."""


class SecretNotFoundError(MasterError):
    """NOT_FOUND: no secret of that name is set for the pipeline."""
