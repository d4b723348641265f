"""The authentication routes (``/auth/...``) and how an ``Unauthenticated`` becomes a
401 everywhere: ``install(app, danube)`` is the one hunk ``create_app`` needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.auth import authenticate, authenticator_of
from api.auth.identity import Identity, Unauthenticated
from api.bootstrap import Danube
from api.http.errors import ErrorBody, errors
from api.observability.metrics import danube_metrics

router = APIRouter(prefix="/auth", tags=["auth"])


class Me(BaseModel):
    """Who the credentials of this request prove: a users.yaml user."""

    name: str
    email: str
    via: str
    scope: str


async def identity(request: Request) -> Identity:
    """The caller's identity, or 401 (counted in ``danube_auth_denied_total``)."""
    found = await authenticate(request)
    if found is None:
        danube_metrics().auth_denied.inc()
        raise Unauthenticated("not authenticated: log in, or send 'Authorization: Bearer <token>'")
    return found


@router.get("/me", responses=errors(401))
async def me(who: Annotated[Identity, Depends(identity)]) -> Me:
    return Me(name=who.name, email=who.email, via=who.via, scope=who.scope)


async def unauthenticated(_: Request, error: Exception) -> JSONResponse:
    body = ErrorBody(detail=str(error), code="UNAUTHENTICATED").model_dump()
    return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})


def install(app: FastAPI, danube: Danube) -> None:
    authenticator_of(app.state)
    app.add_exception_handler(Unauthenticated, unauthenticated)
    app.include_router(router)
