from typing import Any
from urllib.parse import quote

import pytest

from adapters.forges import GitHubWebhooks, MalformedPayloadError
from domain.triggers import EventKind, IgnoredDelivery, Provider, TriggerEvent
from tests.unit.forges.deliveries import GITHUB_DELIVERY, body, github_headers, payload

github = GitHubWebhooks()
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
ZERO = "0" * 40


def parse(event: str, data: str | dict[str, Any]) -> TriggerEvent | IgnoredDelivery:
    raw = body(data)
    return github.parse(raw, github_headers(event, raw))


def parsed_event(event: str, data: str | dict[str, Any]) -> TriggerEvent:
    result = parse(event, data)
    assert isinstance(result, TriggerEvent), result
    return result


def parsed_event_with(raw: bytes, headers: dict[str, str]) -> TriggerEvent:
    result = github.parse(raw, headers)
    assert isinstance(result, TriggerEvent)
    return result


def test_a_branch_push_is_parsed() -> None:
    event = parsed_event("push", "github/push_branch.json")
    assert event == TriggerEvent(
        provider=Provider.GITHUB,
        delivery_id=GITHUB_DELIVERY,
        event_name="push",
        kind=EventKind.PUSH,
        repository_url="https://github.com/Codertocat/Hello-World",
        ref="refs/heads/main",
        commit=HEAD,
        branch="main",
        sender="Codertocat",
        clone_url="https://github.com/Codertocat/Hello-World.git",
        ssh_url="git@github.com:Codertocat/Hello-World.git",
        repository_urls=(
            "https://github.com/Codertocat/Hello-World",
            "https://github.com/Codertocat/Hello-World.git",
            "git@github.com:Codertocat/Hello-World.git",
            "git://github.com/Codertocat/Hello-World.git",
        ),
    )
    assert event.repository_key == "github.com/codertocat/hello-world"
    assert event.repository_keys() == {"github.com/codertocat/hello-world"}


def test_an_annotated_tag_push_builds_the_tagged_commit() -> None:
    event = parsed_event("push", "github/push_tag_annotated.json")
    assert (event.kind, event.ref, event.tag, event.branch) == (
        EventKind.TAG,
        "refs/tags/v1.2.0",
        "v1.2.0",
        None,
    )
    assert event.commit == HEAD  # head_commit, not the tag object in `after`
    assert not event.deleted


def test_a_lightweight_tag_without_head_commit_uses_after() -> None:
    data = payload("github/push_tag_annotated.json")
    data["head_commit"] = None
    assert parsed_event("push", data).commit == data["after"]


def test_a_branch_deletion_is_parsed_as_deleted() -> None:
    event = parsed_event("push", "github/push_branch_deleted.json")
    assert (event.kind, event.branch, event.deleted, event.commit) == (
        EventKind.PUSH,
        "feature/old-idea",
        True,
        ZERO,
    )


def test_a_tag_deletion_is_parsed_as_deleted() -> None:
    event = parsed_event("push", "github/push_tag_deleted.json")
    assert (event.kind, event.tag, event.deleted, event.commit) == (
        EventKind.TAG,
        "simple-tag",
        True,
        ZERO,
    )


def test_a_zero_after_means_deleted_even_without_the_flag() -> None:
    data = payload("github/push_branch_deleted.json")
    del data["deleted"]
    assert parsed_event("push", data).deleted


def test_a_push_to_a_ref_that_is_neither_branch_nor_tag_is_ignored() -> None:
    data = payload("github/push_branch.json")
    data["ref"] = "refs/notes/commits"
    result = parse("push", data)
    assert isinstance(result, IgnoredDelivery)
    assert "refs/notes/commits" in result.reason


def test_an_opened_pull_request_from_a_fork_is_parsed() -> None:
    event = parsed_event("pull_request", "github/pull_request_opened.json")
    assert (event.kind, event.pr_action, event.pr_number) == (EventKind.PULL_REQUEST, "opened", 2)
    assert event.ref == "refs/pull/2/head"
    assert (event.branch, event.head_branch) == ("main", "changes")
    assert event.commit == HEAD
    assert event.sender == "octocat"
    assert event.repository_key == "github.com/codertocat/hello-world"
    assert event.clone_url == "https://github.com/Codertocat/Hello-World.git"
    assert event.head_clone_url == "https://github.com/octocat/Hello-World.git"


def test_a_synchronized_pull_request_is_parsed() -> None:
    event = parsed_event("pull_request", "github/pull_request_synchronize.json")
    assert (event.pr_action, event.pr_number, event.ref) == ("synchronize", 7, "refs/pull/7/head")
    assert (event.branch, event.head_branch) == ("release/1.0", "fix/login")
    assert event.commit == "b3a4f1e0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4"


def test_a_reopened_pull_request_is_parsed() -> None:
    data = payload("github/pull_request_synchronize.json")
    data["action"] = "reopened"
    assert parsed_event("pull_request", data).pr_action == "reopened"


def test_a_pull_request_whose_fork_was_deleted_has_no_head_clone_url() -> None:
    data = payload("github/pull_request_opened.json")
    data["pull_request"]["head"]["repo"] = None
    assert parsed_event("pull_request", data).head_clone_url is None


