"""From a signed delivery to the runs it should start, through the public APIs only."""

from collections.abc import Mapping, Sequence

import pytest

from adapters.forges import GitHubWebhooks, GitLabWebhooks
from domain.config.model import Pipeline, Trigger, TriggerKind
from domain.triggers import (
    ForgeWebhooks,
    IgnoredDelivery,
    TriggerMatch,
    WebhookSecret,
    match_pipelines,
)
from tests.unit.forges.deliveries import (
    GITHUB_SECRET,
    GITLAB_TOKEN,
    body,
    github_headers,
    gitlab_headers,
)

HELLO = "git@github.com:codertocat/hello-world.git"
DIASPORA = "ssh://git@gitlab.example.com:2222/mike/diaspora.git"
GITLAB_TEST = "https://gitlab.example.com/gitlabhq/gitlab-test"

PIPELINES = (
    Pipeline(
        "hello-ci", HELLO, triggers=(Trigger(TriggerKind.PUSH), Trigger(TriggerKind.PULL_REQUEST))
    ),
    Pipeline(
        "hello-release",
        "https://github.com/Codertocat/Hello-World",
        triggers=(
            Trigger(TriggerKind.TAG, tags=("v*",)),
            Trigger(TriggerKind.PULL_REQUEST, branches=("release/*",)),
        ),
    ),
    Pipeline("diaspora", DIASPORA, branch_filter=("main",), triggers=(Trigger(TriggerKind.PUSH),)),
    Pipeline("diaspora-tags", DIASPORA, triggers=(Trigger(TriggerKind.TAG),)),
    Pipeline("gitlab-test-mr", GITLAB_TEST, triggers=(Trigger(TriggerKind.PULL_REQUEST),)),
)
SECRETS = [
    WebhookSecret("global", "a different global secret"),
    WebhookSecret("github", GITHUB_SECRET),
    WebhookSecret("gitlab", GITLAB_TOKEN),
]


def receive(forge: ForgeWebhooks, raw: bytes, headers: Mapping[str, str]) -> list[TriggerMatch]:
    forge.verify(raw, headers, SECRETS)
    result = forge.parse(raw, headers)
    if isinstance(result, IgnoredDelivery):
        return []
    return match_pipelines(result, PIPELINES)


def github(event: str, name: str) -> list[TriggerMatch]:
    raw = body(name)
    return receive(GitHubWebhooks(), raw, github_headers(event, raw))


def gitlab(event: str, name: str) -> list[TriggerMatch]:
    return receive(GitLabWebhooks(), body(name), gitlab_headers(event))


def pipelines(matches: Sequence[TriggerMatch]) -> list[str]:
    return [match.pipeline for match in matches]


def test_a_github_push_starts_the_push_pipelines_of_its_repository() -> None:
    [match] = github("push", "github/push_branch.json")
    assert match.dedup_key == (
        "hello-ci",
        "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
        "push",
        "refs/heads/main",
    )


def test_the_same_push_delivered_twice_yields_the_same_dedup_keys() -> None:
    first = github("push", "github/push_branch.json")
    second = github("push", "github/push_branch.json")
    assert [m.dedup_key for m in first] == [m.dedup_key for m in second]


def test_a_github_tag_starts_the_release_pipeline() -> None:
    [match] = github("push", "github/push_tag_annotated.json")
    assert (match.pipeline, match.trigger, match.tag) == (
        "hello-release",
        TriggerKind.TAG,
        "v1.2.0",
    )


def test_a_pull_request_into_a_release_branch_starts_both_pull_request_pipelines() -> None:
    matches = github("pull_request", "github/pull_request_synchronize.json")
    assert pipelines(matches) == ["hello-ci", "hello-release"]
    assert {m.ref for m in matches} == {"refs/pull/7/head"}


def test_a_pull_request_into_main_skips_the_release_only_pipeline() -> None:
    assert pipelines(github("pull_request", "github/pull_request_opened.json")) == ["hello-ci"]


@pytest.mark.parametrize(
    ("event", "name"),
    [
        ("push", "github/push_branch_deleted.json"),
        ("push", "github/push_tag_deleted.json"),
        ("pull_request", "github/pull_request_closed.json"),
        ("ping", "github/ping.json"),
    ],
)
def test_github_deliveries_that_start_nothing(event: str, name: str) -> None:
    assert github(event, name) == []


def test_a_gitlab_push_to_main_matches_through_the_ssh_url_with_a_port() -> None:
    [match] = gitlab("Push Hook", "gitlab/push.json")
    assert (match.pipeline, match.branch) == ("diaspora", "main")


def test_a_gitlab_tag_push_starts_the_tag_pipeline() -> None:
    [match] = gitlab("Tag Push Hook", "gitlab/tag_push.json")
    assert (match.pipeline, match.ref) == ("diaspora-tags", "refs/tags/v1.0.0")


def test_gitlab_merge_requests_start_runs_only_for_new_code() -> None:
    assert pipelines(gitlab("Merge Request Hook", "gitlab/merge_request_open.json")) == [
        "gitlab-test-mr"
    ]
    [update] = gitlab("Merge Request Hook", "gitlab/merge_request_update_commits.json")
    assert update.dedup_key[1:] == (
        "a91957a858320c0e17f3a0eca7cfacbff50ea29a",
        "pull_request",
        "refs/merge-requests/1/head",
    )
    assert gitlab("Merge Request Hook", "gitlab/merge_request_update_labels.json") == []
    assert gitlab("Merge Request Hook", "gitlab/merge_request_merge.json") == []


def test_a_gitlab_branch_deletion_starts_nothing() -> None:
    assert gitlab("Push Hook", "gitlab/push_deleted.json") == []
