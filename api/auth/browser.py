"""The browser's login as a backend-for-frontend: ``GET /auth/login?next=/path`` starts
the authorization code flow (PKCE S256 and a nonce, through authlib's Starlette client),
``/auth/callback`` validates the ID token and opens the session, ``POST /auth/logout``
ends it. The session holds the user and the refresh token (the cookie is encrypted); a
request within a minute of the ID token's expiry refreshes it first."""

from __future__ import annotations

import time
import warnings
from typing import Any

import httpx
from authlib.integrations.base_client.errors import OAuthError

with warnings.catch_warnings():
    # authlib 1.9 warns on import that its httpx client will move to httpx2; we use it as
    # documented, and the warning would be the first line every `danube` process prints.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.starlette_client import OAuth
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.requests import HTTPConnection

from api.auth.identity import Unauthenticated
from api.auth.login_page import error_page
from api.auth.options import CLI_CLIENT_ID, OidcOptions
from api.auth.relying_party import RelyingParty

REFRESH_MARGIN = 60  # seconds before the ID token's expiry a request refreshes it


class Browser:
    def __init__(self, options: OidcOptions, relying_party: RelyingParty) -> None:
        self.options, self.relying_party = options, relying_party
        oauth = OAuth()
        secret = options.client_secret
        self.client: Any = oauth.register(
            "danube",
            client_id=options.client_id,
            client_secret=secret or None,
            server_metadata_url=f"{options.issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": options.scopes,
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "client_secret_basic" if secret else "none",
            },
        )

    async def session_user(self, connection: HTTPConnection) -> str | None:
        """The session's user (e-mail or name) after refreshing a token about to expire;
        ``Unauthenticated`` when the session has ended and cannot be refreshed."""
        session: dict[str, Any] = connection.scope.get("session") or {}
        user = session.get("user")
        if not isinstance(user, dict):
            return None
        if float(user.get("exp", 0)) - time.time() < REFRESH_MARGIN:
            if connection.scope["type"] != "http" and float(user.get("exp", 0)) > time.time():
                return str(user["login"])  # a WebSocket cannot carry a new cookie back
            try:
                session["user"] = await self._refreshed(user)
            except (OAuthError, Unauthenticated, httpx.HTTPError, ValueError) as error:
                session.pop("user", None)
                raise Unauthenticated(f"your session has ended ({error}): log in again") from None
        return str(session["user"]["login"])

    async def _refreshed(self, user: dict[str, Any]) -> dict[str, Any]:
        if not user.get("refresh"):
            raise Unauthenticated("no refresh token")
        token = await self.client.fetch_access_token(
            grant_type="refresh_token", refresh_token=user["refresh"]
        )
        return await self._session_record(token, user.get("refresh"))

    async def _session_record(self, token: dict[str, Any], refresh: Any = None) -> dict[str, Any]:
        claims = await self.relying_party.validate(str(token.get("id_token", "")))
        login = claims.get("email") or claims.get("preferred_username") or claims.get("sub")
        return {
            "login": str(login),
            "exp": int(claims["exp"]),
            "refresh": token.get("refresh_token") or refresh or "",
        }


def safe_next(value: str | None) -> str:
    """Only a path on this site (never ``//host`` or a URL): an open redirect otherwise."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def browser_router(browser: Browser) -> APIRouter:
    router = APIRouter(prefix="/auth", include_in_schema=False)

    @router.get("/login")
    async def login(request: Request, next: str = "/") -> Response:
        request.session["next"] = safe_next(next)
        try:
            redirect: Response = await browser.client.authorize_redirect(
                request, browser.options.callback_url
            )
        except (httpx.HTTPError, ValueError) as error:  # the issuer cannot be reached
            issuer = browser.options.issuer
            return error_page(f"cannot reach the login service {issuer}: {error}", status=503)
        return redirect

    @router.get("/callback")
    async def callback(request: Request) -> Response:
        try:
            token = await browser.client.authorize_access_token(request)
            record = await browser._session_record(token)
        except (OAuthError, Unauthenticated, httpx.HTTPError, ValueError) as error:
            return error_page(f"login failed: {error}. Start again at /auth/login")
        next_path = safe_next(request.session.pop("next", "/"))
        request.session["user"] = record
        return RedirectResponse(next_path, status_code=303)

    @router.post("/logout", status_code=204)
    async def logout(request: Request, next: str = "") -> Response:
        request.session.clear()
        if next:
            return RedirectResponse(safe_next(next), status_code=303)
        return Response(status_code=204)

    @router.get("/cli")
    async def cli() -> dict[str, str]:
        """What ``danube login`` needs: where to log in, as which client."""
        return {
            "issuer": browser.options.issuer,
            "client_id": CLI_CLIENT_ID,
            "scope": browser.options.cli_scopes,
            # Dex lets public clients redirect to http://localhost:ANY-PORT only
            "redirect_host": "127.0.0.1" if browser.options.built_in else "localhost",
        }

    return router
