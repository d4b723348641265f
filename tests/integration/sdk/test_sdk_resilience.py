"""Retries, reattach after a broken stream, and errors that must not be retried."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from danube import (
    AuthenticationError,
    JobNotRunningError,
    MasterUnavailableError,
    OutputChunk,
    secrets,
    step,
)
from danube._runtime import reset
from tests.support import wait_until

from .conftest import Master
from .tcp_proxy import SeverableProxy

# Prints a line, waits until the test lets it go on, prints another line.
GATED = "echo first; while [ ! -e {gate} ]; do sleep 0.02; done; echo second"


@pytest.mark.parametrize("fault", ["aborted UNAVAILABLE", "ended without a result"])
def test_a_stream_broken_by_the_master_is_resumed_without_rerunning_the_step(
    sdk: Master, tmp_path: Path, fault: str
) -> None:
    gate = tmp_path / "gate"
    if fault.startswith("aborted"):
        sdk.fake.break_step_after_chunks[1] = 1
    else:
        sdk.fake.end_step_after_chunks[1] = 1
    received: list[OutputChunk] = []

    def on_output(chunk: OutputChunk) -> None:
        received.append(chunk)
        gate.touch()  # the step goes on while the SDK reconnects

    out = step.run(GATED.format(gate=gate), capture=True, on_output=on_output)

    assert out == "first\nsecond\n"
    assert b"".join(c.data for c in received) == b"first\nsecond\n"
    assert sdk.fake.executions[1] == 1
    requests = [r for r in sdk.fake.step_requests if r.number == 1]
    assert [r.resume_offset for r in requests] == [0, len(b"first\n")]


def test_output_the_master_sends_again_is_delivered_once(sdk: Master, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    sdk.fake.break_step_after_chunks[1] = 1
    sdk.fake.ignore_resume_offset = True  # replays from 0 after the break
    received: list[OutputChunk] = []

    def on_output(chunk: OutputChunk) -> None:
        received.append(chunk)
        gate.touch()

    step.run(GATED.format(gate=gate), on_output=on_output)

    assert b"".join(c.data for c in received) == b"first\nsecond\n"
    assert [c.offset for c in received] == [0, len(b"first\n")]


@pytest.fixture
def proxied(sdk: Master, monkeypatch: pytest.MonkeyPatch) -> Iterator[SeverableProxy]:
    proxy = SeverableProxy(sdk.address)
    monkeypatch.setenv("DANUBE_MASTER_ADDRESS", proxy.address)
    monkeypatch.setenv("DANUBE_RETRY_BUDGET_SECONDS", "10")
    reset()
    yield proxy
    proxy.close()


def test_a_connection_reset_mid_step_is_resumed_from_the_received_offset(
    sdk: Master, proxied: SeverableProxy, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    received: list[bytes] = []

    def on_output(chunk: OutputChunk) -> None:
        received.append(chunk.data)
        if len(received) == 1:
            proxied.sever()
            # Let the step finish while the connection is down: its output must be
            # replayed from the log, not re-run.
            gate.touch()
            wait_until(lambda: sdk.fake.steps[1].result, what="the step to finish")

    result = step.execute(GATED.format(gate=gate), name="gated", on_output=on_output)

    assert result.exit_code == 0
    assert b"".join(received) == b"first\nsecond\n"
    assert sdk.fake.executions[1] == 1
    assert proxied.connections >= 2
    resumed = [r.resume_offset for r in sdk.fake.step_requests if r.number == 1]
    assert resumed[0] == 0
    assert resumed[-1] == len(b"first\n")


def test_the_next_step_after_a_reattach_gets_the_next_number(
    sdk: Master, proxied: SeverableProxy
) -> None:
    step.run("echo one", on_output=lambda chunk: proxied.sever())
    step.run("echo two")

    assert sorted(sdk.fake.executions.items()) == [(1, 1), (2, 1)]


@contextmanager
def refusing_address() -> Iterator[str]:
    """An address where connections are refused: bound, but not listening."""
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{reserved.getsockname()[1]}"


@pytest.fixture
def unreachable(sdk: Master, monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    budget = 0.6
    with refusing_address() as address:
        monkeypatch.setenv("DANUBE_MASTER_ADDRESS", address)
        monkeypatch.setenv("DANUBE_RETRY_BUDGET_SECONDS", str(budget))
        reset()
        yield budget


def test_an_unreachable_master_is_retried_for_the_budget_then_raises(unreachable: float) -> None:
    started = time.monotonic()
    with pytest.raises(MasterUnavailableError, match="could not reach the Danube master"):
        step.run("true")
    elapsed = time.monotonic() - started

    assert unreachable <= elapsed < unreachable + 5


def test_unary_calls_are_retried_for_the_budget_too(unreachable: float) -> None:
    started = time.monotonic()
    with pytest.raises(MasterUnavailableError):
        secrets.get("KEY")

    assert unreachable <= time.monotonic() - started < unreachable + 5


def test_a_rejected_token_is_not_retried(sdk: Master) -> None:
    sdk.fake.token = "rotated"

    with pytest.raises(AuthenticationError, match="rejected this job's token") as raised:
        step.run("true")

    assert sdk.fake.calls() == 1
    assert raised.value.code == "UNAUTHENTICATED"
    assert sdk.fake.executions[1] == 0


def test_a_job_that_is_no_longer_running_is_not_retried(sdk: Master) -> None:
    sdk.fake.running = False

    with pytest.raises(JobNotRunningError):
        step.run("true")
    assert sdk.fake.calls() == 1
