"""The whole system an end-to-end test drives: a real ``danube up`` (embedded default:
SQLite, local executor) on free 127.0.0.1 ports, serving the built web app, with a real
config repository (git in a tmp dir) of users, teams and pipelines, and a real pipeline
repository."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt

from tests.support import DANUBE, free_port, http_get, wait_for, wait_until

TRIGGER = """mutation($pipeline: String!, $ref: String!) { triggerRun(pipeline: $pipeline, ref: $ref) {
  __typename ... on TriggeredRun { runIds } ... on Problem { message } } }"""
RUN = "query($id: ID!) { run(id: $id) { id state version jobs { id state } } }"
PASSWORD = "e2e-correct-horse"
ADMIN, READER = "alice", "rita"

DANUBEFILE = r"""
from danube import artifacts, pipeline, step

MARKER = "__MARKER__"


@pipeline(name="live")
def live() -> None:
    step.run(r"for i in $(seq 1 25); do printf '\033[32mline %s\033[0m\n' $i; sleep 0.2; done",
             name="count")
    step.run("mkdir -p out && echo 'the artifact body' > out/report.txt", name="package")
    artifacts.upload("out/report.txt")


@pipeline(name="long")
def long() -> None:
    step.run("echo started; sleep 600", name="wait")


@pipeline(name="flaky")
def flaky() -> None:
    step.run(f"test -f {MARKER} || {{ touch {MARKER}; echo first try fails; exit 3; }}",
             name="maybe")
"""


def http_get_status(url: str, headers: dict[str, str]) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10):
            return 200
    except urllib.error.HTTPError as error:
        return error.code


def _git(*args: str, cwd: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "E2E", "GIT_AUTHOR_EMAIL": "e2e@example.com",
           "GIT_COMMITTER_NAME": "E2E", "GIT_COMMITTER_EMAIL": "e2e@example.com"}  # fmt: skip
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=30)


def _repository(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    _git("init", "-q", "-b", "main", cwd=path)
    _git("add", "-A", cwd=path)
    _git("commit", "-q", "-m", "e2e", cwd=path)
    return path


def _config_files(pipelines_repo: Path) -> dict[str, str]:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    users = "---\n".join(
        textwrap.dedent(f"""\
            apiVersion: danube.dev/v1
            kind: User
            metadata: {{name: {name}}}
            spec: {{email: {name}@example.com, password_hash: "{hashed}"}}
            """)
        for name in (ADMIN, READER)
    )
    teams = textwrap.dedent(f"""\
        apiVersion: danube.dev/v1
        kind: Team
        metadata: {{name: platform}}
        spec: {{members: [{ADMIN}@example.com], global_admin: true}}
        ---
        apiVersion: danube.dev/v1
        kind: Team
        metadata: {{name: qa}}
        spec: {{members: [{READER}@example.com]}}
        """)
    files = {"users.yaml": users, "teams.yaml": teams}
    for name in ("live", "long", "flaky"):
        files[f"pipelines/{name}.yaml"] = textwrap.dedent(f"""\
            apiVersion: danube.dev/v1
            kind: Pipeline
            metadata: {{name: {name}, team: platform}}
            spec:
              repository: {pipelines_repo}
              entrypoint: {name}
              permissions:
                - {{team: qa, level: read}}
            """)
    return files


@dataclass
class System:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path
    headers: dict[str, str] = field(default_factory=dict)  # the one place credentials go
    env: dict[str, str] = field(default_factory=dict)

    def sign_in(self, user: str) -> None:
        """Present a personal API token of ``user`` (``danube token create``, as a script
        on the server's machine would) with every request from now on."""
        created = subprocess.run([DANUBE, "token", "create", user, "--name", "e2e"],
                                 env=self.env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert created.returncode == 0, created.stderr
        token = created.stdout.splitlines()[0].strip()
        self.headers = {"Authorization": f"Bearer {token}"}
        wait_until(lambda: http_get_status(f"{self.url}/graphql?query=%7Bviewer%7Bname%7D%7D",
                                           self.headers) == 200,
                   timeout=30, what="the token to be accepted")  # fmt: skip

    def get(self, path: str) -> Any:
        request = urllib.request.Request(f"{self.url}{path}", headers=self.headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        headers = {"Content-Type": "application/json", **self.headers}
        request = urllib.request.Request(f"{self.url}/graphql", body, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            reply: dict[str, Any] = json.loads(response.read())
        assert "errors" not in reply, reply
        return reply["data"]  # type: ignore[no-any-return]

    def trigger(self, pipeline: str, ref: str = "main") -> str:
        """Start a run (as the API would for a script); its id."""
        answer = self.graphql(TRIGGER, pipeline=pipeline, ref=ref)["triggerRun"]
        assert answer["__typename"] == "TriggeredRun", answer
        return str(answer["runIds"][0])

    def run(self, run_id: str) -> dict[str, Any]:
        return self.graphql(RUN, id=run_id)["run"]  # type: ignore[no-any-return]

    def wait_run(self, run_id: str, *states: str, timeout: float = 60) -> dict[str, Any]:
        """A run just triggered is in the read models a moment later: NOT_FOUND until."""
        return wait_for(lambda: self._run_if_shown(run_id),  # type: ignore[no-any-return]
                        lambda run: run is not None and run["state"] in states,
                        timeout=timeout, what=f"run {run_id} to be {states}")  # fmt: skip

    def _run_if_shown(self, run_id: str) -> dict[str, Any] | None:
        body = json.dumps({"query": RUN, "variables": {"id": run_id}}).encode()
        headers = {"Content-Type": "application/json", **self.headers}
        request = urllib.request.Request(f"{self.url}/graphql", body, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            reply: dict[str, Any] = json.loads(response.read())
        errors = reply.get("errors") or []
        if errors and all(e.get("extensions", {}).get("code") == "NOT_FOUND" for e in errors):
            return None
        assert not errors, reply
        return reply["data"]["run"]  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(root: Path, **settings: str) -> System:
    """``danube up`` on free ports with a config repository, up and synced; ``settings``
    are more ``DANUBE_*`` variables."""
    danubefile = DANUBEFILE.replace("__MARKER__", str(root / "flaky-marker"))
    pipelines = _repository(root / "pipelines", {"danubefile.py": danubefile})
    config = _repository(root / "config", _config_files(pipelines))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DANUBE_")}
    env.update(
        DANUBE_DATA_DIR=str(root / "data"),
        DANUBE_BIND_ADDRESS=f"127.0.0.1:{port}",
        DANUBE_GRPC_ADDRESS=f"127.0.0.1:{free_port()}",
        DANUBE_PUBLIC_URL=url,
        DANUBE_CONFIG_REPO_URL=config.as_uri(),
        DANUBE_LOG_LEVEL="info",
    )
    env.update(settings)
    log = root / "danube.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [DANUBE, "up", "--no-example"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    system = System(url, root / "data", process, log)
    system.env = env
    try:
        wait_until(lambda: http_get(f"{url}/health/ready")[0] == 200 or process.poll() is not None,
                   timeout=60, what="danube up to be ready")  # fmt: skip
        if process.poll() is not None:
            raise AssertionError(f"danube up exited: {log.read_text()[-3000:]}")
        system.sign_in(ADMIN)
        wait_until(lambda: system.get("/api/v1/config")["commit"], timeout=60,
                   what="the config repository to be synced")  # fmt: skip
    except BaseException:
        system.stop()
        raise
    return system
