"""GitHub's installation access-token endpoint, as GitHub documents it, in front of a
``git http-backend`` that accepts only the tokens it issued (as ``x-access-token``).

``POST {base}/api/app/installations/{id}/access_tokens`` with ``Authorization: Bearer
<JWT>``: the JWT must be RS256, signed by the app's private key (checked with its public
key), with ``iss`` the app id, ``exp`` in the future and at most ten minutes after
``iat``. Anything else is answered 401 with GitHub's kind of JSON message.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.integration.git.http_server import basic, serve_git_accepting


def rsa_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class GitHubApp:
    app_id: str
    installation_id: str
    private_key_pem: str
    issued: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def path(self) -> str:
        return f"/api/app/installations/{self.installation_id}/access_tokens"

    def answer(self, request: BaseHTTPRequestHandler) -> bool:
        if not request.path.startswith("/api/"):
            return False
        if request.command != "POST" or request.path != self.path:
            self._reply(request, 404, {"message": "Not Found"})
            return True
        problem = self._jwt_problem(request.headers.get("Authorization") or "")
        if problem is not None:
            with self._lock:
                self.refusals.append(problem)
            self._reply(request, 401, {"message": problem})
            return True
        token = "ghs_" + secrets.token_urlsafe(24)
        with self._lock:
            self.issued.append(token)
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._reply(request, 201, {"token": token, "expires_at": expires})
        return True

    def accepts(self, header: str) -> bool:
        with self._lock:
            return any(header == basic("x-access-token", token) for token in self.issued)

    def _jwt_problem(self, header: str) -> str | None:
        if not header.startswith("Bearer "):
            return "A JSON web token could not be decoded"
        try:
            head, claims, signature = header.removeprefix("Bearer ").split(".")
            if json.loads(_unb64(head)).get("alg") != "RS256":
                return "'alg' must be RS256"
            public = serialization.load_pem_private_key(
                self.private_key_pem.encode(), password=None
            ).public_key()
            assert isinstance(public, rsa.RSAPublicKey)
            public.verify(
                _unb64(signature), f"{head}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            body = json.loads(_unb64(claims))
        except (ValueError, InvalidSignature):
            return "A JSON web token could not be decoded"
        now = time.time()
        if str(body.get("iss")) != self.app_id:
            return "'Issuer' claim ('iss') must be an Integer"
        if not now < body.get("exp", 0) <= body.get("iat", 0) + 660:
            return "'Expiration time' claim ('exp') is too far in the future"
        return None

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, body: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)


@contextmanager
def serve_github(root: Path, app: GitHubApp) -> Iterator[str]:
    """Yields ``http://127.0.0.1:PORT``: the API at ``/api``, repositories under it."""
    with serve_git_accepting(root, app.accepts, app.answer, user="x-access-token") as base:
        yield base
