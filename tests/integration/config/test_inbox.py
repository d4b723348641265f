"""The durable inbox: every verified delivery is stored and listed, nothing is processed
while draining or before the first config, and a pipeline's secret speaks for it alone."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from adapters.forges import GitHubWebhooks
from adapters.sql.store import StoreConfig
from api.processes import Supervisor
from api.triggers.loops import InboxWorker
from domain.cause import Cause
from domain.triggers.model import IgnoredDelivery, TriggerEvent
from domain.webhooks.application import Inbox
from tests.integration.config.conftest import ConfigWorld, make_world
from tests.integration.config.hooks import Hooks, serving
from tests.support import wait_until
from tests.unit.forges.deliveries import (
    GITHUB_SECRET,
    GITLAB_TOKEN,
    body,
    gitlab_headers,
)

OPS = Cause(actor="user:ops")
HELLO = "https://github.com/Codertocat/Hello-World.git"
TWO_PIPELINES_ONE_SECRET = f"""
    apiVersion: danube.dev/v1
    kind: Pipeline
    metadata: {{name: hello-world, team: web}}
    spec:
      repository: {HELLO}
      triggers: [{{on: push}}]
      webhook_secret_name: GITHUB_HOOK
    ---
    apiVersion: danube.dev/v1
    kind: Pipeline
    metadata: {{name: hello-docs, team: web}}
    spec:
      repository: {HELLO}
      triggers: [{{on: push}}]
"""


def secrets(store_config: StoreConfig, tmp_path: Path) -> Iterator[ConfigWorld]:
    return make_world(
        store_config,
        tmp_path,
        github_webhook_secret=GITHUB_SECRET,
        gitlab_webhook_token=GITLAB_TOKEN,
    )


@pytest.fixture
def hooks(store_config: StoreConfig, tmp_path: Path) -> Iterator[Hooks]:
    for world in secrets(store_config, tmp_path):
        world.push()
        assert world.loop.sync().outcome == "accepted"
        with serving(world) as hooks:
            yield hooks


@pytest.fixture
def unconfigured(store_config: StoreConfig, tmp_path: Path) -> Iterator[Hooks]:
    """Served before the config repository was ever synced."""
    for world in secrets(store_config, tmp_path):
        world.push()
        with serving(world) as hooks:
            yield hooks


@contextmanager
def inbox_worker(world: ConfigWorld, interval: float = 0.05) -> Iterator[InboxWorker]:
    supervisor = Supervisor()
    worker = InboxWorker(world.danube.deliveries, world.danube.inbox, interval=interval)
    supervisor.add("inbox", worker)
    supervisor.on_stop(worker.wake)
    try:
        yield worker
    finally:
        supervisor.stop()


def after_rounds(worker: InboxWorker, count: int) -> None:
    seen = worker.rounds
    wait_until(lambda: worker.rounds >= seen + count, what=f"{count} inbox worker rounds")


def processed(hooks: Hooks, delivery: str) -> dict[str, object] | None:
    row = hooks.deliveries().get(delivery)
    return row if row is not None and row["processed"] else None


def test_pings_and_events_that_start_nothing_are_stored_listed_and_replayable(
    hooks: Hooks,
) -> None:
    sent = {
        "ping-1": hooks.github("ping", body("github/ping.json"), delivery="ping-1"),
        "closed-1": hooks.github(
            "pull_request", body("github/pull_request_closed.json"), delivery="closed-1"
        ),
        "issue-1": hooks.github("issues", b'{"action": "opened"}', delivery="issue-1"),
        "labels-1": hooks.post(
            "gitlab",
            body("gitlab/merge_request_update_labels.json"),
            gitlab_headers("Merge Request Hook", **{"Idempotency-Key": "labels-1"}),
        ),
    }
    assert {d: (status, r["status"]) for d, (status, r) in sent.items()} == dict.fromkeys(
        sent, (200, "ignored")
    )
    listed = hooks.deliveries()
    for delivery, (_, reply) in sent.items():
        row = listed[delivery]
        assert (row["processed"], row["outcome"], row["runs"]) == (1, "ignored", [])
        assert row["reason"] == reply["reason"] and row["reason"]
    assert listed["ping-1"]["reason"] == "ping: the webhook reaches Danube"
    assert "'issues' does not start runs" in listed["issue-1"]["reason"]
    status, replayed = hooks.request(
        "POST", f"/api/v1/webhooks/deliveries/{listed['closed-1']['id']}/replay"
    )
    assert (status, replayed["outcome"]) == (200, "ignored")
    assert hooks.deliveries()["closed-1"]["replays"] == 1


def test_malformed_json_is_refused_with_nothing_stored_whatever_the_event(hooks: Hooks) -> None:
    position = hooks.position()
    for event in ("push", "issues", "ping"):
        status, reply = hooks.github(event, b"{not json", delivery=f"bad-{event}")
        assert (status, reply["status"]) == (400, "rejected"), event
        assert "not valid JSON" in reply["detail"]
    status, _ = hooks.post("gitlab", b"{not json", gitlab_headers("Issue Hook"))
    assert status == 400
    assert hooks.position() == position


def test_a_replay_while_draining_answers_503_and_changes_nothing(hooks: Hooks) -> None:
    status, reply = hooks.github("push", body("github/push_branch.json"), delivery="drain-r")
    assert status == 202
    row = hooks.deliveries()["drain-r"]
    hooks.world.danube.system.start_draining(OPS)
    position = hooks.position()
    status, reply = hooks.request("POST", f"/api/v1/webhooks/deliveries/{row['id']}/replay")
    assert status == 503
    assert "draining" in reply["detail"]
    assert hooks.position() == position
    assert hooks.deliveries()["drain-r"]["replays"] == 0


def test_the_inbox_worker_keeps_deliveries_while_draining_and_processes_them_after(
    hooks: Hooks,
) -> None:
    danube = hooks.world.danube
    danube.system.start_draining(OPS)
    # Stored by a request that raced the drain (or before a crash), not yet processed.
    stored, _ = danube.inbox.receive(
        "github",
        "drain-w",
        "push",
        {"x-github-event": "push"},
        body("github/push_branch.json"),
        ["global"],
    )
    position = hooks.position()
    with inbox_worker(hooks.world) as worker:
        after_rounds(worker, 3)
        assert not processed(hooks, "drain-w")
        assert hooks.run_requests_since(position) == []
        danube.system.stop_draining(OPS)
        row = wait_until(lambda: processed(hooks, "drain-w"), what="processing after the drain")
    assert (row["outcome"], len(row["runs"])) == ("started", 1)  # type: ignore[arg-type]
    assert danube.deliveries.get(stored.hex)["processed"] == 1  # type: ignore[index]


def test_the_inbox_worker_processes_what_it_finds_at_once_on_start(hooks: Hooks) -> None:
    danube = hooks.world.danube
    danube.inbox.receive(
        "github",
        "left-1",
        "push",
        {"x-github-event": "push"},
        body("github/push_branch.json"),
        ["global"],
    )
    hooks.world.settle()
    with inbox_worker(hooks.world, interval=3600):
        row = wait_until(lambda: processed(hooks, "left-1"), what="the first round, not an hour")
    assert row["outcome"] == "started"


class FakeForgeWebhooks(GitHubWebhooks):
    """GitHub, except that parsing fails the first ``failures`` times (a store outage
    while the delivery is processed, say)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def parse(self, body: bytes, headers: Mapping[str, str]) -> TriggerEvent | IgnoredDelivery:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the lights went out")
        return super().parse(body, headers)


