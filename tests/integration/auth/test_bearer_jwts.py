"""OIDC bearer JWTs from an external issuer (as Dex would be): a small real issuer over
HTTP in the test (discovery + JWKS) whose keys rotate. Valid tokens authenticate; a key
id the server has not seen makes it fetch the JWKS again; expired, not-yet-valid,
wrong-audience, wrong-issuer, tampered, ``alg: none`` and HMAC-confused tokens are 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from adapters.sql.store import StoreConfig
from tests.integration.auth.conftest import Server, call, serving
from tests.support import free_port, stop_accepting

AUDIENCE = "danube"


class RotatingIssuer:
    """Discovery and JWKS over real HTTP; ``keys`` is what the JWKS holds right now."""

    def __init__(self) -> None:
        self.keys: list[RSAKey | ECKey] = [rsa("first")]
        self.jwks_fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"}
                elif self.path == "/jwks":
                    issuer.jwks_fetches += 1
                    body = {"keys": [k.as_dict(private=False) for k in issuer.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def token(self, key: RSAKey | ECKey | None = None, **claims: Any) -> str:
        key = key or self.keys[0]
        now = int(time.time())
        body = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "Cg5hZG1pbg",
            "email": "admin@danube.local",
            "iat": now,
            "exp": now + 300,
            **claims,
        }
        alg = "ES256" if isinstance(key, ECKey) else "RS256"
        return jwt.encode({"alg": alg, "kid": key.kid}, body, key)

    def close(self) -> None:
        self.http.shutdown()
        stop_accepting(self.http.socket, self.thread)


def rsa(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, private=True, parameters={"kid": kid, "use": "sig"})


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.fixture
def issuer() -> Iterator[RotatingIssuer]:
    started = RotatingIssuer()
    yield started
    started.close()


@pytest.fixture
def server(issuer: RotatingIssuer, tmp_path: Path) -> Iterator[Server]:
    config = StoreConfig(kind="sqlite", data_dir=tmp_path)  # no event store involved
    with serving(config, tmp_path, oidc_issuer=issuer.url, oidc_client_id=AUDIENCE) as started:
        yield started


def me(server: Server, token: str) -> tuple[int, dict[str, Any]]:
    return call(f"{server.url}/auth/me", token)


def test_a_valid_rs256_or_es256_token_authenticates(server: Server, issuer: RotatingIssuer) -> None:
    status, body = me(server, issuer.token())
    assert status == 200, body
    assert body == {"name": "admin", "email": "admin@danube.local", "via": "jwt", "scope": "write"}
    issuer.keys.append(ECKey.generate_key("P-256", private=True, parameters={"kid": "ec"}))
    status, body = me(server, issuer.token(issuer.keys[1]))
    assert status == 200, body


def test_a_rotated_key_is_fetched_when_a_token_names_it(
    server: Server, issuer: RotatingIssuer
) -> None:
    assert me(server, issuer.token())[0] == 200
    assert me(server, issuer.token())[0] == 200
    assert issuer.jwks_fetches == 1  # cached
    old = issuer.keys[0]
    issuer.keys = [rsa("second")]  # rotated: the old key is gone
    status, body = me(server, issuer.token())
    assert status == 200, body
    assert issuer.jwks_fetches == 2
    status, body = me(server, issuer.token(old))
    assert status == 401  # signed with a key the issuer no longer publishes


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": -120}, "expired"),  # times: seconds from when the test runs
        ({"nbf": 600}, "not yet valid"),
        ({"aud": "someone-else"}, "'aud'"),
        ({"iss": "https://other.example"}, "'iss'"),
        ({"email": "nobody@example.com"}, "not a Danube user"),
    ],
)
def test_tokens_with_bad_claims_are_refused(
    server: Server, issuer: RotatingIssuer, claims: dict[str, Any], reason: str
) -> None:
    now = int(time.time())  # not when the tests were collected: a long run passes nbf
    claims = {k: now + v if k in ("exp", "nbf") else v for k, v in claims.items()}
    status, body = me(server, issuer.token(**claims))
    assert (status, body.get("code")) == (401, "UNAUTHENTICATED"), body
    assert reason in body["detail"]


def test_tampered_unsigned_and_hmac_confused_tokens_are_refused(
    server: Server, issuer: RotatingIssuer
) -> None:
    header, payload, signature = issuer.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged_payload = b64({**claims, "email": "admin@danube.local", "exp": claims["exp"] + 9999})
    tampered = f"{header}.{forged_payload}.{signature}"
    unsigned = f"{b64({'alg': 'none', 'kid': 'first'})}.{b64(claims)}."
    public_pem = issuer.keys[0].as_pem(private=False)
    signing_input = f"{b64({'alg': 'HS256', 'kid': 'first'})}.{b64(claims)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    confused = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    for token, reason in ((tampered, "bad signature"), (unsigned, "none"), (confused, "HS256")):
        status, body = me(server, token)
        assert status == 401, (token, body)
        assert reason in body["detail"], body


def test_an_unreachable_issuer_is_named_in_the_refusal(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    config = StoreConfig(kind="sqlite", data_dir=tmp_path)
    with serving(config, tmp_path, oidc_issuer=nowhere) as server:
        key = rsa("k")
        claims = {"iss": nowhere, "aud": AUDIENCE, "exp": int(time.time()) + 300}
        status, body = me(server, jwt.encode({"alg": "RS256", "kid": "k"}, claims, key))
        assert status == 401 and f"cannot reach the OIDC issuer at {nowhere}" in body["detail"]
        login = httpx.get(f"{server.url}/auth/login", timeout=30)
        assert (
            login.status_code == 503 and f"cannot reach the login service {nowhere}" in login.text
        )
