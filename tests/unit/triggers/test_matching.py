from dataclasses import replace

import pytest

from domain.config.model import Pipeline, Trigger, TriggerKind
from domain.triggers import EventKind, Provider, TriggerEvent, TriggerMatch, match_pipelines

SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
ZERO = "0" * 40
REPO = "https://github.com/acme/web"

PUSH = Trigger(TriggerKind.PUSH)
TAG = Trigger(TriggerKind.TAG)
PR = Trigger(TriggerKind.PULL_REQUEST)


def push(branch: str = "main", **fields: object) -> TriggerEvent:
    event = TriggerEvent(
        provider=Provider.GITHUB,
        delivery_id="d-1",
        event_name="push",
        kind=EventKind.PUSH,
        repository_url="https://github.com/acme/web",
        clone_url="https://github.com/acme/web.git",
        ssh_url="git@github.com:acme/web.git",
        ref=f"refs/heads/{branch}",
        branch=branch,
        commit=SHA,
        sender="alice",
    )
    return replace(event, **fields)  # type: ignore[arg-type]


def tag_push(tag: str = "v1.0.0", **fields: object) -> TriggerEvent:
    return push(kind=EventKind.TAG, ref=f"refs/tags/{tag}", branch=None, tag=tag, **fields)


def pull_request(target: str = "main", action: str = "opened", **fields: object) -> TriggerEvent:
    return push(
        event_name="pull_request",
        kind=EventKind.PULL_REQUEST,
        ref="refs/pull/7/head",
        branch=target,
        head_branch="feature/login",
        pr_number=7,
        pr_action=action,
        **fields,
    )


def pipeline(name: str = "web", repository: str = REPO, **fields: object) -> Pipeline:
    return Pipeline(name=name, repository=repository, **fields)  # type: ignore[arg-type]


def names(matches: list[TriggerMatch]) -> list[str]:
    return [match.pipeline for match in matches]


def test_a_branch_push_starts_a_pipeline_with_a_push_trigger() -> None:
    [match] = match_pipelines(push(), [pipeline(triggers=(PUSH,))])
    assert match == TriggerMatch(
        pipeline="web",
        trigger=TriggerKind.PUSH,
        ref="refs/heads/main",
        commit=SHA,
        branch="main",
    )
    assert match.dedup_key == ("web", SHA, "push", "refs/heads/main")


def test_only_pipelines_of_the_pushed_repository_match() -> None:
    pipelines = [
        pipeline("web", triggers=(PUSH,)),
        pipeline("api", "https://github.com/acme/api", triggers=(PUSH,)),
        pipeline("web-mirror", "https://gitlab.com/acme/web", triggers=(PUSH,)),
    ]
    assert names(match_pipelines(push(), pipelines)) == ["web"]


@pytest.mark.parametrize(
    "configured",
    [
        "git@github.com:acme/web.git",
        "ssh://git@github.com/Acme/Web",
        "https://GitHub.com/acme/web.git/",
        "http://github.com/acme/web",
    ],
)
def test_the_pipeline_repository_may_be_spelled_any_way(configured: str) -> None:
    assert names(match_pipelines(push(), [pipeline(repository=configured, triggers=(PUSH,))]))


def test_any_url_the_payload_offers_can_match() -> None:
    event = push(
        repository_url="https://git.acme.internal/acme/web",
        clone_url="https://git.acme.internal/acme/web.git",
        ssh_url="ssh://git@git.acme.internal:2222/acme/web.git",
    )
    configured = pipeline(repository="ssh://git@git.acme.internal:2222/acme/web", triggers=(PUSH,))
    assert names(match_pipelines(event, [configured])) == ["web"]


def test_several_pipelines_of_one_repository_all_match_in_order() -> None:
    pipelines = [
        pipeline("lint", triggers=(PUSH,)),
        pipeline("docs", triggers=(Trigger(TriggerKind.PUSH, branches=("docs/*",)),)),
        pipeline("build", triggers=(Trigger(TriggerKind.PUSH, branches=("main",)),)),
    ]
    assert names(match_pipelines(push("main"), pipelines)) == ["lint", "build"]


def test_push_trigger_branch_globs_decide() -> None:
    configured = pipeline(triggers=(Trigger(TriggerKind.PUSH, branches=("release/*",)),))
    assert names(match_pipelines(push("release/1.0"), [configured])) == ["web"]
    assert match_pipelines(push("release/1/hotfix"), [configured]) == []
    assert match_pipelines(push("main"), [configured]) == []


def test_branch_filter_applies_before_the_trigger() -> None:
    configured = pipeline(branch_filter=("main", "release/**"), triggers=(PUSH,))
    assert names(match_pipelines(push("release/1/hotfix"), [configured])) == ["web"]
    assert match_pipelines(push("feature/x"), [configured]) == []