def test_a_delivery_whose_processing_fails_stays_in_the_inbox_for_the_worker(
    hooks: Hooks,
) -> None:
    danube = hooks.world.danube
    inbox = Inbox(
        danube.store.log,
        danube.runs,
        danube.config,
        danube.system,
        {"github": FakeForgeWebhooks(1)},
    )
    raw = body("github/push_branch.json")
    outcome = inbox.deliver(
        "github", "flaky-1", "push", {"x-github-event": "push"}, raw, ["global"]
    )
    assert (outcome.outcome, outcome.runs) == ("pending", [])
    assert hooks.deliveries()["flaky-1"]["processed"] == 0, "stored, not lost"
    assert inbox.deliver("github", "flaky-1", "push", {}, raw, ["global"]).outcome == "duplicate"
    with inbox_worker(hooks.world):
        row = wait_until(lambda: processed(hooks, "flaky-1"), what="the worker's retry")
    assert row["outcome"] == "started"


def test_a_delivery_before_the_first_config_starts_its_runs_once_the_config_lands(
    unconfigured: Hooks,
) -> None:
    hooks = unconfigured
    status, reply = hooks.github("push", body("github/push_branch.json"), delivery="early-1")
    assert (status, reply["status"]) == (202, "accepted")
    assert "no configuration is in force yet" in reply["reason"]
    assert hooks.deliveries()["early-1"]["processed"] == 0
    with inbox_worker(hooks.world) as worker:
        after_rounds(worker, 2)
        assert not processed(hooks, "early-1"), "kept, not sealed as ignored"
        assert hooks.world.loop.sync().outcome == "accepted"
        row = wait_until(lambda: processed(hooks, "early-1"), what="processing after the sync")
    assert row["outcome"] == "started"
    [run] = row["runs"]  # type: ignore[misc]
    assert hooks.run(run).trigger["delivery_id"] == "early-1"


def test_a_pipelines_own_secret_does_not_start_other_pipelines_runs(hooks: Hooks) -> None:
    world = hooks.world
    world.push({"pipelines/hello.yaml": TWO_PIPELINES_ONE_SECRET})
    assert world.loop.sync().outcome == "accepted"
    world.danube.secrets.set("hello-world", "GITHUB_HOOK", "hello-own-secret", OPS)
    world.danube.webhook_secrets.forget()
    raw = body("github/push_branch.json")
    status, reply = hooks.github("push", raw, secret="hello-own-secret", delivery="own-1")
    assert (status, reply["status"]) == (202, "started")
    assert [hooks.run(r).pipeline for r in reply["runs"]] == ["hello-world"]
    status, reply = hooks.github("push", raw, delivery="global-1")
    assert status == 202
    assert sorted(hooks.run(r).pipeline for r in reply["runs"]) == ["hello-docs", "hello-world"]
