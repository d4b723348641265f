"""Helpers shared by the tests: waiting on conditions with deadlines (never fixed
sleeps), and the PostgreSQL the suite runs against."""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

PG_URL = os.environ.get("DANUBE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def wait_for(
    observe: Callable[[], T],
    done: Callable[[T], object],
    *,
    timeout: float = 30.0,
    what: str = "condition",
    interval: float = 0.01,
) -> T:
    """Observe until ``done(observed)`` holds and return what was observed; fail with the
    last observation. The one wait of the test suite: every other is built on it."""
    deadline = time.monotonic() + timeout
    while True:
        seen = observe()
        if done(seen):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}; last saw {seen!r}"
            )
        time.sleep(interval)


def wait_until(
    probe: Callable[[], T], timeout: float = 10.0, what: str = "condition", interval: float = 0.01
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with the last value seen."""
    return wait_for(probe, bool, timeout=timeout, what=what, interval=interval)


def unique_schema(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def danube_env(config: object, **extra: str) -> dict[str, str]:
    """Environment for a ``danube`` subprocess using the same stores as ``config``
    (an ``adapters.sql.store.StoreConfig``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DANUBE_")}
    env["DANUBE_LOG_LEVEL"] = "warning"
    # Never a fixed port: tests run in parallel (pytest-xdist) and beside other Danubes.
    env["DANUBE_BIND_ADDRESS"] = "127.0.0.1:0"
    env["DANUBE_GRPC_ADDRESS"] = "127.0.0.1:0"
    env["DANUBE_POD_ADAPTER_METRICS_ADDRESS"] = ""
    if config.kind == "sqlite":
        env["DANUBE_DATA_DIR"] = str(config.data_dir)
    else:
        env["DANUBE_EVENT_STORE"] = "postgres"
        env["DANUBE_DATABASE_URL"] = config.database_url
        env["DANUBE_DATABASE_SCHEMA"] = config.schema
        env["DANUBE_DATABASE_POOL_SIZE"] = "2"  # many processes share one test PostgreSQL
        env["DANUBE_DATA_DIR"] = tempfile.mkdtemp(prefix="danube-test-")
    env.update(extra)
    return env


DANUBE = os.path.join(os.path.dirname(os.path.dirname(__file__)), ".venv", "bin", "danube")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    """(status, body), or (0, b"") while nothing listens yet (or no answer came within
    ``timeout``: generous, as a loaded machine can keep a busy server seconds away)."""
    import urllib.error
    import urllib.request

    try:
        request = urllib.request.Request(url, headers=auth_headers(url))
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b""


# The bearer token each test server's clients present, by the server's base URL.
_BEARER: dict[str, str] = {}


def sign_in(
    url: str, danube: Any = None, user: str = "", scope: str = "write", token: str = ""
) -> str:
    """THE way tests authenticate: mint a personal API token of ``user`` on ``danube``'s
    store and present it from now on with every request to ``url`` that ``http_get``
    and ``auth_headers`` make. Returns it. Default user: a global admin (the first-start
    local admin while no config is in force, else a member of a global_admin team).
    With ``token`` (minted elsewhere: ``danube token create``), present that one."""
    from domain.cause import Cause

    if token:
        _BEARER[url.rstrip("/")] = token
        return token
    user = user or a_global_admin(danube)
    new = danube.api_tokens.create(user, "tests", scope, None, Cause(actor="operator"))
    _BEARER[url.rstrip("/")] = new.token
    return str(new.token)


def a_global_admin(danube: Any) -> str:
    config = danube.config.current()
    if config is None:
        return "admin"
    admins = {m for team in config.teams if team.global_admin for m in team.members}
    found = next((u.name for u in config.users if u.email in admins), None)
    assert found is not None, "the config in force has no global admin to sign in as"
    return str(found)


def auth_headers(url: str) -> dict[str, str]:
    """``Authorization`` for a request to ``url`` (a server ``sign_in`` was called for)."""
    for base, token in _BEARER.items():
        if url == base or url.startswith(base + "/"):
            return {"Authorization": f"Bearer {token}"}
    return {}


def stop_accepting(listener: socket.socket, thread: threading.Thread) -> None:
    """Close a listening socket whose accept loop runs in ``thread``, once the thread has
    left it. Closed first, its descriptor number could go to another test's new socket
    while the thread still accepts on that number, stealing that socket's connections."""
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)  # a blocked or later accept() fails at once
    thread.join(5)
    listener.close()
