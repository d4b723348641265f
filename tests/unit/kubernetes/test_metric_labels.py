"""Kubernetes API calls are labelled with the API server's verbs and resources."""

from __future__ import annotations

import pytest

from adapters.kubernetes.metrics import verb_and_resource


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("create_pod", ("create", "pods")),
        ("read_pod", ("get", "pods")),
        ("read_secret", ("get", "secrets")),
        ("patch_secret", ("patch", "secrets")),
        ("delete_pod", ("delete", "pods")),
        ("list_pods", ("list", "pods")),
        ("list_secrets", ("list", "secrets")),
        ("watch_pods", ("watch", "pods")),
        ("read_pod_log", ("get", "pods/log")),
        ("exec", ("create", "pods/exec")),
    ],
)
def test_operations_are_named_as_the_api_server_names_them(
    operation: str, expected: tuple[str, str]
) -> None:
    assert verb_and_resource(operation) == expected
