"""What authentication needs from the settings, in one place: which issuer (Dex, set by
DANUBE_OIDC_ISSUER, or the built-in one under PUBLIC_URL/auth/issuer), the client and
audience, and the session cookie's flags."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from api.settings import Settings

BUILT_IN_PATH = "/auth/issuer"
CLI_CLIENT_ID = "danube-cli"
SESSION_COOKIE = "danube_session"


@dataclass(frozen=True)
class OidcOptions:
    issuer: str
    built_in: bool
    client_id: str
    client_secret: str
    audience: str  # what a JWT's aud must hold
    public_url: str
    cookie_secure: bool

    @property
    def callback_url(self) -> str:
        return f"{self.public_url}/auth/callback"

    @property
    def scopes(self) -> str:
        return "openid email profile offline_access"

    @property
    def cli_scopes(self) -> str:
        """Dex issues the CLI's id_token for Danube's client with a cross-client scope."""
        extra = "" if self.built_in else f" audience:server:client_id:{self.client_id}"
        return self.scopes + extra


def oidc_options(settings: Settings) -> OidcOptions:
    public_url = settings.public_url.rstrip("/")
    client_id = settings.oidc_client_id or "danube"
    secure = settings.session_cookie_secure
    if secure is None:  # browsers keep Secure cookies over plain http on loopback only
        secure = not _loopback_http(public_url)
    return OidcOptions(
        issuer=settings.oidc_issuer or f"{public_url}{BUILT_IN_PATH}",
        built_in=not settings.oidc_issuer,
        client_id=client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        audience=settings.oidc_audience or client_id,
        public_url=public_url,
        cookie_secure=secure,
    )


def _loopback_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in {"localhost", "127.0.0.1", "::1"}
