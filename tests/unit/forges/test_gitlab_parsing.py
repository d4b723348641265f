from typing import Any

import pytest

from adapters.forges import GitLabWebhooks, MalformedPayloadError
from domain.triggers import EventKind, IgnoredDelivery, Provider, TriggerEvent
from tests.unit.forges.deliveries import body, gitlab_headers, payload

gitlab = GitLabWebhooks()
IDEMPOTENCY_KEY = gitlab_headers("Push Hook")["Idempotency-Key"]
CHECKOUT = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"


def parse(event: str, data: str | dict[str, Any], **headers: str) -> TriggerEvent | IgnoredDelivery:
    return gitlab.parse(body(data), gitlab_headers(event, **headers))


def parsed_event(event: str, data: str | dict[str, Any]) -> TriggerEvent:
    result = parse(event, data)
    assert isinstance(result, TriggerEvent), result
    return result


def ignored(event: str, data: str | dict[str, Any]) -> IgnoredDelivery:
    result = parse(event, data)
    assert isinstance(result, IgnoredDelivery), result
    return result


def test_a_push_is_parsed() -> None:
    event = parsed_event("Push Hook", "gitlab/push.json")
    assert (event.provider, event.delivery_id, event.event_name, event.kind) == (
        Provider.GITLAB,
        IDEMPOTENCY_KEY,
        "Push Hook",
        EventKind.PUSH,
    )
    assert (event.ref, event.branch, event.commit, event.deleted) == (
        "refs/heads/main",
        "main",
        CHECKOUT,
        False,
    )
    assert event.sender == "jsmith"
    assert event.repository_url == "https://gitlab.example.com/Mike/Diaspora"
    assert event.repository_key == "gitlab.example.com/mike/diaspora"
    assert event.clone_url == "https://gitlab.example.com/Mike/Diaspora.git"
    assert event.ssh_url == "ssh://git@gitlab.example.com:2222/Mike/Diaspora.git"
    assert event.repository_keys() == {
        "gitlab.example.com/mike/diaspora",
        "gitlab.example.com:2222/mike/diaspora",
    }


def test_a_branch_deletion_is_parsed_as_deleted() -> None:
    event = parsed_event("Push Hook", "gitlab/push_deleted.json")
    assert (event.kind, event.branch, event.deleted, event.commit) == (
        EventKind.PUSH,
        "feature/old-idea",
        True,
        "0" * 40,
    )


def test_an_annotated_tag_push_builds_the_checkout_commit() -> None:
    event = parsed_event("Tag Push Hook", "gitlab/tag_push.json")
    assert (event.kind, event.ref, event.tag, event.branch) == (
        EventKind.TAG,
        "refs/tags/v1.0.0",
        "v1.0.0",
        None,
    )
    assert event.commit == CHECKOUT  # not `after`, which is the tag object


def test_a_tag_deletion_is_parsed_as_deleted() -> None:
    data = payload("gitlab/tag_push.json")
    data.update(before=data["after"], after="0" * 40, checkout_sha=None)
    event = parsed_event("Tag Push Hook", data)
    assert (event.kind, event.tag, event.deleted) == (EventKind.TAG, "v1.0.0", True)


def test_an_opened_merge_request_is_parsed() -> None:
    event = parsed_event("Merge Request Hook", "gitlab/merge_request_open.json")
    assert (event.kind, event.pr_action, event.pr_number) == (EventKind.PULL_REQUEST, "open", 1)
    assert event.ref == "refs/merge-requests/1/head"
    assert (event.branch, event.head_branch) == ("main", "ms-viewport")
    assert event.commit == CHECKOUT
    assert event.sender == "root"
    assert event.repository_key == "gitlab.example.com/gitlabhq/gitlab-test"
    assert event.head_clone_url == "https://gitlab.example.com/awesome_space/awesome_project.git"


def test_a_merge_request_update_with_new_commits_is_parsed() -> None:
    event = parsed_event("Merge Request Hook", "gitlab/merge_request_update_commits.json")
    assert (event.pr_action, event.commit) == ("update", "a91957a858320c0e17f3a0eca7cfacbff50ea29a")


def test_a_merge_request_update_without_a_new_commit_is_ignored() -> None:
    result = ignored("Merge Request Hook", "gitlab/merge_request_update_labels.json")
    assert "without new commits" in result.reason


def test_a_reopened_merge_request_is_parsed() -> None:
    data = payload("gitlab/merge_request_open.json")
    data["object_attributes"]["action"] = "reopen"
    assert parsed_event("Merge Request Hook", data).pr_action == "reopen"


@pytest.mark.parametrize(
    "action", ["merge", "close", "approved", "unapproved", "approval", "unapproval"]
)
def test_other_merge_request_actions_are_ignored(action: str) -> None:
    data = payload("gitlab/merge_request_merge.json")
    data["object_attributes"]["action"] = action
    assert ignored("Merge Request Hook", data).reason == (
        f"merge request action '{action}' does not start runs"
    )


