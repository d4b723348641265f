"""The Kubernetes executor: one pod per job, steps through exec (the only package that
imports ``kubernetes``).

The executor and its settings are imported on first use, not with the package: every
process imports ``adapters.kubernetes.metrics`` (the metrics are exported at 0 by all),
and the ``kubernetes`` client it would drag in (hundreds of modules, about 20 MB) is
needed only where the Kubernetes executor runs."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.kubernetes.executor import KubernetesExecutor
    from adapters.kubernetes.settings import KubernetesSettings

__all__ = ["KubernetesExecutor", "KubernetesSettings"]

_LAZY = {
    "KubernetesExecutor": "adapters.kubernetes.executor",
    "KubernetesSettings": "adapters.kubernetes.settings",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
