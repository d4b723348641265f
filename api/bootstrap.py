"""The composition root. Each role builds only what it uses:

- ``build_core(settings)``: the stores, the read models and the services that record
  events without key material. The projector, the dispatcher, ``danube migrate`` and
  ``danube replay`` build only this: they never load the master key (and the
  projector's and dispatcher's Deployments do not mount it).
- ``build_scheduler(settings)``: the core and the artifact store (``Scheduling``): cron,
  config sync and the reaper (``danube scheduler``, ``danube reap``). No master key either:
  cron resolves refs without secrets, and no webhook secret is cached there to forget.
- ``build_pod_adapter(settings)``: the core and what running jobs needs (``Execution``):
  the secret vault (sealed step material, the secrets masked in job output), job tokens,
  job output and git credentials. No inbox, manual triggers, webhook secrets, artifact
  store or provenance signer.
- ``build(settings)`` (``build_server``): everything (``Danube``): the API server (HTTP,
  GraphQL, the JobService, the inbox and the provenance follower), ``danube up`` and the
  CLI commands that open secrets.

The processes hand each part what it uses: handlers and loops receive use-case objects
and ports, never the container. Nothing is built at import time."""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.artifacts.filesystem import FilesystemArtifactStore
from adapters.crypto.keyfile import MasterKey, load_or_create_master_key
from adapters.crypto.signing import (
    SIGNING_KEY_FILE,
    Ed25519Signer,
    load_or_create_signing_key,
)
from adapters.forges.github import GitHubWebhooks
from adapters.forges.gitlab import GitLabWebhooks
from adapters.sql.store import SqlStore, StoreConfig, make_private
from api.execution.outputs import LogOutputs
from api.execution.vault import SecretVault
from api.logs import REDACTOR
from api.observability.options import observability_of
from api.observability.runs import ObservedRunsService
from api.observability.tracing import Tracing
from api.settings import Settings
from api.triggers.git import GitCommits, git_credentials, keyless_git_credentials
from api.triggers.secrets import WebhookSecrets
from domain.config.application import ConfigService
from domain.execution.git_access import GitCredentials
from domain.execution.relay import StepRelay
from domain.execution.tokens import JobTokens
from domain.runs.application import RunsService
from domain.secrets.application import SecretsService
from domain.system.application import SystemService
from domain.tokens.application import ApiTokens
from domain.triggers.manual import ManualTriggers
from domain.webhooks.application import Inbox
from projections.audit import AuditProjection
from projections.config import ConfigProjection
from projections.config_view import ConfigView, DeliveriesView
from projections.deliveries import DeliveriesProjection
from projections.model import Projection
from projections.runs import RunsProjection
from projections.runs_view import RunsView
from projections.tokens import TokensProjection, TokensView

MASTER_KEY_FILE = "master.key"


def store_config(settings: Settings) -> StoreConfig:
    return StoreConfig(
        kind=settings.event_store,
        data_dir=settings.data_dir.resolve(),
        database_url=settings.database_url.get_secret_value(),
        schema=settings.database_schema,
        pool_size=settings.database_pool_size,
        create_tables=settings.auto_migrate,
    )


def all_projections() -> list[Projection]:
    return [
        RunsProjection(),
        ConfigProjection(),
        DeliveriesProjection(),
        AuditProjection(),
        TokensProjection(),
    ]


