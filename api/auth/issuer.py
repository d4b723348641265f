"""The built-in OIDC issuer for the single-machine default (authlib has no provider side
for FastAPI): discovery, JWKS, authorization code with PKCE (S256 only) and nonce, and
refresh tokens; its users are those of ``users.yaml`` (bcrypt) or the first-start admin,
who log in on a small HTML form. Off when DANUBE_OIDC_ISSUER names an external issuer.

Two clients: Danube's web backend (``OidcOptions.client_id``, redirected to
``PUBLIC_URL/auth/callback``) and the command line (``danube-cli``, redirected to a
loopback port, as RFC 8252 says). Both are public clients: PKCE stands in for a secret.
Authorization codes live in this process's memory for a minute and are used once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth.login_page import error_page, login_page
from api.auth.minting import Minter, RefreshRejectedError
from api.auth.options import CLI_CLIENT_ID, OidcOptions
from api.auth.users import Directory

CODE_SECONDS = 60
PARAMS = ("client_id", "redirect_uri", "state", "nonce", "code_challenge", "scope")


@dataclass(frozen=True)
class Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str
    user: str
    expires: float


class OAuthError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


class Issuer:
    def __init__(self, options: OidcOptions, minter: Minter, directory: Directory) -> None:
        self.options, self.minter, self.directory = options, minter, directory
        self._codes: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def check_client(self, client_id: str, redirect_uri: str) -> None:
        if client_id == self.options.client_id:
            if redirect_uri != self.options.callback_url:
                raise OAuthError(
                    "invalid_request", f"redirect_uri must be {self.options.callback_url}"
                )
        elif client_id == CLI_CLIENT_ID:
            parts = urlsplit(redirect_uri)
            if parts.scheme != "http" or parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
                raise OAuthError("invalid_request", "danube-cli redirects to a loopback address")
        else:
            raise OAuthError("unauthorized_client", f"unknown client_id {client_id!r}")

    def issue_code(self, params: dict[str, str], user: str) -> str:
        code = secrets.token_urlsafe(32)
        grant = Grant(
            params["client_id"],
            params["redirect_uri"],
            params["code_challenge"],
            params.get("nonce", ""),
            user,
            time.monotonic() + CODE_SECONDS,
        )
        with self._lock:
            now = time.monotonic()
            self._codes = {c: g for c, g in self._codes.items() if g.expires > now}
            self._codes[code] = grant
        return code

    def exchange(self, form: dict[str, str]) -> dict[str, Any]:
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            return self._exchange_code(form)
        if grant_type == "refresh_token":
            try:
                name = self.minter.refresh_subject(form.get("refresh_token", ""), _client(form))
            except RefreshRejectedError as error:
                raise OAuthError("invalid_grant", str(error)) from None
            return self._tokens_for(name, _client(form), "")
        raise OAuthError("unsupported_grant_type", f"unsupported grant_type {grant_type!r}")

    def _exchange_code(self, form: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or grant.expires < time.monotonic():
            raise OAuthError("invalid_grant", "unknown, used or expired authorization code")
        if grant.client_id != _client(form) or grant.redirect_uri != form.get("redirect_uri"):
            raise OAuthError("invalid_grant", "client_id or redirect_uri differ from the request")
        if not hmac.compare_digest(s256(form.get("code_verifier", "")), grant.code_challenge):
            raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
        return self._tokens_for(grant.user, grant.client_id, grant.nonce)

    def _tokens_for(self, name: str, client_id: str, nonce: str) -> dict[str, Any]:
        user = self.directory.find(name)
        if user is None:
            raise OAuthError("invalid_grant", f"user {name!r} no longer exists")
        return self.minter.tokens(user, client_id, nonce)

    def discovery(self) -> dict[str, Any]:
        base = self.options.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["openid", "email", "profile", "offline_access"],
            "claims_supported": ["sub", "email", "name", "preferred_username", "nonce"],
        }


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _client(form: dict[str, str]) -> str:
    return form.get("client_id", "")


def issuer_router(issuer: Issuer) -> APIRouter:
    router = APIRouter(prefix="/auth/issuer", include_in_schema=False)

    @router.get("/.well-known/openid-configuration")
    def discovery() -> dict[str, Any]:
        return issuer.discovery()

    @router.get("/jwks")
    def jwks() -> dict[str, Any]:
        return {"keys": [issuer.minter.key.as_dict(private=False)]}

    @router.get("/authorize")
    def authorize(request: Request) -> Response:
        params = {k: request.query_params.get(k, "") for k in PARAMS}
        problem = _check_request(
            issuer,
            params,
            request.query_params.get("response_type", ""),
            request.query_params.get("code_challenge_method", ""),
        )
        return problem or login_page(params)

    @router.post("/authorize")
    async def log_in(request: Request) -> Response:
        form = await form_of(request)
        params = {k: form.get(k, "") for k in PARAMS}
        problem = _check_request(issuer, params, "code", "S256")
        if problem is not None:
            return problem
        check = issuer.directory.check_password
        user = await run_in_threadpool(check, form.get("username", ""), form.get("password", ""))
        if user is None:
            return login_page(params, "Wrong user name or password.", status=401)
        code = issuer.issue_code(params, user.name)
        state = params["state"]
        query = urlencode({"code": code, "state": state} if state else {"code": code})
        separator = "&" if "?" in params["redirect_uri"] else "?"
        return RedirectResponse(f"{params['redirect_uri']}{separator}{query}", status_code=303)

    @router.post("/token")
    async def token(request: Request) -> Response:
        form = await form_of(request)
        if "client_id" not in form:  # client_secret_basic: the id is in the header
            form["client_id"] = _basic_client(request.headers.get("authorization", ""))
        try:
            answer = await run_in_threadpool(issuer.exchange, form)
        except OAuthError as error:
            body = {"error": error.error, "error_description": error.description}
            return JSONResponse(body, status_code=400, headers={"Cache-Control": "no-store"})
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    return router


async def form_of(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (the only kind OAuth uses)."""
    return dict(parse_qsl((await request.body()).decode(errors="replace")))


def _basic_client(header: str) -> str:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        return base64.b64decode(value).decode().partition(":")[0]
    except ValueError:
        return ""


def _check_request(
    issuer: Issuer, params: dict[str, str], response_type: str, method: str
) -> Response | None:
    """An error page for a request the issuer cannot serve (never a redirect to an
    unchecked redirect_uri)."""
    try:
        issuer.check_client(params["client_id"], params["redirect_uri"])
        if response_type != "code":
            raise OAuthError("unsupported_response_type", "only response_type=code")
        if method != "S256" or not params["code_challenge"]:
            raise OAuthError("invalid_request", "PKCE is required: code_challenge_method=S256")
    except OAuthError as error:
        return error_page(f"{error.error}: {error.description}")
    return None
