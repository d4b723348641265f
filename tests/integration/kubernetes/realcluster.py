"""What the adapter tests need to run against a real cluster (opt-in: ``-m k8s_real``).

Settings, all ``DANUBE_TEST_*`` variables:

- ``DANUBE_TEST_KUBECONFIG`` (required) and ``DANUBE_TEST_K8S_CONTEXT``;
- ``DANUBE_TEST_K8S_NAMESPACE``: where job pods go (default ``danube-test``; must exist);
- ``DANUBE_TEST_K8S_HOST``: an address of this machine the cluster's pods can reach
  (required for the end-to-end tests): the test's gRPC JobService listens there, and so
  does a plain HTTP server that lets pods clone the test's git repositories;
- ``DANUBE_TEST_K8S_COORDINATOR_IMAGE``: Danube's image with the SDK (default
  ``ghcr.io/danube-ci/danube:latest``); it also runs the checkout, so it needs git;
  ``DANUBE_TEST_K8S_COORDINATOR_COMMAND`` if it is not ``python3 -m danube.coordinator``;
- ``DANUBE_TEST_K8S_WORKER_IMAGE``: the steps' image (default ``busybox:1.36``).
"""

from __future__ import annotations

import functools
import os
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

KUBECONFIG = os.environ.get("DANUBE_TEST_KUBECONFIG", "")
CONTEXT = os.environ.get("DANUBE_TEST_K8S_CONTEXT", "")
NAMESPACE = os.environ.get("DANUBE_TEST_K8S_NAMESPACE", "danube-test")
HOST = os.environ.get("DANUBE_TEST_K8S_HOST", "")
COORDINATOR_IMAGE = os.environ.get(
    "DANUBE_TEST_K8S_COORDINATOR_IMAGE", "ghcr.io/danube-ci/danube:latest"
)
COORDINATOR_COMMAND = os.environ.get(
    "DANUBE_TEST_K8S_COORDINATOR_COMMAND", "python3 -m danube.coordinator"
)
WORKER_IMAGE = os.environ.get("DANUBE_TEST_K8S_WORKER_IMAGE", "busybox:1.36")


def settings(**overrides: Any) -> dict[str, Any]:
    """Danube's settings for the real cluster."""
    return {
        "executor": "kubernetes",
        "kubeconfig": KUBECONFIG,
        "k8s_context": CONTEXT,
        "k8s_namespace_jobs": NAMESPACE,
        "k8s_coordinator_image": COORDINATOR_IMAGE,
        "k8s_coordinator_command": COORDINATOR_COMMAND,
        **overrides,
    }


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class RepositoryServer:
    """Serves a directory's git repositories over plain HTTP (git's "dumb" protocol),
    so pods elsewhere can clone what a test committed on this machine."""

    def __init__(self, root: Path, host: str) -> None:
        self.root = root
        handler = functools.partial(_Quiet, directory=str(root))
        self._server = ThreadingHTTPServer((host, 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.host, self.port = host, self._server.server_address[1]

    def url(self, repository: Path) -> str:
        subprocess.run(["git", "-C", str(repository), "update-server-info"], check=True)
        relative = repository.relative_to(self.root).as_posix()
        return f"http://{self.host}:{self.port}/{relative}/.git"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
