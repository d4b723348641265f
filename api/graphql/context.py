"""Per-request GraphQL context: the application layer and the DataLoaders that batch
what a query asks of many runs or jobs into one read each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from strawberry.dataloader import DataLoader

from api.app.principal import Principal
from api.app.queries import Queries
from api.app.results import ArtifactResult, JobResult, StepResult
from api.app.wiring import Application
from api.identity import caller_of, with_bearer

K = TypeVar("K")
V = TypeVar("V")


def _batched(read: Callable[[Sequence[K]], list[V]]) -> DataLoader[K, V]:
    async def load(keys: list[K]) -> list[V]:
        return await run_in_threadpool(read, keys)

    return DataLoader(load_fn=load)


class Loaders:
    """The DataLoaders of one request (or one subscription message), each made when
    first used: most subscription messages are answered from another subscriber's
    execution (``api.graphql.sharing``) and read nothing."""

    def __init__(self, queries: Queries) -> None:
        self._queries = queries

    @classmethod
    def of(cls, queries: Queries) -> Loaders:
        return cls(queries)

    @cached_property
    def jobs(self) -> DataLoader[str, JobResult | None]:
        return _batched(self._queries.jobs)

    @cached_property
    def steps(self) -> DataLoader[str, list[StepResult]]:
        return _batched(self._queries.steps_of)

    @cached_property
    def artifacts(self) -> DataLoader[str, list[ArtifactResult]]:
        return _batched(self._queries.artifacts_of)


def fresh_loaders(context: dict[str, Any]) -> None:
    """A subscription's next message reads its nested fields anew: the DataLoaders cache
    what they read for the whole context (a connection), which would hand every later
    message the jobs and steps as they were in the first."""
    context["loaders"] = Loaders.of(context["queries"])


async def subscriber(context: dict[str, Any]) -> Principal:
    """The principal of a subscription: from the upgrade request's cookie or header, or
    else from ``Authorization`` in the ``connection_init`` payload (browsers' WebSocket
    cannot set headers). Keeps the context's asker in step."""
    params = context.get("connection_params") or {}
    bearer = (
        params.get("Authorization") or params.get("authorization")
        if isinstance(params, dict)
        else None
    )
    if isinstance(bearer, str) and bearer and not context["principal"].authenticated:
        caller = await caller_of(with_bearer(context["connection"], bearer))
        context["principal"], context["asker"] = caller.principal, caller.again
    principal: Principal = context["principal"]
    return principal


def context_of(app: Application, principal: Principal) -> dict[str, Any]:
    return {
        "queries": app.queries,
        "commands": app.commands,
        "live": app.live,
        "admin": app.admin,
        "principal": principal,
        "loaders": Loaders.of(app.queries),
    }
