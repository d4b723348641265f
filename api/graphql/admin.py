"""GraphQL for the Admin page: the config in force and its last rejection with errors,
webhook deliveries and replaying one. Fields of ``Query``/``Mutation`` in
``api.graphql.schema``; each calls one method of ``api.app.admin.Admin``."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.app import admin
from api.app.errors import AppError, UnavailableError
from api.graphql import resolvers
from api.graphql.resolvers import act, ask
from api.graphql.types import InvalidInput, Problem, Unavailable

Ctx = Info[dict[str, Any], None]


@strawberry.type(description="A problem of a config commit: where, and what.")
class ConfigError:
    file: str
    line: int | None
    field: str
    message: str


@strawberry.type(description="A config commit that was refused; the one before stays in force.")
class ConfigRejection:
    commit: str
    at: str
    errors: list[ConfigError]


@strawberry.type(description="The config repository: what is in force, what was refused.")
class ConfigStatus:
    repository: str
    branch: str
    commit: str | None = strawberry.field(description="The commit in force (null: none yet).")
    synced_at: str | None
    last_rejection: ConfigRejection | None
    fetch_problem: str | None = strawberry.field(description="Why fetching fails now, if it does.")
    fetch_problem_at: str | None

    @classmethod
    def of(cls, status: admin.ConfigStatus) -> ConfigStatus:
        rejection = None
        if status.rejected_commit:
            errors = [ConfigError(file=e.file, line=e.line, field=e.field, message=e.message)
                      for e in status.errors]  # fmt: skip
            rejection = ConfigRejection(
                commit=status.rejected_commit, at=status.rejected_at or "", errors=errors
            )
        return cls(
            repository=status.repository,
            branch=status.branch,
            commit=status.commit,
            synced_at=status.synced_at,
            last_rejection=rejection,
            fetch_problem=status.fetch_problem,
            fetch_problem_at=status.fetch_problem_at,
        )


@strawberry.type(description="A stored webhook delivery and what became of it.")
class Delivery:
    id: strawberry.ID
    provider: str
    delivery_id: str = strawberry.field(description="The forge's own id of the delivery.")
    event: str
    received_at: str
    processed: bool
    outcome: str = strawberry.field(description="started, ignored, failed or pending.")
    run_ids: list[strawberry.ID]
    reason: str
    processed_at: str | None
    replays: int

    @classmethod
    def of(cls, found: admin.DeliveryResult) -> Delivery:
        return cls(
            id=strawberry.ID(found.id),
            provider=found.provider,
            delivery_id=found.delivery_id,
            event=found.event,
            received_at=found.received_at,
            processed=found.processed,
            outcome=found.outcome,
            run_ids=[strawberry.ID(run) for run in found.runs],
            reason=found.reason,
            processed_at=found.processed_at,
            replays=found.replays,
        )


@strawberry.type(description="What processing the delivery again did.")
class DeliveryReplayed:
    outcome: str
    run_ids: list[strawberry.ID]
    reason: str


@strawberry.type
class DeliveryNotFound(Problem):
    pass


ReplayDeliveryResult = Annotated[
    DeliveryReplayed | DeliveryNotFound | InvalidInput | Unavailable,
    strawberry.union("ReplayDeliveryResult"),
]


async def config_status(info: Ctx) -> ConfigStatus:
    return ConfigStatus.of(await ask(info.context["admin"].config, info.context["principal"]))


async def deliveries(info: Ctx, first: int = 50, provider: str = "") -> list[Delivery]:
    """Stored webhook deliveries, newest first."""
    found = await ask(info.context["admin"].deliveries, info.context["principal"], first, provider)
    return [Delivery.of(delivery) for delivery in found]


async def replay_delivery(info: Ctx, id: strawberry.ID) -> ReplayDeliveryResult:
    """Process a stored delivery again with the config in force now (never a second run
    of a trigger that already ran); refused while draining."""
    result = await act(info.context["admin"].replay_delivery, info.context["principal"], str(id))
    if isinstance(result, AppError):
        if resolvers.is_not_found(result):
            return DeliveryNotFound(message=result.message, code=result.code)
        if isinstance(result, UnavailableError):
            return Unavailable(message=result.message, code=result.code)
        return InvalidInput(message=result.message, code=result.code)
    runs = [strawberry.ID(run) for run in result.runs]
    return DeliveryReplayed(outcome=result.outcome, run_ids=runs, reason=result.reason)
