"""Manual and API triggers: a configured pipeline at a ref, the commit resolved."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from adapters.sql.store import StoreConfig
from api.processes import HttpServer, Supervisor
from api.server import create_app
from domain.cause import Cause
from tests.integration.config.conftest import ConfigWorld, make_world
from tests.integration.git.origin import Origin, git
from tests.support import auth_headers, danube_env, free_port, sign_in, wait_until


@pytest.fixture
def app(store_config: StoreConfig, tmp_path: Path) -> Iterator[tuple[ConfigWorld, Origin, str]]:
    repo = Origin(tmp_path / "app")
    repo.commit({"danubefile.py": "# build\n"}, "one")
    repo.push()
    repo.tag("v1.0")
    repo.commit({"danubefile.py": "# build 2\n"}, "two")
    repo.push()
    for world in make_world(store_config, tmp_path):
        world.push(
            {
                "pipelines/app.yaml": f"""
            apiVersion: danube.dev/v1
            kind: Pipeline
            metadata: {{name: app, team: web}}
            spec: {{repository: {repo.file_url}}}
        """
            }
        )
        assert world.loop.sync().outcome == "accepted"
        supervisor = Supervisor()
        port = free_port()
        supervisor.add("http", HttpServer(create_app(world.danube), "127.0.0.1", port))
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda url=url: _status(f"{url}/health")[0] == 200, what="HTTP")
        sign_in(url, world.danube, user="alice")  # a global admin of CONFIG
        yield world, repo, url
        supervisor.stop()


def _status(url: str, data: dict | None = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    request = urllib.request.Request(
        url,
        data=None if data is None else json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **auth_headers(url)},
        method="GET" if data is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except OSError:
        return 0, {}


TRIGGER = """
    mutation Trigger($pipeline: String!, $ref: String!) {
      triggerRun(pipeline: $pipeline, ref: $ref) {
        __typename
        ... on TriggeredRun { pipeline runIds commit ref }
        ... on Problem { message code }
      }
    }
"""


def graphql(url: str, query: str, **variables: str) -> dict:  # type: ignore[type-arg]
    status, reply = _status(f"{url}/graphql", {"query": query, "variables": variables})
    assert status == 200, reply
    return reply


def test_a_run_is_triggered_at_a_branch_or_tag_through_the_api(
    app: tuple[ConfigWorld, Origin, str],
) -> None:
    world, repo, url = app
    status, body = _status(f"{url}/api/v1/pipelines/app/runs", {"ref": "main"})
    assert status == 201, body
    run = world.danube.runs.get(UUID(body["run_id"]))  # type: ignore[arg-type]
    assert (run.ref, run.commit_sha) == ("refs/heads/main", git("rev-parse", "HEAD", cwd=repo.work))
    assert (body["commit"], body["ref"]) == (run.commit_sha, run.ref)
    assert (run.trigger["type"], run.cause.actor) == ("api", "user:alice")
    status, body = _status(f"{url}/api/v1/pipelines/app/runs", {"ref": "v1.0"})
    assert status == 201
    run = world.danube.runs.get(UUID(body["run_id"]))  # type: ignore[arg-type]
    assert (run.ref, run.commit_sha) == ("refs/tags/v1.0", git("rev-parse", "v1.0", cwd=repo.work))


def test_refusals_name_the_problem(app: tuple[ConfigWorld, Origin, str]) -> None:
    world, _, url = app
    status, body = _status(f"{url}/api/v1/pipelines/nope/runs", {"ref": "main"})
    assert (status, body["detail"]) == (404, "no pipeline 'nope' in the configuration")
    status, body = _status(f"{url}/api/v1/pipelines/app/runs", {"ref": "no-such-branch"})
    assert status == 400
    assert "no-such-branch" in body["detail"]
    status, body = _status(f"{url}/api/v1/pipelines/app/runs", {"ref": ""})
    assert status == 422
    world.danube.system.start_draining(Cause(actor="user:ops"))
    status, body = _status(f"{url}/api/v1/pipelines/app/runs", {"ref": "main"})
    assert status == 503


def test_trigger_run_through_graphql_returns_the_run_and_the_resolved_commit(
    app: tuple[ConfigWorld, Origin, str],
) -> None:
    world, repo, url = app
    reply = graphql(url, TRIGGER, pipeline="app", ref="v1.0")
    assert "errors" not in reply, reply
    triggered = reply["data"]["triggerRun"]
    tagged = git("rev-parse", "v1.0^{commit}", cwd=repo.work)
    assert (triggered["pipeline"], triggered["commit"], triggered["ref"]) == (
        "app",
        tagged,
        "refs/tags/v1.0",
    )
    [run_hex] = triggered["runIds"]
    run = world.danube.runs.get(UUID(run_hex))  # type: ignore[arg-type]
    assert (run.pipeline, run.ref, run.commit_sha) == ("app", "refs/tags/v1.0", tagged)
    assert (run.trigger["type"], run.cause.actor) == ("api", "user:alice"), "as through REST"
    main = graphql(url, TRIGGER, pipeline="app", ref="main")["data"]["triggerRun"]
    assert main["commit"] == git("rev-parse", "HEAD", cwd=repo.work)


def test_graphql_refusals_name_the_problem(app: tuple[ConfigWorld, Origin, str]) -> None:
    world, _, url = app
    position = world.danube.store.log.position()

    def refusal(pipeline: str, ref: str) -> tuple[str, str, str]:
        """Refusals are members of the result union that name the domain failure."""
        reply = graphql(url, TRIGGER, pipeline=pipeline, ref=ref)
        assert "errors" not in reply, reply
        result = reply["data"]["triggerRun"]
        return result["__typename"], result["code"], result["message"]

    assert refusal("nope", "main") == (
        "PipelineNotFound",
        "NOT_FOUND",
        "no pipeline 'nope' in the configuration",
    )
    kind, code, message = refusal("app", "no-such-branch")
    assert (kind, code) == ("InvalidInput", "BAD_USER_INPUT")
    assert message.startswith("cannot resolve 'no-such-branch' in ")
    assert refusal("app", "")[:2] == ("InvalidInput", "BAD_USER_INPUT")
    world.danube.system.start_draining(Cause(actor="user:ops"))
    assert refusal("app", "main") == (
        "Unavailable",
        "UNAVAILABLE",
        "Danube is draining: no new runs are accepted",
    )
    recorded = world.danube.store.log.recorder.select_notifications(position + 1, 100)
    assert [n.topic for n in recorded if n.topic.startswith("danube:Run")] == [], "no run"


def test_the_pipelines_query_lists_the_configured_pipelines(
    app: tuple[ConfigWorld, Origin, str],
) -> None:
    world, repo, url = app
    world.settle()
    reply = graphql(url, "{ pipelines { name repository configured } }")
    configured = [
        {"name": p["name"], "repository": p["repository"]}
        for p in reply["data"]["pipelines"]
        if p["configured"]
    ]
    assert configured == [
        {"name": "app", "repository": repo.file_url},
        {"name": "hello-world", "repository": "https://github.com/Codertocat/Hello-World.git"},
    ]


def test_danube_trigger_on_the_command_line(app: tuple[ConfigWorld, Origin, str]) -> None:
    world, _, _ = app
    env = danube_env(world.danube.store.config, DANUBE_DATA_DIR=str(world.danube.settings.data_dir))
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "trigger", "app", "--ref", "v1.0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("run ")
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "trigger", "ghost"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "no pipeline 'ghost'" in result.stderr