@dataclass(kw_only=True)
class Core:
    """What every role holds: the stores, the read models and the services that record
    events without key material. Built by ``build_core``; closed by its owner."""

    settings: Settings
    store: SqlStore
    runs: RunsService
    system: SystemService
    config: ConfigService
    projections: list[Projection]
    views: RunsView
    config_view: ConfigView
    deliveries: DeliveriesView
    api_tokens: ApiTokens  # personal API tokens (api/auth): no key material
    tokens_view: TokensView
    tracing: Tracing = field(default_factory=Tracing)
    # Steps started and ended in this process, told past the read model (see the module).
    step_relay: StepRelay = field(default_factory=StepRelay)
    closed: bool = False
    # Set when the process begins to stop: read-your-writes waits give up at once.
    stopping: threading.Event = field(default_factory=threading.Event)

    def wait_for_views(
        self, position: int, timeout: float = 10.0, only: Collection[str] = ()
    ) -> bool:
        """Read-your-writes: block until every projection (or those named in ``only``)
        has folded ``position``. Woken at once by this process's projectors (or, on
        PostgreSQL, by NOTIFY); another process's SQLite projector is noticed by reading
        its position. False after ``timeout``, or at once when the process is stopping."""
        deadline = time.monotonic() + timeout
        for projection in self.projections:
            if only and projection.name not in only:
                continue
            progress = self.store.views.progress(projection.name)
            while not progress.wait_for_position(position, 0.05):
                if self.stopping.is_set():
                    return False
                if self.store.views.position(projection.name) >= position:
                    break
                if time.monotonic() > deadline:
                    return False
        return True

    def stop(self) -> None:
        """The process is stopping: whoever waits on the read models stops waiting."""
        self.stopping.set()
        self.store.views.announce_all()

    def close(self) -> None:
        if not self.closed:
            self.stopping.set()
            self.closed = True
            self.store.views.announce_all()  # wake anyone waiting on the read models
            self.tracing.shutdown()  # exports the spans still buffered
            self.store.close()


@dataclass(kw_only=True)
class Scheduling(Core):
    """The scheduler's role: the core and the artifact store (the reaper's). Built by
    ``build_scheduler``; no key material."""

    artifacts: FilesystemArtifactStore
    commits: GitCommits  # cron's refs: ssh_key entries only (secrets need the master key)


@dataclass(kw_only=True)
class Execution(Core):
    """The pod adapter's role: the core and what needs the master key to run jobs. Built
    by ``build_pod_adapter``."""

    secrets: SecretsService
    vault: SecretVault
    tokens: JobTokens
    logs: LogOutputs
    git_credentials: GitCredentials | None = None  # config.yaml git_authentication


@dataclass(kw_only=True)
class Danube(Execution):
    """Every capability: the API server's role, ``danube up``'s and the CLI's. Built by
    ``build``."""

    artifacts: FilesystemArtifactStore
    commits: GitCommits  # refs of manual and cron triggers, with git_authentication
    inbox: Inbox
    triggers: ManualTriggers
    webhook_secrets: WebhookSecrets
    signer: ProvenanceSigner


class ProvenanceSigner:
    """The data directory's signing key, loaded (or created) on first use and kept."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._signer: Ed25519Signer | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Ed25519Signer:
        with self._lock:
            if self._signer is None:
                self._signer = load_or_create_signing_key(self.path)
            return self._signer


def master_key(settings: Settings) -> MasterKey:
    make_private(settings.data_dir)
    return load_or_create_master_key(settings.data_dir.resolve() / MASTER_KEY_FILE)


def _redact_settings(settings: Settings) -> None:
    for secret in (
        settings.database_url,
        settings.github_webhook_secret,
        settings.gitlab_webhook_token,
        settings.oidc_client_secret,
    ):
        REDACTOR.add(secret.get_secret_value())


def build_core(settings: Settings) -> Core:
    """The composition of the roles that open no secret: no master key is read."""
    _redact_settings(settings)
    return Core(**_core_parts(settings))


def _core_parts(settings: Settings) -> dict[str, Any]:
    store = SqlStore(store_config(settings))
    projections = all_projections()
    for projection in projections:
        store.views.ensure(projection)
    config = ConfigService(store.log)
    tracing = Tracing.from_options(observability_of(config.current()))
    runs_projection, config_projection, deliveries_projection, *_ = projections
    return {
        "settings": settings,
        "store": store,
        "runs": ObservedRunsService(store.log, tracing),  # metrics and traces of a job's life
        "system": SystemService(store.log),
        "config": config,
        "projections": projections,
        "views": RunsView(store.views.reader(runs_projection)),
        "config_view": ConfigView(store.views.reader(config_projection)),
        "deliveries": DeliveriesView(store.views.reader(deliveries_projection)),
        "tracing": tracing,
        "api_tokens": ApiTokens(store.log),
        "tokens_view": TokensView(store.views.reader(projections[-1])),
    }


def build_scheduler(settings: Settings) -> Scheduling:
    """The scheduler's composition: no master key is read."""
    _redact_settings(settings)
    parts = _core_parts(settings)
    credentials = keyless_git_credentials(
        parts["config"], settings.config_repo_ssh_known_hosts_path, REDACTOR.add
    )
    return Scheduling(
        **parts, artifacts=_artifacts(settings), commits=_commits(settings, credentials)
    )


