"""The coordinator process: its environment, its output, its exit code, its end."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import pytest

from adapters.local import LocalExecutor
from domain.execution.ports import Phase, Stream
from tests.integration.git.origin import Origin
from tests.integration.local_executor.conftest import (
    TOKEN,
    launch_of,
    wait_until_ended,
    wait_until_prepared,
)
from tests.integration.local_executor.processes import group_ends, is_alive, live_members
from tests.integration.local_executor.recorder import RecordingSink
from tests.support import wait_for, wait_until

Executors = Callable[..., LocalExecutor]
Sinks = Callable[[], RecordingSink]

REPORTING_COORDINATOR = """
import hashlib, json, os, sys
env = dict(os.environ)
token = env.pop("DANUBE_JOB_TOKEN")
print(json.dumps({"env": env, "cwd": os.getcwd(),
                  "token_sha": hashlib.sha256(token.encode()).hexdigest()}), flush=True)
sys.stderr.write("coordinator complains\\n")
sys.exit(7)
"""


def test_the_coordinator_gets_the_job_env_token_and_workspace_but_no_server_variables(
    origin: Origin,
    executors: Executors,
    sinks: Sinks,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DANUBE_DATABASE_URL", "postgresql://server-secret")
    monkeypatch.setenv("SERVER_PLAIN_VARIABLE", "kept")
    executor, sink = executors(REPORTING_COORDINATOR), sinks()
    job = launch_of(origin.file_url, origin.commit({}, "c"), env={"DANUBE_PIPELINE": "build"})
    origin.push()
    executor.start(job, sink)
    status = wait_until_ended(executor, job.job_id)
    assert (status.phase, status.exit_code, status.reason) == (Phase.EXITED, 7, "")
    report_line, complaint = sink.data(Stream.STDOUT).splitlines(keepends=True)
    report = json.loads(report_line)
    workspace = str(executor.workspace(job.job_id))
    assert report["token_sha"] == hashlib.sha256(TOKEN.encode()).hexdigest()
    assert report["cwd"] == workspace
    assert report["env"]["DANUBE_WORKSPACE"] == workspace
    assert report["env"]["DANUBE_PIPELINE"] == "build"
    assert report["env"]["DANUBE_SCRIPT"] == "danubefile.py"
    assert report["env"]["SERVER_PLAIN_VARIABLE"] == "kept"
    assert "DANUBE_DATABASE_URL" not in report["env"]
    assert complaint == b"coordinator complains\n"  # stderr joins stdout, in order
    assert sink.data(Stream.STDERR) == b""


def test_a_coordinator_killed_by_a_signal_exits_with_128_plus_the_signal(
    origin: Origin, executors: Executors, sinks: Sinks
) -> None:
    executor = executors("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    job = launch_of(origin.file_url, origin.commit({}, "c"))
    origin.push()
    executor.start(job, sinks())
    status = wait_until_ended(executor, job.job_id)
    assert (status.phase, status.exit_code) == (Phase.EXITED, 137)


def test_a_coordinator_that_cannot_start_fails_the_job(
    origin: Origin, tmp_path_factory: pytest.TempPathFactory, sinks: Sinks
) -> None:
    root = tmp_path_factory.mktemp("workspaces")
    executor = LocalExecutor(root, coordinator_command=["/nonexistent/coordinator", "--x"])
    job = launch_of(origin.file_url, origin.commit({}, "c"))
    origin.push()
    executor.start(job, sinks())
    status = wait_until_prepared(executor, job.job_id)
    assert status.phase is Phase.FAILED
    assert status.reason == (
        "could not start the coordinator (/nonexistent/coordinator --x): No such file or directory"
    )
    executor.release(job.job_id)


def test_stopping_the_coordinator_ends_its_whole_process_group(
    origin: Origin, executors: Executors, sinks: Sinks
) -> None:
    script = (
        "import os, subprocess, time\n"
        "child = subprocess.Popen(['sleep', '300'])\n"  # no new session: same group
        "print(os.getpgrp(), child.pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    executor, sink = executors(script), sinks()
    job = launch_of(origin.file_url, origin.commit({}, "c"))
    origin.push()
    executor.start(job, sink)
    line = wait_for(lambda: sink.data(Stream.STDOUT), lambda out: out.endswith(b"\n"))
    group, child = (int(part) for part in line.split())
    assert executor.status(job.job_id).phase is Phase.RUNNING
    executor.stop(job.job_id, "job timed out after 1h")
    status = executor.status(job.job_id)
    assert (status.phase, status.reason) == (Phase.EXITED, "stopped: job timed out after 1h")
    assert status.exit_code == 128 + 15
    # Killed (SIGKILL to the group): gone as soon as the kernel has ended them.
    wait_until(lambda: not is_alive(child), timeout=5, what="the step's child to end")
    wait_until(lambda: live_members(group) == [], timeout=5, what="the coordinator's group to end")


def test_a_coordinator_ignoring_sigterm_is_killed_after_the_grace_period(
    origin: Origin, executors: Executors, sinks: Sinks
) -> None:
    script = (
        "import os, signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print(os.getpgrp(), flush=True)\n"
        "time.sleep(300)\n"
    )
    executor, sink = executors(script), sinks()
    job = launch_of(origin.file_url, origin.commit({}, "c"))
    origin.push()
    executor.start(job, sink)
    line = wait_for(lambda: sink.data(Stream.STDOUT), lambda out: out.endswith(b"\n"))
    executor.stop(job.job_id, "cancelled")
    status = executor.status(job.job_id)
    assert (status.phase, status.exit_code) == (Phase.EXITED, 128 + 9)
    group_ends(int(line))


def test_what_a_finished_coordinator_left_running_in_its_group_is_ended(
    origin: Origin, executors: Executors, sinks: Sinks
) -> None:
    script = (
        "import subprocess\n"
        "child = subprocess.Popen(['sleep', '300'], stdout=subprocess.DEVNULL)\n"
        "print(child.pid, flush=True)\n"
    )
    executor, sink = executors(script), sinks()
    job = launch_of(origin.file_url, origin.commit({}, "c"))
    origin.push()
    executor.start(job, sink)
    status = wait_until_ended(executor, job.job_id)
    assert (status.phase, status.exit_code) == (Phase.EXITED, 0)
    assert not is_alive(int(sink.data(Stream.STDOUT)))


def test_the_coordinators_stdout_and_stderr_are_one_stream_in_the_order_written(
    origin: Origin, executors: Executors, sinks: Sinks
) -> None:
    script = (
        "import os\n"
        "for i in range(300):\n"
        "    os.write(1, b'out %d\\n' % i)\n"
        "    os.write(2, b'err %d\\n' % i)\n"
    )
    executor, sink = executors(script), sinks()
    job = launch_of(origin.file_url, origin.commit({}, "c"))
    origin.push()
    executor.start(job, sink)
    assert wait_until_ended(executor, job.job_id).exit_code == 0
    expected = b"".join(b"out %d\nerr %d\n" % (i, i) for i in range(300))
    assert sink.data(Stream.STDOUT) == expected
