"""GitHub webhooks: ``X-Hub-Signature-256`` verification and push/pull_request/ping parsing.

Delivery id: ``X-GitHub-Delivery`` (a GUID GitHub keeps when a delivery is redelivered);
when absent, ``sha256:<hex of the body>``.

Events: ``push`` (branches and tags; deletions are parsed with ``deleted=True``),
``pull_request`` with action ``opened``/``synchronize``/``reopened`` (other actions are
ignored), and ``ping``. Other events are ignored with a reason, once their body is known
to be a JSON object (a body that is not is malformed, whatever the event). Bodies may be
JSON or the ``application/x-www-form-urlencoded`` form (``payload=<json>``) GitHub can be
set to send.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

from adapters.forges.payload import (
    NO_REPOSITORY,
    Envelope,
    Payload,
    RepositoryUrls,
    body_digest_id,
    header,
    load_object,
    split_ref,
)
from adapters.forges.signatures import verify_hmac_sha256
from domain.triggers.errors import MalformedPayloadError
from domain.triggers.model import (
    EventKind,
    IgnoredDelivery,
    Provider,
    TriggerEvent,
    WebhookSecret,
    is_zero_sha,
)

SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
PULL_REQUEST_ACTIONS = frozenset({"opened", "synchronize", "reopened"})

Result = TriggerEvent | IgnoredDelivery


class GitHubWebhooks:
    """The GitHub implementation of :class:`domain.triggers.ForgeWebhooks`."""

    provider = Provider.GITHUB
    signature_header = SIGNATURE_HEADER

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[WebhookSecret]
    ) -> tuple[str, ...]:
        return verify_hmac_sha256(body, headers, SIGNATURE_HEADER, secrets)

    def delivery_id(self, body: bytes, headers: Mapping[str, str]) -> str:
        return header(headers, DELIVERY_HEADER) or body_digest_id(body)

    def parse(self, body: bytes, headers: Mapping[str, str]) -> Result:
        event_name = header(headers, EVENT_HEADER)
        if event_name is None:
            raise MalformedPayloadError(f"delivery has no {EVENT_HEADER} header")
        envelope = Envelope(self.provider, self.delivery_id(body, headers), event_name)
        what = f"{event_name} payload"
        data = _load(body, what)
        handler = _HANDLERS.get(event_name)
        if handler is None:
            return envelope.ignored(f"GitHub event '{event_name}' does not start runs")
        return handler(envelope, Payload(data, what))


def _load(body: bytes, what: str) -> dict[str, Any]:
    if body.startswith(b"payload="):
        form = parse_qs(body.decode("utf-8", errors="replace"))
        return load_object(form.get("payload", [""])[0], what)
    return load_object(body, what)


def _push(envelope: Envelope, p: Payload) -> Result:
    ref, after = p.text("ref"), p.text("after")
    repository = _repository(p)
    split = split_ref(ref)
    if split is None:
        return envelope.ignored(f"push to '{ref}' is neither a branch nor a tag")
    kind, name = split
    deleted = p.flag("deleted") or is_zero_sha(after)
    common: dict[str, Any] = {"ref": ref, "deleted": deleted, "sender": _sender(p)}
    if kind is EventKind.PUSH:
        return envelope.event(kind, repository, branch=name, commit=after, **common)
    # For an annotated tag `after` is the tag object; head_commit is the tagged commit.
    commit = after if deleted else (p.optional_text("head_commit.id") or after)
    return envelope.event(kind, repository, tag=name, commit=commit, **common)


def _pull_request(envelope: Envelope, p: Payload) -> Result:
    action = p.text("action")
    if action not in PULL_REQUEST_ACTIONS:
        return envelope.ignored(f"pull_request action '{action}' does not start runs")
    number = p.integer("number")
    return envelope.event(
        EventKind.PULL_REQUEST,
        _repository(p),
        ref=f"refs/pull/{number}/head",
        commit=p.text("pull_request.head.sha"),
        branch=p.text("pull_request.base.ref"),
        head_branch=p.text("pull_request.head.ref"),
        pr_number=number,
        pr_action=action,
        sender=_sender(p),
        head_clone_url=p.optional_text("pull_request.head.repo.clone_url"),
    )


def _ping(envelope: Envelope, p: Payload) -> Result:
    # Organisation and app hooks are pinged without a repository.
    repository = _repository(p) if p.get("repository") is not None else NO_REPOSITORY
    return envelope.event(EventKind.PING, repository, sender=_sender(p))


def _repository(p: Payload) -> RepositoryUrls:
    clone_url = p.text("repository.clone_url")
    return RepositoryUrls(
        url=p.optional_text("repository.html_url") or clone_url,
        clone_url=clone_url,
        ssh_url=p.optional_text("repository.ssh_url"),
        aliases=(p.optional_text("repository.git_url"), p.optional_text("repository.svn_url")),
    )


def _sender(p: Payload) -> str:
    return p.optional_text("sender.login") or p.optional_text("pusher.name") or ""


_HANDLERS: dict[str, Callable[[Envelope, Payload], Result]] = {
    "push": _push,
    "pull_request": _pull_request,
    "ping": _ping,
}
