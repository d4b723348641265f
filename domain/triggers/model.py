"""Value types of trigger ingestion: what a forge delivered and what it should start.

All are frozen dataclasses of plain values so they can be compared, logged and carried
in stored events. Nothing here knows about HTTP or JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from domain.config.model import TriggerKind
from domain.triggers.errors import InvalidRepositoryUrlError
from domain.triggers.repository_url import normalise_repository_url


class Provider(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"


class EventKind(StrEnum):
    PUSH = "push"
    TAG = "tag"
    PULL_REQUEST = "pull_request"
    PING = "ping"


def is_zero_sha(sha: str) -> bool:
    """True for the all-zero object id forges send for a created/deleted ref's far side."""
    return bool(sha) and set(sha) == {"0"}


@dataclass(frozen=True)
class TriggerEvent:
    """One verified, parsed forge delivery.

    - ``event_name`` is the event header as sent (``push``, ``Merge Request Hook``).
    - ``repository_url`` is the repository's URL as sent (web URL when the payload has
      one); ``repository_key`` is its normalised form (``github.com/org/repo``), or ``""``
      when the delivery names no repository (an organisation-level ping).
    - ``ref`` is the full ref: ``refs/heads/main``, ``refs/tags/v1``; for a pull/merge
      request the forge's fetchable head ref in the *target* repository
      (``refs/pull/7/head``, ``refs/merge-requests/7/head``), which also works for forks.
    - ``branch`` is the pushed branch, or for a pull request the *target* (base) branch,
      the one branch filters are matched against; ``head_branch`` is the PR's source.
    - ``commit`` is the commit to build: the pushed head (``after``; for an annotated tag
      the tagged commit when the payload says which), or the PR's head commit. For
      deletions it is the all-zero id and ``deleted`` is true.
    - ``clone_url``/``ssh_url`` are the target repository's clone URLs as offered;
      ``head_clone_url`` is the PR source repository's (a fork's) https clone URL.
    - ``repository_urls`` holds every URL of the repository the payload offered; any of
      them may match a pipeline's ``repository``.
    """

    provider: Provider
    delivery_id: str
    event_name: str
    kind: EventKind
    repository_url: str
    ref: str = ""
    commit: str = ""
    branch: str | None = None
    head_branch: str | None = None
    tag: str | None = None
    deleted: bool = False
    pr_number: int | None = None
    pr_action: str | None = None
    sender: str = ""
    clone_url: str | None = None
    ssh_url: str | None = None
    head_clone_url: str | None = None
    repository_urls: tuple[str, ...] = ()
    repository_key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "repository_key", _key_or_empty(self.repository_url))

    def repository_keys(self) -> frozenset[str]:
        """Normalised keys of every URL the payload offered for the repository."""
        urls = (self.repository_url, self.clone_url, self.ssh_url, *self.repository_urls)
        keys = {_key_or_empty(url) for url in urls if url}
        keys.discard("")
        return frozenset(keys)


@dataclass(frozen=True)
class IgnoredDelivery:
    """A verified delivery that starts nothing, and why (an unknown event, a PR label)."""

    provider: Provider
    delivery_id: str
    event_name: str
    reason: str


@dataclass(frozen=True)
class TriggerMatch:
    """One pipeline an event should start, with what the run needs to know.

    ``dedup_key`` is ``(pipeline, commit, trigger kind, ref)``: a second event with the same
    key (the same push delivered twice by two hooks, a redelivery) must not start a run.
    """

    pipeline: str
    trigger: TriggerKind
    ref: str
    commit: str
    branch: str | None = None
    tag: str | None = None
    head_branch: str | None = None
    pr_number: int | None = None

    @property
    def dedup_key(self) -> tuple[str, str, str, str]:
        return (self.pipeline, self.commit, self.trigger.value, self.ref)


@dataclass(frozen=True)
class WebhookSecret:
    """A candidate secret for verifying a delivery. ``id`` is the caller's name for it
    (``"global"``, ``"pipeline:web"``) and is what verification reports; the value never
    appears in ``repr`` or error messages."""

    id: str
    value: str = field(repr=False)


def _key_or_empty(url: str | None) -> str:
    if not url:
        return ""
    try:
        return normalise_repository_url(url)
    except InvalidRepositoryUrlError:
        return ""
