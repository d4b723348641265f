"""Resolvers: parse the input, call one application-layer function, and map its errors:
to a GraphQL error whose ``extensions.code`` names the refusal (queries), or to the
failure member of a mutation's result union. No business rule lives here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool

from api.app.errors import (
    AppError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    UnauthenticatedError,
)

T = TypeVar("T")
EXPECTED_CODES = frozenset(
    {"NOT_FOUND", "BAD_USER_INPUT", "UNAVAILABLE", "CONFLICT", "UNAUTHENTICATED", "FORBIDDEN"}
)


def refusal(error: AppError) -> GraphQLError:
    return GraphQLError(error.message, extensions={"code": error.code})


def is_refusal(error: GraphQLError) -> bool:
    """An error the caller caused or must wait out (not worth a traceback in the log)."""
    original = error.original_error if error.original_error is not None else error
    code = (getattr(original, "extensions", None) or {}).get("code")
    return code in EXPECTED_CODES


async def ask(read: Callable[..., T], *args: Any) -> T:
    """A query, off the event loop; application errors become GraphQL errors."""
    try:
        return await run_in_threadpool(read, *args)
    except AppError as error:
        raise refusal(error) from None


async def act(command: Callable[..., T], *args: Any) -> T | AppError:
    """A command, off the event loop; an application error is returned, for the
    mutation to answer with its result union's failure member, except a refusal of
    access: that is a GraphQL error (``UNAUTHENTICATED``/``FORBIDDEN``), as for queries."""
    try:
        return await run_in_threadpool(command, *args)
    except (UnauthenticatedError, ForbiddenError) as error:
        raise refusal(error) from None
    except AppError as error:
        return error


async def refusing(source: AsyncIterator[T]) -> AsyncIterator[T]:
    """A live feed whose application errors (a refusal when the subscriber's rights
    went away, a subscriber that fell behind) end it as GraphQL errors with a code."""
    try:
        async for item in source:
            yield item
    except AppError as error:
        raise refusal(error) from None
    finally:
        close = getattr(source, "aclose", None)
        if close is not None:
            await close()


def is_not_found(error: AppError) -> bool:
    return isinstance(error, NotFoundError)


def is_conflict(error: AppError) -> bool:
    return isinstance(error, ConflictError)


def is_invalid(error: AppError) -> bool:
    return isinstance(error, InvalidInputError)
