"""The GraphQL schema: queries over the read models (and the event log, for time travel
and audit), mutations for commands, subscriptions for live runs, jobs and logs.
``build_schema()`` makes a schema; nothing is built at import time.

Every query is guarded by depth, alias and token limits and page sizes; lists of many
runs or jobs load their jobs, steps and artifacts through DataLoaders (one read per
kind of thing, not one per item)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, Info

from api.app import queries
from api.app.errors import AppError, UnavailableError
from api.app.queries import MAX_LOG_CHUNK, MAX_PAGE, RunFilter, run_cursor
from api.graphql import admin, direct, resolvers
from api.graphql.context import fresh_loaders, subscriber
from api.graphql.documents import Documents, RememberedDocuments
from api.graphql.resolvers import act, ask
from api.graphql.sharing import SharingExecutor, shown
from api.graphql.tokens import TokenMutation, TokenQuery
from api.graphql.types import (
    AuditConnection,
    AuditEdge,
    AuditEntry,
    AuditFilter,
    CancelRunResult,
    DrainState,
    Event,
    InvalidInput,
    Job,
    LogChunk,
    PageInfo,
    Pipeline,
    PipelineNotFound,
    ProjectionLag,
    QueueEntry,
    RemoveSecretResult,
    RerunResult,
    RerunStarted,
    RotateSecretsKeyResult,
    RotationFailed,
    Run,
    RunCancelled,
    RunConnection,
    RunEdge,
    RunNotCancellable,
    RunNotFinished,
    RunNotFound,
    RunsFilter,
    SecretChanged,
    SecretNotFound,
    SecretRead,
    SecretsKeyRotated,
    SetSecretResult,
    Step,
    SystemStatus,
    TriggeredRun,
    TriggerRunResult,
    Unavailable,
    Viewer,
)
from api.observability.spans import GraphQLSpans

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 2000

Ctx = Info[dict[str, Any], None]


def _run_filter(given: RunsFilter | None) -> RunFilter:
    if given is None:
        return RunFilter()
    state = given.state.value if given.state is not None else ""
    return RunFilter(given.pipeline, given.branch, state, given.trigger, given.actor)


@strawberry.type
class Query:
    @strawberry.field(description="Who is signed in (null when nobody is).")
    def viewer(self, info: Ctx) -> Viewer | None:
        principal = info.context["principal"]
        if not principal.authenticated or not principal.name:
            return None
        return Viewer(
            name=principal.name,
            email=principal.email,
            teams=principal.teams,
            global_admin=principal.global_admin,
        )

    @strawberry.field(description="Every pipeline: configured ones and those seen in runs.")
    async def pipelines(self, info: Ctx) -> list[Pipeline]:
        return [
            Pipeline.of(p)
            for p in await ask(info.context["queries"].pipelines, info.context["principal"])
        ]

    @strawberry.field
    async def pipeline(self, info: Ctx, name: str) -> Pipeline:
        return Pipeline.of(
            await ask(info.context["queries"].pipeline, info.context["principal"], name)
        )

    @strawberry.field(description=f"Runs newest first; at most {MAX_PAGE} a page.")
    async def runs(
        self,
        info: Ctx,
        filter: RunsFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> RunConnection:
        principal = info.context["principal"]
        page = await ask(info.context["queries"].runs, principal, _run_filter(filter), first, after)
        edges = [RunEdge(cursor=run_cursor(run), node=Run.of(run)) for run in page.items]
        return RunConnection(
            edges=edges,
            page_info=PageInfo(end_cursor=page.end_cursor, has_next_page=page.has_next_page),
        )

    @strawberry.field(
        description="A run; with asOfVersion, exactly as it was after that event of it."
    )
    async def run(self, info: Ctx, id: strawberry.ID, as_of_version: int | None = None) -> Run:
        queries, principal = info.context["queries"], info.context["principal"]
        if as_of_version is not None:
            return Run.as_of(await ask(queries.run_as_of, principal, str(id), as_of_version))
        return Run.of(await ask(queries.run, principal, str(id)))

    @strawberry.field
    async def job(self, info: Ctx, id: strawberry.ID) -> Job:
        return Job.of(await ask(info.context["queries"].job, info.context["principal"], str(id)))

    @strawberry.field(description=f"A job's log from a byte offset; at most {MAX_LOG_CHUNK} bytes.")
    async def log(
        self, info: Ctx, job_id: strawberry.ID, from_offset: int = 0, limit: int = MAX_LOG_CHUNK
    ) -> LogChunk:
        queries, principal = info.context["queries"], info.context["principal"]
        return LogChunk.of(await ask(queries.log, principal, str(job_id), from_offset, limit))

    @strawberry.field(description="Jobs waiting to start, in order, each with why it waits.")
    async def queue(self, info: Ctx) -> list[QueueEntry]:
        entries = await ask(info.context["queries"].queue, info.context["principal"])
        return [
            QueueEntry(position=e.position, job=Job.of(e.job), reason=e.reason) for e in entries
        ]

    @strawberry.field(description="The raw event history of a run, oldest first (audit).")
    async def events(self, info: Ctx, run_id: strawberry.ID) -> list[Event]:
        found = await ask(info.context["queries"].events, info.context["principal"], str(run_id))
        return [
            Event(version=e.version, type=e.type, timestamp=e.timestamp, data=e.data) for e in found
        ]

    @strawberry.field(
        description="Who did what and when, newest first: runs requested, cancelled and "
        "finished, secrets read, configs accepted or rejected, draining, deliveries; a run's "
        "entries name the delivery that triggered it, the run and the job."
    )
    async def audit_trail(
        self,
        info: Ctx,
        filter: AuditFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> AuditConnection:
        given = filter or AuditFilter()
        wanted = queries.AuditFilter(given.pipeline, given.actor, given.run_id, given.action)
        principal = info.context["principal"]
        page = await ask(info.context["queries"].audit_trail, principal, wanted, first, after)
        edges = [AuditEdge(cursor=entry.id, node=AuditEntry.of(entry)) for entry in page.items]
        info_ = PageInfo(end_cursor=page.end_cursor, has_next_page=page.has_next_page)
        return AuditConnection(edges=edges, page_info=info_)

    @strawberry.field(
        description="The secrets ledger: which jobs were handed which secret (key: only "
        "that one) since a time (ISO 8601), oldest first; of pipelines the viewer reads."
    )
    async def secret_reads(
        self, info: Ctx, key: str = "", since: str = "", pipeline: str = "", first: int = MAX_PAGE
    ) -> list[SecretRead]:
        queries, principal = info.context["queries"], info.context["principal"]
        found = await ask(queries.secret_reads, principal, key, since, pipeline, first)
        return [SecretRead.of(read) for read in found]

    @strawberry.field(description="Draining, the config commit in force, read-model lag.")
    async def status(self, info: Ctx) -> SystemStatus:
        status = await ask(info.context["queries"].status, info.context["principal"])
        lag = [
            ProjectionLag(projection=k, seconds=v) for k, v in status.projection_lag_seconds.items()
        ]
        return SystemStatus(
            draining=status.draining, config_commit=status.config_commit, projection_lag=lag
        )

    config: admin.ConfigStatus = strawberry.field(
        resolver=admin.config_status,
        description="The config commit in force, the last rejected one with its errors.",
    )
    deliveries: list[admin.Delivery] = strawberry.field(
        resolver=admin.deliveries, description="Stored webhook deliveries, newest first."
    )


def _problem(error: AppError) -> Any:
    if isinstance(error, UnavailableError):
        return Unavailable(message=error.message, code=error.code)
    if resolvers.is_not_found(error):
        return None
    if resolvers.is_conflict(error):
        return RunNotCancellable(message=error.message, code=error.code)
    return InvalidInput(message=error.message, code=error.code)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Start a run of a configured pipeline at a ref (branch, tag or commit); "
        "the commit is resolved from the pipeline's repository."
    )
    async def trigger_run(self, info: Ctx, pipeline: str, ref: str) -> TriggerRunResult:
        principal = info.context["principal"]
        result = await act(info.context["commands"].trigger, principal, pipeline, ref)
        if isinstance(result, AppError):
            if resolvers.is_not_found(result):
                return PipelineNotFound(message=result.message, code=result.code)
            return _problem(result)  # type: ignore[no-any-return]
        return TriggeredRun(
            pipeline=pipeline,
            run_ids=[strawberry.ID(result.run_id.hex)],
            commit=result.commit,
            ref=result.ref,
        )

    @strawberry.mutation(description="Cancel every unfinished job of a run.")
    async def cancel_run(self, info: Ctx, run_id: strawberry.ID) -> CancelRunResult:
        commands, queries = info.context["commands"], info.context["queries"]
        result = await act(commands.cancel_run, info.context["principal"], str(run_id))
        if isinstance(result, AppError):
            if resolvers.is_not_found(result):
                return RunNotFound(message=result.message, code=result.code)
            return _problem(result)  # type: ignore[no-any-return]
        return RunCancelled(
            run=Run.of(await ask(queries.run, info.context["principal"], result.run_id))
        )

    @strawberry.mutation(
        description="Start a new run of what a run ran, recording the run it retries; with "
        "onlyFailed, jobs that succeeded are reused (marked reusedFrom) and not run again."
    )
    async def rerun(
        self, info: Ctx, run_id: strawberry.ID, only_failed: bool = False
    ) -> RerunResult:
        commands, queries = info.context["commands"], info.context["queries"]
        result = await act(commands.rerun, info.context["principal"], str(run_id), only_failed)
        if isinstance(result, AppError):
            if resolvers.is_not_found(result):
                return RunNotFound(message=result.message, code=result.code)
            if resolvers.is_conflict(result):
                return RunNotFinished(message=result.message, code=result.code)
            return InvalidInput(message=result.message, code=result.code)
        return RerunStarted(run=Run.of(await ask(queries.run, info.context["principal"], result)))

    @strawberry.mutation(description="Stop starting new runs; running jobs finish.")
    async def drain(self, info: Ctx) -> DrainState:
        await act(info.context["commands"].drain, info.context["principal"])
        return DrainState(draining=True)

    @strawberry.mutation(description="Accept and start runs again.")
    async def undrain(self, info: Ctx) -> DrainState:
        await act(info.context["commands"].undrain, info.context["principal"])
        return DrainState(draining=False)

    replay_delivery: admin.ReplayDeliveryResult = strawberry.mutation(
        resolver=admin.replay_delivery,
        description="Process a stored webhook delivery again with the config in force now "
        "(never a second run of a trigger that already ran); refused while draining.",
    )

    @strawberry.mutation(
        description="Set a secret of a pipeline (its admins) or, with pipeline empty, a "
        "global one (global admins). The value is write-only: it is never returned."
    )
    async def set_secret(
        self, info: Ctx, key: str, value: str, pipeline: str = ""
    ) -> SetSecretResult:
        commands = info.context["commands"]
        result = await act(commands.set_secret, info.context["principal"], pipeline, key, value)
        if isinstance(result, AppError):
            return InvalidInput(message=result.message, code=result.code)
        return SecretChanged(pipeline=result.pipeline, key=result.key)

    @strawberry.mutation(
        description="Remove a secret and destroy its data keys: its old values can never be "
        "decrypted again, even with the master key and the whole event log."
    )
    async def remove_secret(self, info: Ctx, key: str, pipeline: str = "") -> RemoveSecretResult:
        commands = info.context["commands"]
        result = await act(commands.remove_secret, info.context["principal"], pipeline, key)
        if isinstance(result, AppError):
            if resolvers.is_not_found(result):
                return SecretNotFound(message=result.message, code=result.code)
            return InvalidInput(message=result.message, code=result.code)
        return SecretChanged(pipeline=result.pipeline, key=result.key)

    @strawberry.mutation(
        description="Re-wrap every secret's data key under a new master key (global admins)."
    )
    async def rotate_secrets_key(self, info: Ctx) -> RotateSecretsKeyResult:
        commands = info.context["commands"]
        result = await act(commands.rotate_secrets_key, info.context["principal"])
        if isinstance(result, AppError):
            return RotationFailed(message=result.message, code=result.code)
        return SecretsKeyRotated(
            old_key_id=result.old_key_id, new_key_id=result.new_key_id, rewrapped=result.rewrapped
        )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Every change of a run (of one pipeline, or any), from now on; each "
        "carries the run's version."
    )
    async def run_updated(self, info: Ctx, pipeline: str = "") -> AsyncGenerator[Run, None]:
        live = info.context["live"]
        await subscriber(info.context)
        runs = live.runs(info.context["asker"], RunFilter(pipeline=pipeline))
        async for run in resolvers.refusing(runs):
            fresh_loaders(info.context)
            message = shown(info.context, run, Run.of)
            if not await direct.sent(message):
                yield message

    @strawberry.subscription(
        description="Every change of a run matching the filter (as the runs query's), from "
        "now on, in the order the changes happened; each carries the run's version. With a "
        "state, also the change that takes a run out of it (the run in its new state), so a "
        "list stays right. Only runs of pipelines the subscriber may read."
    )
    async def runs_changed(
        self, info: Ctx, filter: RunsFilter | None = None
    ) -> AsyncGenerator[Run, None]:
        live = info.context["live"]
        await subscriber(info.context)
        runs = live.runs(info.context["asker"], _run_filter(filter), "runsChanged")
        async for run in resolvers.refusing(runs):
            fresh_loaders(info.context)
            message = shown(info.context, run, Run.of)
            if not await direct.sent(message):
                yield message

    @strawberry.subscription(description="The job now, then at every change; ends when it ends.")
    async def job_updated(self, info: Ctx, job_id: strawberry.ID) -> AsyncGenerator[Job, None]:
        principal = await subscriber(info.context)
        live, asker = info.context["live"], info.context["asker"]
        await ask(info.context["queries"].job, principal, str(job_id))
        async for job, steps in resolvers.refusing(live.job(asker, str(job_id))):
            fresh_loaders(info.context)
            shown = Job.of(job)
            shown.preloaded_steps = [Step.of(step) for step in steps]
            if not await direct.sent(shown):
                yield shown

    @strawberry.subscription(
        description="The job's log from a byte offset in batches as it grows; after the "
        "job ended and every byte was sent, a last chunk with complete = true, then the end."
    )
    async def log_appended(
        self, info: Ctx, job_id: strawberry.ID, from_offset: int = 0
    ) -> AsyncGenerator[LogChunk, None]:
        principal = await subscriber(info.context)
        live, asker = info.context["live"], info.context["asker"]
        await ask(info.context["queries"].job, principal, str(job_id))
        if from_offset < 0:
            raise GraphQLError(
                "fromOffset must not be negative", extensions={"code": "BAD_USER_INPUT"}
            )
        async for chunk in resolvers.refusing(live.log(asker, str(job_id), from_offset)):
            message = shown(info.context, chunk, LogChunk.of)
            if not await direct.sent(message):
                yield message


class DanubeSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log what went wrong on our side; refusals are the caller's answer, not ours."""
        unexpected = [error for error in errors if not resolvers.is_refusal(error)]
        super().process_errors(unexpected, execution_context)


def build_schema() -> strawberry.Schema:
    documents = Documents()  # for this schema's life: its limits are fixed
    # The limits' validation rules, made once (the limiters make a rule class each time
    # they are made, which is for every request and subscription).
    limits = [
        *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
        *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
    ]
    return DanubeSchema(
        query=merge_types("Query", (Query, TokenQuery)),
        mutation=merge_types("Mutation", (Mutation, TokenMutation)),
        subscription=Subscription,
        execution_context_class=SharingExecutor,
        extensions=[
            partial(AddValidationRules, limits),
            partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
            GraphQLSpans,
            partial(RememberedDocuments, documents=documents),  # after the limits
        ],
    )
