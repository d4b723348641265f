"""The retry window and the transient/refusal split, with an injected clock (no sleeping)."""

from __future__ import annotations

import grpc
import pytest

from danube import AuthenticationError, JobNotRunningError, MasterError, MasterUnavailableError
from danube._retry import MAX_BACKOFF_SECONDS, RetryBudget
from danube._status import is_transient, master_error


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Failure(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str = "") -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def test_the_window_opens_at_the_first_failure_and_closes_after_the_budget() -> None:
    clock = FakeClock()
    budget = RetryBudget(30.0, "master:9000", clock)
    clock.now += 500  # a long, healthy stream before the first failure

    def fail_until_given_up() -> None:
        while True:
            budget.failed("RunStep", "UNAVAILABLE")

    with pytest.raises(MasterUnavailableError, match=r"master:9000 \(calling RunStep"):
        fail_until_given_up()

    assert sum(clock.sleeps) == pytest.approx(30.0)
    assert max(clock.sleeps) <= MAX_BACKOFF_SECONDS
    assert clock.sleeps[0] < clock.sleeps[3]  # exponential


def test_progress_gives_a_fresh_window() -> None:
    clock = FakeClock()
    budget = RetryBudget(1.0, "m", clock)
    budget.failed("RunStep", "x")
    clock.now += 0.9
    budget.progress()
    clock.now += 0.9

    budget.failed("RunStep", "x")  # would have been past the first window

    assert budget.remaining() > 0.5


def test_a_zero_budget_gives_up_at_the_first_failure() -> None:
    with pytest.raises(MasterUnavailableError):
        RetryBudget(0.0, "m", FakeClock()).failed("ReportStatus", "x")


@pytest.mark.parametrize(
    ("code", "details", "transient"),
    [
        (grpc.StatusCode.UNAVAILABLE, "Connection reset by peer", True),
        (grpc.StatusCode.ABORTED, "", True),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "", True),
        (grpc.StatusCode.INTERNAL, "Received RST_STREAM with error code 2", True),
        (grpc.StatusCode.INTERNAL, "Exception calling application: boom", False),
        (grpc.StatusCode.UNAUTHENTICATED, "", False),
        (grpc.StatusCode.FAILED_PRECONDITION, "", False),
        (grpc.StatusCode.PERMISSION_DENIED, "", False),
        (grpc.StatusCode.INVALID_ARGUMENT, "", False),
        (grpc.StatusCode.NOT_FOUND, "", False),
    ],
)
def test_which_failures_are_transient(code: grpc.StatusCode, details: str, transient: bool) -> None:
    assert is_transient(Failure(code, details)) is transient


def test_refusals_become_named_errors() -> None:
    unauthenticated = master_error(Failure(grpc.StatusCode.UNAUTHENTICATED, "expired"), "step 'a'")
    not_running = master_error(Failure(grpc.StatusCode.FAILED_PRECONDITION), "step 'a'")
    internal = master_error(Failure(grpc.StatusCode.INTERNAL, "bug"), "step 'a'")

    assert isinstance(unauthenticated, AuthenticationError)
    assert str(unauthenticated) == (
        "step 'a': the master rejected this job's token (UNAUTHENTICATED: expired)"
    )
    assert isinstance(not_running, JobNotRunningError)
    assert type(internal) is MasterError
    assert (internal.code, internal.details) == ("INTERNAL", "bug")
