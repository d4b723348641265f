"""The permission matrix: every GraphQL query, mutation and subscription, every REST
route (the SSE log stream and the artifact download included) x {anonymous, reader,
writer, pipeline admin, other team, global admin}, against a real server on 127.0.0.1
(real HTTP, real WebSocket) with real personal API tokens, over a real finished run.

Outcomes: ``U`` 401 / UNAUTHENTICATED, ``F`` 403 / FORBIDDEN, ``Y`` let through (the
answer may still be a 404 or a domain failure: what is checked is the permission).
The operations are enumerated from the schema and the OpenAPI document: one without a
row here fails ``test_every_operation_has_a_row``."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import websockets

from api.bootstrap import build
from api.processes import HttpServer
from api.server import create_app
from api.settings import Settings
from domain.auth.aggregates import AccessDenial
from domain.cause import Cause
from domain.config.model import Config, Permission, Pipeline, Team, User
from domain.ids import JobId, RunId
from tests.integration.execution.conftest import Embedded, embedded
from tests.support import free_port, http_get, wait_until

__all__ = ["embedded"]

# A caller's own tokens (api/graphql/tokens.py, authentication's): refused without
# credentials by authentication itself, which counts but does not audit that.
OWN_TOKENS = {"query apiTokens", "mutation createApiToken", "mutation revokeApiToken"}
ROLES = ("anonymous", "reader", "writer", "padmin", "other", "gadmin")
READ, WRITE, ADMIN = "UYYYFY", "UFYYFY", "UFFYFY"
SIGNED_IN, SYSTEM = "UYYYYY", "UFFFFY"
PUBLIC = {  # open on purpose: health probes, metrics, signed webhooks, a public key
    "GET /health", "GET /health/ready", "GET /metrics", "POST /webhooks/{provider}",
    "GET /api/v1/provenance/public-key", "GET /auth/me",  # /auth/me: who the token is
}  # fmt: skip
PIPELINE = """
from danube import artifacts, pipeline, step

@pipeline(name="demo")
def build() -> None:
    step.run("echo matrix > out.txt && echo done", name="write")
    artifacts.upload("out.txt")
