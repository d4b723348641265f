"""``danube token create|list|revoke`` on the server's machine, and the server taking
(or refusing) the token at once — on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from api.bootstrap import build
from api.server import create_app
from api.settings import load_settings
from tests.integration.auth.conftest import Server, call
from tests.support import DANUBE, http_get


def danube(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DANUBE, *args], env=server.env, capture_output=True, text=True, timeout=60
    )


def test_a_token_created_on_the_command_line_authenticates_at_once(server: Server) -> None:
    created = danube(server, "token", "create", "admin", "--name", "ci", "--scope", "read")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert created.stdout == token + "\n"  # the token alone on stdout
    status, body = call(f"{server.url}/auth/me", token)
    assert status == 200, body
    assert body == {"name": "admin", "email": "admin@danube.local", "via": "token", "scope": "read"}


def test_a_revoked_token_is_refused_with_the_reason(server: Server) -> None:
    token = danube(server, "token", "create", "admin").stdout.strip()
    token_id = token.split("_")[1]
    listed = danube(server, "token", "list", "admin").stdout
    assert token_id in listed and "active" in listed and token not in listed
    revoked = danube(server, "token", "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr
    status, body = call(f"{server.url}/auth/me", token)
    assert (status, body["code"]) == (401, "UNAUTHENTICATED")
    assert body["detail"] == f"API token {token_id} was revoked"
    assert "revoked" in danube(server, "token", "list").stdout


def test_an_unknown_user_gets_no_token(server: Server) -> None:
    created = danube(server, "token", "create", "mallory")
    assert created.returncode == 1 and created.stdout == ""
    assert "no user 'mallory'" in created.stderr


def test_a_bad_expiry_is_refused_before_anything_is_stored(server: Server) -> None:
    created = danube(server, "token", "create", "admin", "--expires", "soon")
    assert created.returncode == 2
    assert "--expires: expected a lifetime like 30d" in created.stderr
    assert "admin" not in danube(server, "token", "list").stdout


def denied(server: Server) -> float:
    text = http_get(f"{server.url}/metrics")[1].decode()
    found = re.search(r"^danube_auth_denied_total (\S+)$", text, re.MULTILINE)
    assert found, text[:2000]
    return float(found.group(1))


def test_requests_without_or_with_garbage_credentials_are_401_and_counted(
    server: Server,
) -> None:
    before = denied(server)
    assert call(f"{server.url}/auth/me")[0] == 401
    status, body = call(f"{server.url}/auth/me", "dnb_0123456789abcdef_" + "x" * 43)
    assert (status, body["detail"]) == (401, "unknown API token")
    assert denied(server) == before + 2


def test_a_secure_cookie_over_plain_http_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for public_url, warned in (("http://ci.example.com", True), ("https://ci.example.com", False)):
        caplog.clear()
        danube = build(load_settings(data_dir=tmp_path, public_url=public_url))
        try:
            create_app(danube)
        finally:
            danube.close()
        found = [r.getMessage() for r in caplog.records if "session cookie is Secure" in r.message]
        assert bool(found) is warned, found
