"""The users of the config in force are the ones who authenticate: once a config is in
force it replaces the first-start admin, and a user it no longer names loses their
tokens and their browser session on the next request."""

from __future__ import annotations

from pathlib import Path

import bcrypt
import httpx
import pytest

from adapters.sql.store import StoreConfig
from api.auth import local_admin
from domain.cause import Cause
from domain.config.model import Config, Team, User
from tests.integration.auth.conftest import Server, call, hidden_fields

ALICE = User("alice", "alice@example.com", bcrypt.hashpw(b"alice-pw", bcrypt.gensalt(4)).decode())
TEAM = Team("platform", (ALICE.email,), global_admin=True)


@pytest.fixture
def store_config(tmp_path: Path) -> StoreConfig:
    local_admin.ensure_password(tmp_path)
    return StoreConfig(kind="sqlite", data_dir=tmp_path)


def browser_session(server: Server, login: str, password: str) -> httpx.Client:
    client = httpx.Client(timeout=30)
    authorize = client.get(f"{server.url}/auth/login").headers["location"]
    fields = {**hidden_fields(client.get(authorize).text), "username": login, "password": password}
    callback = client.post(f"{server.url}/auth/issuer/authorize", data=fields)
    assert callback.status_code == 303, callback.text
    client.get(callback.headers["location"])
    return client


def test_the_config_in_force_decides_who_authenticates(server: Server) -> None:
    tokens, config = server.danube.api_tokens, server.danube.config
    admin = tokens.create("admin", "first minute", "write", None, Cause("test")).token
    assert call(f"{server.url}/auth/me", admin)[0] == 200

    config.accept(Config(commit="c1", users=(ALICE,), teams=(TEAM,)))
    status, body = call(f"{server.url}/auth/me", admin)
    assert (status, body["detail"]) == (401, "user 'admin' is not a Danube user (users.yaml)")
    alice = tokens.create("alice", "ci", "write", None, Cause("test")).token
    assert call(f"{server.url}/auth/me", alice)[1]["email"] == "alice@example.com"
    browser = browser_session(server, "alice@example.com", "alice-pw")
    try:
        assert browser.get(f"{server.url}/auth/me").json()["via"] == "session"

        config.accept(Config(commit="c2", users=(), teams=()))  # alice leaves
        assert call(f"{server.url}/auth/me", alice)[0] == 401
        ended = browser.get(f"{server.url}/auth/me")
        assert ended.status_code == 401
        assert "danube_session=;" in ended.headers["set-cookie"]  # the session is gone too
    finally:
        browser.close()
