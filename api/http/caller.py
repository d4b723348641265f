"""The principal asking, as a FastAPI dependency of every route that needs one."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.app.principal import Principal
from api.app.wiring import Application, of_app
from api.identity import Caller, caller_of


async def _caller(request: Request) -> Caller:
    return await caller_of(request)


async def _principal(request: Request) -> Principal:
    return (await caller_of(request)).principal


def _application(request: Request) -> Application:
    return of_app(request.app.state)


Asking = Annotated[Principal, Depends(_principal)]
AskingLive = Annotated[Caller, Depends(_caller)]
App = Annotated[Application, Depends(_application)]