def test_a_pipeline_without_a_trigger_of_that_kind_does_not_match() -> None:
    configured = pipeline(triggers=(TAG, PR, Trigger(TriggerKind.CRON, schedule="0 * * * *")))
    assert match_pipelines(push(), [configured]) == []


def test_a_pipeline_without_triggers_never_matches() -> None:
    assert match_pipelines(push(), [pipeline()]) == []


def test_one_pipeline_matches_once_even_with_several_fitting_triggers() -> None:
    configured = pipeline(triggers=(PUSH, Trigger(TriggerKind.PUSH, branches=("main",))))
    assert len(match_pipelines(push(), [configured])) == 1


def test_a_tag_push_needs_a_tag_trigger_whose_globs_match() -> None:
    pipelines = [
        pipeline("release", triggers=(Trigger(TriggerKind.TAG, tags=("v*",)),)),
        pipeline("nightly", triggers=(Trigger(TriggerKind.TAG, tags=("nightly-*",)),)),
        pipeline("ci", triggers=(PUSH,)),
    ]
    [match] = match_pipelines(tag_push("v1.0.0"), pipelines)
    assert (match.pipeline, match.trigger, match.tag, match.branch) == (
        "release",
        TriggerKind.TAG,
        "v1.0.0",
        None,
    )
    assert match.dedup_key == ("release", SHA, "tag", "refs/tags/v1.0.0")


def test_branch_filter_does_not_apply_to_tags() -> None:
    configured = pipeline(branch_filter=("main",), triggers=(TAG,))
    assert names(match_pipelines(tag_push("v2"), [configured])) == ["web"]


def test_deletions_match_nothing() -> None:
    everything = [pipeline(triggers=(PUSH, TAG, PR))]
    assert match_pipelines(push(commit=ZERO, deleted=True), everything) == []
    assert match_pipelines(tag_push(commit=ZERO, deleted=True), everything) == []


def test_pings_match_nothing() -> None:
    ping = push(kind=EventKind.PING, event_name="ping", ref="", branch=None, commit="")
    assert match_pipelines(ping, [pipeline(triggers=(PUSH, TAG, PR))]) == []


@pytest.mark.parametrize(
    "action", ["opened", "synchronize", "reopened", "open", "update", "reopen"]
)
def test_pull_requests_match_on_triggering_actions(action: str) -> None:
    [match] = match_pipelines(pull_request(action=action), [pipeline(triggers=(PR,))])
    assert match == TriggerMatch(
        pipeline="web",
        trigger=TriggerKind.PULL_REQUEST,
        ref="refs/pull/7/head",
        commit=SHA,
        branch="main",
        head_branch="feature/login",
        pr_number=7,
    )
    assert match.dedup_key == ("web", SHA, "pull_request", "refs/pull/7/head")


@pytest.mark.parametrize("action", ["closed", "labeled", "edited", "merge", "close", None])
def test_pull_requests_with_other_actions_match_nothing(action: str | None) -> None:
    assert match_pipelines(pull_request(action=action), [pipeline(triggers=(PR,))]) == []  # type: ignore[arg-type]


def test_pull_request_branches_and_branch_filter_apply_to_the_target_branch() -> None:
    to_release = pipeline(
        "rel", triggers=(Trigger(TriggerKind.PULL_REQUEST, branches=("release/*",)),)
    )
    filtered = pipeline("main-only", branch_filter=("main",), triggers=(PR,))
    assert names(match_pipelines(pull_request("release/1.0"), [to_release, filtered])) == ["rel"]
    assert names(match_pipelines(pull_request("main"), [to_release, filtered])) == ["main-only"]


def test_a_push_does_not_start_pull_request_pipelines_and_vice_versa() -> None:
    pr_only = pipeline("pr", triggers=(PR,))
    push_only = pipeline("push", triggers=(PUSH,))
    assert names(match_pipelines(push(), [pr_only, push_only])) == ["push"]
    assert names(match_pipelines(pull_request(), [pr_only, push_only])) == ["pr"]


def test_a_broken_pipeline_does_not_stop_the_others() -> None:
    pipelines = [
        pipeline("bad-url", repository="https://", triggers=(PUSH,)),
        pipeline("bad-glob", triggers=(Trigger(TriggerKind.PUSH, branches=("[main",)),)),
        pipeline("good", triggers=(PUSH,)),
    ]
    assert names(match_pipelines(push(), pipelines)) == ["good"]


def test_local_repositories_match_by_path() -> None:
    event = push(repository_url="/srv/git/web.git", clone_url=None, ssh_url=None)
    pipelines = [
        pipeline("local", repository="file:///srv/git/web.git", triggers=(PUSH,)),
        pipeline("other", repository="/srv/git/web", triggers=(PUSH,)),
    ]
    assert names(match_pipelines(event, pipelines)) == ["local"]
