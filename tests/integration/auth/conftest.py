"""Authentication against a real server: uvicorn on a free 127.0.0.1 port serving the
app of a ``Danube`` built on the test's store (SQLite or PostgreSQL), and ``danube``
subprocesses on the same store."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from adapters.sql.store import StoreConfig
from api.bootstrap import Danube, build
from api.processes import HttpServer
from api.server import create_app
from api.settings import Settings, load_settings
from tests.support import danube_env, free_port, http_get, wait_until


def settings_of(config: StoreConfig, data_dir: Path, **extra: Any) -> Settings:
    if config.kind == "sqlite":
        return load_settings(data_dir=data_dir, **extra)
    return load_settings(
        data_dir=data_dir,
        event_store="postgres",
        database_url=config.database_url,
        database_schema=config.schema,
        database_pool_size=2,
        **extra,
    )


@dataclass
class Server:
    url: str
    danube: Danube
    app: FastAPI
    env: dict[str, str]  # for `danube` subprocesses on the same stores


@pytest.fixture
def server(store_config: StoreConfig, tmp_path: Path) -> Iterator[Server]:
    with serving(store_config, tmp_path) as started:
        yield started


@contextlib.contextmanager
def serving(store_config: StoreConfig, tmp_path: Path, **settings: Any) -> Iterator[Server]:
    """The API server on a free port (``settings`` added to the test's)."""
    data_dir = store_config.data_dir if store_config.kind == "sqlite" else tmp_path
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    danube = build(settings_of(store_config, data_dir, public_url=url, **settings))
    app = create_app(danube)
    http = HttpServer(app, "127.0.0.1", port)
    stopping = threading.Event()
    thread = threading.Thread(target=http, args=(stopping,), daemon=True)
    thread.start()
    projectors = danube.store.projector_group(danube.projections)  # the read models follow
    following = threading.Thread(target=projectors.follow, args=(stopping,), daemon=True)
    following.start()
    try:
        wait_until(lambda: http_get(f"{url}/health")[0] == 200, what="the HTTP server")
        env = danube_env(store_config, DANUBE_DATA_DIR=str(data_dir))
        yield Server(url, danube, app, env)
    finally:
        stopping.set()
        thread.join(10)
        following.join(10)
        danube.close()


def call(
    url: str, token: str = "", method: str = "GET", body: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of a request with ``Authorization: Bearer token`` when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def hidden_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))


def log_in(
    server: Server | str, client: httpx.Client, password: str, next_path: str = "/"
) -> httpx.Response:
    """From /auth/login to the callback's answer, as a browser would go."""
    url = server if isinstance(server, str) else server.url
    started = client.get(f"{url}/auth/login", params={"next": next_path})
    assert started.status_code in (302, 303), started.text
    authorize = started.headers["location"]
    assert authorize.startswith(f"{url}/auth/issuer/authorize?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["nonce"][0] and query["state"][0]
    form_page = client.get(authorize)
    assert form_page.status_code == 200
    assert '<input name="username"' in form_page.text
    assert '<button type="submit">Log in</button>' in form_page.text
    fields = {**hidden_fields(form_page.text), "username": "admin", "password": password}
    posted = client.post(f"{url}/auth/issuer/authorize", data=fields)
    if posted.status_code != 303:
        return posted
    assert posted.headers["location"].startswith(f"{url}/auth/callback?code=")
    return client.get(posted.headers["location"])