def test_a_merge_request_event_without_an_action_is_ignored() -> None:
    data = payload("gitlab/merge_request_open.json")
    del data["object_attributes"]["action"]
    assert "no 'object_attributes.action'" in ignored("Merge Request Hook", data).reason


def test_system_hooks_are_dispatched_on_object_kind() -> None:
    event = parsed_event("System Hook", "gitlab/push.json")
    assert (event.event_name, event.kind, event.branch) == ("System Hook", EventKind.PUSH, "main")
    data = payload("gitlab/push.json")
    data.update(object_kind="repository_update", event_name="repository_update")
    assert "repository_update" in ignored("System Hook", data).reason


@pytest.mark.parametrize("name", ["Issue Hook", "Note Hook", "Pipeline Hook", "Job Hook"])
def test_other_events_are_ignored_with_a_reason(name: str) -> None:
    result = gitlab.parse(b'{"object_kind": "issue"}', gitlab_headers(name))
    assert isinstance(result, IgnoredDelivery)
    assert result.reason == f"GitLab event '{name}' does not start runs"


@pytest.mark.parametrize("name", ["Issue Hook", "Pipeline Hook"])
def test_another_event_whose_body_is_not_json_is_malformed(name: str) -> None:
    with pytest.raises(MalformedPayloadError, match=f"{name} payload is not valid JSON"):
        gitlab.parse(b"<not json>", gitlab_headers(name))


def test_the_delivery_id_prefers_the_idempotency_key_then_webhook_then_event_uuid() -> None:
    raw = body("gitlab/push.json")
    headers = gitlab_headers("Push Hook")
    assert gitlab.delivery_id(raw, headers) == headers["Idempotency-Key"]
    del headers["Idempotency-Key"]
    assert gitlab.delivery_id(raw, headers) == headers["X-Gitlab-Webhook-UUID"]
    del headers["X-Gitlab-Webhook-UUID"]
    assert gitlab.delivery_id(raw, headers) == headers["X-Gitlab-Event-UUID"]
    del headers["X-Gitlab-Event-UUID"]
    assert gitlab.delivery_id(raw, headers).startswith("sha256:")
    assert gitlab.delivery_id(raw, headers) == gitlab.delivery_id(raw, {})


def test_a_retried_delivery_keeps_its_id() -> None:
    raw = body("gitlab/push.json")
    first = gitlab_headers("Push Hook", **{"X-Gitlab-Webhook-UUID": "attempt-1"})
    retry = gitlab_headers("Push Hook", **{"X-Gitlab-Webhook-UUID": "attempt-2"})
    assert gitlab.delivery_id(raw, first) == gitlab.delivery_id(raw, retry)


def test_older_payloads_without_project_urls_fall_back_to_repository() -> None:
    data = payload("gitlab/push.json")
    for key in ("git_http_url", "git_ssh_url", "web_url"):
        del data["project"][key]
    event = parsed_event("Push Hook", data)
    assert event.clone_url == "https://gitlab.example.com/Mike/Diaspora.git"
    assert event.repository_key == "gitlab.example.com/mike/diaspora"


def test_a_delivery_without_an_event_header_is_malformed() -> None:
    headers = gitlab_headers("Push Hook")
    del headers["X-Gitlab-Event"]
    with pytest.raises(MalformedPayloadError, match="X-Gitlab-Event"):
        gitlab.parse(body("gitlab/push.json"), headers)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json", "Push Hook payload is not valid JSON"),
        (b"[]", "Push Hook payload is not a JSON object"),
        (b"null", "Push Hook payload is not a JSON object"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_malformed(raw: bytes, message: str) -> None:
    with pytest.raises(MalformedPayloadError, match=message):
        gitlab.parse(raw, gitlab_headers("Push Hook"))


def test_a_push_without_clone_urls_is_malformed() -> None:
    data = payload("gitlab/push.json")
    del data["project"]["git_http_url"]
    del data["repository"]["git_http_url"]
    with pytest.raises(MalformedPayloadError) as raised:
        parse("Push Hook", data)
    assert str(raised.value) == "Push Hook payload has no 'project.git_http_url'"


@pytest.mark.parametrize("path", ["iid", "target_branch", "source_branch", "last_commit"])
def test_a_merge_request_missing_a_field_is_malformed(path: str) -> None:
    data = payload("gitlab/merge_request_open.json")
    del data["object_attributes"][path]
    expected = "last_commit.id" if path == "last_commit" else path
    with pytest.raises(MalformedPayloadError) as raised:
        parse("Merge Request Hook", data)
    assert str(raised.value) == f"Merge Request Hook payload has no 'object_attributes.{expected}'"
