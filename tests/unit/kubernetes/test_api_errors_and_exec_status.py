"""Errors of the API in one shape, backoff with jitter and Retry-After, exec statuses."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import ProtocolError

from adapters.kubernetes.errors import ApiError, Backoff, api_error
from adapters.kubernetes.execs import ExecEnd, parse_status


class Response:
    def __init__(self, status: int, body: dict[str, object], headers: dict[str, str]) -> None:
        self.status, self.reason = status, "x"
        self.data = json.dumps(body).encode()
        self.headers = headers


def raised(status: int, message: str = "m", headers: dict[str, str] | None = None) -> ApiException:
    return ApiException(http_resp=Response(status, {"message": message}, headers or {}))


@pytest.mark.parametrize(
    ("error", "status", "retryable", "retry_after"),
    [
        (raised(429, headers={"Retry-After": "3"}), 429, True, 3.0),
        (raised(503, headers={"Retry-After": "soon"}), 503, True, None),
        (raised(500), 500, True, None),
        (raised(401), 401, False, None),
        (raised(403), 403, False, None),
        (raised(409), 409, False, None),
        (ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")), 0, True, None),
        (ConnectionRefusedError(111, "refused"), 0, True, None),
    ],
)
def test_api_failures_are_classified(
    error: Exception, status: int, retryable: bool, retry_after: float | None
) -> None:
    result = api_error(error)
    assert (result.status, result.retryable, result.retry_after) == (status, retryable, retry_after)


def test_the_servers_message_is_kept_and_explained() -> None:
    forbidden = api_error(raised(403, "pods is forbidden: namespace is being terminated"))
    assert forbidden.explain() == (
        "the Kubernetes API forbade it (403): pods is forbidden: namespace is being terminated"
    )
    assert "401 Unauthorized" in api_error(raised(401)).explain()
    assert api_error(raised(500, "etcd down")).explain() == (
        "the Kubernetes API failed (HTTP 500): etcd down"
    )
    assert ApiError(0, "reset").explain() == "the Kubernetes API failed (no response): reset"


def test_a_refused_websocket_handshake_reports_the_real_status() -> None:
    class BadStatusError(Exception):
        status_code = 403

    error = ApiException(status=0, reason="Handshake status 403 Forbidden")
    error.__context__ = BadStatusError()
    assert api_error(error).status == 403


@pytest.mark.parametrize(
    ("attempt", "retry_after", "rand", "delay"),
    [
        (0, None, 1.0, 0.1),
        (3, None, 1.0, 0.8),
        (3, None, 0.5, 0.4),
        (20, None, 1.0, 5.0),  # capped
        (0, 2.0, 1.0, 2.0),  # the server's Retry-After is a floor
        (6, 2.0, 1.0, 5.0),  # ... which the backoff may exceed
        (0, 600.0, 0.0, 60.0),  # an absurd Retry-After is capped
    ],
)
def test_backoff_is_exponential_with_full_jitter_and_honours_retry_after(
    attempt: int, retry_after: float | None, rand: float, delay: float
) -> None:
    assert Backoff(base=0.1, cap=5.0).delay(attempt, retry_after, lambda: rand) == pytest.approx(
        delay
    )


@pytest.mark.parametrize(
    ("raw", "end"),
    [
        (b'{"metadata":{},"status":"Success"}', ExecEnd(0)),
        (
            b'{"metadata":{},"status":"Failure","reason":"NonZeroExitCode",'
            b'"details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
            ExecEnd(3),
        ),
        (b"", ExecEnd(None, "the exec connection closed without a status")),
        (
            b'{"status":"Failure","reason":"InternalError","code":500,"message":"boom"}',
            ExecEnd(None, "exec failed: boom"),
        ),
        (b"{not json", ExecEnd(None, "unreadable exec status b'{not json'")),
    ],
)
def test_channel_three_statuses_are_parsed_here(raw: bytes, end: ExecEnd) -> None:
    assert parse_status(raw) == end
