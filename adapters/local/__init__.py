"""The local executor: jobs as processes on the server's machine (no isolation)."""

from adapters.local.executor import LocalExecutor

__all__ = ["LocalExecutor"]
