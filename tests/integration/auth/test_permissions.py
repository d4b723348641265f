"""What people notice of permissions, over a real server: lists hold only what they may
read, each sees their level on each pipeline, a config change acts on the next request
and closes the subscriptions it takes away, refusals are audited and counted."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import replace
from typing import Any
from uuid import uuid4

import pytest
import websockets

from domain.cause import Cause
from domain.ids import RunId
from tests.integration.auth.test_matrix import World, config, world
from tests.integration.execution.conftest import embedded
from tests.support import http_get, wait_until

__all__ = ["embedded", "world"]  # the fixtures


def ask(world: World, role: str, query: str, **variables: Any) -> dict[str, Any]:
    body = json.dumps({"query": query, "variables": variables}).encode()
    headers = {"Content-Type": "application/json", **world.headers(role)}
    request = urllib.request.Request(f"{world.url}/graphql", body, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        reply: dict[str, Any] = json.loads(response.read())
    return reply


def rest(world: World, role: str, path: str) -> tuple[int, Any]:
    request = urllib.request.Request(world.url + path, headers=world.headers(role))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_lists_hold_only_what_the_caller_may_read(world: World) -> None:
    runs = "{ runs { edges { node { id pipeline } } } }"
    assert [e["node"]["pipeline"] for e in ask(world, "reader", runs)["data"]["runs"]["edges"]] == [
        "web"
    ]
    assert ask(world, "other", runs)["data"]["runs"]["edges"] == []
    pipelines = "{ pipelines { name permission } }"
    assert ask(world, "other", pipelines)["data"]["pipelines"] == [
        {"name": "other", "permission": "ADMIN"}
    ]
    assert ask(world, "gadmin", pipelines)["data"]["pipelines"] == [
        {"name": "other", "permission": "ADMIN"},
        {"name": "web", "permission": "ADMIN"},
    ]
    levels = {
        role: ask(world, role, pipelines)["data"]["pipelines"]
        for role in ("reader", "writer", "padmin")
    }
    assert levels == {
        "reader": [{"name": "web", "permission": "READ"}],
        "writer": [{"name": "web", "permission": "WRITE"}],
        "padmin": [{"name": "web", "permission": "ADMIN"}],
    }
    assert rest(world, "other", "/api/v1/jobs") == (200, {"jobs": []})
    assert [j["id"] for j in rest(world, "reader", "/api/v1/jobs")[1]["jobs"]] == [world.job_id.hex]
    trail = "{ auditTrail(first: 100) { edges { node { pipeline action } } } }"
    seen = {
        e["node"]["pipeline"] for e in ask(world, "other", trail)["data"]["auditTrail"]["edges"]
    }
    assert "web" not in seen and "" not in seen  # nor system entries (config, denials...)
    reads = '{ secretReads(key: "API_KEY") { pipeline } }'
    assert ask(world, "other", reads)["data"]["secretReads"] == []


def test_the_viewer_is_who_the_token_belongs_to_with_their_teams(world: World) -> None:
    viewer = "{ viewer { name email teams globalAdmin } }"
    assert ask(world, "reader", viewer)["data"]["viewer"] == {
        "name": "reader",
        "email": "reader@example.com",
        "teams": ["qa"],
        "globalAdmin": False,
    }
    assert ask(world, "gadmin", viewer)["data"]["viewer"]["globalAdmin"] is True
    assert ask(world, "anonymous", viewer)["data"]["viewer"] is None


def test_runs_changed_without_a_pipeline_shows_each_subscriber_only_runs_it_may_read(
    world: World,
) -> None:
    """A run of web then a run of other: the reader is told of web's, the other team of
    other's, and neither of the run it may not read."""
    from domain.runs.application import RunRequest

    def request(pipeline: str) -> str:
        run = RunId(uuid4())
        world.embedded.danube.runs.request_run(
            RunRequest(run, pipeline, "/nonexistent", "refs/heads/main", "0" * 40, {"type": "api"}),
            Cause(actor="operator"),
        )
        return run.hex

    query = "subscription R($f: RunsFilter) { runsChanged(filter: $f) { id pipeline } }"
    filters = {"reader": {"trigger": "api"}, "other": {"trigger": "api", "branch": "main"}}
    progress = world.embedded.danube.store.views.progress("runs")

    def wakers() -> set[Any]:  # of the runs read model (copied while threads add some)
        while True:
            try:
                return set(progress._events)
            except RuntimeError:
                continue

    before = wakers()

    async def first(socket: Any) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), 30))
        assert message["type"] == "next", message
        found: dict[str, Any] = message["payload"]["data"]["runsChanged"]
        return found

    async def follow() -> tuple[dict[str, Any], dict[str, Any], str, str]:
        ws_url = world.url.replace("http://", "ws://") + "/graphql"
        sockets = [
            await websockets.connect(
                ws_url,
                subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                additional_headers=world.headers(role),
            )
            for role in ("reader", "other")
        ]
        try:
            for socket, role in zip(sockets, filters, strict=True):
                await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
                await socket.recv()
                payload = {"query": query, "variables": {"f": filters[role]}}
                await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            await asyncio.to_thread(  # both listen (a reader of the runs each) before
                wait_until, lambda: len(wakers() - before) >= 2, 30, "both subscriptions"
            )
            web = await asyncio.to_thread(request, "web")
            other = await asyncio.to_thread(request, "other")
            return await first(sockets[0]), await first(sockets[1]), web, other
        finally:
            for socket in sockets:
                await socket.close()

    for_reader, for_other, web, other = asyncio.run(follow())
    assert for_reader == {"id": web, "pipeline": "web"}
    assert for_other == {"id": other, "pipeline": "other"}