def build_pod_adapter(settings: Settings) -> Execution:
    """The pod adapter's composition: the core and what running jobs needs."""
    _redact_settings(settings)
    parts = _core_parts(settings)
    return Execution(**parts, **_execution_parts(settings, parts))


def build(settings: Settings) -> Danube:
    """Every capability (the API server, ``danube up``, the CLI)."""
    _redact_settings(settings)
    parts = _core_parts(settings)
    execution = _execution_parts(settings, parts)
    store: SqlStore = parts["store"]
    config: ConfigService = parts["config"]
    runs: RunsService = parts["runs"]
    system: SystemService = parts["system"]
    secrets: SecretsService = execution["secrets"]
    commits = _commits(settings, execution["git_credentials"])
    data_dir = settings.data_dir.resolve()
    return Danube(
        **parts,
        **execution,
        artifacts=_artifacts(settings),
        commits=commits,
        inbox=Inbox(
            store.log,
            runs,
            config,
            system,
            {"github": GitHubWebhooks(), "gitlab": GitLabWebhooks()},
        ),
        triggers=ManualTriggers(runs, config, system, commits),
        webhook_secrets=WebhookSecrets(
            {
                "github": settings.github_webhook_secret.get_secret_value(),
                "gitlab": settings.gitlab_webhook_token.get_secret_value(),
            },
            config,
            secrets,
        ),
        signer=ProvenanceSigner(data_dir / SIGNING_KEY_FILE),
    )


build_server = build  # the API server uses every capability


def _commits(settings: Settings, credentials: GitCredentials) -> GitCommits:
    """Ref resolution: ``credentials`` where a ``git_authentication`` entry matches, else
    the server's own ssh key (if any)."""
    return GitCommits(
        settings.config_repo_ssh_key_path,
        settings.config_repo_ssh_known_hosts_path,
        credentials=credentials,
    )


def _artifacts(settings: Settings) -> FilesystemArtifactStore:
    return FilesystemArtifactStore(settings.data_dir.resolve() / "artifacts")


def _execution_parts(settings: Settings, parts: dict[str, Any]) -> dict[str, Any]:
    """What the master key opens, and what uses it: the vault, secrets, job tokens, job
    output (it masks secret values) and git credentials (from secrets)."""
    store: SqlStore = parts["store"]
    try:
        key = master_key(settings)
    except BaseException:
        store.close()
        raise
    vault = SecretVault(key, store.keys, settings.data_dir.resolve() / MASTER_KEY_FILE)
    secrets = SecretsService(store.log, vault)
    credentials = git_credentials(
        parts["config"],
        secrets,
        settings.github_api_url,
        settings.config_repo_ssh_known_hosts_path,
        REDACTOR.add,
    )
    return {
        "secrets": secrets,
        "vault": vault,
        "tokens": JobTokens(key.derive(b"danube job tokens")),
        "logs": LogOutputs(store.logs, secrets),
        "git_credentials": credentials,
    }
