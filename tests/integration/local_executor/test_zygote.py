"""Coordinators forked by the zygote (the executor's default with warm coordinators): each
job's coordinator leads a process group of its own that a stop ends whole, the zygote
never holds a job's token, a zygote that died is started again, and closing the executor
leaves no process behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.local import LocalExecutor
from domain.execution.ports import JobLaunch, Phase
from tests.integration.git.origin import Origin
from tests.integration.local_executor.conftest import (
    GRACE,
    TOKEN,
    launch_of,
    wait_until_ended,
    wait_until_prepared,
)
from tests.integration.local_executor.processes import group_ends, is_alive, live_members
from tests.integration.local_executor.recorder import RecordingSink
from tests.support import wait_until

# Runs at import, before the coordinator's first call to the master (there is none here):
# says who it is, leaves a grandchild in its group, and waits to be stopped.
DANUBEFILE = """
import os, subprocess, time
child = subprocess.Popen(["sleep", "300"])
print(f"up who={os.environ.get('WHO')} pid={os.getpid()} pgid={os.getpgid(0)}"
      f" sid={os.getsid(0)} child={child.pid} cwd={os.getcwd()}", flush=True)
time.sleep(300)
"""
ROOT = Path(__file__).resolve().parents[3]
# The master is never called; the client only needs an address to be made.
MASTER = {"DANUBE_MASTER_ADDRESS": "127.0.0.1:9"}


@pytest.fixture
def executor(tmp_path: Path) -> Iterator[LocalExecutor]:
    made = LocalExecutor(tmp_path / "workspaces", warm_coordinators=1, kill_grace_seconds=GRACE)
    yield made
    made.close()


def _job(origin: Origin, who: str) -> JobLaunch:
    commit = origin.commit({"danubefile.py": DANUBEFILE}, f"for {who}")
    origin.push()
    return job_at(origin.file_url, commit, who)


def _up(sink: RecordingSink) -> dict[str, str]:
    """What the job's danubefile said about itself, once it has."""
    said = wait_until(
        lambda: re.search(rb"up (who=.*)\n", sink.everything()), timeout=60, what="up"
    )
    return dict(pair.split("=", 1) for pair in said.group(1).decode().split())


