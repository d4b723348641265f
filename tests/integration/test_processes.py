"""The processes: ``danube up`` (embedded), and ``server`` + ``projector`` separately."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from adapters.sql.store import SqlStore, StoreConfig
from domain.cause import Cause
from domain.config.application import ConfigService
from domain.ids import job_id_for, new_run_id
from domain.runs.application import RunRequest, RunsService
from domain.tokens.application import ApiTokens
from tests.integration.store.scenarios import random_runs
from tests.support import danube_env, free_port, http_get, sign_in, wait_until


def start(command: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    process.send_signal(sig)
    return process.wait(20)


def test_up_serves_health_and_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    port = free_port()
    env = danube_env(
        StoreConfig(kind="sqlite", data_dir=tmp_path),
        DANUBE_BIND_ADDRESS=f"127.0.0.1:{port}",
        DANUBE_GRPC_ADDRESS="127.0.0.1:0",  # never a fixed port other runs may hold
        DANUBE_LOG_LEVEL="info",
        PYTHONFAULTHANDLER="1",
    )
    process = start("up", env)
    try:
        status, _ = wait_until(
            lambda: http_get(f"http://127.0.0.1:{port}/health")[0] == 200 and (200, b""),
            timeout=60,  # the first start creates the example repository; the machine is shared
            what="/health",
        )
        status, body = http_get(f"http://127.0.0.1:{port}/health/ready")
        assert status == 200
        checks = json.loads(body)["checks"]
        assert checks["event_store"]["ok"]
        assert checks["projection:runs"]["ok"]
    finally:
        code = stop(process, signal.SIGINT)
    output = process.stdout.read().decode()  # type: ignore[union-attr]
    assert code == 0, output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(line["msg"] == "danube is up" for line in lines)
    assert lines[-1]["msg"] == "stopped"
    assert (tmp_path / "events.sqlite3").exists()


def test_up_refuses_to_start_with_an_invalid_setting(tmp_path: Path) -> None:
    env = danube_env(StoreConfig(kind="sqlite", data_dir=tmp_path), DANUBE_GRPC_ADDRESS="nine")
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "up"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "DANUBE_GRPC_ADDRESS (grpc_address): expected host:port" in result.stderr


def test_server_and_projector_run_as_separate_processes(
    store_config: StoreConfig, store: SqlStore
) -> None:
    port = free_port()
    env = danube_env(store_config, DANUBE_BIND_ADDRESS=f"127.0.0.1:{port}")
    server, projector = start("server", env), start("projector", env)
    try:
        head = random_runs(RunsService(store.log), 20)

        seen: list[bytes] = []

        def caught_up() -> bool:
            status, body = http_get(f"http://127.0.0.1:{port}/health/ready")
            seen.append(body)
            return (
                status == 200 and json.loads(body)["checks"]["projection:runs"]["position"] == head
            )

        try:
            wait_until(caught_up, timeout=30, what=f"the projector to reach {head}")
        except AssertionError as error:
            server.kill()
            said = server.stdout.read().decode(errors="replace")[-2000:]  # type: ignore[union-attr]
            raise AssertionError(f"{error}; the server said {seen[-1:]}: {said}") from None
    finally:
        codes = {"projector": stop(projector), "server": stop(server)}
    output = b"".join(p.stdout.read() for p in (projector, server))  # type: ignore[union-attr]
    assert codes == {"projector": 0, "server": 0}, output.decode(errors="replace")[-3000:]


def test_the_dispatcher_runs_as_a_process_of_its_own_without_the_master_key(
    store_config: StoreConfig, store: SqlStore
) -> None:
    """The projector and the dispatcher never read the master key (their Deployments do
    not mount it): none is created in their data directory."""
    from domain.cause import Cause
    from domain.ids import job_id_for, new_run_id
    from domain.runs.application import RunRequest
    from projections.runs import RunsProjection
    from projections.runs_view import RunsView

    env = danube_env(store_config, DANUBE_MAX_CONCURRENT_JOBS="1")
    store.views.ensure(RunsProjection())
    projector, dispatcher = start("projector", env), start("dispatcher", env)
    try:
        runs = RunsService(store.log)
        ids = [new_run_id() for _ in range(2)]
        for run_id in ids:
            runs.request_run(
                RunRequest(
                    run_id=run_id,
                    pipeline="web",
                    repository="r",
                    ref="refs/heads/main",
                    commit_sha="c" * 40,
                    trigger={"type": "manual"},
                ),
                Cause(actor="t"),
            )
        view = RunsView(store.views.reader(RunsProjection()))

        def states() -> list[str]:
            return [getattr(view.job(job_id_for(r, "main")), "state", "") for r in ids]

        wait_until(
            lambda: states() == ["scheduling", "pending"],
            timeout=30,
            what="the dispatcher process to schedule within its limit",
        )
    finally:
        assert stop(dispatcher) == 0
        assert stop(projector) == 0
    assert not (Path(env["DANUBE_DATA_DIR"]) / "master.key").exists()


LONG_STEP = """
    from danube import pipeline, step

    @pipeline(name="slow")
    def build() -> None:
        step.run("echo $$ > {pid_file}; sleep 600", name="long")
