"""Warm coordinators: jobs are handed to coordinators the zygote forked ahead of time, each
job to its own, in its own workspace and environment, as a cold coordinator would have
them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.local.executor import LocalExecutor
from tests.integration.execution.conftest import Embedded
from tests.support import wait_until

REPORT = """
    import os, sys
    from danube import pipeline, step

    @pipeline(name="demo")
    def build() -> None:
        main = sys.modules["__main__"].__spec__.name
        server = sorted(k for k in os.environ if k.startswith("DANUBE_TEST_SERVER"))
        stdin = os.path.realpath(f"/proc/self/fd/0")
        print(f"main={main} pid={os.getpid()} cwd={os.getcwd()} stdin={stdin}")
        print(f"job={os.environ['DANUBE_JOB_ID']} token={'DANUBE_JOB_TOKEN' in os.environ}")
        print(f"server={server} path0={sys.path[0]}")
        step.run("true")
"""


def _said(log: bytes, key: str) -> str:
    text = log.decode(errors="replace")
    return text.split(f"{key}=", 1)[1].split()[0]


def test_each_job_gets_a_warm_coordinator_of_its_own_in_its_workspace(
    embedded: Embedded,
) -> None:
    jobs = [embedded.request(REPORT)[1] for _ in range(3)]
    pids = set()
    for job_id in jobs:
        job = embedded.finished(job_id)
        log = embedded.log(job_id)
        assert job.state == "success", log.decode(errors="replace")
        workspace = str(embedded.execution.executor.workspace(job_id))  # type: ignore[attr-defined]
        assert _said(log, "main") == "danube.coordinator.zygote"  # forked by it
        assert _said(log, "cwd") == workspace and _said(log, "path0") == workspace
        assert _said(log, "stdin") == "/dev/null"
        assert _said(log, "job") == str(job_id)
        assert _said(log, "token") == "False"  # taken out of the environment, as cold
        pids.add(_said(log, "pid"))
        gone = Path(workspace)
        wait_until(lambda gone=gone: not gone.exists(), timeout=30, what="its release")  # type: ignore[misc]
    assert len(pids) == 3


def _idle(root: Path) -> set[int]:
    """Processes whose working directory is ``root``: the zygote and the idle warm
    coordinators it forked."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "cwd") == str(root):
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def test_idle_warm_coordinators_have_no_server_settings_and_end_with_the_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DANUBE_TEST_SERVER_SECRET", "not for jobs")
    root = tmp_path / "workspaces"
    executor = LocalExecutor(root, warm_coordinators=2, kill_grace_seconds=2.0)
    try:
        idle = wait_until(
            lambda: pids if len(pids := _idle(root)) == 3 else None,
            timeout=60,
            what="the zygote and two idle warm coordinators",
        )
        for pid in idle:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            assert b"DANUBE_TEST_SERVER_SECRET" not in environ
    finally:
        executor.close()
    assert not _idle(root)


def test_a_warm_coordinators_token_is_not_in_its_process_environment(
    embedded: Embedded,
) -> None:
    _, job_id = embedded.request("""
        import os
        from danube import pipeline, step

        @pipeline(name="demo")
        def build() -> None:
            with open("/proc/self/environ", "rb") as environ:
                print("token-in-environ", b"DANUBE_JOB_TOKEN" in environ.read())
            step.run(
                "tr '\\\\0' '\\\\n' < /proc/$COORDINATOR/environ | grep -c DANUBE_ || true",
                env={"COORDINATOR": str(os.getpid())},
            )
    """)
    job = embedded.finished(job_id)
    log = embedded.log(job_id)
    assert job.state == "success", log.decode(errors="replace")
    assert b"token-in-environ False\n" in log
    assert b"\n0\n" in log  # no DANUBE_ variable at all: it started without the job's
    assert embedded.danube.tokens.issue(job_id).encode() not in log
