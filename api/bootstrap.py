"""The composition root: ``build(settings)`` constructs everything a process needs.
The HTTP app, the processes, the CLI and the tests all call it; nothing is built at
import time."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.sql.store import SqlStore, StoreConfig
from api.logs import REDACTOR
from api.settings import Settings
from domain.runs.application import RunsService
from projections.model import Projection
from projections.runs import RunsProjection
from projections.runs_view import RunsView


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
    settings: Settings
    store: SqlStore
    runs: RunsService
    projections: list[Projection]
    views: RunsView
    closed: bool = field(default=False)

    def wait_for_views(self, position: int, timeout: float = 5.0) -> bool:
        """Read-your-writes: block until every projection has folded ``position``."""
        return all(
            self.store.views.progress(p.name).wait_for_position(position, timeout)
            or self.store.views.position(p.name) >= position
            for p in self.projections
        )

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.store.close()


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
    runs_projection = projections[0]
    for projection in projections:
        store.views.ensure(projection)
    return Danube(
        settings=settings,
        store=store,
        runs=RunsService(store.log),
        projections=projections,
        views=RunsView(store.views.reader(runs_projection)),
    )
