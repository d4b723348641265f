"""Webhook deliveries over real HTTP to a served ``ConfigWorld``."""

from __future__ import annotations

import http.client
import json
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from api.processes import HttpServer, Supervisor
from api.server import create_app
from tests.integration.config.conftest import ConfigWorld
from tests.support import a_global_admin, auth_headers, free_port, sign_in, wait_until
from tests.unit.forges.deliveries import github_headers

Reply = tuple[int, dict[str, Any]]


@dataclass
class Hooks:
    world: ConfigWorld
    url: str
    signed_in_as: str = ""

    def post(self, provider: str, raw: bytes, headers: dict[str, str]) -> Reply:
        return self.request("POST", f"/webhooks/{provider}", raw, headers)

    def request(
        self,
        method: str,
        path: str,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        if path.startswith("/api/"):  # as a global admin of the config in force now
            admin = a_global_admin(self.world.danube)
            if admin != self.signed_in_as:
                sign_in(self.url, self.world.danube, admin)
                self.signed_in_as = admin
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=raw,
            headers={**auth_headers(self.url + path), **(headers or {})},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def chunked(self, path: str, chunks: Iterable[bytes], headers: dict[str, str]) -> Reply:
        """A POST with ``Transfer-Encoding: chunked`` and no ``Content-Length``."""
        address = urlsplit(self.url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        try:
            connection.request(
                "POST", path, body=iter(chunks), headers=headers, encode_chunked=True
            )
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            connection.close()

    def github(self, event: str, raw: bytes, **kw: str) -> Reply:
        return self.post("github", raw, github_headers(event, raw, **kw))

    def position(self) -> int:
        return self.world.danube.store.log.position()

    def run(self, run_hex: str):  # type: ignore[no-untyped-def]
        return self.world.danube.runs.get(UUID(run_hex))  # type: ignore[arg-type]

    def deliveries(self) -> dict[str, dict[str, Any]]:
        """What ``GET /api/v1/webhooks/deliveries`` lists, by forge delivery id."""
        self.world.settle()
        status, listed = self.request("GET", "/api/v1/webhooks/deliveries")
        assert status == 200, listed
        return {row["delivery_id"]: row for row in listed["deliveries"]}

    def run_requests_since(self, position: int) -> list[object]:
        notifications = self.world.danube.store.log.recorder.select_notifications(
            position + 1, 10_000
        )
        return [n for n in notifications if n.topic == "danube:Run.Requested"]


@contextmanager
def serving(world: ConfigWorld) -> Iterator[Hooks]:
    """The world's HTTP app on a free port, until the block ends."""
    supervisor = Supervisor()
    port = free_port()
    supervisor.add(
        "http", HttpServer(create_app(world.danube, config_sync=world.loop), "127.0.0.1", port)
    )
    hooks = Hooks(world, f"http://127.0.0.1:{port}")
    try:
        wait_until(lambda: up(hooks.url), what="the HTTP server")
        yield hooks
    finally:
        supervisor.stop()


def up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1):
            return True
    except OSError:
        return False
