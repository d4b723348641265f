"""Resolvers: parse the input, call one application method, and map domain errors to
GraphQL errors whose ``extensions.code`` says what kind of refusal it was. No business
rule lives here."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool

from api.bootstrap import Danube
from domain.cause import Cause
from domain.triggers.manual import (
    DrainingError,
    PipelineNotFoundError,
    TriggeredRun,
    TriggerRefusedError,
)

API = Cause(actor="api", trigger="api")
MAX_REF_LENGTH = 255  # as the REST route

NOT_FOUND, BAD_USER_INPUT, UNAVAILABLE = "NOT_FOUND", "BAD_USER_INPUT", "UNAVAILABLE"
EXPECTED_CODES = frozenset({NOT_FOUND, BAD_USER_INPUT, UNAVAILABLE})


def refusal(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def is_refusal(error: GraphQLError) -> bool:
    """An error the caller caused or must wait out (not worth a traceback in the log)."""
    original = error.original_error if error.original_error is not None else error
    code = (getattr(original, "extensions", None) or {}).get("code")
    return code in EXPECTED_CODES


async def trigger_run(danube: Danube, pipeline: str, ref: str) -> TriggeredRun:
    """``POST /api/v1/pipelines/{name}/runs``, through GraphQL: the same command."""
    if not pipeline:
        raise refusal("pipeline must not be empty", BAD_USER_INPUT)
    if not ref or len(ref) > MAX_REF_LENGTH:
        raise refusal(f"ref must be 1 to {MAX_REF_LENGTH} characters long", BAD_USER_INPUT)
    try:
        return await run_in_threadpool(danube.triggers.trigger, pipeline, ref, API, "api")
    except PipelineNotFoundError as error:
        raise refusal(str(error), NOT_FOUND) from None
    except DrainingError as error:
        raise refusal(str(error), UNAVAILABLE) from None
    except TriggerRefusedError as error:
        raise refusal(str(error), BAD_USER_INPUT) from None


async def pipelines(danube: Danube) -> list[dict[str, Any]]:
    """The pipelines of the configuration in force, by name."""
    rows = await run_in_threadpool(danube.config_view.pipelines)
    return sorted(rows, key=lambda row: str(row["id"]))
