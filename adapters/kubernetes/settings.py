"""Everything the Kubernetes executor is configured with (filled from Danube's settings)."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.kubernetes.client import ClientSettings
from adapters.kubernetes.pods import PodTemplate
from adapters.kubernetes.podstate import Waits
from adapters.kubernetes.steps import StepPolicy


@dataclass(frozen=True)
class KubernetesSettings:
    client: ClientSettings = field(default_factory=ClientSettings)
    pod: PodTemplate = field(default_factory=PodTemplate)
    waits: Waits = field(default_factory=Waits)
    steps: StepPolicy = field(default_factory=StepPolicy)
    workers: int = 128  # threads for blocking API calls (creates, deletes): started as needed
    watch_read_timeout: float = 60.0  # a watch silent this long is reconnected
    watch_server_timeout: int = 300
    log_read_timeout: float = 60.0
    sweep_secrets_every: float = 60.0
    force_delete_after: float = 30.0  # past a pod's grace period, delete it with grace 0
