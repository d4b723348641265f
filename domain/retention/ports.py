"""What the reaper works on. Each is a narrow port; adapters live in ``adapters/`` and are
composed in ``api/``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class JobData(Protocol):
    """One kind of a job's stored data (its log, its artifacts).

    Contract: ``size`` is the bytes stored for the job (0 when none); ``delete`` removes
    them all and returns the bytes freed; deleting what is gone frees 0 and is no error."""

    def size(self, job_id: str) -> int: ...

    def names(self, job_id: str) -> list[str]: ...

    def delete(self, job_id: str) -> int: ...


@dataclass(frozen=True)
class Image:
    """One manifest in the registry, with every tag that points at it."""

    repository: str
    digest: str
    tags: tuple[str, ...]
    created: datetime | None  # from the image config; None when it does not say
    size: int  # config and layers, as the manifest declares them


class Registry(Protocol):
    """An OCI distribution registry.

    Contract: ``images`` lists every tagged manifest (a manifest no tag points at is not
    listed); ``delete`` removes a manifest by digest (its blobs are freed by the
    registry's own garbage collection later) and is idempotent ("not found" is done).
    Errors are ``RegistryError`` with a message that names the registry and the call."""

    def images(self) -> Iterable[Image]: ...

    def delete(self, repository: str, digest: str) -> None: ...


class RegistryError(RuntimeError):
    """The registry refused or could not be reached."""


class EndedJob(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def pipeline(self) -> str: ...
    @property
    def finished_at(self) -> str | None: ...
    @property
    def log_reaped(self) -> dict[str, object] | None: ...
    @property
    def artifacts_reaped(self) -> dict[str, object] | None: ...


class EndedJobs(Protocol):
    """The read model's ended jobs (never queued or running ones)."""

    def ended_jobs_before(self, moment: str) -> Sequence[EndedJob]: ...
