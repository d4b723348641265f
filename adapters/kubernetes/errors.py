"""What went wrong talking to the API server, in one shape, and whether to retry.

``ApiError.status`` is the HTTP status, or 0 when no response arrived (reset, refused,
timeout): then a create may or may not have happened, which the caller must resolve.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException

RETRYABLE = frozenset({0, 429, 500, 502, 503, 504})
EXPLAINED = {
    401: "the Kubernetes API refused the pod adapter's credentials (401 Unauthorized); "
    "check DANUBE_KUBECONFIG or the service account",
    403: "the Kubernetes API forbade it (403)",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE

    def explain(self) -> str:
        """A sentence for a job's failure reason."""
        lead = EXPLAINED.get(self.status)
        if lead is None:
            code = f"HTTP {self.status}" if self.status else "no response"
            return f"the Kubernetes API failed ({code}): {self.message}"
        return f"{lead}: {self.message}" if self.status == 403 else lead


def api_error(error: BaseException) -> ApiError:
    """Any error of a call to the API server as an ``ApiError``."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, ApiException):
        status = int(error.status or 0)
        if status == 0:  # a WebSocket handshake: the real status is on the context
            status = int(getattr(error.__context__, "status_code", 0) or 0)
            return ApiError(status, _short(error.reason or str(error)))
        return ApiError(status, _status_message(error), _retry_after(error.headers))
    return ApiError(0, f"{type(error).__name__}: {_short(str(error))}")


def _status_message(error: ApiException) -> str:
    try:
        body: Any = json.loads(error.body or "")
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return _short(error.body or error.reason or f"HTTP {error.status}")


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _short(text: str) -> str:
    return " ".join(text.split())[:300]


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter; a server's Retry-After is a floor."""

    base: float = 0.1
    cap: float = 5.0
    max_retry_after: float = 60.0

    def delay(
        self, attempt: int, retry_after: float | None, rand: Callable[[], float] = random.random
    ) -> float:
        jittered = float(rand()) * min(self.cap, self.base * 2.0**attempt)
        if retry_after is None:
            return jittered
        return max(min(retry_after, self.max_retry_after), jittered)
