"""What the forge adapters share: header lookup, JSON access with precise errors, and the
envelope (provider, delivery id, event name) every parsed result carries."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.triggers.errors import MalformedPayloadError
from domain.triggers.model import EventKind, IgnoredDelivery, Provider, TriggerEvent
from domain.webhooks.refs import is_commit_sha, ref_name_problem

BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's stripped value, looked up case-insensitively; ``None`` if absent or blank."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    if value is None or not value.strip():
        return None
    return value.strip()


def body_digest_id(body: bytes) -> str:
    """A delivery id for deliveries without one: equal bodies (a redelivery) share it."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def load_object(body: bytes | str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except RecursionError as error:
        raise MalformedPayloadError(f"{what} is nested too deeply") from error
    except (UnicodeDecodeError, ValueError) as error:  # ValueError: an over-long integer too
        raise MalformedPayloadError(f"{what} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise MalformedPayloadError(f"{what} is not a JSON object")
    return data


class Payload:
    """Dotted-path access to a JSON object; required fields raise ``MalformedPayloadError``
    naming the payload and the path (``push payload has no 'repository.clone_url'``)."""

    def __init__(self, data: Mapping[str, Any], what: str) -> None:
        self._data = data
        self.what = what

    def get(self, path: str) -> Any:
        node: Any = self._data
        for key in path.split("."):
            if not isinstance(node, Mapping):
                return None
            node = node.get(key)
        return node

    def text(self, path: str) -> str:
        value = self.optional_text(path)
        if value is None:
            raise self.missing(path)
        return value

    def optional_text(self, path: str) -> str | None:
        value = self.get(path)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise MalformedPayloadError(f"{self.what} has '{path}' that is not a string")
        return value

    def integer(self, path: str) -> int:
        value = self.get(path)
        if value is None:
            raise self.missing(path)
        if isinstance(value, bool) or not isinstance(value, int):
            raise MalformedPayloadError(f"{self.what} has '{path}' that is not an integer")
        return value

    def flag(self, path: str) -> bool:
        return self.get(path) is True

    def missing(self, path: str) -> MalformedPayloadError:
        return MalformedPayloadError(f"{self.what} has no '{path}'")


@dataclass(frozen=True)
class RepositoryUrls:
    """The repository as the payload names it: a URL to show, clone URLs, and aliases."""

    url: str
    clone_url: str | None = None
    ssh_url: str | None = None
    aliases: tuple[str | None, ...] = ()

    def all(self) -> tuple[str, ...]:
        urls = (self.url, self.clone_url, self.ssh_url, *self.aliases)
        return tuple(dict.fromkeys(url for url in urls if url))


NO_REPOSITORY = RepositoryUrls(url="")
_REF_FIELDS = (
    ("ref", ""),
    ("branch", BRANCH_PREFIX),
    ("head_branch", BRANCH_PREFIX),
    ("tag", TAG_PREFIX),
)


@dataclass(frozen=True)
class Envelope:
    """Who sent a delivery and as what; builds the results of parsing."""

    provider: Provider
    delivery_id: str
    event_name: str

    def ignored(self, reason: str) -> IgnoredDelivery:
        return IgnoredDelivery(self.provider, self.delivery_id, self.event_name, reason)

    def event(self, kind: EventKind, repository: RepositoryUrls, **fields: Any) -> TriggerEvent:
        """Refuses (``MalformedPayloadError``) a commit that is not a 40-hex SHA and a
        ref or branch or tag name git would not accept: such a run could never check out."""
        commit = fields.get("commit")
        if commit is not None and not is_commit_sha(commit):
            raise MalformedPayloadError(f"the commit {commit!r} is not a 40-hex SHA")
        for field, prefix in _REF_FIELDS:
            value = fields.get(field)
            problem = None if value is None else ref_name_problem(prefix + value)
            if problem is not None:
                raise MalformedPayloadError(f"the {field} {value!r} {problem}")
        return TriggerEvent(
            provider=self.provider,
            delivery_id=self.delivery_id,
            event_name=self.event_name,
            kind=kind,
            repository_url=repository.url,
            clone_url=repository.clone_url,
            ssh_url=repository.ssh_url,
            repository_urls=repository.all(),
            **fields,
        )


def split_ref(ref: str) -> tuple[EventKind, str] | None:
    """``refs/heads/x`` → (PUSH, "x"), ``refs/tags/v1`` → (TAG, "v1"), anything else None."""
    for prefix, kind in ((BRANCH_PREFIX, EventKind.PUSH), (TAG_PREFIX, EventKind.TAG)):
        if ref.startswith(prefix) and len(ref) > len(prefix):
            return kind, ref[len(prefix) :]
    return None