"""


def config(repository: str) -> Config:
    users = tuple(User(name, f"{name}@example.com") for name in ROLES[1:])
    teams = (
        Team("qa", ("reader@example.com",)),
        Team("ops", ("writer@example.com",)),
        Team("web", ("padmin@example.com",)),
        Team("outsiders", ("other@example.com",)),
        Team("platform", ("gadmin@example.com",), global_admin=True),
    )
    web = Pipeline(
        "web",
        repository,
        permissions=(
            ("web", Permission.ADMIN),
            ("qa", Permission.READ),
            ("ops", Permission.WRITE),
        ),
        team="web",
    )
    other = Pipeline("other", repository, permissions=(("outsiders", Permission.ADMIN),))
    return Config(commit="matrix", pipelines=(web, other), users=users, teams=teams)


@dataclass
class World:
    embedded: Embedded
    url: str
    tokens: dict[str, str]
    run_id: RunId
    job_id: JobId

    def headers(self, role: str) -> dict[str, str]:
        token = self.tokens.get(role)
        return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture
def world(embedded: Embedded) -> World:
    repo, _ = embedded.repo(PIPELINE, name="web-repo")
    embedded.danube.config.accept(config(str(repo)))
    run_id, job_id = embedded.request(PIPELINE, pipeline="web")
    embedded.finished(job_id)
    port = free_port()
    embedded.supervisor.add("http", HttpServer(create_app(embedded.danube), "127.0.0.1", port))
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_get(f"{url}/health")[0] == 200, what="the HTTP server")
    cause = Cause(actor="operator")
    tokens = {
        role: embedded.danube.api_tokens.create(role, "matrix", "write", None, cause).token
        for role in ROLES[1:]
    }
    embedded.danube.secrets.set("web", "API_KEY", "s3cr3t-value", cause)
    return World(embedded, url, tokens, run_id, job_id)


# ---- how each kind of operation is asked, and what its answer means -------------------


def graphql(world: World, role: str, query: str, **variables: Any) -> str:
    body = json.dumps({"query": query, "variables": variables}).encode()
    headers = {"Content-Type": "application/json", **world.headers(role)}
    request = urllib.request.Request(f"{world.url}/graphql", body, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        reply = json.loads(response.read())
    return _code_of(reply.get("errors"))


def _code_of(errors: list[dict[str, Any]] | None) -> str:
    codes = {(e.get("extensions") or {}).get("code") for e in errors or []}
    if "UNAUTHENTICATED" in codes:
        return "U"
    if "FORBIDDEN" in codes:
        return "F"
    assert not codes & {None, "INTERNAL"}, errors
    return "Y"


def rest(world: World, role: str, method: str, path: str, body: bytes | None = None) -> str:
    headers = {"Content-Type": "application/json", **world.headers(role)}
    request = urllib.request.Request(world.url + path, body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read(1)  # an SSE stream: its first byte is enough
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    assert status < 500, (method, path, role, status)
    return {401: "U", 403: "F"}.get(status, "Y")


def subscription(
    world: World, role: str, query: str, change: Callable[[], None] = lambda: None, **variables: Any
) -> str:
    """The first answer of a subscription: an error with a code, or data (``change``
    makes something happen that an allowed subscriber is told about)."""

    async def first() -> str:
        ws_url = world.url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(
            ws_url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            additional_headers=world.headers(role),
        ) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await socket.recv())["type"] == "connection_ack"
            payload = {"query": query, "variables": variables}
            await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            changed = asyncio.get_running_loop().run_in_executor(None, change)
            message = json.loads(await asyncio.wait_for(socket.recv(), 60))
            await changed
            if message["type"] == "error":
                return _code_of(message["payload"])
            if message["type"] == "next":
                return _code_of(message["payload"].get("errors"))
            return "Y"  # complete

    return asyncio.run(first())


def new_run_of_web(world: World) -> Callable[[], None]:
    def request() -> None:
        from domain.runs.application import RunRequest

        run = RunId(uuid4())
        world.embedded.danube.runs.request_run(
            RunRequest(run, "web", "/nonexistent", "refs/heads/main", "0" * 40, {"type": "api"}),
            Cause(actor="operator"),
        )

    return request


# ---- the matrix -----------------------------------------------------------------------

Ask = Callable[[World, str], str]
RUN_Q = "query R($id: ID!) { run(id: $id) { id } }"


def operations(world: World) -> dict[str, tuple[str, Ask]]:
    """Every operation: the outcome for each of ROLES, and how it is asked. Keys are
    ``query x`` / ``mutation x`` / ``subscription x`` / ``METHOD /path`` (a ``#variant``
    suffix for a second way of asking the same operation)."""
    run, job = world.run_id.hex, world.job_id.hex
    web = "/api/v1/pipelines/web"
    g = graphql
    return {
        "query viewer": ("YYYYYY", lambda w, r: g(w, r, "{ viewer { name } }")),
        "query pipelines": (SIGNED_IN, lambda w, r: g(w, r, "{ pipelines { name } }")),
        "query pipeline": (READ, lambda w, r: g(w, r, '{ pipeline(name: "web") { name } }')),
        "query runs": (SIGNED_IN, lambda w, r: g(w, r, "{ runs { edges { cursor } } }")),
        "query run": (READ, lambda w, r: g(w, r, RUN_Q, id=run)),
        "query run#asOfVersion": (
            READ,
            lambda w, r: g(w, r, "query R($id: ID!) { run(id: $id, asOfVersion: 1) { id } }", id=run),
        ),
        "query job": (READ, lambda w, r: g(w, r, "query J($id: ID!) { job(id: $id) { id } }", id=job)),
        "query log": (
            READ,
            lambda w, r: g(w, r, "query L($id: ID!) { log(jobId: $id) { text } }", id=job),
        ),
        "query queue": (SIGNED_IN, lambda w, r: g(w, r, "{ queue { position } }")),
        "query events": (
            READ,
            lambda w, r: g(w, r, "query E($id: ID!) { events(runId: $id) { type } }", id=run),
        ),
        "query auditTrail": (SIGNED_IN, lambda w, r: g(w, r, "{ auditTrail { edges { cursor } } }")),
        "query secretReads": (SIGNED_IN, lambda w, r: g(w, r, '{ secretReads(key: "API_KEY") { at } }')),
        "query status": (SIGNED_IN, lambda w, r: g(w, r, "{ status { draining } }")),
        "mutation triggerRun": (
            WRITE,
            lambda w, r: g(w, r, 'mutation { triggerRun(pipeline: "web", ref: "no-such-ref") { __typename } }'),
        ),
        "mutation cancelRun": (
            WRITE,
            lambda w, r: g(w, r, "mutation C($id: ID!) { cancelRun(runId: $id) { __typename } }", id=run),
        ),
        "mutation rerun": (
            WRITE,
            lambda w, r: g(
                w, r, "mutation C($id: ID!) { rerun(runId: $id, onlyFailed: true) { __typename } }", id=run
            ),
        ),
        "mutation drain": (SYSTEM, lambda w, r: g(w, r, "mutation { drain { draining } }")),
        "mutation undrain": (SYSTEM, lambda w, r: g(w, r, "mutation { undrain { draining } }")),
        "mutation setSecret": (
            ADMIN,
            lambda w, r: g(w, r, 'mutation { setSecret(pipeline: "web", key: "K", value: "v") { __typename } }'),
        ),
        "mutation setSecret#global": (
            SYSTEM,
            lambda w, r: g(w, r, 'mutation { setSecret(key: "G", value: "v") { __typename } }'),
        ),
        "mutation removeSecret": (
            ADMIN,
            lambda w, r: g(w, r, 'mutation { removeSecret(pipeline: "web", key: "K") { __typename } }'),
        ),
        "mutation removeSecret#global": (
            SYSTEM,
            lambda w, r: g(w, r, 'mutation { removeSecret(key: "G") { __typename } }'),
        ),
        "mutation rotateSecretsKey": (
            SYSTEM,
            lambda w, r: g(w, r, "mutation { rotateSecretsKey { __typename } }"),
        ),
        "query config": (SYSTEM, lambda w, r: g(w, r, "{ config { __typename } }")),
        "query deliveries": (SYSTEM, lambda w, r: g(w, r, "{ deliveries { id } }")),
        "mutation replayDelivery": (
            SYSTEM,
            lambda w, r: g(w, r, f'mutation {{ replayDelivery(id: "{uuid4()}") {{ __typename }} }}'),
        ),
        "query apiTokens": (SIGNED_IN, lambda w, r: g(w, r, "{ apiTokens { name } }")),
        "mutation createApiToken": (
            SIGNED_IN,
            lambda w, r: g(w, r, 'mutation { createApiToken(name: "m", expiresInDays: 1) { token } }'),
        ),
        "mutation revokeApiToken": (
            SIGNED_IN,
            lambda w, r: g(w, r, f'mutation {{ revokeApiToken(id: "{uuid4().hex}") {{ name }} }}'),
        ),
        "subscription runUpdated": (
            READ,
            lambda w, r: subscription(
                w, r, 'subscription { runUpdated(pipeline: "web") { id } }', new_run_of_web(w)
            ),
        ),
        "subscription runsChanged": (
            READ,
            lambda w, r: subscription(
                w,
                r,
                'subscription { runsChanged(filter: {pipeline: "web"}) { id } }',
                new_run_of_web(w),
            ),
        ),
        "subscription jobUpdated": (
            READ,
            lambda w, r: subscription(
                w, r, "subscription J($id: ID!) { jobUpdated(jobId: $id) { id } }", id=job
            ),
        ),
        "subscription logAppended": (
            READ,
            lambda w, r: subscription(
                w, r, "subscription L($id: ID!) { logAppended(jobId: $id) { text } }", id=job
            ),
        ),
        "GET /graphql": ("YYYYYY", lambda w, r: rest(w, r, "GET", "/graphql?query=%7B__typename%7D")),
        "POST /graphql": ("YYYYYY", lambda w, r: g(w, r, "{ __typename }")),
        "GET /api/v1/pipelines": (SIGNED_IN, lambda w, r: rest(w, r, "GET", "/api/v1/pipelines")),
        "GET /api/v1/pipelines/{name}": (READ, lambda w, r: rest(w, r, "GET", web)),
        "POST /api/v1/pipelines/{name}/runs": (
            WRITE,
            lambda w, r: rest(w, r, "POST", f"{web}/runs", b'{"ref": "no-such-ref"}'),
        ),
        "GET /api/v1/jobs": (SIGNED_IN, lambda w, r: rest(w, r, "GET", "/api/v1/jobs")),
        "GET /api/v1/queue": (SIGNED_IN, lambda w, r: rest(w, r, "GET", "/api/v1/queue")),
        "GET /api/v1/jobs/{job_id}": (READ, lambda w, r: rest(w, r, "GET", f"/api/v1/jobs/{job}")),
        "GET /api/v1/jobs/{job_id}/logs": (
            READ,
            lambda w, r: rest(w, r, "GET", f"/api/v1/jobs/{job}/logs"),
        ),
        "GET /api/v1/jobs/{job_id}/logs/stream": (
            READ,
            lambda w, r: rest(w, r, "GET", f"/api/v1/jobs/{job}/logs/stream"),
        ),
        "POST /api/v1/jobs/{job_id}/cancel": (
            WRITE,
            lambda w, r: rest(w, r, "POST", f"/api/v1/jobs/{job}/cancel"),
        ),
        "GET /api/v1/artifacts/{job_id}/{name}": (
            READ,
            lambda w, r: rest(w, r, "GET", f"/api/v1/artifacts/{job}/out.txt"),
        ),
        "GET /api/v1/config": (SYSTEM, lambda w, r: rest(w, r, "GET", "/api/v1/config")),
        "GET /api/v1/webhooks/deliveries": (
            SYSTEM,
            lambda w, r: rest(w, r, "GET", "/api/v1/webhooks/deliveries"),
        ),
        "POST /api/v1/webhooks/deliveries/{delivery}/replay": (
            SYSTEM,
            lambda w, r: rest(w, r, "POST", f"/api/v1/webhooks/deliveries/{uuid4()}/replay"),
        ),
    }  # fmt: skip


def enumerated(tmp_path: Path) -> set[str]:
    """Every operation the server has: the schema's fields and the OpenAPI routes."""
    from api.graphql.schema import build_schema

    schema = build_schema()._schema
    found = {
        f"{kind} {name}"
        for kind, root in (
            ("query", schema.query_type),
            ("mutation", schema.mutation_type),
            ("subscription", schema.subscription_type),
        )
        if root is not None
        for name in root.fields
    }
    danube = build(Settings(data_dir=tmp_path / "data", log_level="error"))
    try:
        paths = create_app(danube).openapi()["paths"]
    finally:
        danube.close()
    found |= {f"{method.upper()} {path}" for path, ops in paths.items() for method in ops}
    return found - PUBLIC


