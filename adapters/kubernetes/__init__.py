"""The Kubernetes executor: one pod per job, steps through exec (the only package that
imports ``kubernetes``)."""

from adapters.kubernetes.executor import KubernetesExecutor
from adapters.kubernetes.settings import KubernetesSettings

__all__ = ["KubernetesExecutor", "KubernetesSettings"]
