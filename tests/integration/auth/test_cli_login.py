"""``danube login`` over real HTTP: the authorization code flow with PKCE and a loopback
redirect, the browser's part played by an HTTP client; then the stored token (0600) is
what the commands that talk to the server send, refreshed when it is about to expire."""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.sql.store import StoreConfig
from api.auth import local_admin
from tests.integration.auth.conftest import Server, hidden_fields
from tests.support import DANUBE


@pytest.fixture
def store_config(tmp_path: Path) -> StoreConfig:
    local_admin.ensure_password(tmp_path)
    return StoreConfig(kind="sqlite", data_dir=tmp_path)


@pytest.fixture
def env(server: Server, tmp_path: Path) -> Iterator[dict[str, str]]:
    return {**server.env, "XDG_CONFIG_HOME": str(tmp_path / "config")}


def danube(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DANUBE, *args], env=env, capture_output=True, text=True, timeout=60)


def browser_logs_in(address: str, password: str) -> httpx.Response:
    """What the user does in the browser: open the address, fill the form, get redirected
    to the command's loopback listener."""
    with httpx.Client(timeout=30) as client:
        page = client.get(address)
        assert page.status_code == 200, page.text
        form = {**hidden_fields(page.text), "username": "admin", "password": password}
        action = address.split("?")[0]
        posted = client.post(action, data=form)
        assert posted.status_code == 303, posted.text
        assert posted.headers["location"].startswith("http://127.0.0.1:")
        return client.get(posted.headers["location"])


def test_login_stores_a_token_that_the_commands_send(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    process = subprocess.Popen(
        [DANUBE, "login", "--server", server.url, "--no-browser", "--timeout", "60"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        lines = [process.stderr.readline(), process.stderr.readline()]
        address = lines[1].strip()
        assert address.startswith(f"{server.url}/auth/issuer/authorize?"), lines
        assert "code_challenge_method=S256" in address and "client_id=danube-cli" in address
        landed = browser_logs_in(address, local_admin.read_password(tmp_path) or "")
        assert landed.status_code == 200 and "Logged in to Danube" in landed.text
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert f"Logged in to {server.url} as admin" in out
    stored = tmp_path / "config" / "danube" / "credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600

    who = danube(env, "whoami", "--server", server.url)
    assert who.stdout.strip() == "admin (admin@danube.local) via jwt, scope write", who.stderr

    entries = json.loads(stored.read_text())
    first_token = entries[server.url]["id_token"]
    entries[server.url]["expires_at"] = 0  # as if it had expired: refreshed before use
    stored.write_text(json.dumps(entries))
    assert danube(env, "whoami", "--server", server.url).returncode == 0
    assert json.loads(stored.read_text())[server.url]["id_token"] != first_token

    out = danube(env, "logout", "--server", server.url)
    assert out.returncode == 0
    gone = danube(env, "whoami", "--server", server.url)
    assert gone.returncode == 1 and "not logged in" in gone.stderr


def test_danube_token_in_the_environment_wins(server: Server, env: dict[str, str]) -> None:
    token = danube(env, "token", "create", "admin", "--scope", "read").stdout.strip()
    who = danube({**env, "DANUBE_TOKEN": token}, "whoami", "--server", server.url)
    assert who.stdout.strip() == "admin (admin@danube.local) via token, scope read", who.stderr
    assert "unknown environment variable" not in who.stderr
    bad = danube({**env, "DANUBE_TOKEN": token + "x"}, "whoami", "--server", server.url)
    assert bad.returncode == 1 and "not a Danube API token" in bad.stderr
