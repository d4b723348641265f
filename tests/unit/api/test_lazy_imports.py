"""What ``danube up`` keeps in memory: on the embedded default (local executor) the
``kubernetes`` client is never imported, and it is still there for whoever asks."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_embedded_default_does_not_import_the_kubernetes_client() -> None:
    loaded = _python(
        """
        import sys
        import api.cli, api.server, api.commands.serve, api.execution.embedded
        import api.execution.loops, api.observability.metrics, adapters.kubernetes.metrics
        print(sorted(m for m in sys.modules if m.split(".")[0] == "kubernetes"))
        """
    )
    assert loaded == "[]"


def test_the_kubernetes_executor_is_still_imported_when_asked_for() -> None:
    found = _python(
        """
        import sys
        from adapters.kubernetes import KubernetesExecutor, KubernetesSettings
        print(KubernetesExecutor.__module__, KubernetesSettings.__module__,
              "kubernetes" in sys.modules)
        """
    )
    assert found == "adapters.kubernetes.executor adapters.kubernetes.settings True"
