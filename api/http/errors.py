"""What the REST routes answer when they refuse, declared in the OpenAPI document so it
matches behaviour: every status a route returns, with its body. Application errors
(``api.app.errors``) become these answers here, in one place: the message as ``detail``
(as FastAPI's own errors) and a stable ``code``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.app.errors import AppError, GoneError

UUID_PATTERN = r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$"

_MEANING = {
    400: "The request is malformed; ``detail`` names the problem",
    401: "Not authenticated (no credential, or one that is invalid, expired or revoked)",
    403: "Authenticated, and not allowed to do this",
    404: "No such resource",
    409: "The request does not fit the resource's state (e.g. a run that has ended)",
    410: "Removed on purpose (the reaper, by retention policy); ``detail`` says when",
    413: "The body is too large",
    503: "Danube is draining or not ready; retry later",
}
STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "BAD_USER_INPUT": 400,
    "UNAVAILABLE": 503,
    "CONFLICT": 409,
    "GONE": 410,
}


class ErrorBody(BaseModel):
    """A refusal: what was wrong, in words, and (from the application layer) a stable
    code (``UNAUTHENTICATED``, ``FORBIDDEN``, ``NOT_FOUND``, ``BAD_USER_INPUT``,
    ``CONFLICT``, ``GONE``, ``UNAVAILABLE``)."""

    detail: str
    code: str | None = None


class WebhookReply(BaseModel):
    """What a webhook delivery was answered with: ``status`` says what happened."""

    status: str
    detail: str | None = None
    delivery: str | None = None
    runs: list[str] | None = None
    reason: str | None = None


def errors(*codes: int, model: type[BaseModel] = ErrorBody) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that may answer these statuses with ``model``."""
    return {code: {"model": model, "description": _MEANING[code]} for code in codes}


def guarded(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that needs a principal: 401 and 403, and ``codes``."""
    return errors(401, 403, *codes)


async def app_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AppError)
    status = STATUS.get(error.code, 500)
    headers = {"Retry-After": "60"} if status == 503 else None
    if isinstance(error, GoneError):
        headers = {"X-Reaped-At": error.at}
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    body = ErrorBody(detail=error.message, code=error.code).model_dump()
    return JSONResponse(body, status_code=status, headers=headers)
