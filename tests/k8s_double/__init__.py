"""A protocol-faithful Kubernetes API test double (API server + scheduler + kubelet).

Drive it with the unmodified official `kubernetes` client over HTTP and WebSocket on
127.0.0.1; step the simulated kubelet and inject faults from test code::

    double = KubernetesDouble(token="secret", auto=True)
    api = CoreV1Api(new_client_from_config(str(double.write_kubeconfig(tmp / "kubeconfig"))))
    ...
    double.close()
"""

from .controls import Faults, KubeletControl
from .double import KubernetesDouble
from .pods import KubeletError
from .records import RequestRecord

__all__ = ["Faults", "KubeletControl", "KubeletError", "KubernetesDouble", "RequestRecord"]
