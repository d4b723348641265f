"""The composition root: ``build(settings)`` constructs everything a process needs.
The HTTP app, the processes, the CLI and the tests all call it; nothing is built at
import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapters.artifacts.filesystem import FilesystemArtifactStore
from adapters.crypto.keyfile import MasterKey, load_or_create_master_key
from adapters.sql.store import SqlStore, StoreConfig
from api.execution.outputs import LogOutputs
from api.execution.vault import SecretVault
from api.logs import REDACTOR
from api.settings import Settings
from domain.execution.tokens import JobTokens
from domain.runs.application import RunsService
from domain.secrets.application import SecretsService
from domain.system.application import SystemService
from projections.model import Projection
from projections.runs import RunsProjection
from projections.runs_view import RunsView

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
    return [RunsProjection()]


@dataclass
class Danube:
    """Everything one process works with. Built by ``build``; closed by its owner."""

    settings: Settings
    store: SqlStore
    runs: RunsService
    system: SystemService
    secrets: SecretsService
    vault: SecretVault
    tokens: JobTokens
    logs: LogOutputs
    artifacts: FilesystemArtifactStore
    projections: list[Projection]
    views: RunsView
    extras: dict[str, Any] = field(default_factory=dict)
    closed: bool = False

    def wait_for_views(self, position: int, timeout: float = 10.0) -> bool:
        """Read-your-writes: block until every projection has folded ``position``."""
        return all(
            self.store.views.progress(p.name).wait_for_position(position, timeout)
            or self.store.views.position(p.name) >= position
            for p in self.projections
        )

    def seal_env(self, env: dict[str, str]) -> dict[str, str]:
        return self.vault.seal_env(env)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.store.views.announce_all()  # wake anyone waiting on the read models
            self.store.close()


def master_key(settings: Settings) -> MasterKey:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return load_or_create_master_key(settings.data_dir.resolve() / MASTER_KEY_FILE)


def build(settings: Settings) -> Danube:
    for secret in (
        settings.database_url,
        settings.github_webhook_secret,
        settings.gitlab_webhook_token,
        settings.oidc_client_secret,
    ):
        REDACTOR.add(secret.get_secret_value())
    store = SqlStore(store_config(settings))
    projections = all_projections()
    for projection in projections:
        store.views.ensure(projection)
    key = master_key(settings)
    vault = SecretVault(key, store.keys)
    secrets = SecretsService(store.log, vault)
    return Danube(
        settings=settings,
        store=store,
        runs=RunsService(store.log),
        system=SystemService(store.log),
        secrets=secrets,
        vault=vault,
        tokens=JobTokens(key.derive(b"danube job tokens")),
        logs=LogOutputs(store.logs, secrets),
        artifacts=FilesystemArtifactStore(settings.data_dir.resolve() / "artifacts"),
        projections=projections,
        views=RunsView(store.views.reader(projections[0])),
    )
