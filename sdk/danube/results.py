"""Values the SDK returns: step results, output chunks, uploaded artifacts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class StepOutcome(StrEnum):
    """How a step ended."""

    SUCCESS = "success"
    FAILURE = "failure"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class OutputChunk:
    """A piece of a step's output as the master streamed it back.

    `offset` is the position of `data[0]` in the step's output (stdout and stderr
    interleaved, as stored in the job log).
    """

    data: bytes
    stream: Literal["stdout", "stderr"]
    offset: int


OutputCallback = Callable[[OutputChunk], None]
"""Called with every chunk of a step's output, in order, each byte exactly once."""


@dataclass(frozen=True)
class StepResult:
    """Everything the master reported about a finished step.

    Attributes:
        number: the step's 1-based sequence number within the job.
        name: the step's name.
        exit_code: the command's exit code (-1 when none was observed).
        outcome: how the step ended.
        reason: the master's explanation (may be empty).
        stdout: the step's complete stdout when it was run with `capture=True`, else None.
        output_size: total bytes of output (stdout and stderr) stored in the job log.
    """

    number: int
    name: str
    exit_code: int
    outcome: StepOutcome
    reason: str = ""
    stdout: bytes | None = None
    output_size: int = 0

    @property
    def succeeded(self) -> bool:
        """True when the command exited 0."""
        return self.outcome is StepOutcome.SUCCESS


@dataclass(frozen=True)
class ArtifactInfo:
    """An artifact as the master stored it: its name, size in bytes and SHA-256 (hex)."""

    name: str
    size: int
    sha256: str
