"""The browser session: ``request.session`` (what authlib's Starlette client keeps
between the login redirect and the callback, then the logged-in user) carried in one
cookie, encrypted and authenticated with AES-256-GCM under a key derived from the
master key — unreadable and unforgeable by the browser, valid across restarts and
replicas that share the key. HttpOnly, SameSite=Lax (the issuer's redirect back is a
top-level navigation), Secure unless the public URL is plain http on loopback."""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_AGE = 7 * 24 * 3600
AAD = b"danube session v1"


class SessionCookies:
    def __init__(
        self, app: ASGIApp, key: bytes, name: str, secure: bool, max_age: int = MAX_AGE
    ) -> None:
        self.app, self.aead, self.name = app, AESGCM(key), name
        self.secure, self.max_age = secure, max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = HTTPConnection(scope).cookies.get(self.name, "")
        scope["session"] = self.open(raw) if raw else {}
        before = json.dumps(scope["session"], sort_keys=True)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                after = json.dumps(scope["session"], sort_keys=True)
                if after != before or (raw and not scope["session"]):
                    MutableHeaders(scope=message).append(
                        "Set-Cookie", self.cookie(scope["session"])
                    )
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def seal(self, session: dict[str, Any]) -> str:
        nonce = os.urandom(12)
        plain = json.dumps({"at": int(time.time()), "data": session}).encode()
        return base64.urlsafe_b64encode(nonce + self.aead.encrypt(nonce, plain, AAD)).decode()

    def open(self, raw: str) -> dict[str, Any]:
        """The session in a cookie; empty when it is not ours, tampered with or too old."""
        try:
            blob = base64.urlsafe_b64decode(raw.encode())
            plain = json.loads(self.aead.decrypt(blob[:12], blob[12:], AAD))
        except (ValueError, InvalidTag):
            return {}
        if not isinstance(plain, dict) or time.time() - int(plain.get("at", 0)) > self.max_age:
            return {}
        data = plain.get("data")
        return data if isinstance(data, dict) else {}

    def cookie(self, session: dict[str, Any]) -> str:
        flags = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if self.secure else "")
        if not session:
            return f"{self.name}=; Max-Age=0{flags}"
        return f"{self.name}={self.seal(session)}; Max-Age={self.max_age}{flags}"
