"""The application layer of one process, built from what the composition root built."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from api.app.access import Access
from api.app.admin import Admin
from api.app.commands import Commands
from api.app.live import Live
from api.app.principal import Principals
from api.app.queries import Queries
from api.auth import local_admin
from api.observability.metrics import danube_metrics
from domain.auth.aggregates import DenialsService
from domain.ids import JobId
from projections.audit import AuditView
from projections.model import Projection

if TYPE_CHECKING:
    from api.bootstrap import Danube


@dataclass(frozen=True)
class Application:
    queries: Queries
    commands: Commands
    live: Live
    principals: Principals
    access: Access
    admin: Admin


def of_app(state: Any) -> Application:
    """The application layer of a FastAPI app's process (built by ``create_app``): REST
    and GraphQL share it."""
    built: Application = state.application
    return built


def _projection(danube: Danube, name: str) -> Projection:
    return next(projection for projection in danube.projections if projection.name == name)


def application(danube: Danube) -> Application:
    def lag() -> dict[str, float]:
        """Seconds since the oldest event each read model has not folded (0: caught up);
        in time, never in notification ids (they have gaps on PostgreSQL)."""
        head = danube.store.feed.max_position()
        now = datetime.now(UTC)
        lags = {}
        for projection in danube.projections:
            position = danube.store.views.position(projection.name)
            since = danube.store.feed.recorded_after(position) if position < head else None
            lags[projection.name] = 0.0 if since is None else max((now - since).total_seconds(), 0)
        return lags

    access = Access(DenialsService(danube.store.log), danube_metrics().auth_denied.inc)
    queries = Queries(
        danube.views,
        danube.artifacts,
        danube.config_view,
        danube.logs,
        danube.runs,
        danube.system,
        danube.store.log,
        lag,
        AuditView(danube.store.views.reader(_projection(danube, "audit"))),
        access,
        danube.deliveries,
    )
    live = Live(
        queries,
        lambda: danube.store.views.progress("runs"),
        lambda job_id: danube.logs.progress(JobId(UUID(job_id))),
        danube_metrics().subscription_changed,
    )
    commands = Commands(
        danube.triggers,
        danube.runs,
        danube.system,
        danube.views,
        danube.wait_for_views,
        access,
        danube.inbox,
        danube.deliveries,
        danube.secrets,
        danube.vault,
    )

    principals = Principals(danube.config.current, lambda: (local_admin.team(),))
    settings = danube.settings
    admin = Admin(queries, commands, settings.config_repo_url, settings.config_repo_branch)
    return Application(queries, commands, live, principals, access, admin)
