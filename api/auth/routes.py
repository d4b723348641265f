"""The authentication routes (``/auth/...``) and how an ``Unauthenticated`` becomes a
401 everywhere: ``install(app, settings, tokens, cookie_key)`` is the one hunk
``create_app`` needs."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.app.tokens import TokenCommands
from api.auth import authenticate, authenticator_of
from api.auth.browser import Browser, browser_router
from api.auth.identity import Identity, Unauthenticated
from api.auth.issuer import Issuer, issuer_router
from api.auth.keys import load_or_create_key
from api.auth.minting import Lifetimes, Minter
from api.auth.options import SESSION_COOKIE, oidc_options
from api.auth.relying_party import RelyingParty
from api.auth.session import SessionCookies
from api.http.errors import ErrorBody, errors
from api.observability.metrics import danube_metrics
from api.settings import Settings

router = APIRouter(prefix="/auth", tags=["auth"])
log = logging.getLogger(__name__)


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


def install(app: FastAPI, settings: Settings, tokens: TokenCommands, cookie_key: bytes) -> None:
    """Authentication for this app: bearer tokens (API tokens, OIDC JWTs), the browser
    session and its routes, and the built-in issuer unless an external one is set.
    ``tokens``: the API token commands; ``cookie_key``: what session cookies are sealed
    with (derived from the master key by the composition)."""
    options = oidc_options(settings)
    relying_party = RelyingParty(options.issuer, options.audience)
    browser = Browser(options, relying_party)
    authenticator = authenticator_of(app.state)
    authenticator.jwt, authenticator.session = relying_party.validate, browser.session_user
    app.add_exception_handler(Unauthenticated, unauthenticated)
    app.include_router(router)
    app.include_router(browser_router(browser))
    # read by api/graphql/tokens.py (apiTokens, createApiToken, revokeApiToken)
    app.state.api_token_commands = tokens
    if options.built_in:
        key = load_or_create_key(settings.data_dir)
        minter = Minter(key, options.issuer, options.audience, Lifetimes())
        app.state.oidc_issuer = Issuer(options, minter, authenticator.directory)
        app.include_router(issuer_router(app.state.oidc_issuer))
    if options.cookie_secure and options.public_url.startswith("http://"):
        log.warning(
            "the session cookie is Secure but DANUBE_PUBLIC_URL (%s) is plain http: browsers "
            "will not keep it, so no one stays logged in; serve https, or set "
            "DANUBE_SESSION_COOKIE_SECURE=false",
            options.public_url,
        )
    app.add_middleware(
        SessionCookies, key=cookie_key, name=SESSION_COOKIE, secure=options.cookie_secure
    )
