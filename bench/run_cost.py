"""A run's fixed cost (DESIGN.md §11), tried as a new user would: ``danube up`` on the
embedded default (SQLite, local executor, ``DANUBE_MAX_CONCURRENT_JOBS=20``) with a
config repository holding one pipeline whose danubefile runs one ``step.run("true")``,
triggered through ``POST /api/v1/pipelines/{name}/runs``.

Figures: trigger → success p50/p99 of one-step runs in a row, triggered with their
commit as a webhook would (the client polls the job every few ms; also the p50 of runs
triggered by branch name), trigger request p50/p99 (requests in a row, by branch name and carrying
the commit as a webhook does, which resolves nothing; and those of the runs triggered
at once, by branch name, while the runs triggered before them execute), runs per minute
for runs triggered at once, a per-phase breakdown of the median run (from its events' timestamps
and the executor's "job prepared" log line), and the RSS of the ``danube up`` process
idle and at the peak of the runs triggered at once (its children, i.e. jobs and idle
coordinators, separately), and the CPU time per run of the server and of its children
(coordinators, git, steps; of these, the coordinators the zygote forked) while those runs
ran. The same-run floor is what a run has to do at least: a local
``git clone`` of the same repository plus ``python3 -c pass``, spawned directly. At the
end, ``danube replay --check`` says whether the read models rebuilt from the log of all
those runs equal the live ones. Prints one JSON object as its last line.

    python bench/run_cost.py          # about two minutes
    python bench/run_cost.py --full   # more runs
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain.runs.states import TERMINAL  # noqa: E402  (the one terminal set)

FULL = "--full" in sys.argv
IN_A_ROW = 50 if FULL else 20
REQUESTS = 50  # by ref, and as many again with the commit
AT_ONCE = 500 if FULL else 200
SENDERS = 8
CONCURRENT_JOBS = 20
PIPELINE = "cost"

DANUBEFILE = """
    from danube import pipeline, step

    @pipeline(name="cost")
    def cost() -> None:
        step.run("true")
"""

PIPELINE_YAML = """
    apiVersion: danube.dev/v1
    kind: Pipeline
    metadata: {{name: cost, team: bench}}
    spec:
      repository: {repository}
      triggers: [{{on: push}}]
"""

TEAMS_YAML = """
    apiVersion: danube.dev/v1
    kind: Team
    metadata: {name: bench}
    spec: {members: [bench@example.com], global_admin: true}
"""

# The bench's user; it calls the API with a personal token ``danube token create`` mints.
USERS_YAML = """
    apiVersion: danube.dev/v1
    kind: User
    metadata: {name: bench}
    spec:
      email: bench@example.com
      password_hash: "$2b$04$i87TBk4MB3szPRRVdCunbeWD8IYRxLDB41ToReIE.Qw308ujEf9BS"
