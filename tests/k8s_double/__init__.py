"""A protocol-faithful Kubernetes API test double (API server + scheduler + kubelet).

Drive it with the unmodified official `kubernetes` client over HTTP and WebSocket on
127.0.0.1; step the simulated kubelet and inject faults from test code::

    double = KubernetesDouble(token="secret")            # or auto=True
    kubeconfig = double.write_kubeconfig(tmp_path / "kubeconfig")
    api = CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    api.create_namespaced_pod("default", manifest)
    double.kubelet.schedule("default", "job-1")           # PodScheduled=True
    double.kubelet.start("default", "job-1")              # init containers, then containers
    double.faults.oom_kill("default", "job-1", "worker")  # one call per fault
    double.wait_for_phase("default", "job-1", "Succeeded")
    assert [r.verb for r in double.requests] == [...]
    double.close()                                        # kills every process

Pytest: ``from tests.k8s_double.fixtures import k8s_double, k8s_kubeconfig``.
"""

from .controls import Faults, KubeletControl
from .double import KubernetesDouble
from .pods import KubeletError
from .records import RequestRecord

__all__ = ["Faults", "KubeletControl", "KubeletError", "KubernetesDouble", "RequestRecord"]
