"""Webhook ingestion over real HTTP: verification, the durable inbox, matching."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.sql.store import StoreConfig
from api.processes import Supervisor
from api.triggers.loops import InboxWorker
from domain.cause import Cause
from tests.integration.config.conftest import make_world
from tests.integration.config.hooks import Hooks, serving
from tests.support import wait_until
from tests.unit.forges.deliveries import (
    GITHUB_SECRET,
    GITLAB_TOKEN,
    body,
    github_headers,
    gitlab_headers,
)

GITLAB_PIPELINE = """
    apiVersion: danube.dev/v1
    kind: Pipeline
    metadata: {name: diaspora, team: web}
    spec:
      repository: https://GitLab.example.com/Mike/Diaspora
      triggers:
        - {on: push, branches: [main, master]}
        - {on: tag}
        - {on: pull_request}
    ---
    apiVersion: danube.dev/v1
    kind: Pipeline
    metadata: {name: gitlab-test, team: web}
    spec:
      repository: git@gitlab.example.com:gitlabhq/gitlab-test.git
      triggers: [{on: pull_request, branches: [main]}]
"""


@pytest.fixture
def hooks(store_config: StoreConfig, tmp_path: Path) -> Iterator[Hooks]:
    for world in make_world(
        store_config,
        tmp_path,
        github_webhook_secret=GITHUB_SECRET,
        gitlab_webhook_token=GITLAB_TOKEN,
    ):
        world.push({"pipelines/diaspora.yaml": GITLAB_PIPELINE})
        assert world.loop.sync().outcome == "accepted"
        with serving(world) as hooks:
            yield hooks


def test_a_signed_push_starts_a_run_that_records_where_it_came_from(hooks: Hooks) -> None:
    status, reply = hooks.github("push", body("github/push_branch.json"))
    assert (status, reply["status"]) == (202, "started")
    [run_hex] = reply["runs"]
    run = hooks.run(run_hex)
    assert (run.pipeline, run.ref, run.commit_sha) == (
        "hello-world",
        "refs/heads/main",
        "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
    )
    assert run.trigger["delivery_id"] == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert run.trigger["event"] == "push"
    assert run.trigger["sender"] == "Codertocat"
    assert run.cause.actor == "webhook:github"
    assert run.spec["concurrency"] == 2


def test_a_redelivery_changes_nothing_and_the_same_trigger_never_runs_twice(hooks: Hooks) -> None:
    raw = body("github/push_branch.json")
    first = hooks.github("push", raw)[1]["runs"]
    position = hooks.position()
    status, reply = hooks.github("push", raw)
    assert (status, reply["status"]) == (200, "duplicate")
    assert hooks.position() == position
    status, reply = hooks.github("push", raw, delivery="another-hook-same-push")
    assert status == 202
    assert reply["runs"] == first, "same (pipeline, commit, trigger, ref): the same run"


def test_tags_and_pull_requests_start_their_runs(hooks: Hooks) -> None:
    status, reply = hooks.github("push", body("github/push_tag_annotated.json"), delivery="t1")
    assert (status, reply["status"]) == (202, "started")
    assert hooks.run(reply["runs"][0]).trigger["type"] == "tag"
    status, reply = hooks.github(
        "pull_request", body("github/pull_request_opened.json"), delivery="pr1"
    )
    assert (status, reply["status"]) == (202, "started")
    run = hooks.run(reply["runs"][0])
    assert (run.trigger["type"], run.ref) == ("pull_request", "refs/pull/2/head")


def test_events_that_start_nothing_say_so(hooks: Hooks) -> None:
    status, reply = hooks.github("ping", body("github/ping.json"), delivery="p1")
    assert (status, reply["status"]) == (200, "ignored")
    status, reply = hooks.github(
        "pull_request", body("github/pull_request_closed.json"), delivery="c1"
    )
    assert (status, reply["status"]) == (200, "ignored")
    status, reply = hooks.github("issues", b'{"action": "opened"}', delivery="i1")
    assert (status, reply["status"]) == (200, "ignored")
    position = hooks.position()
    status, reply = hooks.github("push", body("github/push_branch_deleted.json"), delivery="d1")
    assert (status, reply["status"], reply["runs"]) == (200, "ignored", [])
    runs_recorded = [
        n
        for n in hooks.world.danube.store.log.recorder.select_notifications(position + 1, 100)
        if n.topic == "danube:Run.Requested"
    ]
    assert runs_recorded == [], "a branch deletion starts nothing"


def test_bad_signatures_and_bodies_are_refused_with_nothing_stored(hooks: Hooks) -> None:
    raw = body("github/push_branch.json")
    position = hooks.position()
    status, reply = hooks.github("push", raw, secret="wrong")
    assert status == 401
    assert "X-Hub-Signature-256" in reply["detail"]
    headers = github_headers("push", raw)
    del headers["X-Hub-Signature-256"]
    assert hooks.post("github", raw, headers)[0] == 401
    status, reply = hooks.github("push", b"{not json", delivery="m1")
    assert status == 400
    assert "malformed" in reply["detail"]
    status, reply = hooks.post(
        "gitlab", body("gitlab/push.json"), gitlab_headers("Push Hook", token="nope")
    )
    assert status == 401
    assert hooks.position() == position


def test_an_oversized_body_is_refused(store_config: StoreConfig, tmp_path: Path) -> None:
    for world in make_world(
        store_config, tmp_path, github_webhook_secret=GITHUB_SECRET, webhook_max_body_bytes=2048
    ):
        with serving(world) as hooks:
            position = hooks.position()
            raw = json.dumps({"padding": "x" * 4096}).encode()
            status, reply = hooks.github("push", raw)
            assert status == 413
            assert "2048" in reply["detail"]
            # No Content-Length to go by: the limit is enforced while the body streams in.
            chunks = [b'{"padding": "', *[b"x" * 512] * 8, b'"}']
            status, reply = hooks.chunked("/webhooks/github", chunks, github_headers("push", raw))
            assert (status, "2048" in reply["detail"]) == (413, True)
            assert hooks.position() == position, "nothing stored"


def test_draining_answers_503_with_nothing_stored(hooks: Hooks) -> None:
    hooks.world.danube.system.start_draining(Cause(actor="user:ops"))
    position = hooks.position()
    status, reply = hooks.github("push", body("github/push_branch.json"), delivery="dr1")
    assert (status, reply["status"]) == (503, "draining")
    assert hooks.position() == position
    assert "dr1" not in hooks.deliveries()


def test_gitlab_push_tag_and_merge_request(hooks: Hooks) -> None:
    status, reply = hooks.post("gitlab", body("gitlab/push.json"), gitlab_headers("Push Hook"))
    assert (status, reply["status"]) == (202, "started")
    assert hooks.run(reply["runs"][0]).pipeline == "diaspora"
    status, reply = hooks.post(
        "gitlab",
        body("gitlab/tag_push.json"),
        gitlab_headers("Tag Push Hook", **{"Idempotency-Key": "tag-1"}),
    )
    assert (status, reply["status"]) == (202, "started")
    status, reply = hooks.post(
        "gitlab",
        body("gitlab/merge_request_open.json"),
        gitlab_headers("Merge Request Hook", **{"Idempotency-Key": "mr-1"}),
    )
    assert (status, reply["status"]) == (202, "started")
    run = hooks.run(reply["runs"][0])
    assert (run.pipeline, run.trigger["type"]) == ("gitlab-test", "pull_request")
    status, reply = hooks.post(
        "gitlab",
        body("gitlab/merge_request_update_labels.json"),
        gitlab_headers("Merge Request Hook", **{"Idempotency-Key": "mr-2"}),
    )
    assert reply["status"] == "ignored", "an update without new commits starts nothing"


def test_a_delivery_stored_before_a_crash_is_processed_afterwards(hooks: Hooks) -> None:
    danube = hooks.world.danube
    raw = body("github/push_branch.json")
    # The request path stored it and then the process died before processing it.
    delivery, stored = danube.inbox.receive(
        "github", "crash-1", "push", {"x-github-event": "push"}, raw, ["global"]
    )
    assert stored
    hooks.world.settle()
    assert [row["delivery_id"] for row in danube.deliveries.unprocessed()] == ["crash-1"]
    supervisor = Supervisor()
    supervisor.add("inbox", InboxWorker(danube.deliveries, danube.inbox, interval=0.05))

    def processed() -> bool:
        hooks.world.settle()
        return not danube.deliveries.unprocessed()

    try:
        wait_until(processed, what="the inbox worker to process the stored delivery")
    finally:
        supervisor.stop()
    row = danube.deliveries.get(delivery.hex)
    assert row is not None
    assert (row["outcome"], len(row["runs"])) == ("started", 1)


def test_deliveries_are_listed_and_replayed_through_the_api(hooks: Hooks) -> None:
    raw = body("github/push_branch.json")
    hooks.github("push", raw, delivery="list-1")
    hooks.world.settle()
    status, listed = hooks.request("GET", "/api/v1/webhooks/deliveries")
    assert status == 200, listed
    rows = listed["deliveries"]
    row = next(r for r in rows if r["delivery_id"] == "list-1")
    assert (row["event"], row["outcome"], row["processed"]) == ("push", "started", 1)
    position = hooks.position()
    status, replayed = hooks.request("POST", f"/api/v1/webhooks/deliveries/{row['id']}/replay")
    assert status == 200, replayed
    assert replayed["runs"] == row["runs"], "a replay never starts a second run"
    notifications = hooks.world.danube.store.log.recorder.select_notifications(position + 1, 50)
    assert not [n for n in notifications if n.topic == "danube:Run.Requested"]


def test_a_pipeline_secret_speaks_only_for_its_pipeline(hooks: Hooks) -> None:
    world = hooks.world
    world.push({"pipelines/hello.yaml": HELLO_WITH_SECRET})
    assert world.loop.sync().outcome == "accepted"
    world.danube.secrets.set("hello-world", "GITHUB_HOOK", "pipeline-own-secret", Cause(actor="t"))
    world.danube.webhook_secrets.forget()
    status, reply = hooks.github(
        "push", body("github/push_branch.json"), secret="pipeline-own-secret", delivery="own-1"
    )
    assert (status, reply["status"]) == (202, "started")
    assert hooks.run(reply["runs"][0]).pipeline == "hello-world"


HELLO_WITH_SECRET = """
    apiVersion: danube.dev/v1
    kind: Pipeline
    metadata: {name: hello-world, team: web}
    spec:
      repository: https://github.com/Codertocat/Hello-World.git
      triggers: [{on: push}]
      webhook_secret_name: GITHUB_HOOK
"""
