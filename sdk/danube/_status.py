"""What a gRPC failure means: transient (retry it) or a refusal (raise the SDK's error)."""

from __future__ import annotations

import grpc

from danube.errors import (
    AccessDeniedError,
    AuthenticationError,
    InvalidRequestError,
    JobNotRunningError,
    MasterError,
    SecretNotFoundError,
)

_TRANSIENT_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,  # no connection, connection reset, server shutting down
        grpc.StatusCode.ABORTED,  # the master lost a concurrency race; the call is idempotent
        grpc.StatusCode.CANCELLED,  # cancelled by the server side (e.g. it was stopped)
        grpc.StatusCode.DEADLINE_EXCEEDED,  # a per-attempt deadline of a unary call
    }
)
# A transport break can also surface as INTERNAL/UNKNOWN with one of these details.
_TRANSPORT_DETAILS = ("rst_stream", "stream removed", "connection reset", "socket closed", "goaway")


_MASTER_ERRORS: dict[grpc.StatusCode, tuple[type[MasterError], str]] = {
    grpc.StatusCode.UNAUTHENTICATED: (AuthenticationError, "the master rejected this job's token"),
    grpc.StatusCode.FAILED_PRECONDITION: (JobNotRunningError, "the job is no longer running"),
    grpc.StatusCode.PERMISSION_DENIED: (AccessDeniedError, "permission denied"),
    grpc.StatusCode.INVALID_ARGUMENT: (InvalidRequestError, "invalid request"),
}


_REFUSED: tuple[type[MasterError], str] = (MasterError, "the master refused the call")


def is_transient(error: grpc.RpcError) -> bool:
    """True for failures a retry may cure: the master unreachable or the stream broken."""
    code = _code(error)
    if code in _TRANSIENT_CODES:
        return True
    if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
        details = _details(error).lower()
        return any(marker in details for marker in _TRANSPORT_DETAILS)
    return False


def describe(error: grpc.RpcError) -> str:
    """`CODE: details` of a gRPC error (never includes request metadata)."""
    code = _code(error)
    name = code.name if code is not None else "UNKNOWN"
    details = _details(error)
    return f"{name}: {details}" if details else name


def master_error(error: grpc.RpcError, subject: str) -> MasterError:
    """Translate a non-transient gRPC failure into the SDK's error about `subject`."""
    code = _code(error)
    kind, summary = _MASTER_ERRORS.get(code, _REFUSED) if code is not None else _REFUSED
    name = code.name if code is not None else "UNKNOWN"
    return kind(f"{subject}: {summary} ({describe(error)})", name, _details(error))


def secret_error(error: grpc.RpcError, key: str) -> MasterError:
    """Like `master_error`, with the secret-specific NOT_FOUND and PERMISSION_DENIED."""
    code, details = _code(error), _details(error)
    if code == grpc.StatusCode.NOT_FOUND:
        message = f"secret {key!r} is not set for this pipeline ({details})"
        return SecretNotFoundError(message, code.name, details)
    if code == grpc.StatusCode.PERMISSION_DENIED:
        message = f"this pipeline may not read secret {key!r} ({details})"
        return AccessDeniedError(message, code.name, details)
    return master_error(error, f"secret {key!r}")


def _code(error: grpc.RpcError) -> grpc.StatusCode | None:
    code = getattr(error, "code", None)
    return code() if callable(code) else None


def _details(error: grpc.RpcError) -> str:
    details = getattr(error, "details", None)
    text = details() if callable(details) else None
    return text if isinstance(text, str) else ""
