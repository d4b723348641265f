"""Danube as the relying party of an OIDC issuer (Dex, or the built-in one: the same
code): discovery, the issuer's JWKS cached and fetched again when a token names a key
id it does not hold (key rotation), and JWT validation — signature (RS256 or ES256 only:
never ``none`` or an HMAC), ``iss``, ``aud``, ``exp`` and ``nbf`` with a small leeway."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from api.auth.identity import Unauthenticated

ALGORITHMS = ["RS256", "ES256"]
LEEWAY_SECONDS = 30
REFETCH_EVERY = 5.0  # at most one refetch for unknown key ids per this many seconds...
REFETCH_BURST = 3  # ...after a burst of this many (a rotation, then a second one)


class RelyingParty:
    def __init__(self, issuer: str, audience: str, timeout: float = 5.0) -> None:
        self.issuer, self.audience, self.timeout = issuer, audience, timeout
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._lock = asyncio.Lock()
        self._refetches: list[float] = []

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            found = await self._get(url)
            if found.get("issuer") != self.issuer:
                raise Unauthenticated(
                    f"{url} names issuer {found.get('issuer')!r}, expected {self.issuer!r}"
                )
            self._metadata = found
        return self._metadata

    async def validate(self, token: str) -> dict[str, Any]:
        """The claims of a valid JWT from our issuer for our audience, or
        ``Unauthenticated`` saying what is wrong with it."""
        keys = await self._key_set(_peek_kid(token))
        try:
            decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
        except (JoseError, ValueError) as error:
            raise Unauthenticated(f"invalid token: {_reason(error)}") from None
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
        )
        try:
            registry.validate(decoded.claims)
        except JoseError as error:
            raise Unauthenticated(f"invalid token: {_reason(error)}") from None
        return dict(decoded.claims)

    async def _key_set(self, kid: str) -> KeySet:
        async with self._lock:
            if self._keys is None or (kid and not _holds(self._keys, kid) and self._may_refetch()):
                metadata = await self.metadata()
                jwks = await self._get(str(metadata["jwks_uri"]))
                self._keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
            return self._keys

    def _may_refetch(self) -> bool:
        now = time.monotonic()
        self._refetches = [t for t in self._refetches if now - t < REFETCH_EVERY * REFETCH_BURST]
        if len(self._refetches) >= REFETCH_BURST:
            return False
        self._refetches.append(now)
        return True

    async def _get(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.get(url)
        except httpx.HTTPError as error:
            raise Unauthenticated(f"cannot reach the OIDC issuer at {url}: {error}") from None
        if response.status_code != 200:
            raise Unauthenticated(f"the OIDC issuer answered {response.status_code} for {url}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise Unauthenticated(f"the OIDC issuer answered no JSON object for {url}")
        return body


def _holds(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)


def _peek_kid(token: str) -> str:
    """The key id the token's header names (checked by the signature, not trusted)."""
    try:
        segment = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        return str(header.get("kid", "")) if isinstance(header, dict) else ""
    except (ValueError, IndexError):
        return ""


def _reason(error: Exception) -> str:
    code, _, description = str(error).partition(":")
    if code == "bad_signature":
        return "bad signature"
    if code == "expired_token":
        return "expired"
    return description.strip() or code or type(error).__name__