"""


def danube_bin() -> str:
    venv = ROOT / ".venv" / "bin" / "danube"
    return str(venv) if venv.exists() else "danube"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def git(path: Path, *args: str) -> str:
    who = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    done = subprocess.run(
        ["git", "-C", str(path), *who, *args], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def make_repo(path: Path, files: dict[str, str]) -> str:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(textwrap.dedent(text))
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "bench")
    return git(path, "rev-parse", "HEAD")


class Client:
    """One keep-alive HTTP connection per thread."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._local = threading.local()
        self.token = ""

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        try:
            return self._call(method, path, body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            return self._call(method, path, body)  # a kept-alive connection the server closed

    def _call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection("127.0.0.1", self._port, 30)
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            self._local.conn = None
            raise
        return response.status, json.loads(payload) if payload else None

    def trigger(self, commit: str = "") -> tuple[float, float, str]:
        """(sent at, answered at, job id); by the branch name, or carrying the commit of
        the branch's tip (as a webhook does)."""
        body = {"ref": "refs/heads/main", "commit": commit} if commit else {"ref": "main"}
        sent = time.time()
        status, reply = self.call("POST", f"/api/v1/pipelines/{PIPELINE}/runs", body)
        answered = time.time()
        if status != 201:
            raise RuntimeError(f"trigger answered {status}: {reply}")
        return sent, answered, reply["jobs"][0]

    def job(self, job_id: str) -> dict[str, Any] | None:
        status, reply = self.call("GET", f"/api/v1/jobs/{job_id}")
        return reply if status == 200 else None


class Server:
    def __init__(self, tmp: Path, config_repo: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DANUBE_")}
        env.update(
            DANUBE_DATA_DIR=str(tmp / "data"),
            DANUBE_BIND_ADDRESS=f"127.0.0.1:{self.port}",
            DANUBE_GRPC_ADDRESS=f"127.0.0.1:{free_port()}",
            DANUBE_CONFIG_REPO_URL=str(config_repo),
            DANUBE_MAX_CONCURRENT_JOBS=str(CONCURRENT_JOBS),
            DANUBE_LOG_LEVEL="info",
            DANUBE_LOG_FORMAT="json",
        )
        self.env = env
        self.log_path = tmp / "server.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [danube_bin(), "up", "--no-example"],
            cwd=tmp,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.client = Client(self.port)

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until the config is in force (the bench's user can get a token) and the
        pipeline is configured."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"danube up exited {self.process.returncode}; see its log")
            if not self.client.token:
                minted = subprocess.run(
                    [danube_bin(), "token", "create", "bench", "--scope", "write"],
                    env=self.env,
                    capture_output=True,
                    text=True,
                )
                last = minted.stderr.strip()
                if minted.returncode == 0:
                    self.client.token = minted.stdout.strip()
                else:
                    time.sleep(0.2)
                continue
            try:
                status, reply = self.client.call("GET", "/api/v1/pipelines")
                last = reply
                names = {p.get("name") for p in (reply or {}).get("pipelines", [])}
                if status == 200 and PIPELINE in names:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the pipeline was not configured in time: {last}")

    def prepared(self) -> dict[str, dict[str, Any]]:
        """The executor's "job prepared" lines by job id."""
        lines: dict[str, dict[str, Any]] = {}
        for raw in self.log_path.read_text(errors="replace").splitlines():
            if '"job prepared"' in raw:
                entry = json.loads(raw)
                lines[entry["job_id"]] = entry
        return lines

    def replay_matches(self) -> bool:
        """After ``stop``: ``danube replay --check`` on the server's data (every read model
        rebuilt from the event log equals the live one)."""
        done = subprocess.run(
            [danube_bin(), "replay", "--check"], env=self.env, capture_output=True, timeout=600
        )
        return done.returncode == 0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def memory(pid: int) -> tuple[float, float]:
    """(RSS of the process, RSS of its descendants) in MB."""
    own = rss_kib(pid)
    kids = sum(rss_kib(child) for child in descendants(pid))
    return round(own / 1024, 1), round(kids / 1024, 1)


class PeakMemory(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self._pid = pid
        self._halt = threading.Event()
        self.own = self.children = 0.0

    def run(self) -> None:
        while not self._halt.wait(0.2):
            own, children = memory(self._pid)
            self.own, self.children = max(self.own, own), max(self.children, children)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _times(pid: int) -> tuple[float, float]:
    """(CPU time of the process, CPU time of its children it has reaped) in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    utime, stime, cutime, cstime = (int(value) / tick for value in fields[11:15])
    return utime + stime, cutime + cstime


def _is_zygote(pid: int) -> bool:
    try:
        return b"danube.coordinator.zygote" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def cpu_seconds(pid: int) -> tuple[float, float, float]:
    """(CPU time of the process, of its children that ended, of these the zygote's) in
    seconds. The coordinators the zygote forked are its children, not the server's: what
    those that ended used is in the zygote's figures (itself included) until it ends."""
    own, children = _times(pid)
    forked = 0.0
    for child in descendants(pid):
        if _parent(child) == pid and _is_zygote(child):
            forked += sum(_times(child))
    return own, children + forked, forked


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def wait_done(client: Client, job_id: str, poll: float, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        job = client.job(job_id)
        if job is not None and job["state"] in TERMINAL:
            return job
        time.sleep(poll)
    raise RuntimeError(f"job {job_id} did not finish: {job}")


def wait_all(client: Client, job_ids: list[str], timeout: float) -> dict[str, str]:
    """Each job's final state; polls the job list (newest first) every quarter second."""
    wanted, states = set(job_ids), {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(states) < len(wanted):
        _, reply = client.call("GET", f"/api/v1/jobs?pipeline={PIPELINE}&limit=500")
        for job in reply["jobs"]:
            if job["id"] in wanted and job["state"] in TERMINAL:
                states[job["id"]] = job["state"]
        if len(states) < len(wanted):
            time.sleep(0.25)
    return states


def epoch(stamp: str | None) -> float:
    return datetime.fromisoformat(stamp).timestamp() if stamp else float("nan")


def phases(sent: float, answered: float, seen: float, job: dict[str, Any], prep: Any) -> Any:
    """Where one run's time went, in ms, from its events' timestamps and the executor's
    log line (which is written once the coordinator was spawned)."""
    step = job["steps"][0] if job["steps"] else {}
    prepared = epoch(prep["ts"]) if prep else float("nan")
    checkout = prep["checkout_ms"] / 1000 if prep else float("nan")
    spawn = prep["coordinator_start_ms"] / 1000 if prep else float("nan")
    executor_start = prepared - spawn - checkout
    marks = [
        ("trigger_request", sent, answered),
        ("request_to_run_recorded", sent, epoch(job["requested_at"])),
        ("queued", epoch(job["requested_at"]), epoch(job["scheduled_at"])),
        ("scheduled_to_executor_start", epoch(job["scheduled_at"]), executor_start),
        ("checkout", executor_start, executor_start + checkout),
        ("coordinator_spawn", executor_start + checkout, prepared),
        ("coordinator_up_to_first_step", prepared, epoch(step.get("started_at"))),
        ("step", epoch(step.get("started_at")), epoch(step.get("finished_at"))),
        ("step_end_to_job_end", epoch(step.get("finished_at")), epoch(job["finished_at"])),
        ("job_end_to_seen_by_client", epoch(job["finished_at"]), seen),
    ]
    return {name: ms(end - start) for name, start, end in marks}


def in_a_row(
    server: Server, count: int, commit: str
) -> tuple[list[float], list[float], dict[str, Any]]:
    client = server.client
    done_times, requests, runs = [], [], []
    for _ in range(count):
        sent, answered, job_id = client.trigger(commit)
        job = wait_done(client, job_id, poll=0.003)
        seen = time.time()
        if job["state"] != "success":
            raise RuntimeError(f"a run ended {job['state']}: {job.get('reason')}")
        done_times.append(seen - sent)
        requests.append(answered - sent)
        runs.append((seen - sent, sent, answered, seen, job))
    runs.sort(key=lambda run: run[0])
    _, sent, answered, seen, job = runs[len(runs) // 2]
    prep = server.prepared().get(job["id"].replace("-", ""))
    return done_times, requests, phases(sent, answered, seen, job, prep)


def requests_in_a_row(server: Server, count: int, commit: str = "") -> list[float]:
    times, jobs = [], []
    for _ in range(count):
        sent, answered, job_id = server.client.trigger(commit)
        times.append(answered - sent)
        jobs.append(job_id)
    wait_all(server.client, jobs, timeout=300)
    return times


def at_once(
    server: Server, count: int
) -> tuple[float, dict[str, int], PeakMemory, tuple[float, float, float], list[float]]:
    """Runs per minute, final states, peak memory, the CPU ms per run of the server,
    of its children (coordinators, git, steps) and of these the zygote's (the
    coordinators it forked, and itself), and how long each trigger request took (sent
    ``SENDERS`` at a time while the runs triggered before them execute)."""
    peak = PeakMemory(server.process.pid)
    peak.start()
    cpu_before = cpu_seconds(server.process.pid)
    started = time.monotonic()
    with ThreadPoolExecutor(SENDERS) as pool:
        triggered = list(pool.map(lambda _: server.client.trigger(), range(count)))
    jobs = [job for _, _, job in triggered]
    requests = [answered - sent for sent, answered, _ in triggered]
    states = wait_all(server.client, jobs, timeout=600)
    elapsed = time.monotonic() - started
    cpu_after = cpu_seconds(server.process.pid)
    peak.stop()
    counted: dict[str, int] = {}
    for state in [*states.values(), *["unfinished"] * (count - len(states))]:
        counted[state] = counted.get(state, 0) + 1
    own = ms((cpu_after[0] - cpu_before[0]) / count)
    children = ms((cpu_after[1] - cpu_before[1]) / count)
    forked = ms((cpu_after[2] - cpu_before[2]) / count)
    return count / elapsed * 60, counted, peak, (own, children, forked), requests


def floor(repo: Path, tmp: Path, count: int) -> list[float]:
    """What a run must do at least: a local clone and a Python interpreter."""
    times = []
    for n in range(count):
        target = tmp / f"floor-{n}"
        started = time.perf_counter()
        subprocess.run(["git", "clone", "-q", str(repo), str(target)], check=True)
        subprocess.run(["python3", "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
        shutil.rmtree(target)
    return times


def say(text: str) -> None:
    print(f"run_cost: {text}", file=sys.stderr, flush=True)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="danube-bench-cost-"))
    repo = tmp / "app"
    commit = make_repo(repo, {"danubefile.py": DANUBEFILE})
    config = tmp / "config"
    make_repo(
        config,
        {
            f"pipelines/{PIPELINE}.yaml": PIPELINE_YAML.format(repository=repo),
            "teams.yaml": TEAMS_YAML,
            "users.yaml": USERS_YAML,
        },
    )
    base = floor(repo, tmp, 20)
    server = Server(tmp, config)
    try:
        server.wait_ready()
        in_a_row(server, 3, "")  # warm-up: first imports, first clone
        time.sleep(2.0)  # let the server settle before measuring it idle
        idle_own, idle_children = memory(server.process.pid)
        done_by_ref, _, _ = in_a_row(server, IN_A_ROW // 2, "")
        say(f"in a row by branch name: p50 {ms(statistics.median(done_by_ref))} ms")
        done, row_requests, breakdown = in_a_row(server, IN_A_ROW, commit)
        say(f"in a row with the commit: p50 {ms(statistics.median(done))} ms; phases {breakdown}")
        requests = requests_in_a_row(server, REQUESTS)
        say(f"trigger requests: p50 {ms(statistics.median(requests))} ms")
        with_commit = requests_in_a_row(server, REQUESTS, commit)
        say(f"trigger requests with the commit: p50 {ms(statistics.median(with_commit))} ms")
        per_minute, states, peak, cpu, under_load = at_once(server, AT_ONCE)
    finally:
        server.stop()
    replayed = server.replay_matches()
    floor_p50 = statistics.median(base)
    result = {
        "trigger_to_done_p50_ms": ms(statistics.median(done)),
        "trigger_to_done_p99_ms": ms(percentile(done, 0.99)),
        "runs_in_a_row": IN_A_ROW,
        "trigger_by_branch_name_to_done_p50_ms": ms(statistics.median(done_by_ref)),
        "runs_in_a_row_by_branch_name": IN_A_ROW // 2,
        "trigger_request_p50_ms": ms(statistics.median(requests)),
        "trigger_request_p99_ms": ms(percentile(requests, 0.99)),
        "trigger_request_with_commit_idle_p50_ms": ms(statistics.median(row_requests)),
        "trigger_request_with_commit_p50_ms": ms(statistics.median(with_commit)),
        "trigger_request_with_commit_p99_ms": ms(percentile(with_commit, 0.99)),
        "trigger_requests": REQUESTS,
        "trigger_request_at_once_p50_ms": ms(statistics.median(under_load)),
        "trigger_request_at_once_p99_ms": ms(percentile(under_load, 0.99)),
        "runs_per_minute": round(per_minute),
        "runs_at_once": AT_ONCE,
        "runs_at_once_states": states,
        "cpu_ms_per_run_server": cpu[0],
        "cpu_ms_per_run_children": cpu[1],
        "cpu_ms_per_run_children_forked_by_the_zygote": cpu[2],
        "replay_equals_live": replayed,
        "concurrent_jobs": CONCURRENT_JOBS,
        "phases_of_median_run_ms": breakdown,
        "rss_idle_mb": idle_own,
        "rss_idle_children_mb": idle_children,
        "rss_peak_mb": peak.own,
        "rss_peak_children_mb": peak.children,
        "floor_clone_plus_python_p50_ms": ms(floor_p50),
        "ratio_done_p50_vs_floor": round(statistics.median(done) / floor_p50, 2),
        "floor_runs_per_minute_serial": round(60 / floor_p50),
        "store": "sqlite",
        "executor": "local",
        "targets": {
            "trigger_to_done_p50_ms": "<= 100",
            "trigger_to_done_p99_ms": "<= 250",
            "runs_per_minute": ">= 1500",
            "trigger_request_p99_ms": "<= 20",
            "trigger_request_with_commit_p99_ms": "<= 20",
            "rss_idle_mb": "<= 150",
            "rss_peak_mb": "<= 600",
        },
    }
    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
