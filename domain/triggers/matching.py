"""Which pipelines a forge event starts.

Rules, applied to each pipeline in order (at most one match per pipeline):

1. Pings, deletions (of branches or tags) and events without a commit match nothing.
2. The pipeline's ``repository`` must normalise to the key of one of the URLs the
   payload offered (web, https clone, ssh clone, ...).
3. A branch push needs the branch to pass ``branch_filter`` and a ``push`` trigger whose
   ``branches`` match it.
4. A tag push needs a ``tag`` trigger whose ``tags`` match the tag (``branch_filter`` is
   about branches and does not apply).
5. A pull request needs a triggering action (GitHub ``opened``/``synchronize``/
   ``reopened``, GitLab ``open``/``update``/``reopen``), its *target* branch to pass
   ``branch_filter``, and a ``pull_request`` trigger whose ``branches`` match the target.

Empty glob lists mean "all". A pipeline whose repository URL or globs cannot be parsed
matches nothing (config validation reports those; one bad pipeline must not stop the
others from being triggered).
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.config.model import Pipeline, TriggerKind
from domain.triggers.errors import InvalidGlobError, InvalidRepositoryUrlError
from domain.triggers.globs import matches_any
from domain.triggers.model import EventKind, TriggerEvent, TriggerMatch
from domain.triggers.repository_url import normalise_repository_url

TRIGGERING_PR_ACTIONS = frozenset({"opened", "synchronize", "reopened", "open", "update", "reopen"})

_TRIGGER_KIND = {
    EventKind.PUSH: TriggerKind.PUSH,
    EventKind.TAG: TriggerKind.TAG,
    EventKind.PULL_REQUEST: TriggerKind.PULL_REQUEST,
}


def match_pipelines(event: TriggerEvent, pipelines: Iterable[Pipeline]) -> list[TriggerMatch]:
    """The runs ``event`` should start, one per matching pipeline, in pipeline order."""
    if not can_trigger(event):
        return []
    keys = event.repository_keys()
    return [
        _match(event, pipeline)
        for pipeline in pipelines
        if _same_repository(pipeline, keys) and _wanted(event, pipeline)
    ]


def can_trigger(event: TriggerEvent) -> bool:
    """False for events that never start a run, whatever the configuration."""
    if event.kind not in _TRIGGER_KIND or event.deleted or not event.commit:
        return False
    if event.kind is EventKind.TAG:
        return bool(event.tag)
    if event.kind is EventKind.PULL_REQUEST and event.pr_action not in TRIGGERING_PR_ACTIONS:
        return False
    return bool(event.branch)


def _same_repository(pipeline: Pipeline, keys: frozenset[str]) -> bool:
    try:
        return normalise_repository_url(pipeline.repository) in keys
    except InvalidRepositoryUrlError:
        return False


def _wanted(event: TriggerEvent, pipeline: Pipeline) -> bool:
    try:
        if event.kind is EventKind.TAG:
            return _has_trigger(pipeline, TriggerKind.TAG, event.tag or "")
        branch = event.branch or ""
        return matches_any(pipeline.branch_filter, branch) and _has_trigger(
            pipeline, _TRIGGER_KIND[event.kind], branch
        )
    except InvalidGlobError:
        return False


def _has_trigger(pipeline: Pipeline, kind: TriggerKind, name: str) -> bool:
    for trigger in pipeline.triggers:
        if trigger.kind != kind:
            continue
        patterns = trigger.tags if kind is TriggerKind.TAG else trigger.branches
        if matches_any(patterns, name):
            return True
    return False


def _match(event: TriggerEvent, pipeline: Pipeline) -> TriggerMatch:
    return TriggerMatch(
        pipeline=pipeline.name,
        trigger=_TRIGGER_KIND[event.kind],
        ref=event.ref,
        commit=event.commit,
        branch=event.branch,
        tag=event.tag,
        head_branch=event.head_branch,
        pr_number=event.pr_number,
    )