def test_a_config_change_that_removes_access_acts_at_once_and_closes_subscriptions(
    world: World,
) -> None:
    danube = world.embedded.danube

    async def follow() -> dict[str, Any]:
        ws_url = world.url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(
            ws_url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            additional_headers=world.headers("reader"),
        ) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
            await socket.recv()
            query = 'subscription { runUpdated(pipeline: "web") { id } }'
            await socket.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}})
            )
            # Subscribed and allowed: now the config takes qa's read access away.
            before = config(world.embedded.tmp.as_posix())
            web = before.pipeline("web")
            assert web is not None
            kept = tuple(p for p in web.permissions if p[0] != "qa")
            changed = replace(
                before,
                commit="matrix-2",
                pipelines=(replace(web, permissions=kept), *before.pipelines[1:]),
            )
            await asyncio.to_thread(danube.config.accept, changed, Cause(actor="operator"))
            message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), 30))
            return message

    ended = asyncio.run(follow())
    assert ended["type"] in {"error", "next"}, ended
    errors = ended["payload"] if ended["type"] == "error" else ended["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN", ended
    assert "needs read" in errors[0]["message"]
    refused = ask(world, "reader", '{ pipeline(name: "web") { name } }')
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert ask(world, "writer", '{ pipeline(name: "web") { permission } }')["data"]["pipeline"] == {
        "permission": "WRITE"
    }


def test_refusals_are_audited_counted_and_say_why(world: World) -> None:
    def denied_total() -> float:
        text = http_get(f"{world.url}/metrics")[1].decode()
        line = next(li for li in text.splitlines() if li.startswith("danube_auth_denied_total "))
        return float(line.split()[1])

    before = denied_total()
    trigger = 'mutation { triggerRun(pipeline: "web", ref: "main") { __typename } }'
    refused = ask(world, "reader", trigger)["errors"][0]
    assert refused["extensions"]["code"] == "FORBIDDEN"
    assert refused["message"] == "triggerRun: trigger on pipeline 'web' needs write"
    status, body = rest(world, "anonymous", "/api/v1/pipelines")
    assert (status, body["code"]) == (401, "UNAUTHENTICATED")
    status, body = rest(world, "reader", "/api/v1/config")
    assert (status, body["code"]) == (403, "FORBIDDEN")
    request = urllib.request.Request(
        f"{world.url}/api/v1/pipelines", headers={"Authorization": "Bearer dnb_nope"}
    )
    with pytest.raises(urllib.error.HTTPError) as invalid:
        urllib.request.urlopen(request, timeout=10)
    assert invalid.value.code == 401 and invalid.value.headers["WWW-Authenticate"] == "Bearer"
    assert denied_total() - before >= 4
    world.embedded.danube.wait_for_views(world.embedded.danube.store.log.position())
    trail = """{ auditTrail(filter: {action: "AccessDenial.Recorded"}, first: 20) {
        edges { node { actor pipeline detail } } } }"""
    entries = [e["node"] for e in ask(world, "gadmin", trail)["data"]["auditTrail"]["edges"]]
    assert {
        "actor": "user:reader",
        "pipeline": "web",
        "detail": {"operation": "triggerRun", "code": "FORBIDDEN"},
    } in entries
    assert any(
        e["actor"] == "anonymous" and e["detail"]["code"] == "UNAUTHENTICATED" for e in entries
    )


def test_a_read_token_reads_but_changes_nothing(world: World) -> None:
    cause = Cause(actor="operator")
    token = world.embedded.danube.api_tokens.create("padmin", "ro", "read", None, cause).token
    world.tokens["padmin-read"] = token
    assert ask(world, "padmin-read", '{ pipeline(name: "web") { permission } }')["data"] == {
        "pipeline": {"permission": "READ"}
    }
    refused = ask(
        world,
        "padmin-read",
        'mutation { setSecret(pipeline: "web", key: "K", value: "v") { __typename } }',
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "scope write" in refused["errors"][0]["message"]
