"""Stopping and releasing: every process gone, running steps cancelled, the workspace
removed, and every call safe to repeat."""

from __future__ import annotations

import stat
import threading
import uuid
from collections.abc import Callable

from adapters.local import LocalExecutor
from domain.execution.ports import JobStatus, Phase, StepLaunch, StepOutcome, Stream
from domain.ids import JobId
from domain.runs.states import StepState
from tests.integration.git.origin import Origin
from tests.integration.local_executor.conftest import RunningJob, launch_of, wait_until_prepared
from tests.integration.local_executor.processes import group_ends, is_alive
from tests.integration.local_executor.recorder import RecordingSink
from tests.support import wait_for

Executors = Callable[..., LocalExecutor]
Sinks = Callable[[], RecordingSink]
LONG_STEP = "echo $$; sleep 300 & echo $!; sleep 300"


def start_long_step(job: RunningJob, sink: RecordingSink, number: int = 1) -> list[StepOutcome]:
    """Run LONG_STEP in a thread; return once it printed its group and background pid."""
    outcomes: list[StepOutcome] = []
    step = StepLaunch(number, "long", LONG_STEP)
    thread = threading.Thread(
        target=lambda: outcomes.append(job.executor.run_step(job.job_id, step, sink))
    )
    thread.start()
    wait_for(lambda: sink.data(Stream.STDOUT), lambda out: out.count(b"\n") == 2)
    return outcomes


def pids(sink: RecordingSink) -> tuple[int, int]:
    group, background = (int(n) for n in sink.data(Stream.STDOUT).split())
    return group, background


def test_stop_cancels_a_running_step_and_leaves_no_process(
    running_job: RunningJob, sinks: Sinks
) -> None:
    sink = sinks()
    outcomes = start_long_step(running_job, sink)
    group, background = pids(sink)
    running_job.executor.stop(running_job.job_id, "cancelled by alice")
    expected = StepOutcome(StepState.CANCELLED, None, "cancelled by alice")
    assert wait_for(lambda: list(outcomes), bool) == [expected]
    assert not is_alive(background)
    group_ends(group)
    status = running_job.executor.status(running_job.job_id)
    assert (status.phase, status.reason) == (Phase.EXITED, "stopped: cancelled by alice")


def test_stop_ends_several_running_steps_within_one_grace_period(
    running_job: RunningJob, sinks: Sinks
) -> None:
    step_sinks = [sinks() for _ in range(3)]
    outcomes = [start_long_step(running_job, sink, n) for n, sink in enumerate(step_sinks)]
    running_job.executor.stop(running_job.job_id, "draining")
    for sink, outcome in zip(step_sinks, outcomes, strict=True):
        assert wait_for(lambda o=outcome: list(o), bool)[0].state is StepState.CANCELLED
        group_ends(pids(sink)[0])


def test_stop_is_idempotent_and_the_first_reason_stays(
    running_job: RunningJob, sinks: Sinks
) -> None:
    executor, job_id = running_job.executor, running_job.job_id
    executor.stop(job_id, "first")
    before = executor.status(job_id)
    executor.stop(job_id, "second")
    assert executor.status(job_id) == before
    assert before.phase is Phase.EXITED
    assert before.reason == "stopped: first"


def test_a_step_asked_for_after_stop_is_cancelled_without_running(
    running_job: RunningJob, sinks: Sinks
) -> None:
    running_job.executor.stop(running_job.job_id, "cancelled")
    step = StepLaunch(1, "late", "touch ran")
    outcome = running_job.executor.run_step(running_job.job_id, step, sinks())
    assert outcome == StepOutcome(StepState.CANCELLED, None, "cancelled")
    assert not (running_job.workspace / "ran").exists()


def test_a_finished_step_keeps_its_outcome_after_stop(
    running_job: RunningJob, sinks: Sinks
) -> None:
    step = StepLaunch(1, "quick", "exit 0")
    assert running_job.executor.run_step(running_job.job_id, step, sinks()).exit_code == 0
    running_job.executor.stop(running_job.job_id, "cancelled")
    again = running_job.executor.run_step(running_job.job_id, step, sinks())
    assert again == StepOutcome(StepState.SUCCESS, 0)


def test_release_removes_the_workspace_and_forgets_the_job(
    running_job: RunningJob, sinks: Sinks
) -> None:
    sink = sinks()
    outcomes = start_long_step(running_job, sink)
    group, _ = pids(sink)
    executor, job_id = running_job.executor, running_job.job_id
    locked = running_job.workspace / "cache" / "locked"
    locked.mkdir(parents=True)
    (locked / "file").write_text("read-only")
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)  # like a Go module cache
    executor.release(job_id)
    assert not running_job.workspace.exists()
    assert executor.status(job_id) == JobStatus(Phase.ABSENT)
    assert wait_for(lambda: list(outcomes), bool)[0].state is StepState.CANCELLED
    group_ends(group)
    executor.release(job_id)
    executor.stop(job_id, "late")
    assert executor.status(job_id) == JobStatus(Phase.ABSENT)


def test_release_of_a_job_this_process_never_knew_removes_its_leftover_workspace(
    executors: Executors,
) -> None:
    executor = executors()
    job_id = JobId(uuid.uuid4())
    leftover = executor.workspace(job_id)
    (leftover / "sub").mkdir(parents=True)
    executor.release(job_id)
    assert not leftover.exists()
    assert executor.status(job_id) == JobStatus(Phase.ABSENT)


def test_starting_a_known_job_again_does_nothing(
    origin: Origin, executors: Executors, sinks: Sinks, tmp_path_factory
) -> None:
    counter = tmp_path_factory.mktemp("counter") / "starts"
    coordinator = f"open({str(counter)!r}, 'a').write('started\\n')\nimport time\ntime.sleep(300)\n"
    executor = executors(coordinator)
    job = launch_of(origin.file_url, origin.commit({}, "c"))
    origin.push()
    sink = sinks()
    executor.start(job, sink)
    executor.start(job, sink)
    assert wait_until_prepared(executor, job.job_id).phase is Phase.RUNNING
    executor.start(job, sinks())
    wait_for(lambda: counter.exists() and counter.read_text(), bool)
    assert executor.status(job.job_id).phase is Phase.RUNNING
    executor.stop(job.job_id, "done")
    assert counter.read_text() == "started\n"
    assert sink.system_text().count("$ git clone") == 1


def test_close_releases_every_job(origin: Origin, executors: Executors, sinks: Sinks) -> None:
    executor = executors()
    commit = origin.commit({}, "c")
    origin.push()
    jobs = [launch_of(origin.file_url, commit) for _ in range(2)]
    for job in jobs:
        executor.start(job, sinks())
    for job in jobs:
        assert wait_until_prepared(executor, job.job_id).phase is Phase.RUNNING
    executor.close()
    for job in jobs:
        assert executor.status(job.job_id) == JobStatus(Phase.ABSENT)
        assert not executor.workspace(job.job_id).exists()
