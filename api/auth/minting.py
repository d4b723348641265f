"""What the built-in issuer signs: ID and access tokens (JWT, RS256) for a user, and
refresh tokens (JWTs addressed to the issuer itself, so they survive a restart)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from domain.config.model import User

ID_TOKEN_SECONDS = 600
REFRESH_TOKEN_SECONDS = 7 * 24 * 3600


class RefreshRejectedError(Exception):
    pass


@dataclass(frozen=True)
class Lifetimes:
    id_token: int = ID_TOKEN_SECONDS
    refresh_token: int = REFRESH_TOKEN_SECONDS


class Minter:
    def __init__(self, key: RSAKey, issuer: str, audience: str, lifetimes: Lifetimes) -> None:
        self.key, self.issuer, self.audience, self.lifetimes = key, issuer, audience, lifetimes

    def tokens(self, user: User, client_id: str, nonce: str = "") -> dict[str, Any]:
        """The token endpoint's answer for ``user``."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user.name,
            "aud": self.audience,
            "azp": client_id,
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetimes.id_token,
            "email": user.email,
            "email_verified": True,
            "name": user.display_name or user.name,
            "preferred_username": user.name,
        }
        id_claims = {**claims, "nonce": nonce} if nonce else claims
        refresh = {
            "iss": self.issuer,
            "aud": self.issuer,
            "sub": user.name,
            "azp": client_id,
            "typ": "refresh",
            "jti": secrets.token_hex(8),
            "iat": now,
            "exp": now + self.lifetimes.refresh_token,
        }
        return {
            "token_type": "Bearer",
            "access_token": self._sign(claims),
            "id_token": self._sign(id_claims),
            "refresh_token": self._sign(refresh),
            "expires_in": self.lifetimes.id_token,
        }

    def refresh_subject(self, token: str, client_id: str) -> str:
        """The user a refresh token was issued to (for ``client_id``), or
        ``RefreshRejectedError``."""
        try:
            decoded = jwt.decode(token, self.key, algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.issuer},
                exp={"essential": True},
                typ={"essential": True, "value": "refresh"},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as error:
            raise RefreshRejectedError(f"invalid refresh token ({error})") from None
        if decoded.claims.get("azp") != client_id:
            raise RefreshRejectedError("refresh token issued to another client")
        return str(decoded.claims["sub"])

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}, claims, self.key)
