"""What the JobService is given (``JobCalls``): the use-case objects and ports its
servicers call, built by the composition (``api.execution.lifetimes.job_calls``), never
the container."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.artifacts.filesystem import FilesystemArtifactStore
    from adapters.sql.wakeup import Wakeup
    from api.execution.material import SealedStepMaterial
    from api.execution.outputs import LogOutputs
    from api.settings import Settings
    from domain.execution.relay import StepRelay
    from domain.execution.tokens import JobTokens
    from domain.runs.application import RunsService
    from domain.secrets.application import SecretsService
    from projections.runs_view import RunsView

WaitForViews = Callable[[int, float, Collection[str]], bool]


@dataclass(frozen=True, kw_only=True)
class JobCalls:
    settings: Settings  # the limits: streams per job, message and artifact sizes
    tokens: JobTokens  # who may call
    logs: LogOutputs  # the job's output, its masks
    runs: RunsService  # what a call records
    views: RunsView  # the job and its steps as the read models show them
    secrets: SecretsService  # GetSecret
    material: SealedStepMaterial  # a step's command and environment, sealed
    artifacts: FilesystemArtifactStore  # UploadArtifact
    relay: StepRelay  # steps started and ended in this process, past the read model
    runs_moved: Wakeup  # the runs read model moved
    wait_for_views: Callable[..., bool]  # read-your-writes (``Core.wait_for_views``)
    stopping: threading.Event  # set when the process stops: waits give up
