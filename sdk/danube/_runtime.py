"""The process-wide connection to the master, created on first use.

The coordinator installs a client before it runs the pipeline; code that uses the SDK
outside the coordinator (a test, a script) gets one built from the `DANUBE_*`
environment on its first call.
"""

from __future__ import annotations

import os
import threading

from danube._client import JobClient
from danube._config import ClientConfig

_lock = threading.Lock()
_client: JobClient | None = None


def client() -> JobClient:
    """The installed client, or a new one configured from the environment."""
    global _client
    with _lock:
        if _client is None:
            _client = JobClient(ClientConfig.from_environ(os.environ))
        return _client


def install(new_client: JobClient | None) -> None:
    """Use `new_client` from now on (None: build from the environment on next use)."""
    global _client
    with _lock:
        old, _client = _client, new_client
    if old is not None and old is not new_client:
        old.close()


def reset() -> None:
    """Close and forget the current client."""
    install(None)
