"""Application errors as HTTP answers, in one place: a JSON body with the message
(``detail``, as FastAPI's own errors) and a stable ``code``."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.app.errors import AppError, GoneError

STATUS = {
    "NOT_FOUND": 404,
    "BAD_USER_INPUT": 400,
    "UNAVAILABLE": 503,
    "CONFLICT": 409,
    "GONE": 410,
}


class ErrorBody(BaseModel):
    """What every refused request answers."""

    detail: str
    code: str


def responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI: the error statuses a route answers with, each with ``ErrorBody``."""
    return {status: {"model": ErrorBody} for status in statuses}


async def app_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AppError)
    status = STATUS.get(error.code, 500)
    headers = {"Retry-After": "60"} if status == 503 else None
    if isinstance(error, GoneError):
        headers = {"X-Reaped-At": error.at}
    body = ErrorBody(detail=error.message, code=error.code).model_dump()
    return JSONResponse(body, status_code=status, headers=headers)