"""


def git_repo(path: Path, danubefile: str) -> str:
    path.mkdir(parents=True)
    (path / "danubefile.py").write_text(textwrap.dedent(danubefile))
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "slow"]):
        subprocess.run([*git, *args], check=True)
    return subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def listening(schema: str) -> bool:
    import psycopg

    from tests.support import PG_URL

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (f"danube-listen:{schema}",),
        ).fetchone()
    return bool(found and found[0])


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc; no psutil here)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rpartition(")")[2].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_up_stops_cleanly_while_a_step_runs(
    store_config: StoreConfig, store: SqlStore, tmp_path: Path, sig: signal.Signals
) -> None:
    port = free_port()
    env = danube_env(
        store_config,
        DANUBE_BIND_ADDRESS=f"127.0.0.1:{port}",
        DANUBE_GRPC_ADDRESS="127.0.0.1:0",
        DANUBE_LOG_LEVEL="info",
        PYTHONFAULTHANDLER="1",  # a crash while stopping shows where
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "up", "--no-example"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    pid_file = tmp_path / "step.pid"
    try:
        wait_until(
            lambda: http_get(f"http://127.0.0.1:{port}/health")[0] == 200, timeout=60, what="up"
        )
        commit = git_repo(tmp_path / "repo", LONG_STEP.format(pid_file=pid_file))
        run_id = new_run_id()
        RunsService(store.log).request_run(
            RunRequest(
                run_id=run_id,
                pipeline="slow",
                repository=str(tmp_path / "repo"),
                ref="refs/heads/main",
                commit_sha=commit,
                trigger={"type": "manual"},
            ),
            Cause(actor="user:test"),
        )
        job = job_id_for(run_id, "main")
        sign_in(f"http://127.0.0.1:{port}", _Tokens(store))

        def step_running() -> bool:
            status, body = http_get(f"http://127.0.0.1:{port}/api/v1/jobs/{job.hex}")
            steps = json.loads(body).get("steps", []) if status == 200 else []
            return any(s["state"] == "running" for s in steps) and pid_file.exists()

        wait_until(step_running, timeout=60, what="the long step to run")
        if store_config.kind == "postgres":
            assert listening(store_config.schema), "up follows other processes through NOTIFY"
        wait_until(lambda: pid_file.read_text().strip(), what="the step's pid")
        below = descendants(process.pid)
        step_shell = int(pid_file.read_text())
        assert step_shell in below, "the step runs below danube up"
        started = time.monotonic()
        process.send_signal(sig)
        code = process.wait(30)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = process.stdout.read().decode(errors="replace")  # type: ignore[union-attr]
    assert code == 0, output[-3000:]
    # The step sleeps 600 s: stopping within 15 s shows up did not wait for it (the margin is
    # for a loaded machine running the suite in parallel).
    assert took < 15, f"stopping took {took:.1f}s: {output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    left = wait_until(
        lambda: not any(alive(pid) for pid in below) or None,
        timeout=5,
        what="every process danube up had started to be gone",
    )
    assert left
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert lines[-1]["msg"] == "stopped", output[-3000:]
    step = RunsService(store.log).get(run_id).job(job).steps[1]
    assert (step.state, step.reason) == ("cancelled", "released"), "its end was recorded"


@pytest.mark.parametrize("command", ["up", "server"])
def test_an_http_address_in_use_stops_start_up_with_a_clear_message(
    tmp_path: Path, command: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = danube_env(
            StoreConfig(kind="sqlite", data_dir=tmp_path),
            DANUBE_BIND_ADDRESS=f"127.0.0.1:{port}",
            DANUBE_GRPC_ADDRESS="127.0.0.1:0",
        )
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "api.cli",
                command,
                *(["--no-example"] if command == "up" else []),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        f"danube {command}: cannot listen on 127.0.0.1:{port}: address already in use"
    ]


@pytest.mark.parametrize("command", ["up", "server"])
def test_a_grpc_address_in_use_stops_start_up_with_a_clear_message(
    tmp_path: Path, command: str
) -> None:
    """Held by another gRPC server, which sets SO_REUSEPORT as ours did by default: the
    two would have shared the port and its calls. Ours refuses the taken port."""
    import grpc  # the other server, as another process on the machine would run it

    other = grpc.server(ThreadPoolExecutor(max_workers=1))
    port = other.add_insecure_port("127.0.0.1:0")
    other.start()
    try:
        env = danube_env(
            StoreConfig(kind="sqlite", data_dir=tmp_path),
            DANUBE_BIND_ADDRESS=f"127.0.0.1:{free_port()}",
            DANUBE_GRPC_ADDRESS=f"127.0.0.1:{port}",
        )
        argv = [sys.executable, "-m", "api.cli", command]
        argv += ["--no-example"] if command == "up" else []
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    finally:
        other.stop(None)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"danube {command}: cannot listen for gRPC on 127.0.0.1:{port}:"
        " address in use or not available"
    )


def test_a_worker_that_dies_stops_the_process_with_the_reason(tmp_path: Path) -> None:
    """As uvicorn does when it cannot go on: ``SystemExit`` from a worker thread. The
    other workers are stopped and the stores closed; the caller learns why."""
    from api.bootstrap import build
    from api.processes import ComponentFailedError, Supervisor, run_until_signalled
    from api.settings import Settings

    danube = build(Settings(data_dir=tmp_path, log_level="warning"))
    supervisor = Supervisor()
    stopped = threading.Event()

    def bystander(stopping: threading.Event) -> None:
        stopping.wait()
        stopped.set()

    def dies(stopping: threading.Event) -> None:
        raise SystemExit(1)

    supervisor.add("bystander", bystander)
    supervisor.add("http", dies)
    started = time.monotonic()
    with pytest.raises(ComponentFailedError, match="http") as failed:
        run_until_signalled(danube, supervisor)
    assert failed.value.exit_code == 1
    assert time.monotonic() - started < 5
    assert stopped.is_set() and danube.closed
    assert supervisor.restarts == {}, "a dead component is not restarted"


class _Tokens:
    """What ``sign_in`` needs of a Danube, on the store a subprocess serves."""

    def __init__(self, store: SqlStore) -> None:
        self.api_tokens = ApiTokens(store.log)
        self.config = ConfigService(store.log)