@pytest.mark.parametrize(
    "action", ["closed", "labeled", "edited", "assigned", "ready_for_review", "converted_to_draft"]
)
def test_other_pull_request_actions_are_ignored(action: str) -> None:
    data = payload("github/pull_request_closed.json")
    data["action"] = action
    result = parse("pull_request", data)
    assert isinstance(result, IgnoredDelivery)
    assert result.reason == f"pull_request action '{action}' does not start runs"
    assert (result.provider, result.delivery_id, result.event_name) == (
        Provider.GITHUB,
        GITHUB_DELIVERY,
        "pull_request",
    )


def test_a_ping_is_parsed() -> None:
    event = parsed_event("ping", "github/ping.json")
    assert event.kind is EventKind.PING
    assert event.repository_key == "github.com/codertocat/hello-world"
    assert (event.ref, event.commit) == ("", "")


def test_an_organisation_ping_has_no_repository() -> None:
    data = payload("github/ping.json")
    del data["repository"]
    event = parsed_event("ping", data)
    assert (event.repository_url, event.repository_key, event.repository_keys()) == (
        "",
        "",
        frozenset(),
    )


@pytest.mark.parametrize("name", ["issues", "check_run", "workflow_run", "create", "release"])
def test_other_events_are_ignored_with_a_reason(name: str) -> None:
    result = github.parse(b'{"action": "opened"}', github_headers(name, b'{"action": "opened"}'))
    assert isinstance(result, IgnoredDelivery)
    assert result.reason == f"GitHub event '{name}' does not start runs"


@pytest.mark.parametrize("name", ["issues", "check_run"])
def test_another_event_whose_body_is_not_json_is_malformed(name: str) -> None:
    with pytest.raises(MalformedPayloadError, match=f"{name} payload is not valid JSON"):
        github.parse(b"<not json>", github_headers(name, b"<not json>"))


def test_the_delivery_id_is_the_delivery_header() -> None:
    raw = body("github/push_branch.json")
    assert github.delivery_id(raw, github_headers("push", raw, delivery="abc-1")) == "abc-1"


def test_without_a_delivery_header_the_id_is_derived_from_the_body() -> None:
    raw = body("github/push_branch.json")
    headers = github_headers("push", raw)
    del headers["X-GitHub-Delivery"]
    first = github.delivery_id(raw, headers)
    assert first.startswith("sha256:")
    assert first == github.delivery_id(raw, dict(headers))
    assert first != github.delivery_id(body("github/push_tag_annotated.json"), headers)
    assert parsed_event_with(raw, headers).delivery_id == first


def test_form_encoded_deliveries_are_parsed() -> None:
    raw = b"payload=" + quote(body("github/push_branch.json")).encode()
    assert parsed_event_with(raw, github_headers("push", raw)).branch == "main"


def test_a_delivery_without_an_event_header_is_malformed() -> None:
    raw = body("github/push_branch.json")
    headers = github_headers("push", raw)
    del headers["X-GitHub-Event"]
    with pytest.raises(MalformedPayloadError, match="X-GitHub-Event"):
        github.parse(raw, headers)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{ not json", "push payload is not valid JSON"),
        (b"", "push payload is not valid JSON"),
        (b"\xff\xfe\x00", "push payload is not valid JSON"),
        (b"[1, 2, 3]", "push payload is not a JSON object"),
        (b'"refs/heads/main"', "push payload is not a JSON object"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_malformed(raw: bytes, message: str) -> None:
    with pytest.raises(MalformedPayloadError, match=message):
        github.parse(raw, github_headers("push", raw))


def without(name: str, path: str) -> dict[str, Any]:
    data = payload(name)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    del node[last]
    return data


@pytest.mark.parametrize(
    ("event", "name", "path"),
    [
        ("push", "github/push_branch.json", "repository.clone_url"),
        ("push", "github/push_branch.json", "ref"),
        ("push", "github/push_branch.json", "after"),
        ("push", "github/push_branch.json", "repository"),
        ("pull_request", "github/pull_request_opened.json", "pull_request.head.sha"),
        ("pull_request", "github/pull_request_opened.json", "pull_request.base.ref"),
        ("pull_request", "github/pull_request_opened.json", "number"),
        ("pull_request", "github/pull_request_opened.json", "action"),
    ],
)
def test_missing_required_fields_are_named(event: str, name: str, path: str) -> None:
    expected = "repository.clone_url" if path == "repository" else path
    with pytest.raises(MalformedPayloadError) as raised:
        parse(event, without(name, path))
    assert str(raised.value) == f"{event} payload has no '{expected}'"


def test_fields_of_the_wrong_type_are_named() -> None:
    data = payload("github/pull_request_opened.json")
    data["number"] = "2"
    with pytest.raises(MalformedPayloadError, match="'number' that is not an integer"):
        parse("pull_request", data)
    data = payload("github/push_branch.json")
    data["ref"] = ["refs/heads/main"]
    with pytest.raises(MalformedPayloadError, match="'ref' that is not a string"):
        parse("push", data)
