"""Steps: a fresh ``/bin/sh -c`` each, bytes streamed exactly, exit codes, env, timeouts,
and no second run of a step that already ran."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.local.process_group import CHUNK
from domain.execution.ports import StepLaunch, StepOutcome, Stream
from domain.ids import JobId
from domain.runs.states import StepState
from tests.integration.local_executor.conftest import RunningJob
from tests.integration.local_executor.processes import is_alive, live_members
from tests.integration.local_executor.recorder import RecordingSink
from tests.support import wait_for, wait_until

Sinks = Callable[[], RecordingSink]


def run(
    job: RunningJob,
    command: str,
    sink: RecordingSink,
    number: int = 1,
    *,
    env: dict[str, str] | None = None,
    timeout_seconds: float = 0.0,
) -> StepOutcome:
    step = StepLaunch(number, f"step {number}", command, env or {}, timeout_seconds=timeout_seconds)
    return job.executor.run_step(job.job_id, step, sink)


def test_output_bytes_arrive_exactly_as_written_on_their_own_streams(
    running_job: RunningJob, sinks: Sinks
) -> None:
    sink = sinks()
    command = (
        r"printf '\033[31mred\033[0m \377\376 bad utf-8\n';"
        r"printf 'to stderr\n' >&2;"
        r"head -c 1048576 /dev/zero | tr '\0' x;"
        r"printf '\000\001binary'"
    )
    outcome = run(running_job, command, sink)
    assert outcome == StepOutcome(StepState.SUCCESS, 0)
    stdout = sink.data(Stream.STDOUT)
    assert stdout == b"\x1b[31mred\x1b[0m \xff\xfe bad utf-8\n" + b"x" * 1048576 + b"\0\1binary"
    assert sink.data(Stream.STDERR) == b"to stderr\n"
    assert sink.data(Stream.SYSTEM) == b""
    assert max(len(chunk) for _, chunk in sink.writes()) <= CHUNK  # streamed in pieces


def test_output_streams_while_the_step_still_runs(running_job: RunningJob, sinks: Sinks) -> None:
    sink = sinks()
    gate = running_job.workspace / "gate"
    command = f"echo started; while [ ! -e {gate} ]; do sleep 0.01; done; echo finished"
    result: list[StepOutcome] = []
    thread = threading.Thread(target=lambda: result.append(run(running_job, command, sink)))
    thread.start()
    wait_for(lambda: sink.data(Stream.STDOUT), lambda out: out == b"started\n")
    assert not result
    gate.touch()
    thread.join(30)
    assert result == [StepOutcome(StepState.SUCCESS, 0)]
    assert sink.data(Stream.STDOUT) == b"started\nfinished\n"


@pytest.mark.parametrize(
    ("command", "outcome"),
    [
        ("true", StepOutcome(StepState.SUCCESS, 0)),
        ("exit 3", StepOutcome(StepState.FAILURE, 3)),
        ("kill -9 $$", StepOutcome(StepState.FAILURE, 137)),
        ("kill -TERM $$", StepOutcome(StepState.FAILURE, 143)),
        ("no-such-command-xyz", StepOutcome(StepState.FAILURE, 127)),
    ],
)
def test_exit_codes(
    running_job: RunningJob, sinks: Sinks, command: str, outcome: StepOutcome
) -> None:
    assert run(running_job, command, sinks()) == outcome


def test_a_step_sees_only_the_server_env_and_its_own_not_the_job_s(
    running_job: RunningJob, sinks: Sinks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DANUBE_SECRET_KEY", "server-secret")
    sink = sinks()
    dump = "python3 -c 'import json, os; print(json.dumps(dict(os.environ)))'"
    run(running_job, dump, sink, env={"GREETING": "hello world", "EMPTY": ""})
    env = json.loads(sink.data(Stream.STDOUT))
    assert (env["GREETING"], env["EMPTY"]) == ("hello world", "")
    assert not [name for name in env if name.startswith("DANUBE_")]
    assert env["PATH"]


def test_each_step_is_a_fresh_shell_in_the_workspace(running_job: RunningJob, sinks: Sinks) -> None:
    first, second = sinks(), sinks()
    assert run(running_job, "pwd; cd /; export MOOD=happy; pwd", first, 1).exit_code == 0
    assert run(running_job, 'pwd; echo "mood=${MOOD:-}"; cat tool.sh', second, 2).exit_code == 0
    workspace = str(running_job.workspace).encode()
    assert first.data(Stream.STDOUT) == workspace + b"\n/\n"
    assert second.data(Stream.STDOUT) == workspace + b"\nmood=\necho tool\n"


def test_stdin_is_empty(running_job: RunningJob, sinks: Sinks) -> None:
    sink = sinks()
    assert run(running_job, "cat; echo done", sink) == StepOutcome(StepState.SUCCESS, 0)
    assert sink.data(Stream.STDOUT) == b"done\n"


def test_a_step_timeout_ends_its_whole_process_group(running_job: RunningJob, sinks: Sinks) -> None:
    sink = sinks()
    command = "echo $$; sleep 300 & echo $!; sleep 300"
    started = time.monotonic()
    outcome = run(running_job, command, sink, timeout_seconds=0.5)
    assert outcome == StepOutcome(StepState.TIMEOUT, None, "step timed out after 0.5s")
    assert time.monotonic() - started < 5
    group, background = (int(n) for n in sink.data(Stream.STDOUT).split())
    # Killed (SIGKILL to the group): gone as soon as the kernel has ended them.
    wait_until(lambda: not is_alive(background), timeout=5, what="the background sleep to end")
    wait_until(lambda: live_members(group) == [], timeout=5, what="the step's group to end")


def test_a_step_ignoring_sigterm_is_killed_after_the_grace_period(
    running_job: RunningJob, sinks: Sinks
) -> None:
    sink = sinks()
    command = "trap '' TERM; echo $$; sleep 300 & sleep 300"
    outcome = run(running_job, command, sink, timeout_seconds=0.3)
    assert outcome.state is StepState.TIMEOUT
    assert live_members(int(sink.data(Stream.STDOUT))) == []


def test_a_step_that_finishes_in_time_keeps_its_exit_code(
    running_job: RunningJob, sinks: Sinks
) -> None:
    outcome = run(running_job, "exit 4", sinks(), timeout_seconds=30)
    assert outcome == StepOutcome(StepState.FAILURE, 4)


def test_what_a_finished_step_left_in_the_background_is_ended(
    running_job: RunningJob, sinks: Sinks
) -> None:
    sink = sinks()
    assert run(running_job, "sleep 300 & echo $!", sink).exit_code == 0
    child = int(sink.data(Stream.STDOUT))
    wait_for(lambda: is_alive(child), lambda alive: not alive, timeout=15)


def test_a_step_that_already_ran_is_not_run_again(running_job: RunningJob, sinks: Sinks) -> None:
    command = "echo ran >> count; exit 5"
    first = run(running_job, command, sinks(), number=7)
    again = run(running_job, command, sinks(), number=7)
    assert first == again == StepOutcome(StepState.FAILURE, 5)
    assert (running_job.workspace / "count").read_text() == "ran\n"


def test_a_repeated_call_for_a_running_step_waits_for_it(
    running_job: RunningJob, sinks: Sinks
) -> None:
    gate = running_job.workspace / "gate"
    command = f"echo ran >> count; while [ ! -e {gate} ]; do sleep 0.01; done; exit 2"
    outcomes: list[StepOutcome] = []

    def call() -> None:
        outcomes.append(run(running_job, command, sinks(), number=3))

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    wait_for(lambda: (running_job.workspace / "count").exists(), bool)
    assert outcomes == []
    gate.touch()
    for thread in threads:
        thread.join(30)
    assert outcomes == [StepOutcome(StepState.FAILURE, 2)] * 3
    assert (running_job.workspace / "count").read_text() == "ran\n"


def test_steps_run_side_by_side(running_job: RunningJob, sinks: Sinks) -> None:
    workspace: Path = running_job.workspace
    # Each step waits for the other's file: they only finish if they run concurrently.
    commands = {
        1: "touch one; while [ ! -e two ]; do sleep 0.01; done",
        2: "touch two; while [ ! -e one ]; do sleep 0.01; done",
    }
    outcomes: dict[int, StepOutcome] = {}

    def call(number: int) -> None:
        sink = sinks()
        outcomes[number] = run(running_job, commands[number], sink, number, timeout_seconds=20)

    threads = [threading.Thread(target=call, args=(number,)) for number in commands]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes == {1: StepOutcome(StepState.SUCCESS, 0), 2: StepOutcome(StepState.SUCCESS, 0)}
    assert (workspace / "one").exists()


def test_a_step_of_an_unknown_job_fails_without_running(
    running_job: RunningJob, sinks: Sinks
) -> None:
    stranger = JobId(uuid.uuid4())
    step = StepLaunch(number=1, name="x", command="touch should-not-exist")
    outcome = running_job.executor.run_step(stranger, step, sinks())
    assert (outcome.state, outcome.exit_code) == (StepState.FAILURE, None)
    assert "not known to the local executor" in outcome.reason