def _in(root: Path, command: bytes = b"") -> list[int]:
    """The live processes working in ``root`` (the zygote and the idle coordinators it
    forked), whose command line has ``command``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            working = entry.name.isdigit() and os.readlink(entry / "cwd") == str(root)
            if working and command in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return [pid for pid in found if is_alive(pid)]


def _zygotes(root: Path) -> list[int]:
    """The zygotes working in ``root``: started by this process (the coordinators it
    forks have the same command line, and the zygote as their parent)."""
    return [pid for pid in _in(root, b"danube.coordinator.zygote") if _parent(pid) == os.getpid()]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return 0


def _memory(pid: int) -> bytes:
    """Every readable private mapping of ``pid`` (heap, stacks, anonymous memory)."""
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            path = fields[5] if len(fields) > 5 else ""
            if fields[1].startswith("r") and (not path or path.startswith("[")):
                try:
                    mem.seek(start)
                    chunks.append(mem.read(end - start))
                except OSError:
                    continue
    return b"".join(chunks)


def test_a_forked_coordinator_runs_the_job_in_a_group_of_its_own_which_a_stop_ends_whole(
    origin: Origin, executor: LocalExecutor
) -> None:
    jobs = [_job(origin, "a"), _job(origin, "b")]
    sinks = [RecordingSink(), RecordingSink()]
    for job, sink in zip(jobs, sinks, strict=True):
        executor.start(job, sink)
    said = [_up(sink) for sink in sinks]
    for job, up in zip(jobs, said, strict=True):
        assert up["cwd"] == str(executor.workspace(job.job_id))  # each its own workspace
        assert up["pid"] == up["pgid"] == up["sid"]  # the leader of a session of its own
    assert [up["who"] for up in said] == ["a", "b"]  # each its own environment
    assert _zygotes(executor.workspace(jobs[0].job_id).parent)  # they were forked
    executor.stop(jobs[0].job_id, "cancelled")
    assert executor.status(jobs[0].job_id).phase is Phase.EXITED
    group_ends(int(said[0]["pgid"]))  # the grandchild too
    assert is_alive(int(said[1]["child"]))  # the other job goes on
    executor.stop(jobs[1].job_id, "test over")
    group_ends(int(said[1]["pgid"]))


def test_the_zygote_never_holds_a_jobs_token(origin: Origin, executor: LocalExecutor) -> None:
    job = _job(origin, "a")
    sink = RecordingSink()
    executor.start(job, sink)
    coordinator = int(_up(sink)["pid"])
    assert TOKEN.encode() in _memory(coordinator)  # the job's own coordinator has it
    (zygote,) = _zygotes(executor.workspace(job.job_id).parent)
    memory = _memory(zygote)
    assert b"DANUBE_JOB_TOKEN" in memory  # its memory was read: the SDK's names are there
    assert TOKEN.encode() not in memory


def test_a_zygote_that_died_takes_its_coordinators_and_is_started_again(
    origin: Origin, executor: LocalExecutor
) -> None:
    first, sink = _job(origin, "a"), RecordingSink()
    executor.start(first, sink)
    up = _up(sink)
    root = executor.workspace(first.job_id).parent
    (zygote,) = _zygotes(root)
    os.kill(zygote, signal.SIGKILL)
    assert wait_until_ended(executor, first.job_id).phase is Phase.EXITED
    wait_until(lambda: not live_members(int(up["pgid"])), timeout=30, what="its group gone")
    second, sink = _job(origin, "b"), RecordingSink()
    executor.start(second, sink)
    assert wait_until_prepared(executor, second.job_id).phase is Phase.RUNNING
    assert _up(sink)["who"] == "b"
    assert _zygotes(root) and zygote not in _zygotes(root)


def test_closing_the_executor_ends_the_zygote_and_every_coordinator(
    origin: Origin, tmp_path: Path
) -> None:
    executor = LocalExecutor(tmp_path / "workspaces", warm_coordinators=2, kill_grace_seconds=GRACE)
    job, sink = _job(origin, "a"), RecordingSink()
    try:
        executor.start(job, sink)
        up = _up(sink)
        (zygote,) = _zygotes(tmp_path / "workspaces")
    finally:
        executor.close()
    assert not is_alive(zygote)
    assert not live_members(int(up["pgid"]))
    assert not _in(tmp_path / "workspaces")  # nor an idle coordinator


# A server in a process of its own: starts one job, says what its coordinator said, waits.
SERVER = """
import sys, time
from pathlib import Path
from adapters.local import LocalExecutor
from tests.integration.local_executor.test_zygote import job_at

class Out:
    def write(self, stream, data):
        sys.stdout.buffer.write(data)
        sys.stdout.flush()

executor = LocalExecutor(Path(sys.argv[1]), warm_coordinators=1, kill_grace_seconds=0.3)
executor.start(job_at(sys.argv[2], sys.argv[3], "a"), Out())
time.sleep(300)
"""


def job_at(repository: str, commit: str, who: str) -> JobLaunch:
    job = launch_of(repository, commit, env={**MASTER, "WHO": who})
    return replace(job, env={**job.env, "DANUBE_JOB_ID": job.job_id.hex})


def test_a_server_that_died_leaves_neither_the_zygote_nor_a_coordinator(
    origin: Origin, tmp_path: Path
) -> None:
    commit = origin.commit({"danubefile.py": DANUBEFILE}, "for a")
    origin.push()
    root = tmp_path / "workspaces"
    argv = [sys.executable, "-c", SERVER, str(root), origin.file_url, commit]
    server = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        said = b""
        while b"up who=" not in said:
            line = server.stdout.readline()
            assert line, f"the server ended: {said!r}"
            said += line
        up = dict(
            pair.split("=", 1) for pair in said.decode().split("up ", 1)[1].split("\n")[0].split()
        )
        zygotes = [
            pid for pid in _in(root, b"danube.coordinator.zygote") if _parent(pid) == server.pid
        ]
        assert len(zygotes) == 1
    finally:
        server.kill()
        server.wait()
    wait_until(lambda: not is_alive(zygotes[0]), timeout=30, what="the zygote gone")
    wait_until(lambda: not live_members(int(up["pgid"])), timeout=30, what="the job's group gone")
    wait_until(lambda: not _in(root), timeout=30, what="no idle coordinator")
