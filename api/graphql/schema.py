"""The GraphQL schema: its types, the ``pipelines`` query and the ``triggerRun``
mutation. ``build_schema()`` makes a schema; nothing is built at import time."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext, Info

from api.bootstrap import Danube
from api.graphql import resolvers
from api.observability.spans import GraphQLSpans


@strawberry.type(description="A pipeline of the configuration in force.")
class Pipeline:
    name: str
    repository: str


@strawberry.type(description="What triggerRun started: its runs and the commit resolved.")
class TriggeredRun:
    pipeline: str
    run_ids: list[strawberry.ID]
    commit: str = strawberry.field(description="The commit SHA the ref resolved to.")
    ref: str = strawberry.field(description="The full ref, e.g. refs/heads/main.")


def _danube(info: Info[dict[str, Any], None]) -> Danube:
    danube: Danube = info.context["danube"]
    return danube


async def _pipelines(info: Info[dict[str, Any], None]) -> list[Pipeline]:
    rows = await resolvers.pipelines(_danube(info))
    return [Pipeline(name=row["id"], repository=row["repository"]) for row in rows]


async def _trigger_run(info: Info[dict[str, Any], None], pipeline: str, ref: str) -> TriggeredRun:
    run = await resolvers.trigger_run(_danube(info), pipeline, ref)
    return TriggeredRun(
        pipeline=pipeline,
        run_ids=[strawberry.ID(run.run_id.hex)],
        commit=run.commit,
        ref=run.ref,
    )


@strawberry.type
class Query:
    pipelines: list[Pipeline] = strawberry.field(
        resolver=_pipelines, description="The pipelines of the configuration in force."
    )


@strawberry.type
class Mutation:
    trigger_run: TriggeredRun = strawberry.mutation(
        resolver=_trigger_run,
        description="Start a run of a configured pipeline at a ref (branch, tag or commit); "
        "the commit is resolved from the pipeline's repository.",
    )


class DanubeSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log what went wrong on our side; refusals are the caller's answer, not ours."""
        unexpected = [error for error in errors if not resolvers.is_refusal(error)]
        super().process_errors(unexpected, execution_context)


def build_schema() -> strawberry.Schema:
    return DanubeSchema(query=Query, mutation=Mutation, extensions=[GraphQLSpans])