def test_every_operation_has_a_row(tmp_path: Path) -> None:
    rows = {key.split("#")[0] for key in MATRIX_KEYS}
    assert enumerated(tmp_path) - rows == set(), "operations without a row in the matrix"
    assert rows - enumerated(tmp_path) == set(), "rows of operations that do not exist"


MATRIX_KEYS = [
    "query viewer", "query pipelines", "query pipeline", "query runs", "query run",
    "query run#asOfVersion", "query job", "query log", "query queue", "query events",
    "query auditTrail", "query secretReads", "query status", "mutation triggerRun",
    "mutation cancelRun", "mutation rerun", "mutation drain", "mutation undrain",
    "mutation setSecret", "mutation setSecret#global", "mutation removeSecret",
    "mutation removeSecret#global", "mutation rotateSecretsKey", "query apiTokens",
    "mutation createApiToken", "mutation revokeApiToken", "subscription runUpdated",
    "subscription runsChanged", "subscription jobUpdated", "subscription logAppended", "GET /graphql", "POST /graphql",
    "GET /api/v1/pipelines", "GET /api/v1/pipelines/{name}",
    "POST /api/v1/pipelines/{name}/runs", "GET /api/v1/jobs", "GET /api/v1/queue",
    "GET /api/v1/jobs/{job_id}", "GET /api/v1/jobs/{job_id}/logs",
    "GET /api/v1/jobs/{job_id}/logs/stream", "POST /api/v1/jobs/{job_id}/cancel",
    "GET /api/v1/artifacts/{job_id}/{name}", "GET /api/v1/config",
    "GET /api/v1/webhooks/deliveries", "POST /api/v1/webhooks/deliveries/{delivery}/replay",
    "query config", "query deliveries", "mutation replayDelivery",
]  # fmt: skip


@pytest.mark.parametrize("store_config", ["sqlite"], indirect=True)
def test_every_operation_answers_each_role_as_its_permissions_say(world: World) -> None:
    table = operations(world)
    assert sorted(table) == sorted(MATRIX_KEYS)
    denials_before = denial_count(world)
    wrong, refused = [], 0
    for key, (expected, ask) in table.items():
        got = "".join(ask(world, role) for role in ROLES)
        if key not in OWN_TOKENS:
            refused += got.count("U") + got.count("F")
        if got != expected:
            wrong.append(f"{key}: expected {expected}, got {got} ({', '.join(ROLES)})")
    assert not wrong, "\n".join(wrong)
    # Every refusal was recorded (an event, shown in the audit trail).
    assert denial_count(world) - denials_before == refused


def denial_count(world: World) -> int:
    recorder = world.embedded.danube.store.log.recorder
    return sum(
        1
        for n in recorder.select_notifications(1, 1_000_000)
        if n.topic == AccessDenial.Recorded.TOPIC
    )
