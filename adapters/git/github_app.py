"""GitHub App installation access tokens, as GitHub documents them.

An RS256 JWT (``iat`` a minute in the past for clock drift, ``exp`` at most ten minutes
later, ``iss`` the app id) signed with the app's private key authenticates the app; a
``POST {api}/app/installations/{id}/access_tokens`` exchanges it for an installation
token (valid for an hour), which git sends as the password of ``x-access-token``. Tokens
are cached until shortly before they expire. The API base URL is a setting, for GitHub
Enterprise (``https://HOST/api/v3``) and for tests.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

DEFAULT_API_URL = "https://api.github.com"
REFRESH_BEFORE_EXPIRY_SECONDS = 300
JWT_LIFETIME_SECONDS = 540
_MESSAGE_LIMIT = 300


class GitHubAppError(Exception):
    """The installation token could not be obtained; the message says why, and holds no
    key, JWT or token."""


def app_jwt(app_id: str, private_key_pem: str, now: float) -> str:
    """The JWT that authenticates the app itself (RS256)."""
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise GitHubAppError("the private key is not a PEM-encoded RSA key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise GitHubAppError("the private key is not an RSA key (GitHub Apps sign with RS256)")
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {"iat": int(now) - 60, "exp": int(now) + JWT_LIFETIME_SECONDS, "iss": app_id}
    signing_input = f"{_b64(json.dumps(header))}.{_b64(json.dumps(claims))}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def _b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class GitHubAppTokens:
    """Installation tokens, cached per (API, app, installation). Thread-safe."""

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        *,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._api_url = api_url.rstrip("/")
        self._timeout, self._clock = timeout, clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[str, float]] = {}

    def token(self, app_id: str, installation_id: str, private_key_pem: str) -> str:
        key = (app_id, installation_id)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and self._clock() < cached[1] - REFRESH_BEFORE_EXPIRY_SECONDS:
            return cached[0]
        token, expires_at = self._exchange(app_id, installation_id, private_key_pem)
        with self._lock:
            self._cache[key] = (token, expires_at)
        return token

    def _exchange(self, app_id: str, installation_id: str, pem: str) -> tuple[str, float]:
        if not installation_id.isdigit():
            raise GitHubAppError(f"invalid installation id {installation_id!r}")
        url = f"{self._api_url}/app/installations/{installation_id}/access_tokens"
        request = urllib.request.Request(
            url,
            method="POST",
            data=b"",
            headers={
                "Authorization": f"Bearer {app_jwt(app_id, pem, self._clock())}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "danube",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise GitHubAppError(f"{url} answered {error.code}: {_message(error.read())}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise GitHubAppError(f"cannot reach {url}: {reason}") from None
        except ValueError:
            raise GitHubAppError(f"{url} answered with something that is not JSON") from None
        return _token_of(body, url)


def _token_of(body: object, url: str) -> tuple[str, float]:
    if not isinstance(body, dict) or not isinstance(body.get("token"), str):
        raise GitHubAppError(f"{url} answered without a token")
    try:
        expires = datetime.fromisoformat(str(body["expires_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise GitHubAppError(f"{url} answered without a valid expires_at") from None
    return body["token"], expires.timestamp()


def _message(raw: bytes) -> str:
    """GitHub's ``message`` of an error answer (it never echoes the JWT)."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:_MESSAGE_LIMIT]
    return raw.decode(errors="replace").strip()[:_MESSAGE_LIMIT] or "no explanation"
