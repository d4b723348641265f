"""Readiness of the Kubernetes executor: the API server answers and the jobs namespace
exists. One GET, with the caller's time limit; nothing is retried."""

from __future__ import annotations

from typing import Any

from kubernetes.client import CoreV1Api
from kubernetes.client.exceptions import ApiException

from adapters.kubernetes.client import ClientSettings, new_api_client


class KubernetesNotReadyError(Exception):
    pass


def check_jobs_namespace(settings: ClientSettings, namespace: str, timeout: float) -> str:
    """What was found, or ``KubernetesNotReadyError`` saying why not."""
    try:
        api = new_api_client(settings)
    except Exception as error:  # no kubeconfig, not in a cluster, a bad context
        raise KubernetesNotReadyError(f"no usable cluster configuration: {error}") from None
    try:
        response: Any = CoreV1Api(api).read_namespace(
            namespace, _request_timeout=(timeout, timeout), _preload_content=False
        )
        response.release_conn()
    except ApiException as error:
        if error.status == 404:
            raise KubernetesNotReadyError(f"namespace {namespace!r} does not exist") from None
        raise KubernetesNotReadyError(
            f"API server answered {error.status} {error.reason}"
        ) from None
    except Exception as error:
        raise KubernetesNotReadyError(f"API server unreachable: {error}") from None
    finally:
        api.close()  # type: ignore[no-untyped-call]
    return f"API server answers; namespace {namespace!r} exists"
