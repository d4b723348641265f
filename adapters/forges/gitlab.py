"""GitLab webhooks: ``X-Gitlab-Token`` verification and push/tag/merge request parsing.

Delivery id, first present of:

1. ``Idempotency-Key`` (GitLab 17.4+): the same for every retry of one event, so a retry
   is recognised as a redelivery;
2. ``X-Gitlab-Webhook-UUID`` (16.2+): unique per delivery;
3. ``X-Gitlab-Event-UUID``: unique per event, but shared by a chain of recursive hooks,
   hence only a fallback;
4. ``sha256:<hex of the body>`` for instances that send none of them.

Events: ``Push Hook`` and ``Tag Push Hook`` (deletions parsed with ``deleted=True``),
``Merge Request Hook`` with ``object_attributes.action`` ``open``/``reopen``, or
``update`` when it carries ``object_attributes.oldrev`` (new commits; an update that only
edits the title or labels is ignored). ``System Hook`` deliveries are dispatched on the
body's ``object_kind``. Everything else is ignored with a reason, once its body is known
to be a JSON object (a body that is not is malformed, whatever the event).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from adapters.forges.payload import (
    Envelope,
    Payload,
    RepositoryUrls,
    body_digest_id,
    header,
    load_object,
    split_ref,
)
from adapters.forges.signatures import verify_token
from domain.triggers.errors import MalformedPayloadError
from domain.triggers.model import (
    EventKind,
    IgnoredDelivery,
    Provider,
    TriggerEvent,
    WebhookSecret,
    is_zero_sha,
)

TOKEN_HEADER = "X-Gitlab-Token"
EVENT_HEADER = "X-Gitlab-Event"
DELIVERY_HEADERS = ("Idempotency-Key", "X-Gitlab-Webhook-UUID", "X-Gitlab-Event-UUID")
SYSTEM_HOOK = "System Hook"
MERGE_REQUEST_ACTIONS = frozenset({"open", "reopen", "update"})
_ALIAS_PATHS = (
    "project.http_url",
    "project.ssh_url",
    "project.url",
    "repository.homepage",
    "object_attributes.target.git_http_url",
    "object_attributes.target.git_ssh_url",
)

Result = TriggerEvent | IgnoredDelivery


class GitLabWebhooks:
    """The GitLab implementation of :class:`domain.triggers.ForgeWebhooks`."""

    provider = Provider.GITLAB
    signature_header = TOKEN_HEADER

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[WebhookSecret]
    ) -> tuple[str, ...]:
        return verify_token(headers, TOKEN_HEADER, secrets)

    def delivery_id(self, body: bytes, headers: Mapping[str, str]) -> str:
        for name in DELIVERY_HEADERS:
            value = header(headers, name)
            if value is not None:
                return value
        return body_digest_id(body)

    def parse(self, body: bytes, headers: Mapping[str, str]) -> Result:
        event_name = header(headers, EVENT_HEADER)
        if event_name is None:
            raise MalformedPayloadError(f"delivery has no {EVENT_HEADER} header")
        envelope = Envelope(self.provider, self.delivery_id(body, headers), event_name)
        what = f"{event_name} payload"
        payload = Payload(load_object(body, what), what)
        if event_name == SYSTEM_HOOK:
            return _system_hook(envelope, payload)
        handler = _HANDLERS.get(event_name)
        if handler is None:
            return envelope.ignored(f"GitLab event '{event_name}' does not start runs")
        return handler(envelope, payload)


def _system_hook(envelope: Envelope, p: Payload) -> Result:
    kind = p.optional_text("object_kind") or p.optional_text("event_name") or ""
    handler = _OBJECT_KINDS.get(kind)
    if handler is None:
        return envelope.ignored(f"GitLab system hook '{kind}' does not start runs")
    return handler(envelope, p)


def _push(envelope: Envelope, p: Payload) -> Result:
    ref, after = p.text("ref"), p.text("after")
    repository = _project(p)
    split = split_ref(ref)
    if split is None:
        return envelope.ignored(f"push to '{ref}' is neither a branch nor a tag")
    kind, name = split
    deleted = is_zero_sha(after)
    # checkout_sha is the commit (for an annotated tag, `after` is the tag object).
    commit = after if deleted else (p.optional_text("checkout_sha") or after)
    names = {"branch": name} if kind is EventKind.PUSH else {"tag": name}
    return envelope.event(
        kind, repository, ref=ref, commit=commit, deleted=deleted, sender=_pusher(p), **names
    )


def _merge_request(envelope: Envelope, p: Payload) -> Result:
    action = p.optional_text("object_attributes.action")
    if action is None:
        return envelope.ignored("merge request event has no 'object_attributes.action'")
    if action not in MERGE_REQUEST_ACTIONS:
        return envelope.ignored(f"merge request action '{action}' does not start runs")
    if action == "update" and p.optional_text("object_attributes.oldrev") is None:
        return envelope.ignored("merge request update without new commits (no 'oldrev')")
    iid = p.integer("object_attributes.iid")
    return envelope.event(
        EventKind.PULL_REQUEST,
        _project(p),
        ref=f"refs/merge-requests/{iid}/head",
        commit=p.text("object_attributes.last_commit.id"),
        branch=p.text("object_attributes.target_branch"),
        head_branch=p.text("object_attributes.source_branch"),
        pr_number=iid,
        pr_action=action,
        sender=p.optional_text("user.username") or "",
        head_clone_url=p.optional_text("object_attributes.source.git_http_url"),
    )


def _project(p: Payload) -> RepositoryUrls:
    """The target project; ``repository`` is the deprecated spelling older payloads use."""
    clone_url = p.optional_text("project.git_http_url") or p.optional_text(
        "repository.git_http_url"
    )
    if clone_url is None:
        raise p.missing("project.git_http_url")
    return RepositoryUrls(
        url=p.optional_text("project.web_url") or clone_url,
        clone_url=clone_url,
        ssh_url=p.optional_text("project.git_ssh_url") or p.optional_text("repository.git_ssh_url"),
        aliases=tuple(_aliases(p)),
    )


def _aliases(p: Payload) -> list[str | None]:
    return [_lenient_text(p, path) for path in _ALIAS_PATHS]


def _lenient_text(p: Payload, path: str) -> str | None:
    value: Any = p.get(path)
    return value if isinstance(value, str) and value else None


def _pusher(p: Payload) -> str:
    return p.optional_text("user_username") or p.optional_text("user_name") or ""


_HANDLERS: dict[str, Callable[[Envelope, Payload], Result]] = {
    "Push Hook": _push,
    "Tag Push Hook": _push,
    "Merge Request Hook": _merge_request,
}
_OBJECT_KINDS: dict[str, Callable[[Envelope, Payload], Result]] = {
    "push": _push,
    "tag_push": _push,
    "merge_request": _merge_request,
}
