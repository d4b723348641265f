"""Typed configuration models: what a validated config repository contains.

Pure value objects (frozen dataclasses, tuples instead of lists) so a whole config can be
compared, hashed and carried in an event. Parsing and validation live in
``adapters/configrepo``; these classes only describe the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Permission(StrEnum):
    """What a team may do with a pipeline; each level includes the ones below it."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class TriggerKind(StrEnum):
    PUSH = "push"
    PULL_REQUEST = "pull_request"
    TAG = "tag"
    CRON = "cron"


@dataclass(frozen=True)
class Trigger:
    """One way a pipeline starts. ``branches``/``tags`` are globs (``release/*``);
    empty means "any". ``schedule`` and ``timezone`` are for cron triggers only.

    ``branches`` of a pull_request trigger are the *target* branches. ``branch`` is the
    branch a cron trigger runs on; ``None`` means the repository's default branch."""

    kind: TriggerKind  # written ``on:`` in the config repository
    branches: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    schedule: str | None = None
    timezone: str = "UTC"
    branch: str | None = None


@dataclass(frozen=True)
class Resources:
    """Kubernetes quantities as strings (``"500m"``, ``"2Gi"``)."""

    cpu_request: str = "500m"
    memory_request: str = "1Gi"
    cpu_limit: str = "2"
    memory_limit: str = "4Gi"


@dataclass(frozen=True)
class Worker:
    image: str = "python:3.12-slim"
    resources: Resources = field(default_factory=Resources)


@dataclass(frozen=True)
class Pipeline:
    """``permissions`` as the config repository gives them, with the owning ``team``
    added as ``admin`` when the list does not name it."""

    name: str
    repository: str
    branch_filter: tuple[str, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    script: str = "danubefile.py"
    max_duration_seconds: int = 3600
    workspace_size_gb: int = 10
    worker: Worker = field(default_factory=Worker)
    permissions: tuple[tuple[str, Permission], ...] = ()
    webhook_secret_name: str | None = None
    """Name of a Danube secret (pipeline-scoped) holding this pipeline's webhook secret."""
    concurrency: int | None = None
    """At most this many of the pipeline's jobs run at once (None: only the global limit)."""
    entrypoint: str | None = None
    """Which ``@pipeline(name=...)`` of the script to run (None: the script's only one)."""
    team: str = ""
    """The owning team (``metadata.team``); empty only in configs stored before it existed."""


@dataclass(frozen=True)
class User:
    name: str
    email: str
    password_hash: str = ""
    display_name: str = ""


@dataclass(frozen=True)
class Team:
    """``members`` are users' e-mail addresses (``users.yaml`` ``spec.email``)."""

    name: str
    members: tuple[str, ...] = ()
    global_admin: bool = False


@dataclass(frozen=True)
class KubernetesConfig:
    namespace_jobs: str = "danube-jobs"
    coordinator_image: str = "ghcr.io/danube-ci/danube:latest"


@dataclass(frozen=True)
class Retention:
    logs_days: int = 30
    artifacts_days: int = 30
    registry_images_days: int = 90


@dataclass(frozen=True)
class ServerOverrides:
    """Optional overrides of the server's own settings (empty: not overridden)."""

    bind_address: str = ""
    data_dir: str = ""


@dataclass(frozen=True)
class Observability:
    otel_endpoint: str = ""
    metrics_enabled: bool = True
    traces_enabled: bool = False


class GitAuthenticationType(StrEnum):
    SSH_KEY = "ssh_key"
    GITLAB_TOKEN = "gitlab_token"
    GITHUB_APP = "github_app"


@dataclass(frozen=True)
class GitAuthentication:
    """Credentials for pipeline repositories whose normalised URL (``github.com/acme/api``)
    matches one of ``match_patterns``; the first matching entry wins. Holds names of
    secrets and paths of key files, never a secret value.

    ``github_app``: ``app_id``, ``installation_id``, ``private_key_secret`` (a Danube
    secret holding the app's PEM key). ``gitlab_token``: ``url``, ``token_secret``.
    ``ssh_key``: ``private_key_path`` and ``known_hosts_path`` (empty: the config
    repository's pinned host keys)."""

    type: GitAuthenticationType
    name: str
    match_patterns: tuple[str, ...] = ()
    app_id: str = ""
    installation_id: str = ""
    private_key_secret: str = ""
    url: str = ""
    token_secret: str = ""
    private_key_path: str = ""
    known_hosts_path: str = ""

    def describe(self) -> str:
        return f"{self.type.value} '{self.name}'"


@dataclass(frozen=True)
class Settings:
    """The repository's ``config.yaml`` (kind Config)."""

    kubernetes: KubernetesConfig = field(default_factory=KubernetesConfig)
    retention: Retention = field(default_factory=Retention)
    observability: Observability = field(default_factory=Observability)
    egress_allowlist: tuple[str, ...] = ()
    git_authentication: tuple[GitAuthentication, ...] = ()
    server: ServerOverrides = field(default_factory=ServerOverrides)


@dataclass(frozen=True)
class Config:
    """One validated config repository at one commit."""

    commit: str
    settings: Settings = field(default_factory=Settings)
    pipelines: tuple[Pipeline, ...] = ()
    users: tuple[User, ...] = ()
    teams: tuple[Team, ...] = ()

    def pipeline(self, name: str) -> Pipeline | None:
        return next((p for p in self.pipelines if p.name == name), None)


@dataclass(frozen=True)
class ConfigError:
    """One problem found in the config repository.

    ``file`` is relative to the repository root (``pipelines/web.yaml``), ``line`` is
    1-based (``None`` when the problem concerns the file as a whole), ``field`` is the
    path inside the document (``spec.triggers[1].schedule``; empty when not about a field).
    """

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if not self.field:
            return f"{where}: {self.message}"
        return f"{where}: {self.field}: {self.message}"


class ConfigInvalidError(Exception):
    """The config repository at ``commit`` failed validation; ``errors`` holds every problem."""

    def __init__(self, commit: str, errors: tuple[ConfigError, ...]) -> None:
        self.commit = commit
        self.errors = errors
        lines = "\n".join(f"  {error}" for error in errors)
        count = f"{len(errors)} error" + ("" if len(errors) == 1 else "s")
        super().__init__(f"config at {commit} is invalid ({count}):\n{lines}")
