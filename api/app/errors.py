"""Application errors, each with a stable code the transports map to their own
(HTTP status, GraphQL error extension or union member, gRPC status), and the one place
domain errors are translated to them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from domain.runs.errors import RunAlreadyFinishedError, RunNotFoundError, RunsError
from domain.secrets.errors import InvalidSecretKeyError, SecretNotFoundError
from domain.triggers.manual import DrainingError, PipelineNotFoundError, TriggerRefusedError


class AppError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(AppError):
    code = "NOT_FOUND"


class UnauthenticatedError(AppError):
    """No valid credential was presented (or the one presented is invalid)."""

    code = "UNAUTHENTICATED"


class ForbiddenError(AppError):
    """The caller is known, and not allowed to do this."""

    code = "FORBIDDEN"


class InvalidInputError(AppError):
    code = "BAD_USER_INPUT"


class UnavailableError(AppError):
    """Refused for now (draining, stopping): try again later."""

    code = "UNAVAILABLE"


class GoneError(AppError):
    """What was asked for existed and was removed on purpose (the reaper, by policy)."""

    code = "GONE"

    def __init__(self, message: str, at: str) -> None:
        super().__init__(message)
        self.at = at


class ConflictError(AppError):
    """The command does not fit the current state (a finished run cannot be cancelled)."""

    code = "CONFLICT"


@contextmanager
def translated() -> Iterator[None]:
    """Domain errors raised inside become ``AppError``s."""
    try:
        yield
    except (PipelineNotFoundError, RunNotFoundError, SecretNotFoundError) as error:
        raise NotFoundError(str(error)) from None
    except DrainingError as error:
        raise UnavailableError(str(error)) from None
    except (TriggerRefusedError, InvalidSecretKeyError) as error:
        raise InvalidInputError(str(error)) from None
    except RunAlreadyFinishedError as error:
        raise ConflictError(str(error)) from None
    except RunsError as error:
        raise ConflictError(str(error)) from None
