"""Secrets administration through the API, on a real server: set (write-only), read by a
job and shown in the ledger, removed (crypto-shredding: unreadable even with the master
key and the whole event log), the master key rotated (through the API and the CLI),
and a damaged ciphertext or data key refused with a clear error."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from typing import Any

import pytest

from adapters.crypto.envelope import wrapped_by
from adapters.crypto.keyfile import load_master_key
from adapters.sql.store import StoreConfig
from api.bootstrap import MASTER_KEY_FILE, build
from domain.secrets.aggregates import Secret, aad, secret_id
from domain.secrets.errors import SecretUnreadableError
from domain.secrets.ports import SealedValue
from tests.integration.auth.test_matrix import World, world
from tests.integration.execution.conftest import embedded
from tests.support import DANUBE, danube_env, wait_until

__all__ = ["embedded", "world"]  # the fixtures
VALUE = "v4lue-of-the-deploy-key"
READS_IT = """
from danube import pipeline, secrets, step

@pipeline(name="demo")
def build() -> None:
    step.run(f"echo deploying with {secrets.get('DEPLOY_KEY')}")
"""


def ask(world: World, role: str, query: str, **variables: Any) -> dict[str, Any]:
    body = json.dumps({"query": query, "variables": variables}).encode()
    headers = {"Content-Type": "application/json", **world.headers(role)}
    request = urllib.request.Request(f"{world.url}/graphql", body, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        reply: dict[str, Any] = json.loads(response.read())
    assert "errors" not in reply, reply
    return reply["data"]


SET = """mutation S($key: String!, $value: String!) {
  setSecret(pipeline: "web", key: $key, value: $value) {
    __typename ... on SecretChanged { pipeline key } ... on Problem { message } } }"""
REMOVE = """mutation R($key: String!) { removeSecret(pipeline: "web", key: $key) {
  __typename ... on Problem { message } } }"""


def sealed_values(world: World, key: str) -> list[SealedValue]:
    """Every ciphertext the event log holds for the secret, from its events."""
    events = world.embedded.danube.store.log.events.get(secret_id("web", key))
    return [
        SealedValue(e.key_id, bytes.fromhex(e.nonce), bytes.fromhex(e.ciphertext))
        for e in events
        if isinstance(e, Secret.ValueSet)
    ]


def test_a_secret_set_through_the_api_is_read_by_its_job_and_listed_in_the_ledger(
    world: World,
) -> None:
    answer = ask(world, "padmin", SET, key="DEPLOY_KEY", value=VALUE)["setSecret"]
    assert answer == {"__typename": "SecretChanged", "pipeline": "web", "key": "DEPLOY_KEY"}
    assert VALUE not in json.dumps(answer)  # write-only
    _, job_id = world.embedded.request(READS_IT, pipeline="web")
    job = world.embedded.finished(job_id)
    assert job.state == "success", world.embedded.log(job_id).decode(errors="replace")
    assert b"deploying with ***" in world.embedded.log(job_id)
    ledger = '{ secretReads(key: "DEPLOY_KEY", since: "2020-01-01T00:00:00Z") { key scope pipeline jobId } }'
    wait_until(lambda: ask(world, "reader", ledger)["secretReads"], what="the ledger entry")
    assert ask(world, "reader", ledger)["secretReads"] == [
        {"key": "DEPLOY_KEY", "scope": "web", "pipeline": "web", "jobId": job_id.hex}
    ]
    assert ask(world, "other", ledger)["secretReads"] == []  # not their pipeline
    later = '{ secretReads(key: "DEPLOY_KEY", since: "2999-01-01T00:00:00+00:00") { key } }'
    assert ask(world, "reader", later)["secretReads"] == []


def test_a_removed_secret_is_unreadable_even_with_the_master_key_and_the_whole_log(
    world: World,
) -> None:
    ask(world, "padmin", SET, key="OLD_KEY", value="first-value")
    ask(world, "padmin", SET, key="OLD_KEY", value="second-value")
    assert ask(world, "padmin", REMOVE, key="OLD_KEY")["removeSecret"] == {
        "__typename": "SecretChanged"
    }
    kept = sealed_values(world, "OLD_KEY")
    assert len(kept) == 2  # the log still holds both ciphertexts...
    danube = world.embedded.danube
    for sealed in kept:  # ...and neither opens, with the master key in hand
        with pytest.raises(SecretUnreadableError, match="its data key was destroyed"):
            danube.vault.open(sealed, aad("web", "OLD_KEY"))
    again = ask(world, "padmin", REMOVE, key="OLD_KEY")["removeSecret"]
    assert again["__typename"] == "SecretNotFound" and "OLD_KEY" in again["message"]


def test_rotating_the_master_key_rewraps_every_data_key_and_secrets_stay_readable(
    world: World,
) -> None:
    danube = world.embedded.danube
    ask(world, "padmin", SET, key="ROTATED", value="survives-rotation")
    key_file = danube.settings.data_dir.resolve() / MASTER_KEY_FILE
    old = load_master_key(key_file)
    rotate = """mutation { rotateSecretsKey { __typename
        ... on SecretsKeyRotated { oldKeyId newKeyId rewrapped } } }"""
    refused = json.dumps(world_post(world, "padmin", rotate))
    assert "FORBIDDEN" in refused
    done = ask(world, "gadmin", rotate)["rotateSecretsKey"]
    assert done["oldKeyId"] == old.key_id and done["newKeyId"] != old.key_id
    assert done["rewrapped"] >= 2  # API_KEY of the world and ROTATED
    assert load_master_key(key_file).key_id == done["newKeyId"]
    assert {wrapped_by(w) for _, w in danube.store.keys.all()} == {done["newKeyId"]}
    assert danube.secrets.find("web", "ROTATED") == ("web", "survives-rotation")
    fresh = build(danube.settings)  # another process, started after the rotation
    try:
        assert fresh.secrets.find("web", "API_KEY") == ("web", "s3cr3t-value")
    finally:
        fresh.close()
    danube.wait_for_views(danube.store.log.position())
    trail = '{ auditTrail(filter: {action: "System.SecretsKeyRotated"}) { edges { node { actor detail } } } }'
    [entry] = [e["node"] for e in ask(world, "gadmin", trail)["auditTrail"]["edges"]]
    assert entry["actor"] == "user:gadmin" and entry["detail"]["master_key_id"] == done["newKeyId"]


def world_post(world: World, role: str, query: str) -> dict[str, Any]:
    body = json.dumps({"query": query}).encode()
    headers = {"Content-Type": "application/json", **world.headers(role)}
    request = urllib.request.Request(f"{world.url}/graphql", body, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        reply: dict[str, Any] = json.loads(response.read())
    return reply


def test_a_damaged_ciphertext_or_data_key_is_refused_with_a_clear_error(world: World) -> None:
    danube = world.embedded.danube
    ask(world, "padmin", SET, key="DAMAGED", value="intact")
    [sealed] = sealed_values(world, "DAMAGED")
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(SecretUnreadableError, match="ciphertext failed authentication"):
        danube.vault.open(SealedValue(sealed.key_id, sealed.nonce, flipped), aad("web", "DAMAGED"))
    wrapped = dict(danube.store.keys.all())[sealed.key_id]
    danube.store.keys.replace(sealed.key_id, wrapped[:-1] + bytes([wrapped[-1] ^ 1]))
    with pytest.raises(SecretUnreadableError, match="wrapped data key failed authentication"):
        danube.secrets.find("web", "DAMAGED")
    assert danube.secrets.find("web", "API_KEY") == ("web", "s3cr3t-value")  # others intact


@pytest.mark.parametrize("store_config", ["sqlite"], indirect=True)
def test_danube_secret_rotate_key_rewraps_from_the_command_line(
    world: World, store_config: StoreConfig
) -> None:
    danube = world.embedded.danube
    old = danube.vault.master_key_id
    env = danube_env(store_config, DANUBE_DATA_DIR=str(danube.settings.data_dir))
    done = subprocess.run(
        [DANUBE, "secret", "rotate-key"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"master key {old} replaced by" in done.stdout
    assert danube.vault.master_key_id != old  # this process noticed the new key file
    assert danube.secrets.find("web", "API_KEY") == ("web", "s3cr3t-value")
